// Model files in and out: the public names of src/io (the `io` namespace of the package):
// mnist-lab's own safetensors checkpoints as bytes, TF.js Layers models, ONNX export.
export { encodeModel, loadModelWeights } from '../train/checkpoint.js';
export { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../formats/safetensors.js';
export type { SafetensorsDType, SafetensorsFile, SafetensorsTensor } from '../formats/safetensors.js';
export { exportTfjs, importTfjs, TFJS_WEIGHTS_FILE } from './tfjs.js';
export type { TfjsArtifacts, TfjsModelJson } from './tfjs.js';
export { importTfjsRun, loadTfjsModel, saveTfjsModel } from './tfjs/node.js';
export type { ImportedRun } from './tfjs/node.js';
export { Functional } from './tfjs/functional.js';
export { exportOnnx, ONNX_INPUT_NAME, ONNX_OPSET, ONNX_OUTPUT_NAME } from './onnx.js';

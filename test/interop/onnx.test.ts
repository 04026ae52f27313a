import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-web';
// ONNX Runtime's WebAssembly build: it runs in Node and installs without downloading anything.
ort.env.wasm.numThreads = 1;
import {
  activation,
  averagePooling2d,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  globalAveragePooling2d,
  layerNormalization,
  maxPooling2d,
  rescaling,
  reshape,
} from '../../src/nn/index.js';
import type { CallContext } from '../../src/nn/layer.js';
import { ops } from '../../src/tensor/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Model, sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { applyLora, mergeLora } from '../../src/finetune/lora.js';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, exportOnnx } from '../../src/io/onnx.js';
import { onnxSchema } from '../../src/io/onnx/builder.js';
import type { ZooModelName } from '../../src/zoo/recipes.js';
import { COUNT, assertClose, ourOutputs, randomizeNormalization, testImages, zooModel } from './helpers.js';

describe('ONNX export', () => {
  for (const name of ['mlp', 'cnn', 'fast', 'lenet5', 'resnet'] as ZooModelName[]) {
    it(`${name}: ONNX Runtime runs it and outputs what we output on ${COUNT} MNIST test images`, async () => {
      const images = await testImages();
      const { model } = zooModel(name);
      const bytes = exportOnnx(model);
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const input = new ort.Tensor('float32', images.scaled, [COUNT, 28, 28, 1]);
      const result = await session.run({ [ONNX_INPUT_NAME]: input });
      const output = result[ONNX_OUTPUT_NAME] as ort.Tensor;
      assertClose(output.data as Float32Array, ourOutputs(model, images), name);
      await session.release();
    });
  }
});

describe('ONNX export of every supported layer', () => {
  it('padding, strides, dilation, pools, layouts, norms, reshape and activations match our outputs', async () => {
    const images = await testImages();
    const model = sequential({
      name: 'coverage',
      layers: [
        rescaling({ inputShape: [28, 28, 1], scale: 2, offset: -1 }),
        conv2d({ filters: 6, kernelSize: 3, padding: 'same', strides: 2, activation: 'gelu' }),
        batchNormalization(),
        conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'leaky_relu' }),
        averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        activation({ activation: 'tanh' }),
        maxPooling2d({ poolSize: 2, padding: 'same' }),
        layerNormalization(),
        activation({ activation: 'softmax' }), // over channels: needs the NHWC order
        reshape({ targetShape: [4, 4, 6] }),
        globalAveragePooling2d({ keepDims: true }),
        flatten(),
        dense({ units: 16, activation: 'sigmoid' }),
        activation({ activation: 'gelu_tanh' }),
        batchNormalization(),
        dropout({ rate: 0.5 }),
        dense({ units: 10, activation: 'log_softmax' }),
      ],
    });
    model.buildFor([28, 28, 1], new Random(3));
    randomizeNormalization(model, new Random(4));
    const session = await ort.InferenceSession.create(exportOnnx(model));
    const result = await session.run({
      [ONNX_INPUT_NAME]: new ort.Tensor('float32', images.scaled, [COUNT, 28, 28, 1]),
    });
    assertClose(
      (result[ONNX_OUTPUT_NAME] as ort.Tensor).data as Float32Array,
      ourOutputs(model, images),
      'coverage',
    );
    await session.release();
  });

  it('refuses a model whose call() computes something no layer expresses, naming the op', () => {
    class Doubling extends Model {
      readonly className = 'Doubling';
      private readonly head = this.track(dense({ units: 3 }));
      private readonly flat = this.track(flatten());
      call(x: Tensor, context: CallContext): Tensor {
        return this.head.apply(ops.mul(this.flat.apply(x, context), 2), context);
      }
    }
    const model = new Doubling();
    model.buildFor([28, 28, 1]);
    assert.throws(
      () => exportOnnx(model),
      /the input of Dense '.*' is computed in call\(\) by 'mul', which is not a layer/,
    );
  });
});

describe('ONNX export of the vit', () => {
  it('vit: attention as MatMul/Softmax/LayerNormalization (opset 17); ONNX Runtime outputs what we output', async () => {
    const images = await testImages();
    const { model } = zooModel('vit');
    const bytes = exportOnnx(model);
    const { ModelProto } = onnxSchema();
    const proto = ModelProto.decode(bytes);
    const ops = new Set(proto.graph?.node?.map((n) => n.opType));
    for (const op of ['MatMul', 'Softmax', 'LayerNormalization', 'Conv', 'Erf', 'Gemm'])
      assert.ok(ops.has(op), op);
    assert.equal(Number(proto.opsetImport?.[0]?.version), 17);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const result = await session.run({
      [ONNX_INPUT_NAME]: new ort.Tensor('float32', images.scaled, [COUNT, 28, 28, 1]),
    });
    assertClose(
      (result[ONNX_OUTPUT_NAME] as ort.Tensor).data as Float32Array,
      ourOutputs(model, images),
      'vit',
    );
    await session.release();
  });

  it('a vit with LoRA adapters is refused until they are merged', () => {
    const { model } = zooModel('vit-7');
    applyLora(model, { target: 'block1/attention/query' });
    assert.throws(
      () => exportOnnx(model),
      /^Error: exportOnnx: 'block1\/attention\/query' is a LoraDense, not a Dense; merge LoRA adapters into their base first \(mergeLora\)/,
    );
    assert.doesNotThrow(() => exportOnnx(mergeLora(model)));
  });
});

// Keras mnist_convnet in tfjs-layers (softmax output, as in Keras): the TF.js peer's model, built
// alike in Node (bench/peer/tfjs-cnn.ts) and in the page (bench/browser/page.ts).
import * as tf from '@tensorflow/tfjs';

export function tfjsCnn(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(), loss: 'sparseCategoricalCrossentropy' });
  return model;
}

// Architectures a fine-tuning base can be pretrained with: the zoo's recipes, plus the network of
// the Keras mnist_transfer_cnn experiment (digits-transfer's default): a convolutional feature
// extractor and a dense classifier, so freezing 'conv*' leaves a two-layer classifier to train.
import { conv2d, dense, dropout, flatten, maxPooling2d } from '../nn/index.js';
import { adam, oneCycle } from '../optim/index.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Model } from '../train/model.js';
import { sequential } from '../train/model.js';
import { getRecipe } from '../zoo/recipes.js';

export const TRANSFER_CNN = 'transfer-cnn';

/** Conv(32,3) → Conv(32,3) → MaxPool → Dropout(0.25) → Flatten → Dense(128, relu) → Dropout(0.5) → Dense(K). */
export function transferCnn(classes: number): Model {
  return sequential({
    name: TRANSFER_CNN,
    layers: [
      conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
      conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      maxPooling2d({ poolSize: 2 }),
      dropout({ rate: 0.25 }),
      flatten(),
      dense({ units: 128, activation: 'relu' }),
      dropout({ rate: 0.5 }),
      dense({ units: classes }),
    ],
  });
}

export interface Architecture {
  name: string;
  model(classes: number): Model;
  optimizer(totalSteps: number): Optimizer;
}

/** 'transfer-cnn' or a zoo model name. */
export function architecture(name: string): Architecture {
  if (name === TRANSFER_CNN) {
    return {
      name,
      model: transferCnn,
      // NOTE: one-cycle Adam (peak 0.003 after the first quarter of the steps) reaches in one epoch the
      // conv features two epochs at a constant 0.001 gave (digits-transfer, batch 128).
      optimizer: (steps) =>
        adam({ learningRate: oneCycle({ maxLearningRate: 0.003, totalSteps: steps, pctStart: 0.25 }) }),
    };
  }
  const recipe = getRecipe(name);
  return {
    name: recipe.name,
    model: (classes) => recipe.model({ classes }),
    optimizer: (steps) => recipe.optimizer(steps),
  };
}

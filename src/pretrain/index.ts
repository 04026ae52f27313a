// Self-supervised pretraining: the masked autoencoder (mae.ts), pretrain() beside fit()
// (pretrain.ts), and the way from a pretraining run to a classifier (transfer.ts).
export { MAE_DEFAULTS, MaskedAutoencoder, maskedAutoencoder, maskedCount, randomPatchMask } from './mae.js';
export type { MaskedAutoencoderArgs, MaskedForward, PatchMask } from './mae.js';
export { PRETRAIN_DEFAULTS, pretrain, pretrainOptimizer } from './pretrain.js';
export type { PretrainOptions } from './pretrain.js';
export { classifierFromEncoder, isPretrainingModel, pretrainedEncoder } from './transfer.js';

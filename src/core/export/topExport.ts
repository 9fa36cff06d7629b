/**
 * A fine-tuned run's encoder top as a file of the head download (the studio's and the
 * runner's `head/`): `top.safetensors`,
 * its weights under the encoder's own TF.js layer/weight names (`Conv_1/kernel`), in the
 * order the layers run, in the TF.js/Keras layout. With them written into the encoder, its
 * pooled feature is what the head reads.
 */
import type { NamedWeights } from '../train/heads';
import { encodeSafetensors } from './safetensors';

/** Apart from model.safetensors, so that one still loads strictly into SkipConnectionHead. */
export const TOP_FILE = 'top.safetensors';

export const TOP_LAYOUT =
  'TF.js/Keras layout: Conv2D kernel [kh, kw, in, out], DepthwiseConv2D depthwise_kernel [kh, kw, channels, 1], BatchNormalization gamma/beta [channels]';

export interface TopFileInfo {
  /** The cut the top starts from (its input is that layer's output). */
  cut: string;
  /** The encoder's name (its card's). */
  encoder: string;
  /** The run's epoch these weights are of, when known. */
  epoch?: number;
  /** The top's layers in run order (default: the layers the weights name, in their order). */
  layers?: string[];
}

/** The top's weights as safetensors (float32), with what they are in the metadata. */
export function encoderTopSafetensors(weights: NamedWeights, info: TopFileInfo): Uint8Array {
  const names = Object.keys(weights);
  if (names.length === 0) throw new Error('The fine-tuned top has no weights');
  const layers = info.layers ?? [...new Set(names.map((n) => n.slice(0, n.lastIndexOf('/'))))];
  return encodeSafetensors(weights, {
    // 'pt': the tensors load with safetensors.torch; their names are the encoder's TF.js ones
    format: 'pt',
    naming: 'tfjs-layers',
    content: 'fine-tuned encoder top: the weights of the encoder layers after the cut, under their TF.js layer/weight names',
    cut: info.cut,
    encoder: info.encoder,
    layers: JSON.stringify(layers),
    layout: TOP_LAYOUT,
    ...(info.epoch !== undefined ? { epoch: String(info.epoch) } : {}),
  });
}

/// <reference lib="webworker" />
/**
 * The training worker's encoder top for fine-tuning: the encoder loaded as the embed worker
 * loads it (`loadEncoderSource`), on the backend already active, its top rebuilt from the
 * card's cut in the formulation that backend can train.
 */
import * as tf from '@tensorflow/tfjs';
import { buildEncoderTop, topFormulationFor } from '../core/encoder/encoderTop';
import { cutForBlocks } from '../core/encoder/modelCard';
import { cutSetKey } from '../storage/embeddingKeys';
import type { BackendName, EncoderSource } from './embedProtocol';
import { loadResolved, resolveModel } from './loadEncoderSource';
import type { LoadedTop } from './trainSession';

export async function loadEncoderTop(source: EncoderSource, preprocessingKey: string, blocks: number, backend: BackendName): Promise<LoadedTop> {
  const model = await resolveModel(source, () => undefined);
  const cut = cutForBlocks(model.card, blocks);
  if ('problem' in cut) throw new Error(`${cut.problem}. Set "Train the encoder's top blocks" to 0 to train the head only.`);
  const encoder = await loadResolved(model);
  try {
    if (!(encoder.model instanceof tf.LayersModel) || !model.card.featureOutput) {
      throw new Error(`encoder "${model.card.name}" is not a layers model with a named feature layer: its top cannot be rebuilt`);
    }
    const top = buildEncoderTop(encoder.model, {
      cutLayer: cut.layer,
      featureLayer: model.card.featureOutput,
      pooling: model.card.pooling,
      formulation: topFormulationFor(backend),
    });
    return {
      top,
      cutKey: cutSetKey(preprocessingKey, cut.layer),
      dispose: () => {
        top.dispose();
        encoder.dispose();
      },
    };
  } catch (e) {
    encoder.dispose();
    throw e;
  }
}

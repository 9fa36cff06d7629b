import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_ENCODER, BUILTIN_ENCODER_FOLDER } from '../../../src/core/encoder/builtin';
import { inferModelCard } from '../../../src/core/encoder/inferModelCard';
import { modelCardProblems } from '../../../src/core/encoder/modelCard';
import { projectRoot, sharedPath } from '../../support/shared';

const folder = path.join(projectRoot, BUILTIN_ENCODER_FOLDER);

describe('the built-in encoder shipped in public/', () => {
  it('is a valid card served from the studio itself, with its licence and provenance beside it', () => {
    expect(modelCardProblems(BUILTIN_ENCODER)).toEqual([]);
    expect(BUILTIN_ENCODER.url).toBe('/models/mobilenet-v2-1.0-224/model.json');
    expect(readFileSync(path.join(folder, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    expect(readFileSync(path.join(folder, 'NOTICE.md'), 'utf8')).toMatch(/google-coral\/test_data/);
  });

  it('is the shared MobileNetV2 1.0/224 byte for byte, and its model.json agrees with the card', () => {
    for (const name of ['model.json', 'weights.bin']) {
      expect(readFileSync(path.join(folder, name)).equals(readFileSync(sharedPath('models', 'mobilenet-v2-1.0-224', name))), name).toBe(true);
    }
    const sizes = statSync(path.join(folder, 'model.json')).size + statSync(path.join(folder, 'weights.bin')).size;
    expect(BUILTIN_ENCODER.sizeBytes).toBe(sizes);
    const inferred = inferModelCard(JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8')));
    expect(inferred).toMatchObject({
      inputSize: BUILTIN_ENCODER.inputSize,
      normalisation: BUILTIN_ENCODER.normalisation,
      featureOutput: BUILTIN_ENCODER.featureOutput,
      featureSize: BUILTIN_ENCODER.featureSize,
      pooling: BUILTIN_ENCODER.pooling,
    });
  });
});

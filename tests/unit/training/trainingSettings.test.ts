import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAINING_CONFIG, resolveTrainingConfig } from '../../../src/core/train/trainer';
import {
  BROWSER_MAX_EPOCHS,
  SETTING_FIELDS,
  defaultSettingsForm,
  parseSettings,
} from '../../../src/app/training/trainingSettings';

describe('training settings form', () => {
  it("defaults to the engine's config (maxEpochs aside), each field with one explanatory line", () => {
    const parsed = parseSettings(defaultSettingsForm());
    expect(parsed.errors).toEqual([]);
    expect(resolveTrainingConfig(parsed.config)).toEqual({ ...DEFAULT_TRAINING_CONFIG, maxEpochs: BROWSER_MAX_EPOCHS });
    for (const f of SETTING_FIELDS) {
      expect(f.help.length).toBeGreaterThan(20);
      expect(f.help).not.toMatch(/\n/);
    }
  });

  it("refuses invalid values with the engine's message naming the valid range, on the right field", () => {
    const form = { ...defaultSettingsForm(), learningRate: '0', dropout: '1', patience: '2.5', seed: 'abc', mining: 'easy' };
    const { errors, fieldErrors } = parseSettings(form);
    expect(fieldErrors.learningRate).toBe('learningRate must be > 0 and ≤ 1, got 0');
    expect(fieldErrors.dropout).toBe('head.dropout must be ≥ 0 and < 1, got 1');
    expect(fieldErrors.patience).toMatch(/patience must be an integer ≥ 1 and ≤ 100000, got 2.5/);
    expect(fieldErrors.seed).toMatch(/seed must be an integer ≥ 0 .* got 'abc'/);
    expect(fieldErrors.mining).toMatch(/loss.mining must be one of 'hard', 'all', 'semi_hard', got 'easy'/);
    expect(errors).toHaveLength(5);
  });

  it('names an empty field and a batch that is too large', () => {
    const empty = parseSettings({ ...defaultSettingsForm(), margin: ' ' });
    expect(empty.fieldErrors.margin).toMatch(/loss.margin must be ≥ 0 and ≤ 10, got ''/);
    const big = parseSettings({ ...defaultSettingsForm(), classesPerBatch: '128', imagesPerClass: '128' });
    expect(big.fieldErrors.classesPerBatch).toMatch(/classesPerBatch × imagesPerClass must be ≤ 8192, got 128 × 128/);
    expect(big.fieldErrors.imagesPerClass).toBe(big.fieldErrors.classesPerBatch);
  });

  it('passes the typed numbers through to the engine config', () => {
    const { config, errors } = parseSettings({ ...defaultSettingsForm(), learningRate: '1e-3', classesPerBatch: '8', imagesPerClass: '4', distance: 'euclidean', mining: 'semi_hard' });
    expect(errors).toEqual([]);
    expect(resolveTrainingConfig(config)).toMatchObject({
      learningRate: 0.001,
      classesPerBatch: 8,
      imagesPerClass: 4,
      loss: { distance: 'euclidean', mining: 'semi_hard' },
    });
  });
});

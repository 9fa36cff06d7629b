import { describe, expect, it } from 'vitest';
import { exportHead, importHead } from '../../../src/core/export/headExport';
import { modelReadme } from '../../../src/core/export/modelReadme';
import { createSkipConnectionHead } from '../../../src/core/train/heads';
import { decodeSafetensors } from '../../../src/core/export/safetensors';
import { encoderTopSafetensors, TOP_FILE } from '../../../src/core/export/topExport';

describe("a fine-tuned run's top in the head download", () => {
  it('top.safetensors: the weights under their TF.js names, in run order, with the cut, the layers and the layout in the metadata', () => {
    const weights = {
      'block_16_depthwise/depthwise_kernel': { shape: [3, 3, 2, 1], data: Float32Array.from({ length: 18 }, (_, i) => i / 7) },
      'block_16_project/kernel': { shape: [1, 1, 2, 3], data: Float32Array.from({ length: 6 }, (_, i) => -i) },
      'block_16_project/bias': { shape: [3], data: new Float32Array([0.5, 1.5, -2]) },
    };
    const file = decodeSafetensors(encoderTopSafetensors(weights, { cut: 'block_15_add', encoder: 'Tiny', epoch: 3 }));
    expect(TOP_FILE).toBe('top.safetensors');
    expect(Object.keys(file.tensors)).toEqual(Object.keys(weights));
    for (const [name, w] of Object.entries(weights)) expect(file.tensors[name]).toEqual(w);
    expect(file.metadata).toMatchObject({ format: 'pt', naming: 'tfjs-layers', cut: 'block_15_add', encoder: 'Tiny', epoch: '3' });
    expect(JSON.parse(file.metadata!.layers)).toEqual(['block_16_depthwise', 'block_16_project']);
    expect(file.metadata!.layout).toMatch(/Conv2D kernel \[kh, kw, in, out\]/);
    expect(() => encoderTopSafetensors({}, { cut: 'x', encoder: 'y' })).toThrow(/no weights/);
  });

  it("the head README says its input is the fine-tuned top's pooled output, not the frozen encoder's feature", () => {
    const base = {
      kind: 'head' as const,
      title: 't',
      files: [{ path: TOP_FILE, what: 'the top' }],
      encoder: { name: 'Tiny', featureSize: 8 },
      distance: 'cosine' as const,
      tfjsModelPath: 'tfjs/model.json',
      pytorch: { safetensors: 'model.safetensors', config: 'config.json' },
      created: 'now',
      studioVersion: '0',
    };
    const tuned = modelReadme({ ...base, fineTunedTop: { cut: 'block_15_add', layers: 4, weightsFile: TOP_FILE } });
    expect(tuned).toContain('with its fine-tuned top (not the frozen encoder');
    expect(tuned).toContain("The head's input: the encoder's pooled feature **with the fine-tuned top**");
    expect(tuned).toContain('`top.safetensors`');
    expect(tuned).not.toContain("the frozen encoder's features (see Preprocessing)");
    const plain = modelReadme(base);
    expect(plain).toContain('the frozen encoder "Tiny"');
    expect(plain).not.toContain('fine-tuned');
  });

  it('loading a fine-tuned head back reads model.safetensors, not top.safetensors beside it, in whatever order the files come', async () => {
    const head = createSkipConnectionHead(4, { seed: 3 });
    const weights = head.getWeights();
    head.dispose();
    const ex = await exportHead(weights, { kind: 'skip-connection', dim: 4, dropout: 0, encoderCard: { name: 'Tiny' }, studioVersion: '0' });
    const top = encoderTopSafetensors({ 'conv/kernel': { shape: [1, 1, 4, 4], data: new Float32Array(16) } }, { cut: 'cut', encoder: 'Tiny' });
    const loaded = importHead({ [`h/${TOP_FILE}`]: top, 'h/model.safetensors': ex.files['model.safetensors'], 'h/config.json': ex.files['config.json'] });
    expect(loaded.format).toBe('safetensors');
    expect(loaded.weights.gates_0.data).toEqual(weights.gates_0.data);
  });
});

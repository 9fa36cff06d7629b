import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIdentityHead, createSkipConnectionHead, type NamedWeights } from '../../../src/core/train/heads';
import { tripletLoss } from '../../../src/core/train/tripletLoss';
import { flat, loadOracle, maxError } from './oracle';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ref = loadOracle().skip_connection_head;
const names = ['gates_0', 'fc_0.weight', 'fc_0.bias'] as const;

function oracleWeights(params: Record<string, number[] | number[][]>): NamedWeights {
  const out: NamedWeights = {};
  for (const name of names) {
    const p = params[name];
    const shape = Array.isArray(p[0]) ? [p.length, (p[0] as number[]).length] : [p.length];
    out[name] = { shape, data: flat(p) };
  }
  return out;
}

describe('SkipConnectionHead against the reference', () => {
  it('matches forward output, loss, gradients and one Adam step', () => {
    const dim = ref.input[0].length;
    const n = ref.input.length;
    const before = tf.memory().numTensors;
    const head = createSkipConnectionHead(dim, { seed: 1 });
    head.setWeights(oracleWeights(ref.params));
    const x = tf.tensor2d(flat(ref.input), [n, dim]);
    const labels = Int32Array.from(ref.groups);

    const out = head.apply(x, false);
    const outputError = maxError(out.dataSync(), flat(ref.output));
    out.dispose();

    const { value, grads } = tf.variableGrads(
      () => tripletLoss(head.apply(x, false), labels, { mining: 'hard', distance: 'cosine', margin: 0.5 }),
      head.trainableVariables,
    );
    const lossError = maxError([value.dataSync()[0]], [ref.triplet_hard_cosine_loss]);
    let gradError = 0;
    for (const name of names) {
      const v = head.trainableVariables.find((t) => t.name.endsWith(`/${name}`))!;
      gradError = Math.max(gradError, maxError(grads[v.name].dataSync(), flat(ref.grads[name])));
    }

    // tfjs's Adam divides the bias-corrected first moment by (sqrt(bias-corrected second
    // moment) + eps), exactly PyTorch's placement; but its default eps is the backend's
    // (1e-7 on CPU, up to 1e-4 on WebGL), so the recipe's 1e-8 is passed explicitly.
    const { lr, betas, eps } = ref.adam;
    const adam = tf.train.adam(lr, betas[0], betas[1], eps);
    adam.applyGradients(grads as Parameters<typeof adam.applyGradients>[0]);
    const after = head.getWeights();
    let adamError = 0;
    for (const name of names) {
      adamError = Math.max(adamError, maxError(after[name].data, flat(ref.params_after_one_adam_step[name])));
    }
    console.info(
      `SkipConnectionHead max errors: output ${outputError.toExponential(2)}, loss ${lossError.toExponential(2)}, ` +
        `grads ${gradError.toExponential(2)}, after Adam ${adamError.toExponential(2)}`,
    );
    expect(outputError).toBeLessThan(1e-4);
    expect(lossError).toBeLessThan(1e-4);
    expect(gradError).toBeLessThan(1e-4);
    expect(adamError).toBeLessThan(1e-4);

    tf.dispose([value, x, ...Object.values(grads)]);
    adam.dispose();
    head.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('uses the reference names, layouts and default init', () => {
    const dim = 16;
    const head = createSkipConnectionHead(dim, { seed: 3 });
    const w = head.getWeights();
    expect(Object.keys(w).sort()).toEqual(['fc_0.bias', 'fc_0.weight', 'gates_0']);
    expect(w['fc_0.weight'].shape).toEqual([dim, dim]);
    expect(w['fc_0.bias'].shape).toEqual([dim]);
    expect(Array.from(w.gates_0.data)).toEqual(new Array(dim).fill(ref.gates_init_default[0]));
    const bound = 1 / Math.sqrt(dim);
    const all = [...w['fc_0.weight'].data, ...w['fc_0.bias'].data];
    expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...all)).toBeGreaterThan(bound * 0.8);
    // same seed, same init; other seed, other init
    const again = createSkipConnectionHead(dim, { seed: 3 });
    const other = createSkipConnectionHead(dim, { seed: 4 });
    expect(again.getWeights()['fc_0.weight'].data).toEqual(w['fc_0.weight'].data);
    expect(other.getWeights()['fc_0.weight'].data).not.toEqual(w['fc_0.weight'].data);
    tf.dispose([head, again, other].flatMap((h) => h.trainableVariables));
  });

  it('applies dropout only in training and rejects bad weights', () => {
    const head = createSkipConnectionHead(4, { dropout: 0.5, seed: 1 });
    const x = tf.ones([64, 4]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const a = head.apply(x, false);
    const b = head.apply(x, false);
    expect(a.dataSync()).toEqual(b.dataSync());
    const t = head.apply(x, true);
    expect(maxError(t.dataSync(), a.dataSync())).toBeGreaterThan(0.1);
    tf.dispose([a, b, t]);
    expect(tf.memory().numTensors).toBe(before);
    const w = head.getWeights();
    expect(() => head.setWeights({ ...w, extra: w.gates_0 })).toThrow(/unexpected extra/);
    expect(() => head.setWeights({ ...w, gates_0: { shape: [3], data: new Float32Array(3) } })).toThrow(/gates_0 must have shape \[4\]/);
    x.dispose();
    head.dispose();
  });

  it('identity head passes embeddings through and has no weights', () => {
    const head = createIdentityHead(3);
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = head.apply(x, true);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(head.trainableVariables).toEqual([]);
    expect(head.getWeights()).toEqual({});
    tf.dispose([x, y]);
  });
});

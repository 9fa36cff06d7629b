/**
 * README.md inside every download: what each file is, how to use it in TF.js and in
 * PyTorch, the preprocessing, the distance, the split and the run's metrics. Plain text
 * built from the model card and the run, so it says exactly what this download holds.
 */
import type { ModelCard, PixelNormalisation } from '../encoder/modelCard';
import { HEAD_LAYER } from './headLayer';

export interface ReadmeMetrics {
  rPrecision: number;
  rPrecisionMacro: number;
  precisionAt1: number;
  mapAtR: number;
}

export interface ModelReadmeInfo {
  /** 'head': the head files (zip or the runner's head/); 'similarity-model': image in, tuned vector out. */
  kind: 'head' | 'similarity-model';
  title: string;
  /** Each file of the download (paths as they are inside it) and what it is. */
  files: { path: string; what: string }[];
  /** The frozen encoder's card (the studio's, or whatever is known of a dropped one). */
  encoder: Partial<ModelCard> & { name: string };
  distance: 'cosine' | 'euclidean';
  split?: { mode: string; seed: number; trainFraction: number; trainClasses?: number; validationClasses?: number; trainImages?: number; validationImages?: number };
  baseline?: ReadmeMetrics | null;
  tuned?: ReadmeMetrics | null;
  bestEpoch?: number;
  /** Where the graph-model encoder is loaded from, for the two-call recipe (its card's URL). */
  graphEncoder?: { url: string | null; featureNode: string | null };
  /** The encoder's top was fine-tuned with the head: from which cut, how many layers, the file of its weights in a head download. */
  fineTunedTop?: { cut: string; layers: number; weightsFile?: string } | null;
  /** Path (inside the download) of the TF.js model.json to load. */
  tfjsModelPath: string;
  /** Present when the download holds the safetensors for PyTorch. */
  pytorch?: { safetensors: string; config: string };
  created: string;
  studioVersion: string;
}

function pixelRecipe(n: PixelNormalisation | undefined): { text: string; js: string } {
  if (!n) return { text: 'as the encoder expects (its card was not known)', js: 'x' };
  if (n.kind === 'range') {
    const scale = (n.max - n.min) / 255;
    const js = n.min === -1 && n.max === 1 ? 'x.div(127.5).sub(1)' : `x.mul(${scale}).add(${n.min})`;
    return { text: `RGB 0-255 mapped linearly onto [${n.min}, ${n.max}]`, js };
  }
  return {
    text: `(x / 255 - mean) / std per channel, mean [${n.mean.join(', ')}], std [${n.std.join(', ')}]`,
    js: `x.div(255).sub([${n.mean.join(', ')}]).div([${n.std.join(', ')}])`,
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function metricsTable(baseline: ReadmeMetrics | null | undefined, tuned: ReadmeMetrics | null | undefined): string[] {
  if (!baseline && !tuned) return ['No metrics were recorded for this head.'];
  const row = (label: string, m: ReadmeMetrics | null | undefined) =>
    m ? `| ${label} | ${pct(m.rPrecision)} | ${pct(m.rPrecisionMacro)} | ${pct(m.precisionAt1)} | ${pct(m.mapAtR)} |` : `| ${label} | — | — | — | — |`;
  return [
    '| on the classes never trained on | R-Precision | R-Precision (macro) | P@1 | MAP@R |',
    '|---|---|---|---|---|',
    row('frozen encoder', baseline),
    row('with this head', tuned),
    '',
    'R-Precision: for each photo, of the R other photos of the same class, the share found among its R nearest.',
  ];
}

/**
 * What a README says of the run behind a download: everything but the files and how to load
 * them, which the writer of each download adds.
 */
export type RunReadmeInfo = Omit<ModelReadmeInfo, 'kind' | 'files' | 'tfjsModelPath' | 'pytorch' | 'graphEncoder'>;

/** The README text (Markdown). */
export function modelReadme(info: ModelReadmeInfo): string {
  const card = info.encoder;
  const w = card.inputSize?.width ?? 224;
  const h = card.inputSize?.height ?? 224;
  const dim = card.featureSize ?? 0;
  const pixels = pixelRecipe(card.normalisation);
  const resize = card.resize ?? 'squash';
  const whole = info.kind === 'similarity-model';
  const lines: string[] = [
    `# ${info.title}`,
    '',
    whole
      ? `A similarity model made with Similarity Studio ${info.studioVersion}: an image in, a ${dim}-d embedding out (the frozen encoder "${card.name}" followed by the trained head). Similar images have nearby embeddings.`
      : info.fineTunedTop
        ? `A trained similarity head made with Similarity Studio ${info.studioVersion}, with the encoder top it was fine-tuned with: it maps the ${dim}-d features of the encoder "${card.name}" with its fine-tuned top (not the frozen encoder's features) to ${dim}-d embeddings in which images of the same class lie closer.`
        : `A trained similarity head made with Similarity Studio ${info.studioVersion}: it maps the ${dim}-d features of the frozen encoder "${card.name}" to ${dim}-d embeddings in which images of the same class lie closer.`,
    '',
    `Created ${info.created}.`,
    '',
    '## Files',
    '',
    '| file | what it is |',
    '|---|---|',
    ...info.files.map((f) => `| \`${f.path}\` | ${f.what} |`),
    '',
    '## Preprocessing',
    '',
    `- Input: ${w}x${h} RGB, channels last (\`[n, ${h}, ${w}, 3]\`), ${resize === 'squash' ? 'the whole image stretched to that size (aspect ratio not kept), as the studio did' : 'short side scaled to fit, then the centre cut'}.`,
    `- Pixels: ${pixels.text}.`,
    `- Encoder feature: ${card.featureOutput ? `\`${card.featureOutput}\`` : 'the model output'}${card.pooling === 'global-average' ? ', averaged over its spatial positions' : ''}, ${dim} values.`,
    ...(info.fineTunedTop
      ? [
          `- Fine-tuned: the encoder's ${info.fineTunedTop.layers} layers after \`${info.fineTunedTop.cut}\` were trained with the head${whole ? ' (their tuned weights are in this model)' : ` (their weights: \`${info.fineTunedTop.weightsFile ?? 'top.safetensors'}\`; the whole model has them built in)`}.`,
          ...(whole
            ? []
            : [
                `- The head's input: the encoder's pooled feature **with the fine-tuned top** — the encoder with each weight of \`${info.fineTunedTop.weightsFile ?? 'top.safetensors'}\` written over the weight of the same TF.js name (\`layer/weight\`; TF.js/Keras layout, e.g. Conv2D kernels [kh, kw, in, out]); equally, those layers applied to the output of \`${info.fineTunedTop.cut}\`, then pooled. The frozen encoder's feature is not what this head was trained on.`,
              ]),
        ]
      : []),
    `- Head: at inference one affine map, \`y = x·K + b\` (the Dense layer \`${HEAD_LAYER}\`), folded from the SkipConnectionHead \`fc(x)·sigmoid(gates) + x\`.`,
    '',
    '## Distance',
    '',
    info.distance === 'cosine'
      ? 'Cosine: rank by cosine similarity (the studio reports the distance `(1 - cos) / 2`, 0 = same direction). Vectors are not normalised by the model; normalise them (or use a cosine index, e.g. Qdrant `Cosine`).'
      : 'Euclidean (L2) distance between the embeddings.',
    '',
  ];

  lines.push('## Use it in TF.js (browser)', '', '```js');
  if (whole) {
    lines.push(
      "import * as tf from '@tensorflow/tfjs';",
      `const model = await tf.loadLayersModel('${info.tfjsModelPath}'); // or 'indexeddb://…' if saved there by the studio`,
      'const embed = (img) => tf.tidy(() => {',
      `  const x = tf.image.resizeBilinear(tf.browser.fromPixels(img), [${h}, ${w}]).toFloat();`,
      `  const v = model.predict(${pixels.js}.expandDims(0));`,
      '  return v.div(tf.norm(v, 2, 1, true)); // unit length: dot product = cosine',
      '});',
      "const [a, b] = [embed(document.getElementById('a')), embed(document.getElementById('b'))];",
      "console.log('cosine similarity', tf.sum(tf.mul(a, b)).dataSync()[0]);",
    );
  } else if (info.graphEncoder) {
    const node = info.graphEncoder.featureNode;
    lines.push(
      "import * as tf from '@tensorflow/tfjs';",
      `const encoder = await tf.loadGraphModel('${info.graphEncoder.url ?? 'ENCODER_URL/model.json'}');`,
      `const head = await tf.loadLayersModel('${info.tfjsModelPath}');`,
      'const embed = (img) => tf.tidy(() => {',
      `  const x = tf.image.resizeBilinear(tf.browser.fromPixels(img), [${h}, ${w}]).toFloat();`,
      `  let f = encoder.execute(${pixels.js}.expandDims(0)${node ? `, '${node}'` : ''}); // call 1: the frozen encoder`,
      ...(card.pooling === 'global-average' ? ['  f = f.mean([1, 2]);'] : []),
      `  const v = head.predict(f.reshape([1, ${dim}])); // call 2: the head`,
      '  return v.div(tf.norm(v, 2, 1, true));',
      '});',
    );
  } else {
    const top = info.fineTunedTop;
    lines.push(
      "import * as tf from '@tensorflow/tfjs';",
      `const head = await tf.loadLayersModel('${info.tfjsModelPath}');`,
      ...(top
        ? [
            `// the encoder "${card.name}" with its fine-tuned top: write each tensor of ${top.weightsFile ?? 'top.safetensors'} (read with any safetensors reader)`,
            '// into the encoder weight of the same name: for (const w of encoder.weights) if (name === w.originalName) w.write(tensor)',
            `// features: [n, ${dim}] from that encoder (see Preprocessing)`,
          ]
        : [`// features: [n, ${dim}] from the frozen encoder "${card.name}" (see Preprocessing)`]),
      'const tuned = head.predict(features);',
      'const unit = tuned.div(tf.norm(tuned, 2, 1, true));',
      'const cosine = tf.matMul(unit, unit.transpose()); // [n, n] similarities',
    );
  }
  lines.push('```', '');

  if (info.pytorch) {
    lines.push(
      '## Use it in PyTorch (quaterion-models)',
      '',
      '```python',
      'import json, torch',
      'from safetensors.torch import load_file',
      'from quaterion_models.heads import SkipConnectionHead',
      '',
      `head = SkipConnectionHead(**json.load(open("${info.pytorch.config}")))`,
      `head.load_state_dict(load_file("${info.pytorch.safetensors}"))  # gates_0, fc_0.weight, fc_0.bias`,
      'head.eval()',
      info.fineTunedTop
        ? `features = torch.randn(4, ${dim})  # the features of the encoder with its fine-tuned top (see Preprocessing)`
        : `features = torch.randn(4, ${dim})  # the frozen encoder's features (see Preprocessing)`,
      'tuned = torch.nn.functional.normalize(head(features), dim=1)',
      'print(tuned @ tuned.T)  # cosine similarities',
      '```',
      '',
    );
  }

  lines.push('## Data, split and metrics', '');
  if (info.split) {
    const s = info.split;
    const counts =
      s.trainClasses !== undefined && s.validationClasses !== undefined
        ? `: ${s.trainClasses} classes trained on${s.trainImages !== undefined ? ` (${s.trainImages} images)` : ''}, ${s.validationClasses} never seen in training${s.validationImages !== undefined ? ` (${s.validationImages} images)` : ''}`
        : '';
    lines.push(
      `Classes were split ${s.mode === 'numpy' ? "as the reference does (numpy's draw)" : 'at random'} with seed ${s.seed}, ${Math.round(s.trainFraction * 100)}% for training${counts}.${info.bestEpoch ? ` The head is the one of epoch ${info.bestEpoch}.` : ''}`,
      '',
    );
  }
  lines.push(...metricsTable(info.baseline, info.tuned), '');
  if (card.licence) lines.push(`Encoder licence: ${card.licence}.${card.url ? ` Encoder weights from ${card.url}.` : ''}`, '');
  return lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n');
}

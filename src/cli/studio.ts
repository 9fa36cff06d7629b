#!/usr/bin/env node
// Similarity Studio's command-line runner: the browser studio's pipeline, headless.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { runRecipe, type RecipeOptions } from './runRecipe';
import { runBenchmark } from './benchmark';
import { say } from './progress';

const HELP = `Similarity Studio runner

Usage:
  npm run studio -- run --data <folder> --encoder <model folder | catalog id> [options]
  npm run studio -- bench [--data <folder>] [--encoder <model folder>] [options]

Options:
  --data <folder>          dataset folder (devkit, class folders or CSV layout)
  --encoder <folder|id>    a TF.js model folder (model.json + weights) or a catalog id
  --out <folder>           where report.json and head/ go (default: studio-out)
  --cache <folder>         embedding cache (default: .studio-cache)
  --backend wasm|cpu       tfjs backend (default: wasm)
  --split seeded|numpy     class split: our seeded draw, or numpy's exact draw (default: seeded)
  --seed <n>               split and training seed (default: 42)
  --train-fraction <f>     share of classes that train (default: 0.5)
  --crop                   crop each image to its bounding box (off, like the recipe)
  --embed-batch <n>        images per encoder batch (default: 32)
  --epochs <n>             maximum training epochs
  --patience <n>           early-stopping patience in epochs
  --mining hard|all|semi_hard
  --margin <m>             triplet margin
  --distance cosine|euclidean
  --lr <x>                 learning rate
  --classes-per-batch <P>  classes per training batch
  --images-per-class <K>   images per class in a training batch
  --dropout <r>            dropout on the head's input while training
  --eval-queries <n>       sample n validation queries (default: all, exact)
  --selection heldout|recipe
                           how the epoch is chosen: on held-out training classes (default), or
                           on the test classes as the reference does ("recipe", flattering)
  --heldout-fraction <f>   share of the training classes held out for selection (default: 0.2)
  --selection-metric loss|r-precision
                           what the best epoch is chosen by on the selection set (default: loss)
  --train-top-blocks <n>   also fine-tune the encoder's top n blocks from its cached cut
                           (0 = head only, the default; 1 = the model card's default cut)
  --top-lr <x>             the top's learning rate (default: 1e-4)
  --top-l2sp <x>           L2-SP pull of the top toward its pretrained weights (default: 0)
  --top-clip <x>           clip the top's gradient to this global norm (0 = off; default: 1)
  --top-spatial-dropout <r> share of cached map positions dropped per training batch (default: 0.3)
  --top-flip on|off        flip half of each batch's cached maps horizontally (default: on)
  --top-warm-start on|off  train the head alone first, then top + head from it, keeping the
                           head-only weights unless fine-tuning beats them (default: on)
  --top-epochs <n>         epoch bound of the fine-tuning stage (default: 30)
  --top-patience <n>       early-stopping patience of the fine-tuning stage (default: 6)
  --top-classes-per-batch <n>  classes per batch of the fine-tuning stage (default: the head's);
                           fewer bound the top's memory on WASM
  --top-flipped-views on|off  also cache each training image's mirrored view at the cut, as an
                           extra training sample (default: off)
  --top-augmented-views <n>  also cache n random views (crop, resized, mirrored half the time) of
                           each training image at the cut; each fine-tuning sample is drawn from
                           the image or one of them (default: 0)
  --full-scale             bench only: all 16,185 devkit annotations, each linked to a shared
                           image (measures time and memory at full size; quality meaningless)
  -h, --help               this text
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      encoder: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
      backend: { type: 'string' },
      split: { type: 'string' },
      seed: { type: 'string' },
      'train-fraction': { type: 'string' },
      crop: { type: 'boolean' },
      'embed-batch': { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      mining: { type: 'string' },
      margin: { type: 'string' },
      distance: { type: 'string' },
      lr: { type: 'string' },
      'classes-per-batch': { type: 'string' },
      'images-per-class': { type: 'string' },
      dropout: { type: 'string' },
      'eval-queries': { type: 'string' },
      selection: { type: 'string' },
      'heldout-fraction': { type: 'string' },
      'selection-metric': { type: 'string' },
      'train-top-blocks': { type: 'string' },
      'top-lr': { type: 'string' },
      'top-l2sp': { type: 'string' },
      'top-clip': { type: 'string' },
      'top-spatial-dropout': { type: 'string' },
      'top-flip': { type: 'string' },
      'top-warm-start': { type: 'string' },
      'top-flipped-views': { type: 'string' },
      'top-augmented-views': { type: 'string' },
      'top-classes-per-batch': { type: 'string' },
      'top-epochs': { type: 'string' },
      'top-patience': { type: 'string' },
      'full-scale': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return;
  }
  const number = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got '${raw}'.`);
    return value;
  };
  const onOff = (name: string, raw: string | undefined): boolean | undefined => {
    if (raw === undefined) return undefined;
    if (raw !== 'on' && raw !== 'off') throw new UsageError(`--${name} must be on or off, got '${raw}'.`);
    return raw === 'on';
  };
  const options: RecipeOptions = {
    data: values.data ? path.resolve(values.data) : '',
    encoder: values.encoder ?? '',
    out: path.resolve(values.out ?? 'studio-out'),
    cache: path.resolve(values.cache ?? '.studio-cache'),
    backend: (values.backend ?? 'wasm') as RecipeOptions['backend'],
    split: { mode: (values.split ?? 'seeded') as 'seeded' | 'numpy', seed: number('seed', values.seed) ?? 42, trainFraction: number('train-fraction', values['train-fraction']) ?? 0.5 },
    cropToBox: values.crop ?? false,
    embedBatchSize: number('embed-batch', values['embed-batch']) ?? 32,
    evalQueries: number('eval-queries', values['eval-queries']),
    training: {
      maxEpochs: number('epochs', values.epochs),
      patience: number('patience', values.patience),
      learningRate: number('lr', values.lr),
      classesPerBatch: number('classes-per-batch', values['classes-per-batch']),
      imagesPerClass: number('images-per-class', values['images-per-class']),
      mining: values.mining as 'hard' | 'all' | 'semi_hard' | undefined,
      margin: number('margin', values.margin),
      distance: values.distance as 'cosine' | 'euclidean' | undefined,
      dropout: number('dropout', values.dropout),
      selection: values.selection as 'heldout' | 'recipe' | undefined,
      heldOutFraction: number('heldout-fraction', values['heldout-fraction']),
      selectionMetric: values['selection-metric'] as 'loss' | 'r-precision' | undefined,
      topBlocks: number('train-top-blocks', values['train-top-blocks']),
      topLearningRate: number('top-lr', values['top-lr']),
      topL2sp: number('top-l2sp', values['top-l2sp']),
      topClipNorm: number('top-clip', values['top-clip']),
      topSpatialDropout: number('top-spatial-dropout', values['top-spatial-dropout']),
      topFlip: onOff('top-flip', values['top-flip']),
      topWarmStart: onOff('top-warm-start', values['top-warm-start']),
      topEpochs: number('top-epochs', values['top-epochs']),
      topPatience: number('top-patience', values['top-patience']),
      topFlippedViews: onOff('top-flipped-views', values['top-flipped-views']),
      topClassesPerBatch: number('top-classes-per-batch', values['top-classes-per-batch']),
      topAugmentedViews: number('top-augmented-views', values['top-augmented-views']),
    },
  };
  if (!['wasm', 'cpu'].includes(options.backend)) throw new UsageError(`--backend must be wasm or cpu, got '${options.backend}'.`);
  if (!['seeded', 'numpy'].includes(options.split.mode)) throw new UsageError(`--split must be seeded or numpy, got '${options.split.mode}'.`);

  if (command === 'run') {
    if (!options.data || !options.encoder) throw new UsageError('run needs --data <folder> and --encoder <model folder | catalog id>.');
    const report = await runRecipe(options);
    say(`Report written to ${path.join(options.out, 'report.json')}`);
    say(
      `R-Precision on never-seen classes: base ${report.baseline.rPrecision.toFixed(4)} -> tuned ${report.tuned.rPrecision.toFixed(4)}`,
    );
  } else if (command === 'bench') {
    const result = await runBenchmark(options, { fullScale: values['full-scale'] ?? false });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    throw new UsageError(`Unknown command '${command}'. Commands: run, bench.`);
  }
}

class UsageError extends Error {}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env.STUDIO_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});

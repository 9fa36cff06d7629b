import type * as tf from '@tensorflow/tfjs';
import { encodeUtf8, decodeUtf8 } from '../textCodec';
import type { NamedWeights } from '../train/heads';
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
} from './safetensors';
import { bytesToFloat32LE, concatBytes } from './bytes';
import { TOP_FILE } from './topExport';
import { HEAD_LAYER, headLayersModel, layersModelFiles, skipConnectionFromAffine } from './similarityModel';

export type { NamedWeights };

/**
 * Keyword arguments of quaterion-models' `SkipConnectionHead.__init__`, exactly what its
 * `get_config_dict()` writes to config.json (EncoderHead.load calls `cls(**config)`, so no
 * other key may appear here).
 */
export interface SkipConnectionHeadConfig {
  input_embedding_size: number;
  dropout: number;
  skip_dropout: number;
  n_layers: number;
}

/** Our own description of an exported head (studio.json, and inside both weight files). */
export interface StudioHeadCard {
  format: 'similarity-studio-head';
  /** 1: studio 0.1.0 (tfjs/model.json held our own weights-only format); 2: tfjs/ is a standard layers model. */
  formatVersion: 1 | 2;
  kind: 'skip-connection';
  /** The class in qdrant/quaterion-models that loads `config` + the safetensors weights. */
  headClass: 'SkipConnectionHead';
  config: SkipConnectionHeadConfig;
  encoder: Record<string, unknown>;
  created: string;
  studioVersion: string;
}

export interface HeadExportOptions {
  kind: 'skip-connection';
  dim: number;
  dropout: number;
  /** quaterion-models' skip_dropout (default 0, the library default; the recipe does not set it). */
  skipDropout?: number;
  /** Model card of the frozen encoder (any JSON object). */
  encoderCard: Record<string, unknown>;
  studioVersion?: string;
  /** ISO time; defaults to now. */
  created?: string;
}

/** Studio 0.1.0's TF.js weights-only model.json (`modelTopology` null); still read back. */
export interface LegacyTfjsHeadModelJson {
  format: 'similarity-studio-head';
  generatedBy: string;
  convertedBy: null;
  modelTopology: null;
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: 'float32' }[];
  }[];
  userDefinedMetadata: StudioHeadCard;
}

export interface HeadExport {
  /** model.safetensors: the PyTorch names/layout, metadata {format: 'pt', config, studio}. */
  safetensors: Uint8Array;
  /** config.json for `SkipConnectionHead(**config)`. */
  config: SkipConnectionHeadConfig;
  /** studio.json: encoder card, creation time, studio version. */
  card: StudioHeadCard;
  /** tfjs/model.json + weights.bin: a standard layers model (one Dense layer) for `tf.loadLayersModel`. */
  tfjs: { modelJson: tf.io.ModelJSON; weightsBin: Uint8Array };
  /** Everything above as file name -> bytes, ready to download or write. */
  files: Record<string, Uint8Array>;
}

export class HeadImportError extends Error {
  override name = 'HeadImportError';
}

export const HEAD_FILES = {
  safetensors: 'model.safetensors',
  config: 'config.json',
  card: 'studio.json',
  tfjsModel: 'tfjs/model.json',
  tfjsWeights: 'tfjs/weights.bin',
  readme: 'README.md',
} as const;

/** What each file of a head export is (the README's file table). */
export const HEAD_FILE_NOTES: { path: string; what: string }[] = [
  { path: HEAD_FILES.safetensors, what: "the head's parameters `gates_0`, `fc_0.weight` (out x in), `fc_0.bias`, for PyTorch and for continuing training" },
  { path: HEAD_FILES.config, what: "keyword arguments of quaterion-models' `SkipConnectionHead(**config)`" },
  { path: HEAD_FILES.tfjsModel, what: 'the head as a TF.js layers model (one Dense layer): `tf.loadLayersModel` reads it' },
  { path: HEAD_FILES.tfjsWeights, what: 'the weights of that TF.js model' },
  { path: HEAD_FILES.card, what: "the encoder's model card (input size, pixel range, feature layer) and the studio version" },
];

/** Parameter names and shapes of a SkipConnectionHead, in state_dict order. */
export function skipConnectionSpec(dim: number, nLayers = 1): { name: string; shape: number[] }[] {
  const spec: { name: string; shape: number[] }[] = [];
  for (let i = 0; i < nLayers; i++) {
    spec.push({ name: `gates_${i}`, shape: [dim] });
    spec.push({ name: `fc_${i}.weight`, shape: [dim, dim] });
    spec.push({ name: `fc_${i}.bias`, shape: [dim] });
  }
  return spec;
}

function countLayers(weights: NamedWeights): number {
  let n = 0;
  while (`gates_${n}` in weights || `fc_${n}.weight` in weights) n++;
  return n;
}

/** Checks names and shapes against the spec; returns the weights in state_dict order. */
function checkWeights(weights: NamedWeights, config: SkipConnectionHeadConfig): NamedWeights {
  const spec = skipConnectionSpec(config.input_embedding_size, config.n_layers);
  const out: NamedWeights = {};
  for (const { name, shape } of spec) {
    const t = weights[name];
    if (!t) throw new HeadImportError(`Missing tensor '${name}' (expected shape [${shape.join(', ')}])`);
    if (!(t.data instanceof Float32Array)) {
      throw new HeadImportError(`Tensor '${name}' is not float32`);
    }
    const same = t.shape.length === shape.length && t.shape.every((s, i) => s === shape[i]);
    if (!same) {
      throw new HeadImportError(
        `Tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] for a SkipConnectionHead of size ${config.input_embedding_size}`,
      );
    }
    if (t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new HeadImportError(`Tensor '${name}' holds ${t.data.length} values, shape says otherwise`);
    }
    out[name] = t;
  }
  const extra = Object.keys(weights).filter((k) => !(k in out));
  if (extra.length > 0) {
    throw new HeadImportError(`Unexpected tensor(s) for a SkipConnectionHead: ${extra.join(', ')}`);
  }
  return out;
}

function checkConfig(raw: unknown): SkipConnectionHeadConfig {
  if (!raw || typeof raw !== 'object') throw new HeadImportError('Head config is not a JSON object');
  const c = raw as Record<string, unknown>;
  const d = c.input_embedding_size;
  if (!Number.isInteger(d) || (d as number) <= 0) {
    throw new HeadImportError(`Head config: input_embedding_size must be a positive integer, got ${JSON.stringify(d)}`);
  }
  const num = (k: string, dflt: number) => {
    const v = c[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new HeadImportError(`Head config: ${k} must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const nLayers = num('n_layers', 1);
  if (!Number.isInteger(nLayers) || nLayers < 1) throw new HeadImportError(`Head config: bad n_layers ${nLayers}`);
  return {
    input_embedding_size: d as number,
    dropout: num('dropout', 0),
    skip_dropout: num('skip_dropout', 0),
    n_layers: nLayers,
  };
}

/** Serialises a head in both formats (no files are written here). */
export async function exportHead(weights: NamedWeights, opts: HeadExportOptions): Promise<HeadExport> {
  if (opts.kind !== 'skip-connection') {
    throw new Error(`exportHead: only 'skip-connection' heads are supported, got '${String(opts.kind)}'`);
  }
  const config: SkipConnectionHeadConfig = {
    input_embedding_size: opts.dim,
    dropout: opts.dropout,
    skip_dropout: opts.skipDropout ?? 0,
    n_layers: Math.max(1, countLayers(weights)),
  };
  checkConfig(config);
  const ordered = checkWeights(weights, config);
  const card: StudioHeadCard = {
    format: 'similarity-studio-head',
    formatVersion: 2,
    kind: 'skip-connection',
    headClass: 'SkipConnectionHead',
    config,
    encoder: opts.encoderCard,
    created: opts.created ?? new Date().toISOString(),
    studioVersion: opts.studioVersion ?? 'dev',
  };
  const safetensors = encodeSafetensors(ordered, {
    format: 'pt',
    head_class: 'SkipConnectionHead',
    config: JSON.stringify(config),
    studio: JSON.stringify(card),
  });
  const model = headLayersModel(ordered);
  let tfjs: HeadExport['tfjs'];
  try {
    tfjs = await layersModelFiles(model, {
      generatedBy: `Similarity Studio ${card.studioVersion}`,
      metadata: { similarityStudio: card },
    });
  } finally {
    model.dispose();
  }
  const json = (o: unknown) => encodeUtf8(JSON.stringify(o, null, 2) + '\n');
  return {
    safetensors,
    config,
    card,
    tfjs,
    files: {
      [HEAD_FILES.safetensors]: safetensors,
      [HEAD_FILES.config]: json(config),
      [HEAD_FILES.card]: json(card),
      [HEAD_FILES.tfjsModel]: json(tfjs.modelJson),
      [HEAD_FILES.tfjsWeights]: tfjs.weightsBin,
    },
  };
}

export type HeadFileContent = Uint8Array | string | object;

export interface ImportedHead {
  format: 'safetensors' | 'tfjs';
  weights: NamedWeights;
  config: SkipConnectionHeadConfig;
  /** Present when the files came from the studio. */
  card?: StudioHeadCard;
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1];
}

function findFile(files: Record<string, HeadFileContent>, test: (base: string) => boolean) {
  const key = Object.keys(files).find((k) => test(baseName(k)));
  return key === undefined ? undefined : { key, value: files[key] };
}

function asJson(name: string, v: HeadFileContent): unknown {
  if (typeof v === 'string' || v instanceof Uint8Array) {
    const text = typeof v === 'string' ? v : decodeUtf8(v);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new HeadImportError(`${name} is not valid JSON: ${(e as Error).message}`);
    }
  }
  return v;
}

function asBytes(name: string, v: HeadFileContent): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new HeadImportError(`${name} must be given as bytes (Uint8Array)`);
}

/**
 * Reads a head back from either export: `{ 'model.safetensors', 'config.json'?, 'studio.json'? }`
 * or `{ 'model.json', 'weights.bin' }` (keys are file names or paths; values bytes, JSON text,
 * or parsed JSON). Without a config.json the config comes from the file's metadata, or
 * else is inferred from the tensor shapes.
 */
export function importHead(files: Record<string, HeadFileContent>): ImportedHead {
  // a fine-tuned run's top.safetensors beside it is not the head
  const st = findFile(files, (b) => b.endsWith('.safetensors') && b !== TOP_FILE);
  const cfgFile = findFile(files, (b) => b === 'config.json');
  const cardFile = findFile(files, (b) => b === 'studio.json');
  let card = cardFile ? (asJson(cardFile.key, cardFile.value) as StudioHeadCard) : undefined;

  if (st) {
    let decoded;
    try {
      decoded = decodeSafetensors(asBytes(st.key, st.value));
    } catch (e) {
      if (e instanceof SafetensorsError) throw new HeadImportError(`${st.key}: ${e.message}`);
      throw e;
    }
    const { tensors, metadata } = decoded;
    if (!card && metadata.studio) card = asJson(`${st.key} metadata 'studio'`, metadata.studio) as StudioHeadCard;
    const rawCfg = cfgFile
      ? asJson(cfgFile.key, cfgFile.value)
      : metadata.config
        ? asJson(`${st.key} metadata 'config'`, metadata.config)
        : inferConfig(tensors);
    const config = checkConfig(rawCfg);
    return { format: 'safetensors', weights: checkWeights(tensors, config), config, card };
  }

  const mj = findFile(files, (b) => b === 'model.json');
  if (!mj) {
    throw new HeadImportError(
      `No head found: expected a .safetensors file or a TF.js model.json (got ${Object.keys(files).join(', ') || 'no files'})`,
    );
  }
  const model = asJson(mj.key, mj.value) as Partial<LegacyTfjsHeadModelJson> & Partial<tf.io.ModelJSON>;
  if (!model || !Array.isArray(model.weightsManifest)) {
    throw new HeadImportError(`${mj.key} has no weightsManifest`);
  }
  const tensors: NamedWeights = {};
  for (const group of model.weightsManifest) {
    const chunks = group.paths.map((p) => {
      const f = findFile(files, (b) => b === baseName(p));
      if (!f) throw new HeadImportError(`${mj.key} names weight file '${p}', which is missing`);
      return asBytes(f.key, f.value);
    });
    const bin = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32') {
        throw new HeadImportError(`Weight '${w.name}' has dtype '${String(w.dtype)}'; only float32 is supported`);
      }
      if ('quantization' in w) throw new HeadImportError(`Weight '${w.name}' is quantized; not supported`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (offset + count * 4 > bin.length) {
        throw new HeadImportError(`Weight file too short for '${w.name}' (${bin.length} bytes)`);
      }
      tensors[w.name] = { shape: [...w.shape], data: bytesToFloat32LE(bin, offset, count) };
      offset += count * 4;
    }
    if (offset !== bin.length) {
      throw new HeadImportError(`Weight file has ${bin.length - offset} bytes the manifest does not describe`);
    }
  }
  if (model.modelTopology) return importDenseHead(mj.key, model as tf.io.ModelJSON, tensors, card, cfgFile && asJson(cfgFile.key, cfgFile.value));
  if (!card && model.userDefinedMetadata) card = model.userDefinedMetadata as StudioHeadCard;
  const rawCfg = cfgFile ? asJson(cfgFile.key, cfgFile.value) : card?.config ?? inferConfig(tensors);
  const config = checkConfig(rawCfg);
  return { format: 'tfjs', weights: checkWeights(tensors, config), config, card };
}

/**
 * A standard layers model of the head (studio 0.2+): one Dense layer `y = x·K + b`, read back
 * as the SkipConnectionHead that computes exactly that map (gates 0: see
 * `skipConnectionFromAffine`). The unfolded parameters are in the safetensors, which is
 * preferred when both are given.
 */
function importDenseHead(
  key: string,
  model: tf.io.ModelJSON,
  tensors: NamedWeights,
  card: StudioHeadCard | undefined,
  rawConfig: unknown,
): ImportedHead {
  const kernel = tensors[`${HEAD_LAYER}/kernel`];
  const bias = tensors[`${HEAD_LAYER}/bias`];
  const others = Object.keys(tensors).filter((n) => !n.startsWith(`${HEAD_LAYER}/`));
  if (kernel && others.length > 0) {
    throw new HeadImportError(
      `${key} is a whole similarity model (image in, embedding out), not a head: load the head's zip or its model.safetensors instead`,
    );
  }
  const dim = kernel?.shape[0];
  if (!kernel || !bias || kernel.shape.length !== 2 || kernel.shape[1] !== dim || bias.data.length !== dim) {
    throw new HeadImportError(
      `${key} is a TF.js layers model but not a studio head (no square Dense layer '${HEAD_LAYER}'; it has ${Object.keys(tensors).join(', ') || 'no weights'})`,
    );
  }
  const meta = model.userDefinedMetadata as { similarityStudio?: StudioHeadCard } | undefined;
  card ??= meta?.similarityStudio;
  const config = checkConfig(rawConfig ?? { ...(card?.config ?? {}), input_embedding_size: dim, n_layers: 1 });
  const weights = skipConnectionFromAffine({ dim: dim!, kernel: kernel.data, bias: bias.data });
  return { format: 'tfjs', weights: checkWeights(weights, { ...config, n_layers: 1 }), config: { ...config, n_layers: 1 }, card };
}

function inferConfig(tensors: NamedWeights): SkipConnectionHeadConfig {
  const g = tensors.gates_0;
  if (!g) throw new HeadImportError(`Missing tensor 'gates_0' (and no config to say the head's size)`);
  return { input_embedding_size: g.data.length, dropout: 0, skip_dropout: 0, n_layers: Math.max(1, countLayers(tensors)) };
}

import type { FeaturePooling, ModelCard, PixelNormalisation, ResizeMode } from './modelCard';
import { validateModelCard } from './modelCard';

/** What a user (or the UI) may say about a dropped model that its model.json cannot. */
export interface ModelCardHints {
  id?: string;
  name?: string;
  description?: string;
  url?: string;
  normalisation?: PixelNormalisation;
  /** Feature layer (layers model) or node / signature key (graph model). */
  featureOutput?: string;
  pooling?: FeaturePooling;
  featureSize?: number;
  inputSize?: { width: number; height: number };
  resize?: ResizeMode;
  licence?: string;
}

/** Raised when a model.json does not describe a usable image encoder. */
export class ModelInferenceError extends Error {
  override name = 'ModelInferenceError';
}

/**
 * Known models, recognised by a distinctive feature-layer name: the three models in the
 * project's shared test folder (see ../shared/models/README.md).
 */
export const KNOWN_FEATURE_LAYERS: Record<
  string,
  Pick<ModelCard, 'id' | 'name' | 'description' | 'licence' | 'featureSize' | 'pooling'>
> = {
  MobilenetV2_Logits_AvgPool: {
    id: 'mobilenet-v2-1.0-224',
    name: 'MobileNetV2 1.0 (224)',
    description: 'MobileNetV2 width 1.0, ImageNet; pooled 1280-d feature before the logits.',
    licence: 'Apache-2.0',
    featureSize: 1280,
    pooling: 'global-average',
  },
  MobilenetV1_Logits_AvgPool_1a_AvgPool: {
    id: 'mobilenet-v1-0.25-128',
    name: 'MobileNetV1 0.25 (128)',
    description: 'MobileNetV1 width 0.25 at 128 px, ImageNet; pooled 256-d feature. Small and fast.',
    licence: 'Apache-2.0',
    featureSize: 256,
    pooling: 'global-average',
  },
  global_average_pooling2d_1: {
    id: 'mobilenet-v1-0.75-224',
    name: 'MobileNetV1 0.75 (224)',
    description: "Google's TF.js MobileNetV1 width 0.75, ImageNet; pooled 768-d feature.",
    licence: 'Apache-2.0',
    featureSize: 768,
    pooling: 'none',
  },
};

export interface KerasLayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[];
}

function layerName(l: KerasLayerJson): string {
  return (l.config?.name as string) ?? l.name ?? '';
}

/** The layer list of a Keras topology, functional or sequential, old or new format. */
function kerasLayers(topology: Record<string, unknown>): KerasLayerJson[] {
  const root = (topology.model_config ?? topology) as { class_name?: string; config?: unknown };
  const cfg = root.config as { layers?: KerasLayerJson[] } | KerasLayerJson[] | undefined;
  if (Array.isArray(cfg)) return cfg;
  if (cfg && Array.isArray(cfg.layers)) return cfg.layers;
  throw new ModelInferenceError('model.json topology has no layer list');
}

/** Names of the layers feeding `layer` (Keras 2 `[[[name, 0, 0, {}]]]` or Keras 3 format). */
function inboundNames(layer: KerasLayerJson): string[] {
  const names: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) {
      if (typeof x[0] === 'string' && typeof x[1] === 'number') names.push(x[0]);
      else x.forEach(walk);
    } else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (o.class_name === '__keras_tensor__' && o.config && typeof o.config === 'object') {
        const hist = (o.config as { keras_history?: unknown[] }).keras_history;
        if (Array.isArray(hist) && typeof hist[0] === 'string') names.push(hist[0]);
      } else {
        Object.values(o).forEach(walk);
      }
    }
  };
  walk(layer.inbound_nodes ?? []);
  return names;
}

function inputShapeOf(layers: KerasLayerJson[]): (number | null)[] | undefined {
  for (const l of layers) {
    const shape = (l.config.batch_input_shape ?? l.config.batch_shape) as (number | null)[] | undefined;
    if (Array.isArray(shape)) return shape;
  }
  return undefined;
}

/**
 * Channels produced by a layer, found by walking back to the last layer that sets them
 * (Conv2D filters, Dense units); layers in between (BatchNorm, ReLU, pooling, depthwise)
 * keep the channel count.
 */
function channelsOf(name: string, byName: Map<string, KerasLayerJson>, depth = 0): number | undefined {
  const layer = byName.get(name);
  if (!layer || depth > 500) return undefined;
  const c = layer.config;
  if (typeof c.filters === 'number') return c.filters;
  if (typeof c.units === 'number') return c.units;
  if (layer.class_name === 'InputLayer') {
    const s = (c.batch_input_shape ?? c.batch_shape) as number[] | undefined;
    return s ? s[s.length - 1] : undefined;
  }
  const inbound = inboundNames(layer);
  return inbound.length > 0 ? channelsOf(inbound[0], byName, depth + 1) : undefined;
}

const POOLS = new Set(['GlobalAveragePooling2D', 'AveragePooling2D', 'GlobalMaxPooling2D']);

function isLogits(l: KerasLayerJson): boolean {
  if (l.class_name === 'Dense') return true;
  if (l.class_name === 'Conv2D') {
    const k = l.config.kernel_size as number[] | undefined;
    return Array.isArray(k) && k.every((d) => d === 1);
  }
  return false;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);

/**
 * Fine-tuning cuts for a layers model, nearest the feature first (at most `count`): block
 * boundaries that every path from the image to the feature passes through. In a residual net
 * a boundary is a residual Add or the tensor a residual Add starts from (MobileNetV2:
 * `expanded_conv_15_add`, `_14_add`, `_13_project`); without residual adds, the input of a
 * depthwise convolution (MobileNetV1: `conv_pw_12_relu`, `conv_pw_11_relu`, …). Each cut adds
 * at least one convolution to the top. Empty when the graph has no such boundary.
 */
export function inferCuts(layers: KerasLayerJson[], featureLayer: string, count = 3): string[] {
  const inbound = new Map(layers.map((l) => [layerName(l), inboundNames(l)]));
  const classOf = new Map(layers.map((l) => [layerName(l), l.class_name]));
  const consumers = new Map<string, string[]>();
  for (const [name, ins] of inbound) for (const i of ins) consumers.set(i, [...(consumers.get(i) ?? []), name]);
  const ancestors = new Set<string>();
  const up = (n: string) => {
    if (ancestors.has(n)) return;
    ancestors.add(n);
    (inbound.get(n) ?? []).forEach(up);
  };
  up(featureLayer);
  const inputs = [...ancestors].filter((n) => (inbound.get(n) ?? []).length === 0);
  /** Whether every path from the inputs to the feature passes through `d`. */
  const dominates = (d: string) => {
    const seen = new Set<string>([d]);
    const stack = inputs.filter((n) => n !== d);
    while (stack.length) {
      const n = stack.pop()!;
      if (n === featureLayer) return false;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const c of consumers.get(n) ?? []) if (ancestors.has(c) && !seen.has(c)) stack.push(c);
    }
    return true;
  };
  const convsAbove = (d: string) => {
    const seen = new Set<string>();
    const stack = [...(consumers.get(d) ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n) || !ancestors.has(n)) continue;
      seen.add(n);
      stack.push(...(consumers.get(n) ?? []));
    }
    return [...seen].filter((n) => CONVS.has(classOf.get(n) ?? '')).length;
  };
  const residual = [...ancestors].some((n) => classOf.get(n) === 'Add');
  const cuts: string[] = [];
  let convs = 0;
  const order = layers.map(layerName).filter((n) => ancestors.has(n) && n !== featureLayer && !inputs.includes(n));
  for (const name of order.reverse()) {
    if (cuts.length >= count) break;
    const next = (consumers.get(name) ?? []).filter((c) => ancestors.has(c));
    const boundary = residual
      ? classOf.get(name) === 'Add' || next.some((c) => classOf.get(c) === 'Add')
      : next.some((c) => classOf.get(c) === 'DepthwiseConv2D');
    if (!boundary || !dominates(name)) continue;
    const above = convsAbove(name);
    if (above <= convs) continue;
    cuts.push(name);
    convs = above;
  }
  return cuts;
}

function inferLayersCard(modelJson: Record<string, unknown>, hints: ModelCardHints): ModelCard {
  const layers = kerasLayers(modelJson.modelTopology as Record<string, unknown>);
  const byName = new Map(layers.map((l) => [layerName(l), l]));
  const shape = inputShapeOf(layers);
  if (!hints.inputSize && (!shape || shape.length !== 4 || shape[3] !== 3 || !shape[1] || !shape[2])) {
    throw new ModelInferenceError(
      `model input is [${(shape ?? []).map((d) => d ?? 'null').join(',')}]; an image encoder takes [null,H,W,3]` +
        (shape && shape.length === 4 && shape[3] === 3 ? ' with a fixed H and W (give inputSize as a hint)' : ''),
    );
  }

  let feature: KerasLayerJson | undefined;
  let known = undefined as (typeof KNOWN_FEATURE_LAYERS)[string] | undefined;
  if (hints.featureOutput) {
    feature = byName.get(hints.featureOutput);
    if (!feature) {
      throw new ModelInferenceError(
        `feature layer "${hints.featureOutput}" not found; last layers: ` +
          layers.slice(-8).map(layerName).join(', '),
      );
    }
  } else {
    // A known name counts only when the channel count agrees too: names such as
    // global_average_pooling2d_1 are Keras defaults that other models share.
    feature = layers.find((l) => {
      const k = KNOWN_FEATURE_LAYERS[layerName(l)];
      const c = k ? channelsOf(layerName(l), byName) : undefined;
      return k !== undefined && (c === undefined || c === k.featureSize);
    });
    if (feature) known = KNOWN_FEATURE_LAYERS[layerName(feature)];
    if (!feature) feature = [...layers].reverse().find((l) => POOLS.has(l.class_name));
    if (!feature) {
      // The layer that feeds the classifier's logits (last Dense or 1x1 Conv).
      const logits = [...layers].reverse().find(isLogits);
      const before = logits ? inboundNames(logits)[0] : undefined;
      feature = before ? byName.get(before) : undefined;
    }
    if (!feature) {
      throw new ModelInferenceError(
        'no pooled feature layer found (no GlobalAveragePooling2D/AveragePooling2D, no classifier ' +
          'to step back from); name one with the featureOutput hint. Last layers: ' +
          layers.slice(-8).map(layerName).join(', '),
      );
    }
  }
  const name = layerName(feature);
  const featureSize = hints.featureSize ?? known?.featureSize ?? channelsOf(name, byName);
  if (!featureSize) {
    throw new ModelInferenceError(`cannot tell the size of feature layer "${name}"; give featureSize as a hint`);
  }
  const pooling: FeaturePooling =
    hints.pooling ??
    known?.pooling ??
    (feature.class_name.startsWith('Global') || feature.class_name === 'Dense' ? 'none' : 'global-average');
  const inputSize = hints.inputSize ?? { width: shape![2] as number, height: shape![1] as number };
  const id = hints.id ?? known?.id ?? `dropped-${slug(name)}-${featureSize}`;
  const cuts = inferCuts(layers, name);
  return validateModelCard({
    ...(cuts.length
      ? { cuts }
      : { cutsUnavailable: `no block boundary between the image and ${name} that every path passes through: the top cannot be cut off` }),
    id,
    name: hints.name ?? known?.name ?? `Dropped model (${name}, ${featureSize}-d)`,
    description:
      hints.description ??
      known?.description ??
      `Layers model from a dropped model.json; feature layer ${name}, ${inputSize.width}x${inputSize.height} input.`,
    url: hints.url,
    format: 'layers',
    inputSize,
    normalisation: hints.normalisation ?? { kind: 'range', min: -1, max: 1 },
    featureOutput: name,
    pooling,
    featureSize,
    resize: hints.resize ?? 'squash',
    licence: hints.licence ?? known?.licence ?? 'unknown',
  });
}

interface SignatureTensor {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[] };
}

function dims(t: SignatureTensor | undefined): number[] | undefined {
  return t?.tensorShape?.dim?.map((d) => Number(d.size ?? -1));
}

function inferGraphCard(modelJson: Record<string, unknown>, hints: ModelCardHints): ModelCard {
  const sig = modelJson.signature as
    | { inputs?: Record<string, SignatureTensor>; outputs?: Record<string, SignatureTensor> }
    | undefined;
  const inputs = Object.values(sig?.inputs ?? {});
  const inShape = dims(inputs[0]);
  let inputSize = hints.inputSize;
  if (inShape && (inShape.length !== 4 || inShape[3] !== 3)) {
    throw new ModelInferenceError(
      `model input is [${inShape.map((d) => (d < 0 ? 'null' : d)).join(',')}]; an image encoder takes [null,H,W,3]`,
    );
  }
  if (!inputSize && inShape && inShape[1] > 0 && inShape[2] > 0) {
    inputSize = { width: inShape[2], height: inShape[1] };
  }
  if (!inputSize) {
    throw new ModelInferenceError('graph model input size is not fixed; give inputSize as a hint (e.g. 224x224)');
  }
  const outputs = sig?.outputs ?? {};
  const key = hints.featureOutput ?? Object.keys(outputs)[0];
  const outShape = key ? dims(outputs[key]) : undefined;
  const featureSize = hints.featureSize ?? (outShape ? outShape[outShape.length - 1] : undefined);
  if (!featureSize || featureSize <= 0) {
    throw new ModelInferenceError('cannot tell the feature size of the graph model; give featureSize as a hint');
  }
  return validateModelCard({
    id: hints.id ?? `dropped-graph-${featureSize}`,
    name: hints.name ?? `Dropped graph model (${featureSize}-d)`,
    description: hints.description ?? 'Graph model from a dropped model.json.',
    url: hints.url,
    format: 'graph',
    inputSize,
    // TF Hub image models take [0, 1] pixels ("common image input" convention).
    normalisation: hints.normalisation ?? { kind: 'range', min: 0, max: 1 },
    featureOutput: hints.featureOutput,
    pooling: hints.pooling ?? (outShape && outShape.length === 4 ? 'global-average' : 'none'),
    featureSize,
    resize: hints.resize ?? 'squash',
    licence: hints.licence ?? 'unknown',
  });
}

/**
 * Builds a model card from a dropped model.json. Layers model: input size from the
 * InputLayer, feature = a known layer name, else the last (global) average pooling
 * layer, else the layer feeding the classifier's Dense / 1x1-conv logits; pixels default
 * to [-1, 1]. Graph model: sizes from its signature; pixels default to [0, 1].
 * Hints override anything inferred.
 */
export function inferModelCard(modelJson: unknown, hints: ModelCardHints = {}): ModelCard {
  if (!modelJson || typeof modelJson !== 'object' || !('modelTopology' in modelJson)) {
    throw new ModelInferenceError('not a TF.js model.json (no modelTopology)');
  }
  const json = modelJson as Record<string, unknown>;
  const topology = json.modelTopology as Record<string, unknown>;
  const isGraph = json.format === 'graph-model' || (topology && 'node' in topology);
  return isGraph ? inferGraphCard(json, hints) : inferLayersCard(json, hints);
}

import type { ModelCard } from './modelCard';

/**
 * Public TF.js image encoders the studio offers for download. Each entry's URL and input
 * contract (size, pixel range, feature size) come from the source cited beside it; add an
 * entry only when both can be checked there.
 *
 * TF Hub URLs: `tf.loadGraphModel(base, { fromTFHub: true })` fetches
 * `base + '/model.json?tfjs-format=file'` (tfjs-converter's TFHUB_SEARCH_PARAM); we store
 * that resolved form so a plain loadGraphModel(url) works. tfhub.dev now redirects to
 * Kaggle Models, which serves the same files.
 */
const TFHUB = (path: string) => `https://tfhub.dev/google/tfjs-model/${path}/model.json?tfjs-format=file`;

/** [0, 1] pixels: TF Hub's "common image input" convention. */
const UNIT_RANGE = { kind: 'range', min: 0, max: 1 } as const;
/** [-1, 1] pixels: x / 127.5 - 1, as the tfjs-examples MobileNet demos normalise. */
const SIGNED_RANGE = { kind: 'range', min: -1, max: 1 } as const;

const GRAPH_NO_CUT =
  'a graph model holds its weights as frozen constants, so its top cannot be rebuilt as trainable layers: head-only training';

export const ENCODER_CATALOG: readonly ModelCard[] = [
  {
    // Source: tensorflow/tfjs-examples webcam-transfer-learning/index.js (this URL,
    // getLayer('conv_pw_13_relu'), 7x7x256 activation) and mobilenet/index.js (224 px,
    // "Normalize the image from [0, 255] to [-1, 1]").
    id: 'tfjs-mobilenet-v1-0.25-224',
    name: 'MobileNetV1 0.25 (224), TF.js layers',
    description:
      "Google's TF.js MobileNetV1, width 0.25, ImageNet. The 7x7x256 conv_pw_13_relu activation, " +
      'averaged to 256 features. Tiny and fast; weakest features.',
    url: 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json',
    format: 'layers',
    inputSize: { width: 224, height: 224 },
    normalisation: SIGNED_RANGE,
    featureOutput: 'conv_pw_13_relu',
    // one block = depthwise + pointwise (conv_dw_13 … conv_pw_13_relu); BN statistics stay frozen
    cuts: ['conv_pw_12_relu', 'conv_pw_11_relu', 'conv_pw_10_relu'],
    pooling: 'global-average',
    featureSize: 256,
    resize: 'squash',
    licence: 'Apache-2.0',
    source: 'https://github.com/tensorflow/tfjs-examples/blob/master/webcam-transfer-learning/index.js',
  },
  {
    // Source: URL from kostasx/tfjs-mobilenet-offline-model README (downloads
    // tfjs-models/tfjs/mobilenet_v1_1.0_224/model.json); same Keras export as the 0.25
    // model above and as ../shared/models/mobilenet-v1-0.75-224, whose layer
    // conv_pw_13_relu feeds global_average_pooling2d_1. Width 1.0 → 1024 channels.
    id: 'tfjs-mobilenet-v1-1.0-224',
    name: 'MobileNetV1 1.0 (224), TF.js layers',
    description:
      "Google's TF.js MobileNetV1, width 1.0, ImageNet. conv_pw_13_relu averaged to 1024 features.",
    url: 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_1.0_224/model.json',
    format: 'layers',
    inputSize: { width: 224, height: 224 },
    normalisation: SIGNED_RANGE,
    featureOutput: 'conv_pw_13_relu',
    // one block = depthwise + pointwise (conv_dw_13 … conv_pw_13_relu); BN statistics stay frozen
    cuts: ['conv_pw_12_relu', 'conv_pw_11_relu', 'conv_pw_10_relu'],
    pooling: 'global-average',
    featureSize: 1024,
    resize: 'squash',
    licence: 'Apache-2.0',
    source: 'https://github.com/kostasx/tfjs-mobilenet-offline-model',
  },
  {
    // Source: ml5js/ml5-library src/FeatureExtractor/Mobilenet.js (BASE_URL
    // `.../tfjs-models/tfjs/mobilenet_v` + `${version}_${alpha}_224/model.json`, layer
    // conv_pw_13_relu, 224 px) and tensorflow/tfjs-models mobilenet ("Normalize the image from
    // [0, 255] to [-1, 1]"). The published model.json (as in ../shared/models/
    // mobilenet-v1-0.75-224: 55 weight shards, 10,457,307 bytes with model.json) has the
    // layer global_average_pooling2d_1 = conv_pw_13_relu averaged, [null, 768].
    id: 'tfjs-mobilenet-v1-0.75-224',
    name: 'MobileNetV1 0.75 (224), TF.js layers',
    description:
      "Google's TF.js MobileNetV1, width 0.75, ImageNet (the tfjs-models original). Its " +
      'global_average_pooling2d_1 layer: 768 features. A good speed/quality middle.',
    url: 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.75_224/model.json',
    format: 'layers',
    inputSize: { width: 224, height: 224 },
    normalisation: SIGNED_RANGE,
    featureOutput: 'global_average_pooling2d_1',
    cuts: ['conv_pw_12_relu', 'conv_pw_11_relu', 'conv_pw_10_relu'],
    pooling: 'none',
    featureSize: 768,
    resize: 'squash',
    licence: 'Apache-2.0',
    sizeBytes: 10_457_307,
    source: 'https://github.com/ml5js/ml5-library/blob/main/src/FeatureExtractor/Mobilenet.js',
  },
  {
    // Source: tensorflow/tfhub.dev assets/docs/google/models/imagenet/mobilenet_v2_100_224/
    // feature_vector/3/default/tfjs/1.md (URL) and feature_vector/3.md (224x224, [0,1],
    // num_features = 1280).
    id: 'tfhub-mobilenet-v2-100-224-feature-vector',
    name: 'MobileNetV2 1.0 (224) feature vector, TF Hub',
    description: 'TF Hub MobileNetV2 (depth 1.0) feature-vector model, ImageNet; 1280 features.',
    url: TFHUB('imagenet/mobilenet_v2_100_224/feature_vector/3/default/1'),
    format: 'graph',
    cutsUnavailable: GRAPH_NO_CUT,
    inputSize: { width: 224, height: 224 },
    normalisation: UNIT_RANGE,
    pooling: 'none',
    featureSize: 1280,
    resize: 'squash',
    licence: 'Apache-2.0',
    source: 'https://tfhub.dev/google/tfjs-model/imagenet/mobilenet_v2_100_224/feature_vector/3/default/1',
  },
  {
    // Source: tensorflow/tfhub.dev assets/docs/google/models/imagenet/mobilenet_v3_large_100_224/
    // feature_vector/5/default/tfjs/1.md (URL; inputs [0,1], fixed 224x224) and
    // feature_vector/5.md (num_features = 1280).
    id: 'tfhub-mobilenet-v3-large-100-224-feature-vector',
    name: 'MobileNetV3 Large 1.0 (224) feature vector, TF Hub',
    description: 'TF Hub MobileNetV3 Large (depth 1.0) feature-vector model, ImageNet; 1280 features.',
    url: TFHUB('imagenet/mobilenet_v3_large_100_224/feature_vector/5/default/1'),
    format: 'graph',
    cutsUnavailable: GRAPH_NO_CUT,
    inputSize: { width: 224, height: 224 },
    normalisation: UNIT_RANGE,
    pooling: 'none',
    featureSize: 1280,
    resize: 'squash',
    licence: 'Apache-2.0',
    source: 'https://tfhub.dev/google/tfjs-model/imagenet/mobilenet_v3_large_100_224/feature_vector/5/default/1',
  },
  {
    // Source: tensorflow/tfhub.dev assets/docs/google/models/imagenet/mobilenet_v3_small_100_224/
    // feature_vector/5/default/tfjs/1.md (URL) and feature_vector/5.md (224x224, [0,1],
    // num_features = 1024).
    id: 'tfhub-mobilenet-v3-small-100-224-feature-vector',
    name: 'MobileNetV3 Small 1.0 (224) feature vector, TF Hub',
    description: 'TF Hub MobileNetV3 Small (depth 1.0) feature-vector model, ImageNet; 1024 features. Fast.',
    url: TFHUB('imagenet/mobilenet_v3_small_100_224/feature_vector/5/default/1'),
    format: 'graph',
    cutsUnavailable: GRAPH_NO_CUT,
    inputSize: { width: 224, height: 224 },
    normalisation: UNIT_RANGE,
    pooling: 'none',
    featureSize: 1024,
    resize: 'squash',
    licence: 'Apache-2.0',
    source: 'https://tfhub.dev/google/tfjs-model/imagenet/mobilenet_v3_small_100_224/feature_vector/5/default/1',
  },
  {
    // Source: tensorflow/tfhub.dev assets/docs/google/models/imagenet/resnet_v2_50/
    // feature_vector/3/default/tfjs/1.md (URL) and feature_vector/3.md (224x224 default,
    // [0,1], num_features = 2048). The closest catalog entry to the recipe's ResNet152.
    id: 'tfhub-resnet-v2-50-feature-vector',
    name: 'ResNet-50 v2 feature vector, TF Hub',
    description:
      'TF Hub ResNet V2 50 feature-vector model, ImageNet; 2048 features like the recipe\'s ResNet152. ' +
      'Much larger and slower than the MobileNets.',
    url: TFHUB('imagenet/resnet_v2_50/feature_vector/3/default/1'),
    format: 'graph',
    cutsUnavailable: GRAPH_NO_CUT,
    inputSize: { width: 224, height: 224 },
    normalisation: UNIT_RANGE,
    pooling: 'none',
    featureSize: 2048,
    resize: 'squash',
    licence: 'Apache-2.0',
    source: 'https://tfhub.dev/google/tfjs-model/imagenet/resnet_v2_50/feature_vector/3/default/1',
  },
];

/** The catalog entry with this id; throws listing the valid ids. */
export function catalogCard(id: string): ModelCard {
  const card = ENCODER_CATALOG.find((c) => c.id === id);
  if (!card) {
    throw new Error(`No encoder "${id}" in the catalog; valid ids: ${ENCODER_CATALOG.map((c) => c.id).join(', ')}`);
  }
  return card;
}

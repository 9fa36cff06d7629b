import type { ModelCard } from './modelCard';

/**
 * The encoder shipped with the app (public/models/mobilenet-v2-1.0-224, see its NOTICE.md):
 * the default, and the one that works with no network. Its URL is a path on the studio's own
 * origin (no host), so cache keys do not change with the port the studio is served on.
 */
export const BUILTIN_ENCODER: ModelCard = {
  id: 'builtin-mobilenet-v2-1.0-224',
  name: 'MobileNetV2 1.0 (224), built in',
  description:
    'MobileNetV2 width 1.0, ImageNet, shipped with the studio (works offline). The pooled 1280-d feature ' +
    'before the logits. The strongest of the small encoders here.',
  url: '/models/mobilenet-v2-1.0-224/model.json',
  format: 'layers',
  inputSize: { width: 224, height: 224 },
  normalisation: { kind: 'range', min: -1, max: 1 },
  featureOutput: 'MobilenetV2_Logits_AvgPool',
  pooling: 'global-average',
  featureSize: 1280,
  resize: 'squash',
  licence: 'Apache-2.0',
  sizeBytes: 55_796 + 3_543_268,
  source: 'https://github.com/google-coral/test_data',
};

/** Where the built-in model's files lie in the project (served at the site root). */
export const BUILTIN_ENCODER_FOLDER = 'public/models/mobilenet-v2-1.0-224';

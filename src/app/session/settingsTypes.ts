import type { ClassSplitMode } from '../../core/data/classSplit';

/** The class split settings: seed, training fraction, "same split as the reference". */
export interface SplitSettingsValue {
  seed: number;
  trainFraction: number;
  mode: ClassSplitMode;
}

/** The embedding settings. */
export interface EmbedSettings {
  batchSize: number;
  cropToBox: boolean;
}

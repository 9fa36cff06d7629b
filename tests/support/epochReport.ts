/** A plausible EpochReport for protocol and UI-state tests; `extra` overrides fields. */
export const epochReport = (epoch: number, extra: Record<string, unknown> = {}) => ({
  epoch,
  trainLoss: 0.4,
  validationLoss: 0.5,
  rPrecision: 0.2,
  rPrecisionMacro: 0.2,
  precisionAt1: 0.3,
  mapAtR: 0.1,
  seconds: 0.1,
  isBest: true,
  ...extra,
});

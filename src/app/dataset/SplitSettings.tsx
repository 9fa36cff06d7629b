import type { SplitSettingsValue } from '../session/settingsTypes';

export type { SplitSettingsValue };

/** Seed, training fraction and "same split as the reference" (numpy's generator). */
export function SplitSettings(props: { value: SplitSettingsValue; onChange: (v: SplitSettingsValue) => void }) {
  const { value, onChange } = props;
  return (
    <fieldset className="split-settings">
      <legend>Class split</legend>
      <label>
        Seed{' '}
        <input
          type="number"
          min={0}
          step={1}
          value={value.seed}
          data-testid="split-seed"
          onChange={(e) => {
            const seed = Number(e.target.value);
            if (Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff) onChange({ ...value, seed });
          }}
        />
      </label>
      <label>
        Training classes{' '}
        <input
          type="range"
          min={0.1}
          max={0.9}
          step={0.05}
          value={value.trainFraction}
          onChange={(e) => onChange({ ...value, trainFraction: Number(e.target.value) })}
        />{' '}
        {Math.round(value.trainFraction * 100)}%
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={value.mode === 'numpy'}
          data-testid="split-numpy"
          onChange={(e) => onChange({ ...value, mode: e.target.checked ? 'numpy' : 'seeded' })}
        />{' '}
        Same split as the reference (numpy's <code>np.random.choice</code>)
      </label>
    </fieldset>
  );
}

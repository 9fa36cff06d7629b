import { SETTING_FIELDS, type SettingKey, type SettingsForm } from './trainingSettings';

/** Every training setting with its one-line explanation; a field the engine refuses shows why. */
export function TrainingSettingsForm(props: {
  form: SettingsForm;
  onForm: (f: SettingsForm) => void;
  fieldErrors: Partial<Record<SettingKey, string>>;
  disabled: boolean;
}) {
  const { form, onForm, fieldErrors, disabled } = props;
  return (
    <fieldset className="training-settings" disabled={disabled}>
      <legend>Settings (defaults: the recipe’s head and loss; P × K batches and shorter patience, see the README)</legend>
      {SETTING_FIELDS.map((f) => {
        const error = fieldErrors[f.key];
        const id = `train-setting-${f.key}`;
        return (
          <div key={f.key} className={`setting${error ? ' invalid' : ''}`}>
            <label htmlFor={id}>{f.label}</label>
            {f.options ? (
              <select id={id} data-testid={id} value={form[f.key]} onChange={(e) => onForm({ ...form, [f.key]: e.target.value })}>
                {f.options.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                data-testid={id}
                type="text"
                inputMode="decimal"
                value={form[f.key]}
                aria-invalid={Boolean(error)}
                onChange={(e) => onForm({ ...form, [f.key]: e.target.value })}
              />
            )}
            <span className="setting-help">{error ?? f.help}</span>
          </div>
        );
      })}
    </fieldset>
  );
}

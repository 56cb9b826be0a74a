import { useId } from 'react';
import { useSession } from '../hooks/session.js';
import { formatBytes } from '../lib/format.js';
import { type UploadSettings as Settings, SLOW_NETWORK_BYTES_PER_SECOND } from '../lib/settings.js';
import { partsPerFile } from '../lib/uppy.js';

/** A native checkbox drawn as a switch (appearance: none): keyboard, forms and tests treat it as the checkbox it is. */
function Switch({ label, description, checked, disabled, testId, onChange }: {
  label: string;
  description: string;
  checked: boolean;
  disabled?: boolean;
  testId: string;
  onChange: (checked: boolean) => void;
}) {
  const id = useId();
  return (
    <div className="switch">
      <input
        id={id}
        type="checkbox"
        className="switch-input"
        data-testid={testId}
        checked={checked}
        disabled={disabled}
        aria-describedby={`${id}-description`}
        onChange={(event) => onChange(event.target.checked)}
      />
      <label htmlFor={id} className="switch-label">
        {label}
      </label>
      <p id={`${id}-description`} className="switch-description">
        {description}
      </p>
    </div>
  );
}

/** The two switches of the demo. They apply to uploads started afterwards; running ones keep theirs. */
export function UploadSettings({ settings, onChange }: { settings: Settings; onChange: (settings: Settings) => void }) {
  const { config } = useSession();
  const parts = partsPerFile(config, { ...settings, parallel: true });
  return (
    <fieldset className="settings">
      <legend className="visually-hidden">Upload settings</legend>
      <Switch
        testId="parallel-toggle"
        label="Parallel uploads"
        checked={settings.parallel && config.concatenation}
        disabled={!config.concatenation}
        description={
          config.concatenation
            ? `Each file goes as ${parts} parts at once; the server joins them (tus concatenation).`
            : 'This server does not offer parallel uploads (tus concatenation).'
        }
        onChange={(parallel) => onChange({ ...settings, parallel })}
      />
      <Switch
        testId="slow-network-toggle"
        label="Simulate a slow network"
        checked={settings.slowNetwork}
        description={`About ${formatBytes(SLOW_NETWORK_BYTES_PER_SECOND)}/s, so you can pause, reload and resume on a fast connection.`}
        onChange={(slowNetwork) => onChange({ ...settings, slowNetwork })}
      />
      <p className="settings-note">Changes apply to uploads you start afterwards.</p>
    </fieldset>
  );
}

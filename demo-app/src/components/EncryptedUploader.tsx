import { type ChangeEvent, type FormEvent, useState } from 'react';
import { isHaulError, type UploadHandle } from '@haul/client';
import { useE2EKeys } from '../hooks/e2e-keys.js';
import { useSession } from '../hooks/session.js';
import type { Gallery } from '../hooks/use-gallery.js';
import { PERSONAL_SLOT, slotOf } from '../lib/e2e-keys.js';
import { formatBytes } from '../lib/format.js';

interface Running {
  key: string;
  name: string;
  state: string;
  sent: number;
  total: number | null;
  error?: string;
}

/**
 * "End-to-end encrypt": files chosen here are encrypted in this page by the SDK
 * (`upload(file, { encryption: { key } })`) with the current conversation's key — derived from a
 * passphrase its members share — and only ciphertext reaches the server. The SDK uploads them
 * itself (resumable, parallel, with an encrypted preview). Uppy's dashboard sends plain files, so
 * the panel hides it while the switch is on (`enabled`, held by the panel): a file dropped there
 * must never look encrypted when it is not.
 */
export function EncryptedUploader({ scope, place, parallel, gallery, enabled, onEnabledChange }: {
  /** The conversation's scope (`conv:<id>`), or undefined for the user's own files. */
  scope: string | undefined;
  place: string;
  parallel: number;
  gallery: Pick<Gallery, 'track'>;
  enabled: boolean;
  onEnabledChange: (enabled: boolean) => void;
}) {
  const { client } = useSession();
  const keys = useE2EKeys();
  const [passphrase, setPassphrase] = useState('');
  const [deriving, setDeriving] = useState(false);
  const [running, setRunning] = useState<Running[]>([]);
  const slot = slotOf(scope);
  const key = keys.keyFor(slot);

  const update = (id: string, change: Partial<Running>) => setRunning((all) => all.map((r) => (r.key === id ? { ...r, ...change } : r)));

  const applyPassphrase = async (event: FormEvent) => {
    event.preventDefault();
    if (!passphrase) return;
    setDeriving(true);
    try {
      await keys.setPassphrase(slot, passphrase);
      setPassphrase('');
    } finally {
      setDeriving(false);
    }
  };

  const upload = (event: ChangeEvent<HTMLInputElement>) => {
    const files = [...(event.target.files ?? [])];
    event.target.value = '';
    if (!key) return;
    for (const file of files) {
      const id = `${file.name}-${Date.now()}-${Math.random()}`;
      setRunning((all) => [...all, { key: id, name: file.name, state: 'preparing', sent: 0, total: null }]);
      let handle: UploadHandle | undefined = undefined;
      let tracked = false;
      handle = client.upload(file, {
        encryption: { key },
        parallel,
        metadata: scope ? { scope } : {},
        onStateChange: (state) => update(id, { state }),
        onProgress: (p) => {
          update(id, { sent: p.bytesAcknowledged, total: p.bytesTotal });
          // The gallery shows the upload as soon as the server made it.
          if (!tracked && handle?.id) {
            tracked = true;
            gallery.track(handle.id);
          }
        },
      });
      handle.uploaded.then((info) => gallery.track(info.id)).catch(() => {});
      handle.result.then(
        () => update(id, { state: 'done' }),
        (error: unknown) => update(id, { state: 'failed', error: isHaulError(error) ? `${error.code}: ${error.message}` : String(error) }),
      );
    }
  };

  return (
    <div className="e2e" data-testid="e2e-panel">
      <div className="switch">
        <input id="e2e-toggle" type="checkbox" className="switch-input" data-testid="e2e-toggle" checked={enabled} onChange={(event) => onEnabledChange(event.target.checked)} />
        <label htmlFor="e2e-toggle" className="switch-label">
          End-to-end encrypt
        </label>
        <p className="switch-description">
          Files are encrypted in this page with {slot === PERSONAL_SLOT ? 'your personal key' : `the key of ${place}`}; the server stores only ciphertext
          (not scanned or type-checked). Previews and downloads are decrypted here.
        </p>
      </div>
      {enabled && (
        <form className="e2e-key" onSubmit={(event) => void applyPassphrase(event)}>
          <label htmlFor="e2e-passphrase">{key ? `Key for ${place} is set. Another passphrase:` : `Shared passphrase for ${place}`}</label>
          <input id="e2e-passphrase" type="password" autoComplete="off" data-testid="e2e-passphrase" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} />
          <button type="submit" className="button button--small" data-testid="e2e-set-key" disabled={deriving || !passphrase}>
            {deriving ? 'Deriving…' : 'Use passphrase'}
          </button>
          {key && (
            <p className="e2e-ready" data-testid="e2e-key-set">
              Key ready.{' '}
              <label className="button button--small">
                Encrypt and upload files…
                <input type="file" multiple hidden data-testid="e2e-file-input" onChange={upload} />
              </label>
            </p>
          )}
        </form>
      )}
      {running.length > 0 && (
        <ul className="e2e-uploads" aria-label="Encrypted uploads">
          {running.map((r) => (
            <li key={r.key} data-testid="e2e-upload" data-state={r.state}>
              {r.name}: {r.state}
              {r.total !== null && r.state !== 'done' ? ` (${formatBytes(r.sent)} of ${formatBytes(r.total)})` : ''}
              {r.error && <span className="reason"> {r.error}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

import { useState } from 'react';
import Dashboard from '@uppy/react/dashboard';
import '@uppy/core/css/style.min.css';
import '@uppy/dashboard/css/style.min.css';
import { useSession } from '../hooks/session.js';
import { useMediaQuery } from '../hooks/use-media-query.js';
import type { Gallery } from '../hooks/use-gallery.js';
import { formatBytes } from '../lib/format.js';
import type { UploadSettings as Settings } from '../lib/settings.js';
import { type HaulUppy, partsPerFile, restrictionsFrom, restrictionsNote } from '../lib/uppy.js';
import { EncryptedUploader } from './EncryptedUploader.js';
import { FileInput } from './FileInput.js';
import { Icon } from './Icon.js';
import { ResumableList } from './ResumableList.js';
import { UploadSettings } from './UploadSettings.js';

function scanningText(scanning: boolean | null): string {
  if (scanning === true) return 'Every file is scanned for malware';
  if (scanning === false) return 'Malware scanning is off on this server';
  return 'Files are scanned when the server found a virus scanner at start-up';
}

export function UploadPanel({ uppy, settings, onSettingsChange, gallery, scope, place }: {
  uppy: HaulUppy;
  /** The open conversation's scope (undefined: the user's own files), and how to name it. */
  scope: string | undefined;
  place: string;
  settings: Settings;
  onSettingsChange: (settings: Settings) => void;
  gallery: Gallery;
}) {
  const { config } = useSession();
  const compact = useMediaQuery('(max-width: 640px)');
  // While "End-to-end encrypt" is on, only its own file picker uploads: Uppy sends plain files.
  const [encrypting, setEncrypting] = useState(false);
  const encryptionOn = encrypting && config.encryptedUploads === 'allow';

  return (
    <section className="panel upload-panel" aria-labelledby="upload-heading">
      <div className="panel-head">
        <h2 id="upload-heading">Upload files</h2>
      </div>
      <UploadSettings settings={settings} onChange={onSettingsChange} />
      {config.encryptedUploads === 'allow' && (
        <EncryptedUploader scope={scope} place={place} parallel={partsPerFile(config, settings)} gallery={gallery} enabled={encrypting} onEnabledChange={setEncrypting} />
      )}
      <ResumableList uppy={uppy} gallery={gallery} />
      {encryptionOn ? (
        <p className="e2e-plain-off" data-testid="plain-upload-off">
          Plain uploads are off while end-to-end encryption is on: choose files with “Encrypt and upload files…” above.
        </p>
      ) : (
        <>
          <FileInput uppy={uppy} accept={restrictionsFrom(config).allowedFileTypes?.join(',') ?? ''} />
          <div className="dropzone">
            <Dashboard
              uppy={uppy}
              width="100%"
              height={compact ? 340 : 420}
              theme="light"
              note={restrictionsNote(config)}
              proudlyDisplayPoweredByUppy={false}
              fileManagerSelectionType="files"
              showRemoveButtonAfterComplete={false}
            />
          </div>
        </>
      )}
      <ul className="facts" aria-label="What this server does">
        <li>
          <Icon name="shield" /> {scanningText(config.scanning)}
        </li>
        <li>
          <Icon name="layers" /> Type checked by content: {config.allowedTypes.categories.join(', ')}
        </li>
        <li>
          <Icon name="clock" /> Up to {formatBytes(config.maxUploadSize)} per upload; unfinished uploads can be resumed later
        </li>
      </ul>
    </section>
  );
}

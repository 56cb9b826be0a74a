import { useEffect, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { slotOf } from '../lib/e2e-keys.js';
import { useE2EKeys } from './e2e-keys.js';
import { useSession } from './session.js';

export type PreviewState = { phase: 'idle' | 'loading' | 'none' | 'no-key' } | { phase: 'loaded'; url: string } | { phase: 'failed'; message: string };

/**
 * The preview of an end-to-end encrypted upload, made by the uploader's browser and decrypted
 * here with the key of the upload's conversation (`client.preview`), as a blob: URL.
 */
export function useDecryptedPreview(upload: UploadJson, enabled: boolean): PreviewState {
  const { client } = useSession();
  const key = useE2EKeys().keyFor(slotOf(upload.scope));
  const [state, setState] = useState<PreviewState>({ phase: 'idle' });
  const ready = upload.encrypted && upload.status === 'ready';

  useEffect(() => {
    if (!ready || !enabled) return;
    if (!key) {
      setState({ phase: 'no-key' });
      return;
    }
    const controller = new AbortController();
    let objectUrl: string | undefined;
    setState({ phase: 'loading' });
    client.preview(upload.id, { encryption: { key }, signal: controller.signal }).then(
      (blob) => {
        if (controller.signal.aborted) return;
        if (!blob) return setState({ phase: 'none' });
        objectUrl = URL.createObjectURL(blob);
        setState({ phase: 'loaded', url: objectUrl });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ phase: 'failed', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [client, upload.id, ready, enabled, key]);

  return state;
}

import { useEffect, useState } from 'react';
import { useSession } from './session.js';
import { errorFromResponse } from '../lib/problems.js';

export type BlobState = { phase: 'idle' | 'loading' } | { phase: 'loaded'; url: string } | { phase: 'failed'; error: unknown };

/**
 * A protected image (a thumbnail, which needs the bearer header an `<img src>` cannot send) as a
 * blob: URL, fetched only once `enabled` (e.g. near the viewport) and revoked when no longer shown.
 */
export function useAuthorizedBlobUrl(url: string | undefined, enabled: boolean): BlobState {
  const { client } = useSession();
  const [state, setState] = useState<BlobState>({ phase: 'idle' });

  useEffect(() => {
    if (!url || !enabled) return;
    const controller = new AbortController();
    let objectUrl: string | undefined;
    setState({ phase: 'loading' });
    client
      .authorizedFetch(url, { signal: controller.signal })
      .then(async (response) => {
        if (!response.ok) throw await errorFromResponse(response);
        return response.blob();
      })
      .then(
        (blob) => {
          if (controller.signal.aborted) return;
          objectUrl = URL.createObjectURL(blob);
          setState({ phase: 'loaded', url: objectUrl });
        },
        (error: unknown) => {
          if (!controller.signal.aborted) setState({ phase: 'failed', error });
        },
      );
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [client, url, enabled]);

  return state;
}

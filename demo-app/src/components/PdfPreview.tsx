import { useEffect, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { useSession } from '../hooks/session.js';
import { describeError } from '../lib/problems.js';
import { displayName } from '../lib/upload-status.js';

type State = { phase: 'loading' } | { phase: 'loaded'; url: string } | { phase: 'failed'; message: string };

/**
 * The shortest link the server signs (its minimum): long enough for the frame to load, and the
 * browser's PDF viewer fetches the ranges it needs while it is valid.
 */
const PREVIEW_LINK_SECONDS = 60;

/**
 * The PDF in the browser's own viewer. A frame cannot send the bearer header the content URL
 * needs, and the page's CSP frames only its own origin (no blob:), so the frame loads a
 * short-lived signed link — served like every file: sandboxed, nosniff, inline for PDFs.
 */
export function PdfPreview({ upload }: { upload: UploadJson }) {
  const { client } = useSession();
  const [state, setState] = useState<State>({ phase: 'loading' });
  const name = displayName(upload);

  useEffect(() => {
    const controller = new AbortController();
    client.createLink(upload.id, { expiresIn: PREVIEW_LINK_SECONDS, signal: controller.signal }).then(
      (link) => setState({ phase: 'loaded', url: link.url }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ phase: 'failed', message: describeError(error, { action: `preview ${name}`, countable: 'share links' }).message });
      },
    );
    return () => controller.abort();
  }, [client, upload.id, name]);

  if (state.phase === 'loading') return <p className="viewer-message">Loading the PDF…</p>;
  if (state.phase === 'failed') return <p className="viewer-message" role="alert">{state.message}</p>;
  return <iframe className="pdf-frame" data-testid="pdf-preview" src={state.url} title={`PDF preview of ${name}`} referrerPolicy="no-referrer" />;
}

import { useEffect, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { useSession } from '../hooks/session.js';
import { pickThumbnail } from './CardMedia.js';
import { useAuthorizedBlobUrl } from '../hooks/use-blob-url.js';
import { describeError } from '../lib/problems.js';
import { displayName } from '../lib/upload-status.js';

type State = { phase: 'loading' } | { phase: 'loaded'; url: string } | { phase: 'failed'; message: string };

/**
 * How long the link lives: the server's minimum. The player fetches ranges while it plays, but a
 * request made with a link keeps working once started, and seeking after expiry asks again (error
 * → a new link on reopening).
 */
const PLAY_LINK_SECONDS = 60;

/**
 * A video in the browser's own player. A <video> cannot send the bearer header the content URL
 * needs, so it plays a short-lived signed link (served like every file: the detected type,
 * nosniff, ranges), with the poster shown until it starts.
 */
export function VideoPlayer({ upload }: { upload: UploadJson }) {
  const { client } = useSession();
  const [state, setState] = useState<State>({ phase: 'loading' });
  const poster = useAuthorizedBlobUrl(pickThumbnail(upload.thumbnails, 1280)?.url, true);
  const name = displayName(upload);

  useEffect(() => {
    const controller = new AbortController();
    client.createLink(upload.id, { expiresIn: PLAY_LINK_SECONDS, signal: controller.signal }).then(
      (link) => setState({ phase: 'loaded', url: link.url }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ phase: 'failed', message: describeError(error, { action: `play ${name}`, countable: 'share links' }).message });
      },
    );
    return () => controller.abort();
  }, [client, upload.id, name]);

  if (state.phase === 'loading') return <p className="viewer-message">Loading the video…</p>;
  if (state.phase === 'failed') return <p className="viewer-message" role="alert">{state.message}</p>;
  return (
    <video
      className="video-player"
      data-testid="video-player"
      src={state.url}
      poster={poster.phase === 'loaded' ? poster.url : undefined}
      controls
      autoPlay
      playsInline
      aria-label={`Video ${name}`}
    />
  );
}

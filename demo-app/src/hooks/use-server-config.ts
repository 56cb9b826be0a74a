import { useCallback, useEffect, useState } from 'react';
import type { ServerConfigJson } from '@haul/client';
import { anonymousClient } from '../lib/haul.js';
import { describeError } from '../lib/problems.js';

export type ServerConfigState =
  | { phase: 'loading' }
  | { phase: 'ready'; config: ServerConfigJson }
  | { phase: 'failed'; message: string };

/** GET /api/config before anything else: the auth mode, the tus endpoint and the upload restrictions. */
export function useServerConfig(): ServerConfigState & { retry(): void } {
  const [state, setState] = useState<ServerConfigState>({ phase: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState({ phase: 'loading' });
    anonymousClient()
      .serverConfig({ signal: controller.signal })
      .then(
        (config) => setState({ phase: 'ready', config }),
        (error: unknown) => {
          if (!controller.signal.aborted) setState({ phase: 'failed', message: describeError(error, { action: 'reach the Haul server' }).message });
        },
      );
    return () => controller.abort();
  }, [attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return { ...state, retry };
}

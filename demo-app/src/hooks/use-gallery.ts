import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { UploadJson } from '@haul/client';
import type { Client } from '../lib/haul.js';
import { describeError, type Problem } from '../lib/problems.js';
import { GALLERY_STATUSES, isBeingProcessed, showsInGallery, statusWord } from '../lib/upload-status.js';
import { createWatchPool, type WatchPool } from '../lib/watch-pool.js';

const PAGE_SIZE = 30;
/** A conversation's files come from everyone in it: its first page is read again this often. */
const SCOPE_POLL_MS = 3000;

export interface Gallery {
  /** Newest first. */
  items: UploadJson[];
  phase: 'loading' | 'ready' | 'failed';
  hasMore: boolean;
  loadMore(): Promise<void>;
  reload(): Promise<void>;
  /** An upload the page just learnt about (the uploader created or finished it): fetch and follow it. */
  track(id: string): void;
  /** Gone from the server (deleted here): never shown again, even if a late event mentions it. */
  forget(id: string): void;
}

const newestFirst = (a: UploadJson, b: UploadJson) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/**
 * The user's uploads — or, with `scope`, a conversation's, whoever shared them — as the server
 * sees them: the list API for what exists (a conversation's first page polled, so files others
 * share appear live), the SDK's `watch` for uploads being processed (their verdict arrives live),
 * `track` for what this page uploads.
 */
export function useGallery(client: Client, { scope, onStatusChange, onProblem }: {
  scope?: string;
  onStatusChange: (upload: UploadJson) => void;
  onProblem: (problem: Problem) => void;
}): Gallery {
  const [byId, setById] = useState<ReadonlyMap<string, UploadJson>>(new Map());
  const [phase, setPhase] = useState<Gallery['phase']>('loading');
  const [cursor, setCursor] = useState<string | null>(null);
  const current = useRef(byId);
  const forgotten = useRef(new Set<string>());
  const pool = useRef<WatchPool | null>(null);
  // The callbacks change with every render of the caller; the pool and loaders must not.
  const callbacks = useRef({ onStatusChange, onProblem });
  callbacks.current = { onStatusChange, onProblem };
  const currentScope = useRef(scope);
  currentScope.current = scope;

  const commit = useCallback((next: Map<string, UploadJson>) => {
    current.current = next;
    setById(next);
  }, []);

  const upsert = useCallback(
    (uploads: readonly UploadJson[], { announce = true } = {}) => {
      const next = new Map(current.current);
      for (const upload of uploads) {
        if (forgotten.current.has(upload.id)) continue;
        const before = next.get(upload.id);
        if (!showsInGallery(upload.status)) next.delete(upload.id);
        else next.set(upload.id, upload);
        if (isBeingProcessed(upload.status)) pool.current?.add(upload.id);
        if (announce && before && statusWord(before.status) !== statusWord(upload.status)) callbacks.current.onStatusChange(upload);
      }
      commit(next);
    },
    [commit],
  );

  const remove = useCallback(
    (id: string) => {
      pool.current?.delete(id);
      if (!current.current.has(id)) return;
      const next = new Map(current.current);
      next.delete(id);
      commit(next);
    },
    [commit],
  );

  useEffect(() => {
    const watchPool = createWatchPool({
      watch: (id, options) => client.watch(id, options),
      onStatus: (upload) => upsert([upload]),
      onGone: remove,
    });
    pool.current = watchPool;
    for (const upload of current.current.values()) if (isBeingProcessed(upload.status)) watchPool.add(upload.id);
    return () => {
      watchPool.close();
      pool.current = null;
    };
  }, [client, upsert, remove]);

  const fetchPage = useCallback(
    async (after: string | null) => {
      try {
        const page = await client.list({ status: [...GALLERY_STATUSES], limit: PAGE_SIZE, cursor: after ?? undefined, scope });
        // The first page replaces what was shown (uploads deleted elsewhere disappear); later pages add to it.
        if (after === null) commit(new Map());
        upsert(page.items, { announce: false });
        setCursor(page.nextCursor);
        setPhase('ready');
      } catch (error) {
        setPhase((phase) => (phase === 'loading' ? 'failed' : phase));
        callbacks.current.onProblem(describeError(error, { action: 'load your uploads' }));
      }
    },
    [client, upsert, commit, scope],
  );

  useEffect(() => {
    // Another view: nothing of the previous one stays on screen.
    commit(new Map());
    setPhase('loading');
    void fetchPage(null);
  }, [fetchPage, commit]);

  useEffect(() => {
    if (scope === undefined) return;
    const timer = setInterval(() => {
      client.list({ status: [...GALLERY_STATUSES], limit: PAGE_SIZE, scope }).then(
        (page) => {
          if (currentScope.current === scope) upsert(page.items);
        },
        () => {}, // the next round tries again; a lasting problem shows on Refresh
      );
    }, SCOPE_POLL_MS);
    return () => clearInterval(timer);
  }, [client, scope, upsert]);

  const track = useCallback(
    (id: string) => {
      if (forgotten.current.has(id)) return;
      client.get(id).then(
        // A conversation shows only its own files (an upload started in another view finishes here).
        (upload) => (currentScope.current === undefined || upload.scope === currentScope.current) && upsert([upload]),
        (error: unknown) => {
          const problem = describeError(error, { action: 'show the new upload' });
          if (problem.gone) remove(id);
          else callbacks.current.onProblem(problem);
        },
      );
    },
    [client, upsert, remove],
  );

  const forget = useCallback(
    (id: string) => {
      forgotten.current.add(id);
      remove(id);
    },
    [remove],
  );

  const items = useMemo(() => [...byId.values()].sort(newestFirst), [byId]);
  return {
    items,
    phase,
    hasMore: cursor !== null,
    loadMore: () => fetchPage(cursor),
    reload: () => fetchPage(null),
    track,
    forget,
  };
}

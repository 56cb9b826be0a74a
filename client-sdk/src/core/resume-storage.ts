import type { PreviousUpload, UrlStorage } from 'tus-js-client';

/**
 * Where the SDK remembers unfinished uploads, so the same file continues from the server's
 * offset after a reload, a crash or a restart. A string key-value store: `window.localStorage`
 * and React Native's `AsyncStorage` fit as they are; Node uses {@link fileStorage} from
 * `@haul/client/node`.
 *
 * @example
 * ```ts
 * import AsyncStorage from '@react-native-async-storage/async-storage';
 * import { createHaulClient, type ResumeStorage } from '@haul/client';
 * const storage: ResumeStorage = AsyncStorage;
 * const client = createHaulClient({ endpoint: 'https://uploads.example.com/files/', getToken, storage });
 * ```
 */
export interface ResumeStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
  /**
   * Optional atomic read-modify-write of one key (returning null removes it). Stores shared
   * between processes implement it (the Node file store does, with a lock file); without it the
   * SDK reads and writes, serialised within the process.
   */
  update?(key: string, apply: (current: string | null) => string | null): Promise<void>;
}

/**
 * A {@link ResumeStorage} in memory: uploads resume after a pause, a network outage or a retry,
 * but not after the process (or page) ends. The default where nothing persistent exists.
 *
 * @example
 * ```ts
 * import { createHaulClient, memoryStorage } from '@haul/client';
 * const client = createHaulClient({ endpoint: '/files/', getToken, storage: memoryStorage() });
 * ```
 */
export function memoryStorage(): ResumeStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => {
      items.set(key, value);
    },
    removeItem: (key) => {
      items.delete(key);
    },
  };
}

/** One remembered upload (the JSON the storage holds, under {@link RESUME_STORAGE_KEY}). */
export interface StoredUpload {
  /** Upload URL of a single-stream upload. */
  uploadUrl: string | null;
  /** Partial upload URLs of a parallel upload, in file order. */
  parallelUploadUrls: string[] | null;
  /** A parallel upload's final (concatenated) upload, once created. */
  finalUrl: string | null;
  size: number | null;
  metadata: Record<string, string>;
  /** When it was stored (ms since the epoch): entries older than the TTL are dropped. */
  storedAt: number;
}

interface StoredDocument {
  version: 1;
  uploads: Record<string, StoredUpload>;
}

/** The one key the SDK uses in a {@link ResumeStorage}. */
export const RESUME_STORAGE_KEY = 'haul:uploads:v1';
const MAX_ENTRIES = 500;

function parseDocument(text: string | null): StoredDocument {
  if (!text) return { version: 1, uploads: {} };
  try {
    const parsed = JSON.parse(text) as Partial<StoredDocument>;
    if (parsed && parsed.version === 1 && typeof parsed.uploads === 'object' && parsed.uploads !== null) {
      return { version: 1, uploads: parsed.uploads };
    }
  } catch {
    // A damaged document is dropped rather than blocking uploads.
  }
  return { version: 1, uploads: {} };
}

/**
 * The SDK's index of unfinished uploads over a {@link ResumeStorage}: one JSON document, entries
 * keyed by fingerprint, expired after `ttlMs`, at most 500 kept. Storage failures never fail an
 * upload: they only cost the ability to resume.
 */
export class ResumeIndex {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: ResumeStorage,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The live entry for `fingerprint`, if any. */
  async find(fingerprint: string): Promise<StoredUpload | undefined> {
    let found: StoredUpload | undefined;
    await this.modify((doc) => {
      found = doc.uploads[fingerprint];
      return false;
    });
    return found;
  }

  /** Every live entry (expired ones are removed on the way). */
  async entries(): Promise<Array<[string, StoredUpload]>> {
    let all: Array<[string, StoredUpload]> = [];
    await this.modify((doc) => {
      all = Object.entries(doc.uploads);
      return false;
    });
    return all;
  }

  async save(fingerprint: string, entry: Omit<StoredUpload, 'storedAt'>): Promise<void> {
    await this.modify((doc) => {
      doc.uploads[fingerprint] = { ...entry, storedAt: this.now() };
      return true;
    });
  }

  async patch(fingerprint: string, changes: Partial<Omit<StoredUpload, 'storedAt'>>): Promise<void> {
    await this.modify((doc) => {
      const entry = doc.uploads[fingerprint];
      if (!entry) return false;
      doc.uploads[fingerprint] = { ...entry, ...changes };
      return true;
    });
  }

  async remove(fingerprint: string): Promise<void> {
    await this.modify((doc) => {
      if (!(fingerprint in doc.uploads)) return false;
      delete doc.uploads[fingerprint];
      return true;
    });
  }

  /** Read-modify-write, serialised in this process and atomic across processes where the storage can. */
  private modify(change: (doc: StoredDocument) => boolean): Promise<void> {
    const run = async () => {
      const apply = (text: string | null): string | null | undefined => {
        const doc = parseDocument(text);
        const expired = this.prune(doc);
        const changed = change(doc);
        if (!changed && !expired) return undefined;
        return Object.keys(doc.uploads).length === 0 ? null : JSON.stringify(doc);
      };
      try {
        if (this.storage.update) {
          // update() always writes; hand it back what it had when nothing changed.
          await this.storage.update(RESUME_STORAGE_KEY, (current) => {
            const next = apply(current);
            return next === undefined ? current : next;
          });
        } else {
          const next = apply(await this.storage.getItem(RESUME_STORAGE_KEY));
          if (next === null) await this.storage.removeItem(RESUME_STORAGE_KEY);
          else if (next !== undefined) await this.storage.setItem(RESUME_STORAGE_KEY, next);
        }
      } catch {
        // Resuming is best effort: a full or unavailable storage must not fail the upload.
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result;
    return result;
  }

  /** Drops expired entries, and the oldest beyond the cap. True if anything went. */
  private prune(doc: StoredDocument): boolean {
    const now = this.now();
    let removed = false;
    for (const [key, entry] of Object.entries(doc.uploads)) {
      if (typeof entry?.storedAt !== 'number' || now - entry.storedAt > this.ttlMs || entry.storedAt > now + this.ttlMs) {
        delete doc.uploads[key];
        removed = true;
      }
    }
    const keys = Object.keys(doc.uploads);
    if (keys.length > MAX_ENTRIES) {
      keys
        .sort((a, b) => doc.uploads[a]!.storedAt - doc.uploads[b]!.storedAt)
        .slice(0, keys.length - MAX_ENTRIES)
        .forEach((key) => delete doc.uploads[key]);
      removed = true;
    }
    return removed;
  }
}

/**
 * tus-js-client's URL storage for one upload: remembers what tus saves (so a pause, an outage
 * or a parallel upload's restart continues with the same partial URLs even with resuming turned
 * off) and persists it in the index when there is one and the input has a stable fingerprint.
 */
export class UploadUrlStorage implements UrlStorage {
  /** What tus last saved (null once removed). */
  saved: PreviousUpload | null = null;

  constructor(
    private readonly index: ResumeIndex | null,
    /** tus-js-client saves a parallel upload once every partial has its URL: they are known, in order. */
    private readonly onPartialUrls?: (urls: string[]) => void,
  ) {}

  async findAllUploads(): Promise<PreviousUpload[]> {
    return this.saved ? [this.saved] : [];
  }

  async findUploadsByFingerprint(): Promise<PreviousUpload[]> {
    return this.findAllUploads();
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    this.saved = { ...upload, urlStorageKey: fingerprint };
    const partials = upload.parallelUploadUrls;
    if (partials && partials.length > 1 && partials.every(Boolean)) this.onPartialUrls?.([...partials]);
    await this.index?.save(fingerprint, {
      uploadUrl: upload.uploadUrl ?? null,
      parallelUploadUrls: upload.parallelUploadUrls ?? null,
      finalUrl: null,
      size: upload.size ?? null,
      metadata: upload.metadata ?? {},
    });
    return fingerprint;
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    this.saved = null;
    await this.index?.remove(urlStorageKey);
  }
}

/** A stored entry in the shape tus-js-client resumes from. */
export function toPreviousUpload(fingerprint: string, entry: StoredUpload): PreviousUpload {
  return {
    size: entry.size,
    metadata: entry.metadata,
    creationTime: new Date(entry.storedAt).toString(),
    urlStorageKey: fingerprint,
    uploadUrl: entry.uploadUrl,
    parallelUploadUrls: entry.parallelUploadUrls,
  };
}

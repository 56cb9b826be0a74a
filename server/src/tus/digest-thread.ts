import { Worker } from 'node:worker_threads';

/**
 * Digests of upload bodies computed on a worker thread, so that hashing runs beside the event
 * loop instead of on it: with a core to spare, hashing a body overlaps with receiving and writing
 * it instead of adding to them on one thread (bench/ingest-checksum.ts measures the difference). The bytes are copied into 256 KiB batches (the originals go on to storage at once) and
 * the batches are transferred, not cloned. At most BATCHES_PER_DIGEST batches of a digest are in
 * flight: a body that arrives faster than it can be hashed waits (backpressure), so memory stays
 * bounded (1 MiB per checksummed request). One thread serves every digest of the process, started on first use and unref'd.
 */

const BATCH_BYTES = 256 * 1024;
const BATCHES_PER_DIGEST = 4;

/** The worker's code (a string, so that it runs the same from the TypeScript source and the build). */
const THREAD_SOURCE = `
Promise.all([import('node:worker_threads'), import('node:crypto')]).then(([{ parentPort }, { createHash }]) => {
  const digests = new Map();
  parentPort.on('message', (message) => {
    const { type, id } = message;
    if (type === 'open') digests.set(id, message.algorithms.map((algorithm) => createHash(algorithm)));
    else if (type === 'update') {
      const bytes = new Uint8Array(message.batch, 0, message.length);
      for (const hash of digests.get(id) ?? []) hash.update(bytes);
      parentPort.postMessage({ type: 'done', id, batch: message.batch }, [message.batch]);
    } else if (type === 'digest') {
      const hashes = digests.get(id) ?? [];
      digests.delete(id);
      parentPort.postMessage({ type: 'digest', id, digests: hashes.map((hash) => hash.digest()) });
    } else if (type === 'discard') digests.delete(id);
  });
});
`;

type Reply = { type: 'done'; id: number; batch: ArrayBuffer } | { type: 'digest'; id: number; digests: Uint8Array[] };

interface Listener {
  onReply(reply: Reply): void;
  onFailure(error: Error): void;
}

let worker: Worker | undefined;
let nextId = 1;
const listeners = new Map<number, Listener>();

function thread(): Worker {
  if (worker) return worker;
  const started = new Worker(THREAD_SOURCE, { eval: true, name: 'haul-digest' });
  started.unref();
  started.on('message', (reply: Reply) => listeners.get(reply.id)?.onReply(reply));
  const fail = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const listener of listeners.values()) listener.onFailure(error);
    listeners.clear();
  };
  started.on('error', fail);
  started.on('exit', (code) => fail(new Error(`digest thread exited (${code})`)));
  worker = started;
  return started;
}

/** One body's digests (one per algorithm), fed in order, read once at the end. */
export class ThreadDigest {
  readonly #id = nextId++;
  readonly #free: ArrayBuffer[] = [];
  #allocated = 0;
  #current: Uint8Array | undefined;
  #filled = 0;
  #waiting: Array<{ resolve(): void; reject(error: Error): void }> = [];
  #result: { resolve(digests: Buffer[]): void; reject(error: Error): void } | undefined;
  #failure: Error | undefined;

  constructor(algorithms: readonly string[]) {
    listeners.set(this.#id, {
      onReply: (reply) => {
        if (reply.type === 'done') {
          this.#free.push(reply.batch);
          this.#waiting.shift()?.resolve();
        } else {
          listeners.delete(this.#id);
          this.#result?.resolve(reply.digests.map((digest) => Buffer.from(digest)));
        }
      },
      onFailure: (error) => {
        this.#failure = error;
        for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
        this.#result?.reject(error);
      },
    });
    thread().postMessage({ type: 'open', id: this.#id, algorithms });
  }

  /** Takes `chunk` (copied: the caller may pass it on at once); resolves when more may come. */
  async update(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      this.#current ??= new Uint8Array(await this.#batch());
      const n = Math.min(chunk.length - at, BATCH_BYTES - this.#filled);
      this.#current.set(chunk.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === BATCH_BYTES) this.#send();
    }
  }

  /** The digests, in the order of the algorithms. */
  digest(): Promise<Buffer[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#filled > 0) this.#send();
    return new Promise((resolve, reject) => {
      this.#result = { resolve, reject };
      thread().postMessage({ type: 'digest', id: this.#id });
    });
  }

  /** Forgets the digest (the body failed before its end). */
  discard(): void {
    if (!listeners.delete(this.#id)) return;
    worker?.postMessage({ type: 'discard', id: this.#id });
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error('digest discarded'));
  }

  #send(): void {
    const batch = this.#current!.buffer as ArrayBuffer;
    thread().postMessage({ type: 'update', id: this.#id, batch, length: this.#filled }, [batch]);
    this.#current = undefined;
    this.#filled = 0;
  }

  /** A free batch buffer: a returned one, a new one while under the limit, else the next returned. */
  #batch(): Promise<ArrayBuffer> {
    if (this.#failure) return Promise.reject(this.#failure);
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    if (this.#allocated < BATCHES_PER_DIGEST) {
      this.#allocated++;
      return Promise.resolve(new ArrayBuffer(BATCH_BYTES));
    }
    return new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject })).then(() => this.#free.pop()!);
  }
}

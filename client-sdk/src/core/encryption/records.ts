import { HaulError } from '../errors.js';
import type { RecordCipher } from './cipher.js';
import { coveringRecords, RECORD_SIZE, recordCount, SEALED_RECORD_SIZE, sealedSize, type StreamLayout } from './format.js';

/**
 * Records in and out: sealing any byte range of the stored object from the plaintext (what an
 * upload sends, from any offset — a resume re-seals the record holding the server's offset with
 * the same key and nonce, so the bytes are the same as the first time), and opening a stored
 * range record by record (a download never hands out a byte whose record did not verify).
 */

/** Reads plaintext bytes [start, end) of the input. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

/** An encrypted upload's stored object: `[preview stream][file stream]`. */
export interface SealedObject {
  /** Stored size (`Upload-Length`). */
  size: number;
  /** Stored bytes of the preview stream (0: none). */
  previewSize: number;
  /** The sealed preview stream; null when resuming past it (its plaintext is not made again). */
  sealedPreview: Uint8Array | null;
  fileSize: number;
  fileCipher: RecordCipher;
  read: ReadRange;
}

const concat = (chunks: Uint8Array[]): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
};

/** Seals a small plaintext whole (a preview): every record, the last one flagged. */
export async function sealAll(cipher: RecordCipher, plaintext: Uint8Array): Promise<Uint8Array> {
  const count = recordCount(plaintext.length);
  const records = await Promise.all(
    Array.from({ length: count }, (_, i) => cipher.seal(i, i === count - 1, plaintext.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE))),
  );
  return concat(records);
}

export function sealedObject(parts: Omit<SealedObject, 'size'>): SealedObject {
  return { ...parts, size: parts.previewSize + sealedSize(parts.fileSize) };
}

/** Stored bytes [start, end) of the object, sealed from the plaintext; memory ≈ 2 × (end − start). */
export async function sealRange(object: SealedObject, start: number, end: number): Promise<Uint8Array> {
  return concat(await sealRangeParts(object, start, end));
}

/** The same bytes as {@link sealRange}, as consecutive pieces (no copy into one buffer: a Blob joins them). */
export async function sealRangeParts(object: SealedObject, start: number, end: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const { previewSize } = object;
  if (start < previewSize) {
    if (!object.sealedPreview) throw new HaulError('INVALID_INPUT', 'cannot resume inside the preview stream without its plaintext', { retryable: false });
    chunks.push(object.sealedPreview.subarray(start, Math.min(end, previewSize)));
  }
  if (end > previewSize) {
    const from = Math.max(start, previewSize) - previewSize;
    const to = end - previewSize;
    const first = Math.floor(from / SEALED_RECORD_SIZE);
    const last = Math.floor((to - 1) / SEALED_RECORD_SIZE);
    const lastOfFile = recordCount(object.fileSize) - 1;
    const plaintext = await object.read(first * RECORD_SIZE, Math.min(object.fileSize, (last + 1) * RECORD_SIZE));
    const expected = Math.min(object.fileSize, (last + 1) * RECORD_SIZE) - first * RECORD_SIZE;
    if (plaintext.length !== expected) {
      throw new HaulError('INVALID_INPUT', `the input changed while it was uploaded (read ${plaintext.length} bytes, expected ${expected})`, { retryable: false });
    }
    const sealed = await Promise.all(
      Array.from({ length: last - first + 1 }, (_, i) =>
        object.fileCipher.seal(first + i, first + i === lastOfFile, plaintext.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE)),
      ),
    );
    // The first and last records trimmed to the range; the ones between whole.
    const skip = from - first * SEALED_RECORD_SIZE;
    const keep = to - first * SEALED_RECORD_SIZE - (sealed.length - 1) * SEALED_RECORD_SIZE;
    sealed.forEach((record, i) => {
      const head = i === 0 ? skip : 0;
      const tail = i === sealed.length - 1 ? keep : record.length;
      if (tail > head) chunks.push(record.subarray(head, tail));
    });
  }
  return chunks;
}

/**
 * Records read from the input at once by {@link sealRangeJoined}: a default browser request's worth
 * (ENCRYPTED_CHUNK_SIZE). Smaller reads to overlap reading with sealing were slower in Chromium
 * (2 MiB Blob reads of a 16 MiB request took about twice as long in all as one read).
 */
const READ_PIECE_RECORDS = 256;

/**
 * The same bytes as {@link sealRange}, sealed straight into one buffer (what a whole request body
 * and its checksum need): each record is copied into its place as soon as it is sealed, so there
 * is no joining pass after the last one and a sealed record is garbage at once (memory ≈ the
 * plaintext read plus the body, not twice the body).
 */
export async function sealRangeJoined(object: SealedObject, start: number, end: number, recordsPerRead = READ_PIECE_RECORDS): Promise<Uint8Array> {
  const out = new Uint8Array(end - start);
  const { previewSize } = object;
  if (start < previewSize) {
    if (!object.sealedPreview) throw new HaulError('INVALID_INPUT', 'cannot resume inside the preview stream without its plaintext', { retryable: false });
    out.set(object.sealedPreview.subarray(start, Math.min(end, previewSize)), 0);
  }
  if (end <= previewSize) return out;
  const from = Math.max(start, previewSize) - previewSize;
  const to = end - previewSize;
  const first = Math.floor(from / SEALED_RECORD_SIZE);
  const last = Math.floor((to - 1) / SEALED_RECORD_SIZE);
  const lastOfFile = recordCount(object.fileSize) - 1;
  // Where stored byte `at` of the file stream goes in `out`.
  const outOffset = previewSize - start;
  const sealPiece = async (firstOfPiece: number, lastOfPiece: number): Promise<void> => {
    const plainStart = firstOfPiece * RECORD_SIZE;
    const plainEnd = Math.min(object.fileSize, (lastOfPiece + 1) * RECORD_SIZE);
    const plaintext = await object.read(plainStart, plainEnd);
    if (plaintext.length !== plainEnd - plainStart) {
      throw new HaulError('INVALID_INPUT', `the input changed while it was uploaded (read ${plaintext.length} bytes, expected ${plainEnd - plainStart})`, { retryable: false });
    }
    await Promise.all(
      Array.from({ length: lastOfPiece - firstOfPiece + 1 }, async (_, i) => {
        const index = firstOfPiece + i;
        const record = await object.fileCipher.seal(index, index === lastOfFile, plaintext.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE));
        // The first and last records of the range trimmed to it.
        const recordAt = index * SEALED_RECORD_SIZE;
        const head = Math.max(from, recordAt) - recordAt;
        const tail = Math.min(to, recordAt + record.length) - recordAt;
        if (tail > head) out.set(record.subarray(head, tail), outOffset + recordAt + head);
      }),
    );
  };
  const pieces: Promise<void>[] = [];
  for (let piece = first; piece <= last; piece += recordsPerRead) pieces.push(sealPiece(piece, Math.min(last, piece + recordsPerRead - 1)));
  await Promise.all(pieces);
  return out;
}

/**
 * The next chunk of a download; a body that breaks off (a connection cut, or a stored object
 * shorter than its recorded size: the server's Content-Length promised more) names the record
 * it broke off in, like a record that fails to open.
 */
async function readOrFail(reader: ReadableStreamDefaultReader<Uint8Array>, index: number): Promise<ReadableStreamReadResult<Uint8Array>> {
  try {
    return await reader.read();
  } catch (error) {
    if (error instanceof HaulError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new HaulError('NETWORK_ERROR', `the download broke off in record ${index} (${reason}); none of that record's bytes were passed on`, { cause: error, retryable: true });
  }
}

/**
 * Plaintext bytes [start, end) of a stream, from `sealed`: the stored bytes of the records that
 * cover them (`coveringRecords(...).from` onwards). Each record is opened before any of its bytes
 * is passed on; a missing, short, extra or failing record errors the stream with its index.
 */
export function openRecords(
  cipher: RecordCipher,
  layout: StreamLayout,
  start: number,
  end: number,
  sealed: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  const { first, last } = coveringRecords(layout, start, end);
  const lastOfStream = recordCount(layout.plaintextSize) - 1;
  const reader = sealed.getReader();
  const pending: Uint8Array[] = [];
  let buffered = 0;
  let index = first;
  let ended = false;

  const recordLength = (i: number): number => (i === lastOfStream ? sealedSize(layout.plaintextSize) - i * SEALED_RECORD_SIZE : SEALED_RECORD_SIZE);

  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = pending[0]!;
      const used = Math.min(head.length, n - at);
      out.set(head.subarray(0, used), at);
      at += used;
      if (used === head.length) pending.shift();
      else pending[0] = head.subarray(used);
    }
    buffered -= n;
    return out;
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A pull must enqueue or close: a record that yields no bytes of the range (an empty range)
      // is verified, then the next one is read in the same pull.
      for (;;) {
        if (index > last) {
          await reader.cancel().catch(() => {});
          controller.close();
          return;
        }
        const need = recordLength(index);
        while (buffered < need && !ended) {
          const { value, done } = await readOrFail(reader, index);
          if (done) ended = true;
          else if (value.length > 0) {
            pending.push(value);
            buffered += value.length;
          }
        }
        if (buffered < need) {
          throw new HaulError('DECRYPTION_FAILED', `record ${index} is truncated: the stored object ends ${need - buffered} bytes early`, { retryable: false });
        }
        const plaintext = await cipher.open(index, index === lastOfStream, take(need));
        const recordStart = index * RECORD_SIZE;
        const from = Math.max(start, recordStart) - recordStart;
        const to = Math.min(end, recordStart + plaintext.length) - recordStart;
        index++;
        if (to > from) {
          controller.enqueue(plaintext.subarray(from, to));
          return;
        }
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

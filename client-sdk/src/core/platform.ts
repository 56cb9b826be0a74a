import type { Upload } from 'tus-js-client';
import type { Sha256 } from './checksum-http-stack.js';
import type { Connectivity } from './connectivity.js';
import type { CryptoEngine } from './encryption/cipher.js';
import type { SealedInput } from './encryption/encrypted-upload.js';
import type { ReadRange } from './encryption/records.js';
import type { ResumeStorage } from './resume-storage.js';

/** What tus-js-client's types say its Upload accepts: File, Blob, Buffer, a stream reader. */
export type TusDeclaredSource = ConstructorParameters<typeof Upload>[0];

/**
 * What tus-js-client's Upload accepts. Its builds take more than its types say: the Node build
 * reads an `fs.ReadStream` by path (fresh streams per slice) and any other Readable in chunks;
 * the browser build fetches a React Native file's `uri` as a Blob. An encrypted upload's sealed
 * object is read by the SDK's own file reader.
 */
export type TusSource = TusDeclaredSource | { pipe: (...args: never[]) => unknown } | { uri: string } | SealedInput;

/** An input made ready for tus-js-client. */
export interface PreparedInput {
  source: TusSource;
  /** null: unknown (a stream); uploaded with a deferred length. */
  size: number | null;
  /** Defaults for the `filename` / `filetype` metadata. */
  name?: string;
  type?: string;
  /** The input's identity for resuming across sessions; null: only within this upload. */
  identity: string | null;
  /** Streams must be read in chunks of a finite size. */
  needsChunkSize?: boolean;
  /** Parts of it can be read independently (files, buffers; not streams): parallel uploads possible. */
  sliceable: boolean;
  /** Random access to the bytes (what end-to-end encryption seals from); absent for streams. */
  readRange?: ReadRange;
  /** Releases what preparing opened (a file stream) once the upload is over. */
  close?: () => void;
}

/** What differs between browsers/React Native and Node. */
export interface Platform<Input> {
  prepare(input: Input): Promise<PreparedInput>;
  /** Where resume state lives unless the options say otherwise (null: in memory only). */
  defaultStorage(): ResumeStorage | null;
  defaultConnectivity(): Connectivity;
  /** SHA-256 for PATCH checksums when the platform has its own (node:crypto); else WebCrypto's. */
  sha256?: Sha256;
  /**
   * A small preview of an image or video (WebP or JPEG, long side ≤ PREVIEW_MAX_SIDE), made on
   * the client before the file is encrypted; null when the platform cannot make one.
   */
  preview(input: Input, prepared: PreparedInput): Promise<PlainPreview | null>;
  /**
   * A request body that pulls `pieces` as it is sent (Node: a Readable), so an encrypted upload
   * goes in one streamed request; absent where request bodies must be whole (XMLHttpRequest).
   */
  streamBody?: StreamBody;
  /**
   * A whole request body from pieces (browsers: a Blob, which XMLHttpRequest sends without the
   * copies a typed array costs). Default: one Uint8Array.
   */
  wholeBody?: (pieces: Uint8Array[]) => unknown;
  /** Which AES-GCM implementation seals and opens records (default: WebCrypto where present). */
  cryptoEngine?: CryptoEngine;
}

/** Builds a streamed request body of `size` bytes from `pieces`, read only as fast as they are sent. */
export type StreamBody = (pieces: AsyncIterable<Uint8Array>, size: number) => unknown;

/** A preview made on the client. */
export interface PlainPreview {
  bytes: Uint8Array;
  type: string;
}

/** Long side of client-made previews, in pixels. */
export const PREVIEW_MAX_SIDE = 320;

import { defaultOptions as tusDefaults } from 'tus-js-client';
import { browserConnectivity } from './connectivity.js';
import { HaulError } from './errors.js';
import { blobSampleHash, sampleHash } from './fingerprint.js';
import type { Platform, PreparedInput, TusSource } from './platform.js';
import { browserPreview } from './preview.js';
import { memoryStorage, type ResumeStorage } from './resume-storage.js';

/**
 * A file picked in React Native (react-native-document-picker, expo-image-picker, …): a local
 * `uri` that tus-js-client reads as a Blob.
 *
 * @example
 * ```ts
 * const [picked] = await DocumentPicker.pick();
 * const file: ReactNativeFile = { uri: picked.uri, name: picked.name ?? undefined, type: picked.type ?? undefined, size: picked.size ?? undefined };
 * client.upload(file);
 * ```
 */
export interface ReactNativeFile {
  uri: string;
  name?: string;
  type?: string;
  size?: number;
}

/**
 * What the default entry uploads: a browser File or Blob, bytes, or a React Native file.
 *
 * @example
 * ```ts
 * const input: BrowserUploadInput = fileInput.files![0]!;
 * client.upload(input);
 * ```
 */
export type BrowserUploadInput = Blob | Uint8Array | ArrayBuffer | ReactNativeFile;

interface NodeBufferConstructor {
  from(data: ArrayBuffer | Uint8Array, byteOffset?: number, length?: number): Uint8Array;
}

/** tus-js-client's Node build (this entry imported in Node) wants Buffers, not Blobs. */
const nodeBuffer = (): NodeBufferConstructor | undefined => {
  if (tusDefaults.httpStack.getName() !== 'NodeHttpStack') return undefined;
  return (globalThis as { Buffer?: NodeBufferConstructor }).Buffer;
};

const isBlob = (value: unknown): value is Blob => typeof Blob !== 'undefined' && value instanceof Blob;
const isFile = (value: Blob): value is File => typeof (value as Partial<File>).name === 'string' && typeof (value as Partial<File>).lastModified === 'number';
const isReactNativeFile = (value: unknown): value is ReactNativeFile =>
  typeof value === 'object' && value !== null && typeof (value as Partial<ReactNativeFile>).uri === 'string';

async function prepareBytes(bytes: Uint8Array, type?: string): Promise<PreparedInput> {
  const buffer = nodeBuffer();
  const source = (buffer ? buffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) : new Blob([bytes as Uint8Array<ArrayBuffer>], type ? { type } : {})) as TusSource;
  const readRange = async (start: number, end: number) => bytes.subarray(start, end);
  return { source, size: bytes.byteLength, type, identity: `bytes:${sampleHash(bytes)}`, sliceable: true, readRange };
}

/** Browsers and React Native (and this entry in Node, for bytes and Blobs). */
export const browserPlatform: Platform<BrowserUploadInput> = {
  async prepare(input) {
    if (isBlob(input)) {
      const name = isFile(input) ? input.name : undefined;
      const type = input.type || undefined;
      const identity = isFile(input)
        ? `file:${input.name}:${input.type}:${input.size}:${input.lastModified}:${await blobSampleHash(input)}`
        : `blob:${await blobSampleHash(input)}`;
      if (nodeBuffer()) {
        const prepared = await prepareBytes(new Uint8Array(await input.arrayBuffer()), type);
        return { ...prepared, name, identity };
      }
      const readRange = async (start: number, end: number) => new Uint8Array(await input.slice(start, end).arrayBuffer());
      return { source: input, size: input.size, name, type, identity, sliceable: true, readRange };
    }
    if (input instanceof Uint8Array) return prepareBytes(input);
    if (input instanceof ArrayBuffer) return prepareBytes(new Uint8Array(input));
    if (isReactNativeFile(input)) {
      return {
        // tus-js-client's browser build fetches `uri` as a Blob in React Native.
        source: input,
        size: typeof input.size === 'number' ? input.size : null,
        name: input.name,
        type: input.type,
        identity: `rn:${input.uri}:${input.size ?? ''}:${input.name ?? ''}`,
        sliceable: typeof input.size === 'number',
      };
    }
    throw new HaulError('INVALID_INPUT', 'upload() takes a File, Blob, Uint8Array, ArrayBuffer or React Native file ({ uri })', { retryable: false });
  },

  defaultStorage(): ResumeStorage | null {
    const scope = globalThis as { localStorage?: Storage; navigator?: { product?: string } };
    if (scope.navigator?.product === 'ReactNative') return memoryStorage();
    try {
      const storage = scope.localStorage;
      if (storage) {
        // Throws in Safari private mode and sandboxed iframes.
        storage.setItem('haul:probe', '1');
        storage.removeItem('haul:probe');
        return storage;
      }
    } catch {
      // fall through
    }
    return memoryStorage();
  },

  defaultConnectivity: browserConnectivity,

  // tus-js-client's Node build (this entry in Node) sends Uint8Arrays; XMLHttpRequest sends Blobs best.
  wholeBody: (pieces) => {
    if (nodeBuffer()) {
      if (pieces.length === 1) return Object.assign(pieces[0]!, { size: pieces[0]!.length });
      const joined = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const piece of pieces) {
        joined.set(piece, at);
        at += piece.length;
      }
      return Object.assign(joined, { size: joined.length });
    }
    return new Blob(pieces as Uint8Array<ArrayBuffer>[]);
  },
  preview: async (input) => (isBlob(input) ? browserPreview(input) : null),
};

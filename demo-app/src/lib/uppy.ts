import Uppy, { type Meta, type Restrictions, type UppyFile } from '@uppy/core';
import Tus, { type TusBody } from '@uppy/tus';
import type { ServerConfigJson } from '@haul/client';
import { formatBytes } from './format.js';
import type { Client } from './haul.js';
import { CHUNK_SIZE, PARALLEL_PARTS, SLOW_NETWORK_BYTES_PER_SECOND, type UploadSettings } from './settings.js';

export type HaulUppy = Uppy<Meta, TusBody>;
export type HaulUppyFile = UppyFile<Meta, TusBody>;

/**
 * Files uploading at once. Browsers open six connections per origin over HTTP/1.1, and the
 * gallery needs some for status events and thumbnails while uploads run.
 */
const CONCURRENT_FILES = 3;

/** Uppy's restrictions, from the server's own settings. A convenience: the server decides by content. */
export function restrictionsFrom(config: ServerConfigJson): Partial<Restrictions> {
  return {
    maxFileSize: Math.max(config.maxImageSize, config.maxFileSize),
    // ALLOWED_TYPES=*: anything (the server still refuses executables by content).
    allowedFileTypes: config.allowedTypes.categories.includes('*')
      ? undefined
      : [...config.allowedTypes.mimeTypes, ...config.allowedTypes.extensions.map((ext) => (ext.startsWith('.') ? ext : `.${ext}`))],
  };
}

export const partsPerFile = (config: ServerConfigJson, settings: UploadSettings): number =>
  settings.parallel && config.concatenation ? Math.max(1, Math.min(PARALLEL_PARTS, config.maxConcatPartials)) : 1;

/**
 * The Tus plugin's options for the current switches. Uppy merges `setOptions` into what it had,
 * so the keys the SDK only sets when a switch is on are reset here first.
 */
function tusSettings(client: Client, config: ServerConfigJson, settings: UploadSettings) {
  return {
    chunkSize: Number.POSITIVE_INFINITY,
    parallelUploads: 1,
    ...client.tusOptions({
      parallel: partsPerFile(config, settings),
      chunkSize: CHUNK_SIZE,
      throttle: settings.slowNetwork ? { bytesPerSecond: SLOW_NETWORK_BYTES_PER_SECOND } : undefined,
    }),
  };
}

/**
 * One Uppy per signed-in user. Its id prefixes every file id, and so the resume fingerprints in
 * localStorage: users sharing a browser never resume each other's uploads.
 */
export function createUppy({ id, config, client, settings }: { id: string; config: ServerConfigJson; client: Client; settings: UploadSettings }): HaulUppy {
  const uppy: HaulUppy = new Uppy<Meta, TusBody>({
    id,
    autoProceed: false,
    restrictions: restrictionsFrom(config),
    // Uppy would list every accepted MIME type and extension (a hundred of them).
    locale: {
      strings: { youCanOnlyUploadFileTypes: `Not accepted here: this server takes ${config.allowedTypes.categories.join(', ')} files.` },
      pluralize: (count: number) => (count === 1 ? 0 : 1),
    },
    // Images have a lower limit than other files; Uppy's restrictions only know one size.
    onBeforeFileAdded(file) {
      const size = file.size ?? 0;
      if (file.type?.startsWith('image/') && size > config.maxImageSize) {
        uppy.info(`${file.name ?? 'This image'} is ${formatBytes(size)}; images may be at most ${formatBytes(config.maxImageSize)}.`, 'error', 8000);
        return false;
      }
      return true;
    },
  });
  uppy.use(Tus, { ...tusSettings(client, config, settings), limit: CONCURRENT_FILES });
  return uppy;
}

/** Applies new switches to uploads started from now on (running ones keep theirs). */
export function applySettings(uppy: HaulUppy, client: Client, config: ServerConfigJson, settings: UploadSettings): void {
  uppy.getPlugin('Tus')?.setOptions(tusSettings(client, config, settings));
}

/** A short description of what the server accepts, for the drop zone. */
export function restrictionsNote(config: ServerConfigJson): string {
  const sizes = config.allowedTypes.categories.includes('image')
    ? `Images up to ${formatBytes(config.maxImageSize)}, other files up to ${formatBytes(config.maxFileSize)}.`
    : `Files up to ${formatBytes(config.maxFileSize)}.`;
  return `${sizes} The server checks each file by its content.`;
}

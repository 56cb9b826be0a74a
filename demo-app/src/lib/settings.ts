/** The upload switches a visitor sets; kept across reloads, since a resumed upload must use the same layout. */
export interface UploadSettings {
  parallel: boolean;
  slowNetwork: boolean;
}

/** Parts per file with parallel uploads on (each a tus partial, concatenated by the server). */
export const PARALLEL_PARTS = 4;

/**
 * Bytes per PATCH. Every PATCH is checksummed (the SDK's default) and counts only whole, so a pause
 * or a dropped connection costs at most this much: small enough that a paused few-MiB file keeps
 * most of what it sent.
 */
export const CHUNK_SIZE = 1024 * 1024;

/** The simulated slow network: slow enough to pause a few-MiB file by hand on localhost. */
export const SLOW_NETWORK_BYTES_PER_SECOND = 256 * 1024;

const KEY = 'haul-demo:settings';
const DEFAULTS: UploadSettings = { parallel: false, slowNetwork: false };

export function loadSettings(): UploadSettings {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<UploadSettings>;
    return { parallel: stored.parallel === true, slowNetwork: stored.slowNetwork === true };
  } catch {
    return DEFAULTS;
  }
}

export function saveSettings(settings: UploadSettings): void {
  localStorage.setItem(KEY, JSON.stringify(settings));
}

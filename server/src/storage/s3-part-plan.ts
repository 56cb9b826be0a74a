/**
 * Plans the parts of a final upload assembled from partial uploads on S3.
 *
 * S3 multipart rules: every part but the last is at least 5 MiB; no part exceeds 5 GiB; at most
 * 10,000 parts. Partials of 5 MiB or more become server-side copies (UploadPartCopy, split into
 * ranges where a partial exceeds 5 GiB), so their bytes never pass through Haul. Smaller
 * partials cannot be copied as parts, so runs of them are streamed through Haul into one part;
 * when such a run is still short of 5 MiB, it borrows the first bytes of the next partial. At
 * most about 10 MiB per part is ever streamed, never held in memory — unlike tusd, which
 * downloads every partial and uploads the whole file again whenever one is small.
 */
export const MIN_PART_SIZE = 5 * 2 ** 20;
export const MAX_PART_SIZE = 5 * 2 ** 30;

export interface PartPiece {
  /** Index into the partials. */
  partial: number;
  /** Byte range [start, end) of that partial. */
  start: number;
  end: number;
}

/** `copy`: one piece, copied server-side. `stream`: pieces read and uploaded in order. */
export type PlannedPart = { kind: 'copy'; piece: PartPiece } | { kind: 'stream'; pieces: PartPiece[]; size: number };

export function planParts(sizes: readonly number[], { min = MIN_PART_SIZE, max = MAX_PART_SIZE } = {}): PlannedPart[] {
  const parts: PlannedPart[] = [];
  let pending: PartPiece[] = [];
  let pendingSize = 0;
  const flush = () => {
    if (pending.length > 0) parts.push({ kind: 'stream', pieces: pending, size: pendingSize });
    pending = [];
    pendingSize = 0;
  };

  sizes.forEach((size, partial) => {
    let position = 0;
    if (pendingSize > 0 && size > 0) {
      const need = min - pendingSize;
      // Taking only `need` bytes must leave a remainder that can stand as a copied part.
      const take = size - need >= min ? need : size;
      pending.push({ partial, start: 0, end: take });
      pendingSize += take;
      position = take;
      if (pendingSize >= min) flush();
    }
    const rest = size - position;
    if (rest <= 0) return;
    if (rest >= min) {
      // Equal ranges of at most `max` bytes; each is at least `min` because rest >= min.
      const count = Math.ceil(rest / max);
      const step = Math.ceil(rest / count);
      for (let start = position; start < size; start += step) {
        parts.push({ kind: 'copy', piece: { partial, start, end: Math.min(size, start + step) } });
      }
    } else {
      pending.push({ partial, start: position, end: size });
      pendingSize += rest;
      if (pendingSize >= min) flush();
    }
  });
  flush();
  return parts;
}

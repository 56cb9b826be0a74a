import { stripExifBlock } from './exif.js';
import type { LocationEditor } from './strip-location.js';
import { blankXmpLocation } from './xmp-location.js';

/**
 * WebP: RIFF chunks (fourcc, little-endian size, data, a pad byte if the size is odd), streaming.
 * The `EXIF` chunk loses its GPS IFD and the `XMP ` chunk its GPS properties, in place: no size
 * changes, so the RIFF header and the VP8X flags stay valid. A metadata chunk larger than
 * MAX_HELD_BYTES is overwritten (zeros / spaces) as it streams instead of being searched.
 * Image chunks (VP8, VP8L, ALPH, ANMF) stream through untouched.
 */

const MAX_HELD_BYTES = 4 * 1024 * 1024;

type Mode = 'pass' | 'exif' | 'xmp' | 'zero-exif' | 'blank-xmp';
type State =
  | { kind: 'riff'; bytes: number[] }
  | { kind: 'header'; bytes: number[] }
  | { kind: 'data'; mode: Mode; remaining: number; held: Buffer[] };

export function createWebpEditor(): LocationEditor {
  let state: State = { kind: 'riff', bytes: [] };
  let found = false;
  const notes: string[] = [];

  const finishHeld = (mode: Mode, held: Buffer[], push: (d: Buffer) => void) => {
    const data = Buffer.concat(held);
    if (mode === 'exif') {
      const result = stripExifBlock(data);
      if (result !== 'none') found = true;
      if (result === 'unparseable') notes.push('EXIF could not be parsed: zeroed');
    } else if (blankXmpLocation([data])) found = true;
    push(data);
  };

  const step = (chunk: Buffer, i: number, push: (d: Buffer) => void): number => {
    const s = state;
    switch (s.kind) {
      case 'riff': {
        s.bytes.push(chunk[i]!);
        if (s.bytes.length < 12) return i + 1;
        const header = Buffer.from(s.bytes);
        if (header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WEBP') throw new Error('not a WebP (no RIFF/WEBP header)');
        push(header);
        state = { kind: 'header', bytes: [] };
        return i + 1;
      }
      case 'header': {
        s.bytes.push(chunk[i]!);
        if (s.bytes.length < 8) return i + 1;
        const header = Buffer.from(s.bytes);
        const fourcc = header.toString('latin1', 0, 4);
        const size = header.readUInt32LE(4);
        const padded = size + (size & 1);
        let mode: Mode = 'pass';
        if (fourcc === 'EXIF') mode = padded <= MAX_HELD_BYTES ? 'exif' : 'zero-exif';
        else if (fourcc === 'XMP ') mode = padded <= MAX_HELD_BYTES ? 'xmp' : 'blank-xmp';
        if (mode === 'zero-exif' || mode === 'blank-xmp') {
          found = true;
          notes.push(`a ${fourcc.trim()} chunk too large to edit was overwritten`);
        }
        push(header);
        state = { kind: 'data', mode, remaining: padded, held: [] };
        return i + 1;
      }
      case 'data': {
        const take = Math.min(s.remaining, chunk.length - i);
        const part = chunk.subarray(i, i + take);
        s.remaining -= take;
        if (s.mode === 'pass') push(part);
        else if (s.mode === 'zero-exif') push(Buffer.alloc(take));
        else if (s.mode === 'blank-xmp') push(Buffer.alloc(take, 0x20));
        else s.held.push(Buffer.from(part));
        if (s.remaining === 0) {
          if (s.mode === 'exif' || s.mode === 'xmp') finishHeld(s.mode, s.held, push);
          state = { kind: 'header', bytes: [] };
        }
        return i + take;
      }
    }
  };

  return {
    write(chunk, push) {
      let i = 0;
      while (i < chunk.length) i = step(chunk, i, push);
    },
    end() {
      if (state.kind !== 'header' || state.bytes.length !== 0) throw new Error('WebP ends inside a chunk');
      return { locationFound: found, notes };
    },
  };
}

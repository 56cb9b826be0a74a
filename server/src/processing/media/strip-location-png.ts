import { crc32 } from 'node:zlib';
import { stripExifBlock } from './exif.js';
import type { LocationEditor } from './strip-location.js';

/**
 * PNG: chunk by chunk (PNG spec §5.3: length, type, data, CRC), streaming.
 * - `eXIf` (EXIF, PNG 1.5 extension): GPS IFD removed in place, CRC recomputed. One larger than
 *   MAX_HELD_BYTES is dropped instead (fail closed).
 * - `tEXt`/`zTXt`/`iTXt` whose keyword names an EXIF or XMP profile (ImageMagick's "Raw profile
 *   type exif/app1/xmp", Adobe's "XML:com.adobe.xmp"): dropped whole. They duplicate metadata for
 *   tools, viewers ignore them for orientation, and their data may be hex-encoded or compressed.
 *   Other text chunks (titles, comments a person wrote) are kept.
 * Every other chunk, image data included, streams through as it arrives. Dropping chunks is
 * harmless in PNG: no chunk refers to another's position.
 */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_HELD_BYTES = 4 * 1024 * 1024;
const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt']);
const PROFILE_KEYWORDS = new Set(['raw profile type exif', 'raw profile type app1', 'raw profile type xmp', 'xml:com.adobe.xmp']);
/** A keyword is 1–79 bytes and a NUL (§11.3.4.2). */
const KEYWORD_BYTES = 80;

type Mode = 'pass' | 'drop' | 'exif' | 'text';
type State =
  | { kind: 'signature'; seen: number }
  | { kind: 'header'; bytes: number[] }
  | { kind: 'data'; mode: Mode; header: Buffer; remaining: number; held: Buffer[] }
  | { kind: 'crc'; mode: Mode; header: Buffer; remaining: number; held: Buffer[] }
  /** After IEND: trailing bytes some writers append, passed through. */
  | { kind: 'trailer' };

export function createPngEditor(): LocationEditor {
  let state: State = { kind: 'signature', seen: 0 };
  let found = false;
  const notes: string[] = [];

  const step = (chunk: Buffer, i: number, push: (d: Buffer) => void): number => {
    const s = state;
    switch (s.kind) {
      case 'signature':
        if (chunk[i] !== SIGNATURE[s.seen]) throw new Error('not a PNG (bad signature)');
        push(chunk.subarray(i, i + 1));
        if (++s.seen === SIGNATURE.length) state = { kind: 'header', bytes: [] };
        return i + 1;
      case 'header': {
        s.bytes.push(chunk[i]!);
        if (s.bytes.length < 8) return i + 1;
        const header = Buffer.from(s.bytes);
        const length = header.readUInt32BE(0);
        if (length > 0x7fffffff) throw new Error('PNG structure is broken (chunk length)');
        const type = header.toString('latin1', 4, 8);
        let mode: Mode = 'pass';
        if (type === 'eXIf') mode = length <= MAX_HELD_BYTES ? 'exif' : 'drop';
        else if (TEXT_CHUNKS.has(type)) mode = 'text';
        if (mode === 'drop') {
          found = true;
          notes.push('an eXIf chunk too large to edit was dropped');
        }
        if (mode === 'pass') push(header);
        state = { kind: 'data', mode, header, remaining: length, held: [] };
        return i + 1;
      }
      case 'data': {
        const take = Math.min(s.remaining, chunk.length - i);
        const part = chunk.subarray(i, i + take);
        s.remaining -= take;
        if (s.mode === 'pass') push(part);
        else if (s.mode === 'exif') s.held.push(Buffer.from(part));
        else if (s.mode === 'text') {
          s.held.push(Buffer.from(part));
          const held = Buffer.concat(s.held);
          const nul = held.indexOf(0);
          // Decided as soon as the keyword is complete: a profile is dropped, anything else streams.
          if (nul !== -1 || held.length >= KEYWORD_BYTES || s.remaining === 0) {
            const keyword = held.toString('latin1', 0, nul === -1 ? held.length : nul).toLowerCase();
            if (PROFILE_KEYWORDS.has(keyword)) {
              s.mode = 'drop';
              found = true;
            } else {
              s.mode = 'pass';
              push(s.header);
              push(held);
            }
            s.held = [];
          } else s.held = [held];
        }
        if (s.remaining === 0) state = { kind: 'crc', mode: s.mode, header: s.header, remaining: 4, held: s.held };
        return i + take;
      }
      case 'crc': {
        const take = Math.min(s.remaining, chunk.length - i);
        if (s.mode === 'pass') push(chunk.subarray(i, i + take));
        s.remaining -= take;
        if (s.remaining === 0) {
          if (s.mode === 'exif') {
            const data = Buffer.concat(s.held);
            const result = stripExifBlock(data);
            if (result !== 'none') found = true;
            if (result === 'unparseable') notes.push('EXIF could not be parsed: zeroed');
            const crc = Buffer.alloc(4);
            crc.writeUInt32BE(crc32(data, crc32(s.header.subarray(4, 8))));
            push(Buffer.concat([s.header, data, crc]));
          }
          state = s.header.toString('latin1', 4, 8) === 'IEND' ? { kind: 'trailer' } : { kind: 'header', bytes: [] };
        }
        return i + take;
      }
      case 'trailer':
        push(chunk.subarray(i));
        return chunk.length;
    }
  };

  return {
    write(chunk, push) {
      let i = 0;
      while (i < chunk.length) i = step(chunk, i, push);
    },
    end() {
      if (state.kind !== 'trailer' && (state.kind !== 'header' || state.bytes.length !== 0)) throw new Error('PNG ends inside a chunk');
      return { locationFound: found, notes };
    },
  };
}

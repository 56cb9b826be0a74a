import { stripExifBlock } from './exif.js';
import type { LocationEditor } from './strip-location.js';
import { blankXmpLocation } from './xmp-location.js';

/**
 * JPEG: location removed losslessly, streaming. The marker structure is followed (ITU T.81 B.1):
 * APP1 segments (EXIF, XMP, extended XMP) are held (each ≤ 64 KiB) and edited in place — GPS IFD
 * out of the EXIF (orientation and the rest kept), GPS properties of the XMP blanked — and every
 * other byte, entropy-coded scans above all, goes through unchanged as it arrives. Nothing changes
 * length, so the output is exactly as long as the input and the MPF index of secondary images
 * (iPhone gain maps, depth maps) still points at them; those secondary JPEGs, which follow the
 * first one's EOI, are edited the same way. Not covered: data after the last image that is not a
 * JPEG (e.g. the MP4 of a Motion Photo), IPTC place names (APP13), maker notes.
 */

const APP1 = 0xe1;
const SOS = 0xda;
const EOI = 0xd9;
const EXIF_ID = 'Exif\0\0';
const XMP_ID = 'http://ns.adobe.com/xap/1.0/\0';
const EXTENDED_XMP_ID = 'http://ns.adobe.com/xmp/extension/\0';
/** Signature, GUID (32), full length (4), offset (4): then the slice of the packet. */
const EXTENDED_XMP_HEADER = EXTENDED_XMP_ID.length + 32 + 4 + 4;
/** Held extended-XMP segments beyond this are blanked whole instead of searched (fail closed). */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

const standalone = (marker: number) => marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7);

type State =
  | { kind: 'soi'; seen: number }
  /** `ffs`: FF bytes read (a marker, after optional FF fill bytes). */
  | { kind: 'marker'; ffs: number }
  | { kind: 'length'; marker: number; prefix: Buffer; bytes: number[] }
  | { kind: 'payload'; marker: number; remaining: number; held: Buffer[] | null; header: Buffer }
  | { kind: 'entropy'; ffs: number }
  /** After an EOI: another JPEG (FF D8) or trailing data passed through. */
  | { kind: 'after-eoi'; seen: number[] }
  | { kind: 'passthrough' };

export function createJpegEditor(): LocationEditor {
  let state: State = { kind: 'soi', seen: 0 };
  let found = false;
  const notes: string[] = [];
  /** Extended XMP segments (whole, header included), held until the run ends. */
  let run: { segment: Buffer; data: Buffer }[] = [];
  let runBytes = 0;
  let output: (data: Buffer) => void = () => {};

  const flushRun = () => {
    if (run.length === 0) return;
    if (runBytes > MAX_HELD_BYTES) {
      for (const { data } of run) data.fill(0x20);
      found = true;
      notes.push('extended XMP too large to search: blanked');
    } else if (blankXmpLocation(run.map((r) => r.data))) found = true;
    const segments = run.map((r) => r.segment);
    run = [];
    runBytes = 0;
    for (const segment of segments) output(segment);
  };
  const emit = (data: Buffer) => {
    flushRun();
    if (data.length) output(data);
  };

  const finishApp1 = (segment: Buffer, payloadStart: number) => {
    const payload = segment.subarray(payloadStart);
    const id = (s: string) => payload.length >= s.length && payload.toString('latin1', 0, s.length) === s;
    if (id(EXTENDED_XMP_ID)) {
      run.push({ segment, data: payload.subarray(Math.min(payload.length, EXTENDED_XMP_HEADER)) });
      runBytes += segment.length;
      return;
    }
    if (id(EXIF_ID)) {
      const result = stripExifBlock(payload);
      if (result !== 'none') found = true;
      if (result === 'unparseable') notes.push('EXIF could not be parsed: zeroed');
    } else if (id(XMP_ID) && blankXmpLocation([payload.subarray(XMP_ID.length)])) found = true;
    emit(segment);
  };

  /** A marker read: `prefix` is its FF bytes (fill included) and the marker byte. */
  const onMarker = (marker: number, ffs: number) => {
    const prefix = Buffer.alloc(ffs + 1, 0xff);
    prefix[ffs] = marker;
    if (marker === EOI) {
      emit(prefix);
      state = { kind: 'after-eoi', seen: [] };
    } else if (standalone(marker)) {
      emit(prefix);
      state = { kind: 'marker', ffs: 0 };
    } else {
      // Held until the length is known: an APP1 segment is emitted only once edited.
      state = { kind: 'length', marker, prefix, bytes: [] };
    }
  };

  const step = (chunk: Buffer, i: number): number => {
    const s = state;
    const b = chunk[i]!;
    switch (s.kind) {
      case 'soi':
        if (b !== [0xff, 0xd8][s.seen]) throw new Error('not a JPEG (no SOI marker)');
        if (++s.seen === 2) state = { kind: 'marker', ffs: 0 };
        emit(chunk.subarray(i, i + 1));
        return i + 1;
      case 'marker':
        if (b === 0xff) s.ffs++;
        else if (s.ffs === 0) throw new Error('JPEG structure is broken (a marker was expected)');
        else onMarker(b, s.ffs);
        return i + 1;
      case 'length': {
        s.bytes.push(b);
        if (s.bytes.length < 2) return i + 1;
        const length = (s.bytes[0]! << 8) | s.bytes[1]!;
        if (length < 2) throw new Error('JPEG structure is broken (segment length < 2)');
        const header = Buffer.concat([s.prefix, Buffer.from(s.bytes)]);
        if (s.marker === APP1) state = { kind: 'payload', marker: s.marker, remaining: length - 2, held: [], header };
        else {
          emit(header);
          state = { kind: 'payload', marker: s.marker, remaining: length - 2, held: null, header };
        }
        return length === 2 ? endPayload(i + 1) : i + 1;
      }
      case 'payload': {
        const take = Math.min(s.remaining, chunk.length - i);
        const part = chunk.subarray(i, i + take);
        if (s.held) s.held.push(Buffer.from(part));
        else emit(part);
        s.remaining -= take;
        return s.remaining === 0 ? endPayload(i + take) : i + take;
      }
      case 'entropy': {
        if (s.ffs === 0) {
          const ff = chunk.indexOf(0xff, i);
          const end = ff === -1 ? chunk.length : ff;
          emit(chunk.subarray(i, end));
          if (ff !== -1) s.ffs = 1;
          return ff === -1 ? end : ff + 1;
        }
        if (b === 0xff) s.ffs++;
        else if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) {
          // FF 00 is a stuffed data byte, FF D0–D7 a restart marker: still the scan.
          const bytes = Buffer.alloc(s.ffs + 1, 0xff);
          bytes[s.ffs] = b;
          emit(bytes);
          s.ffs = 0;
        } else onMarker(b, s.ffs);
        return i + 1;
      }
      case 'after-eoi':
        s.seen.push(b);
        if (s.seen[0] !== 0xff || (s.seen.length === 2 && s.seen[1] !== 0xd8)) {
          state = { kind: 'passthrough' };
          emit(Buffer.from(s.seen));
        } else if (s.seen.length === 2) {
          emit(Buffer.from(s.seen));
          state = { kind: 'marker', ffs: 0 };
        }
        return i + 1;
      case 'passthrough':
        emit(chunk.subarray(i));
        return chunk.length;
    }
  };

  const endPayload = (next: number): number => {
    const s = state as Extract<State, { kind: 'payload' }>;
    if (s.held) finishApp1(Buffer.concat([s.header, ...s.held]), s.header.length);
    // After SOS's header comes the entropy-coded scan.
    state = s.marker === SOS ? { kind: 'entropy', ffs: 0 } : { kind: 'marker', ffs: 0 };
    return next;
  };

  return {
    write(chunk, push) {
      output = push;
      let i = 0;
      while (i < chunk.length) i = step(chunk, i);
    },
    end(push) {
      output = push;
      if (state.kind === 'after-eoi') emit(Buffer.from(state.seen));
      flushRun();
      if (state.kind === 'marker' && state.ffs > 0) emit(Buffer.alloc(state.ffs, 0xff));
      if (state.kind === 'entropy' && state.ffs > 0) emit(Buffer.alloc(state.ffs, 0xff));
      if (state.kind === 'soi' || state.kind === 'length' || (state.kind === 'payload' && state.held)) {
        throw new Error('JPEG ends inside its header');
      }
      return { locationFound: found, notes };
    },
  };
}

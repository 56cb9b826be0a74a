import { inflateSync } from 'node:zlib';

/**
 * Finds active content in a PDF — JavaScript, launch actions, embedded files, Flash, XFA — in one
 * bounded pass over its bytes, fed chunk by chunk (`write`) as the file streams past: no parser,
 * no decoder; memory of one object stream at most (≤ 4 MiB raw, 32 MiB inflated; 256 MiB per file).
 *
 * Every `/Name` anywhere in the file is read (`#xx` escapes decoded: `/J#61vaScript`), with no
 * lexer a crafted file could desynchronise from the reader's xref-driven parse (unbalanced strings,
 * objects hidden in another stream's data): all bytes of all revisions, stream data included.
 * Object streams (PDF 1.5, where compressed dictionaries live; any stream with `/First`, as readers
 * do not check `/Type /ObjStm`) are inflated and scanned the same way. Decisions rest on long names
 * that random binary data does not spell; a JavaScript action needs `/S /JavaScript` to run, so
 * `/JS` alone is only reported.
 *
 * `incomplete` (callers treat it as active: fail closed): an object stream with another filter or
 * a predictor, one that does not inflate completely (encrypted files encrypt object streams;
 * corrupt or cut data), or over the caps. Known gap: no decryption (only encrypted object streams
 * are out of reach: names outside streams are never encrypted); a file that puts `(obj)` in a
 * string between an object stream's `/First` and its `stream` keyword hides that stream from us.
 */

/** Any of these makes a PDF active: it may run code, start programs or carry files. */
const ACTIVE = ['JavaScript', 'Launch', 'EmbeddedFile', 'EmbeddedFiles', 'FileAttachment', 'RichMedia'];
/** Reported; active only in combination (XFA with AcroForm), or harmless alone. */
const NOTED = ['JS', 'XFA', 'AcroForm', 'OpenAction', 'AA', 'SubmitForm', 'ImportData', 'GoToE', 'Encrypt'];
const WATCHED = new Set([...ACTIVE, ...NOTED]);
const FLATE = new Set(['FlateDecode', 'Fl']);
const OTHER_FILTERS = new Set(['ASCIIHexDecode', 'AHx', 'ASCII85Decode', 'A85', 'LZWDecode', 'LZW', 'RunLengthDecode', 'RL', 'Crypt']);

export interface PdfActiveContent {
  /** JavaScript, launch, embedded files, Flash or XFA found — or the scan was incomplete. */
  active: boolean;
  /** The watched names found, sorted, e.g. ['JS', 'JavaScript', 'OpenAction']. */
  names: string[];
  encrypted: boolean;
  /** Why part of the file could not be inspected (null: all of it was). */
  incomplete: string | null;
}

export type PdfScanLimits = Record<'maxObjectStreamBytes' | 'maxInflatedBytes' | 'maxTotalInflatedBytes', number>;
const MiB = 1024 * 1024;
const DEFAULT_SCAN_LIMITS: PdfScanLimits = { maxObjectStreamBytes: 4 * MiB, maxInflatedBytes: 32 * MiB, maxTotalInflatedBytes: 256 * MiB };

// PDF 32000-1 §7.2.2: white-space and delimiter characters end a name or any other token (a
// lookup table: this runs once per byte of the file).
const REGULAR = new Uint8Array(256).fill(1);
for (const b of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]) REGULAR[b] = 0;
const ENDSTREAM = 'endstream';
/** Longer tokens are never materialised: the longest watched name, each byte #-escaped. */
const MAX_WATCHED = 3 * 'FileAttachment'.length;
/** Names that decide whether a stream is an object stream we inflate. */
const STREAM_KEYS = new Set(['ObjStm', 'First', 'Filter', 'DecodeParms', ...FLATE, ...OTHER_FILTERS]);

/** §7.3.5: "a NUMBER SIGN (#) followed by its 2-digit hexadecimal code" inside a name. */
function decodeName(raw: string): string {
  return raw.replace(/#([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

interface ObjectContext {
  names: Set<string>;
  length: number | null; // /Length as a direct integer; null if absent or an indirect reference
}

interface Capture {
  context: ObjectContext;
  /** The stream keyword ended with CR: skip an LF that follows. */
  pendingLf: boolean;
  chunks: Buffer[];
  bytes: number;
  /** Bytes of `endstream` matched so far (when the length is not direct). */
  matched: number;
}

/** A push scanner: `write` every chunk in order, then `finish` once. */
export class PdfActiveContentScanner {
  private readonly found = new Set<string>();
  private incompleteReason: string | null = null;
  private inflatedTotal = 0;
  /** The token being read — a name (after `/`) or a regular token — and its bytes from earlier chunks. */
  private inToken = false;
  private isName = false;
  private tokenCarry = '';
  private tokenLength = 0;
  /** The tokens just read, newest last (`>>` counts as one), to spot `>> stream`, `/Length 42`. */
  private recent: string[] = ['', '', '', ''];
  /** The last two tokens outside `%` comments (`>> %x⏎stream`); `recent` keeps comment tokens, as
   * a `%` may sit in a string (`(50%) >>stream`). Either view can start a stream. */
  private code: [string, string] = ['', ''];
  private inComment = false;
  private context: ObjectContext = { names: new Set(), length: null };
  private capture: Capture | null = null;
  private angles = 0;

  constructor(
    private readonly limits: PdfScanLimits = DEFAULT_SCAN_LIMITS,
    /** Scanning an inflated object stream: it holds no streams itself. */
    private readonly nested = false,
  ) {}

  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.capture) {
        // Captured bytes are lexed too (every byte of the file is name-scanned), not for streams.
        const end = this.captureFrom(chunk, i);
        this.lex(chunk, i, end, false);
        i = end;
      } else {
        i = this.lex(chunk, i, chunk.length, !this.nested);
      }
    }
  }

  finish(): PdfActiveContent {
    this.endToken(null, 0, 0);
    if (this.capture) this.markIncomplete('the file ends inside an object stream');
    const names = [...this.found].sort();
    const has = (n: string) => this.found.has(n);
    const active = this.incompleteReason !== null || ACTIVE.some(has) || (has('XFA') && has('AcroForm'));
    return { active, names, encrypted: has('Encrypt'), incomplete: this.incompleteReason };
  }

  private markIncomplete(reason: string): void {
    this.incompleteReason ??= reason;
  }

  /**
   * Lexes chunk[from, to). Returns `to`, or the index just after a `stream` keyword's EOL when an
   * object stream's capture starts there. The hot loop of the scan: one table lookup per byte,
   * no string is built for a token longer than any name we look for.
   */
  private lex(chunk: Buffer, from: number, to: number, streams: boolean): number {
    let tokenStart = this.inToken ? from : -1;
    for (let i = from; i < to; i++) {
      const b = chunk[i]!;
      if (REGULAR[b] === 1) {
        if (!this.inToken) {
          this.inToken = true;
          this.isName = false;
          this.tokenCarry = '';
          this.tokenLength = 0;
          tokenStart = i;
        }
        // The rest of the run in a tight loop: most bytes of a file are inside tokens.
        let j = i + 1;
        while (j < to && REGULAR[chunk[j]!] === 1) j++;
        this.tokenLength += j - i;
        i = j - 1;
        continue;
      }
      if (this.inToken) {
        this.endToken(chunk, tokenStart, i);
        tokenStart = -1;
      }
      if (b === 0x2f) {
        this.inToken = true;
        this.isName = true;
        this.tokenCarry = '';
        this.tokenLength = 0;
        tokenStart = i + 1;
        this.angles = 0;
      } else if (b === 0x3e) {
        // `>>` ends a dictionary: remembered as a token so `>> stream` can be recognised.
        if (++this.angles === 2) this.pushRecent('>>');
      } else {
        this.angles = 0;
        if (b === 0x25) this.inComment = true;
        else if (b === 0x0a || b === 0x0d) {
          this.inComment = false;
          // §7.3.8.1: "The keyword stream that follows the stream dictionary shall be followed by an
          // end-of-line marker consisting of either a CARRIAGE RETURN and a LINE FEED or just a LINE
          // FEED" (a lone CR is accepted too, as readers do).
          const afterDictionary = (this.recent[2] === '>>' && this.recent[3] === 'stream') || (this.code[0] === '>>' && this.code[1] === 'stream');
          if (streams && afterDictionary) {
            this.recent = ['', '', '', ''];
            this.code = ['', ''];
            if (this.startStream(b === 0x0d)) return i + 1;
          }
        }
      }
    }
    if (this.inToken && this.tokenLength <= MAX_WATCHED) this.tokenCarry += chunk.toString('latin1', tokenStart, to);
    return to;
  }

  private endToken(chunk: Buffer | null, start: number, end: number): void {
    if (!this.inToken) return;
    this.inToken = false;
    const first = this.tokenCarry === '' ? (chunk && start < end ? chunk[start]! : 0) : this.tokenCarry.charCodeAt(0);
    // Only short tokens that can matter become strings: names, `obj`, `stream`, `R`, numbers.
    if (this.tokenLength > MAX_WATCHED || (!this.isName && !this.keywordMatters(first))) {
      this.pushRecent('');
      return;
    }
    const text = this.tokenCarry + (chunk ? chunk.toString('latin1', start, end) : '');
    if (!this.isName) {
      if (text === 'obj') this.context = { names: new Set(), length: null };
      this.pushRecent(text);
      return;
    }
    const name = text.includes('#') ? decodeName(text) : text;
    if (WATCHED.has(name)) this.found.add(name);
    if (STREAM_KEYS.has(name)) this.context.names.add(name);
    this.pushRecent(name === 'Length' ? '/Length' : '/');
  }

  /** Whether a regular token starting with `first` can matter: `obj`, `stream`, a /Length. */
  private keywordMatters(first: number): boolean {
    const length = this.tokenLength;
    if (first === 0x6f) return length === 3; // obj
    if (first === 0x73) return length === 6; // stream
    if (first === 0x52) return length === 1 && this.recent[1] === '/Length'; // R of `/Length 7 0 R`
    return first >= 0x30 && first <= 0x39 && this.recent[3] === '/Length';
  }

  private pushRecent(token: string): void {
    const recent = this.recent;
    recent[0] = recent[1]!;
    recent[1] = recent[2]!;
    recent[2] = recent[3]!;
    recent[3] = token;
    if (!this.inComment) this.code = [this.code[1], token];
    // `/Length 42` then anything but `0 R`: a direct length.
    if (recent[2] === '/Length' && /^\d{1,15}$/.test(token)) this.context.length = Number(token);
    else if (recent[0] === '/Length' && token === 'R' && recent[1] === String(this.context.length)) this.context.length = null;
  }

  /** True if an object stream's capture starts (its data follows the EOL). */
  private startStream(afterCr: boolean): boolean {
    const context = this.context;
    this.context = { names: new Set(), length: null };
    if (this.capture || !(context.names.has('ObjStm') || context.names.has('First'))) return false;
    this.capture = { context, pendingLf: afterCr && context.length !== 0, chunks: [], bytes: 0, matched: 0 };
    return true;
  }

  /**
   * Collects an object stream's data from `chunk[i]`: exactly /Length bytes when the length is
   * direct, else up to `endstream`. Returns where the captured part of this chunk ends.
   */
  private captureFrom(chunk: Buffer, i: number): number {
    const capture = this.capture!;
    let start = i;
    if (capture.pendingLf) {
      capture.pendingLf = false;
      if (chunk[i] === 0x0a) start = i + 1;
    }
    let end = start;
    let complete = false;
    if (capture.context.length !== null) {
      end = start + Math.min(capture.context.length - capture.bytes, chunk.length - start);
      complete = capture.bytes + (end - start) === capture.context.length;
    } else {
      while (end < chunk.length && !complete) {
        const b = chunk[end++]!;
        capture.matched = b === ENDSTREAM.charCodeAt(capture.matched) ? capture.matched + 1 : b === ENDSTREAM.charCodeAt(0) ? 1 : 0;
        complete = capture.matched === ENDSTREAM.length;
      }
    }
    capture.bytes += end - start;
    if (capture.bytes <= this.limits.maxObjectStreamBytes) capture.chunks.push(chunk.subarray(start, end));
    if (complete) {
      this.capture = null;
      const data = Buffer.concat(capture.chunks);
      const length = capture.context.length !== null ? data.length : data.length - ENDSTREAM.length;
      this.scanObjectStream(data.subarray(0, Math.max(0, length)), capture.bytes, capture.context.names);
    }
    return Math.max(end, i + 1);
  }

  private scanObjectStream(data: Buffer, rawBytes: number, names: Set<string>): void {
    if (rawBytes > this.limits.maxObjectStreamBytes) return this.markIncomplete('an object stream is larger than the scan limit');
    const other = [...names].some((n) => OTHER_FILTERS.has(n)) || names.has('DecodeParms');
    if (other) return this.markIncomplete('an object stream uses a filter the scan does not decode');
    let text = data;
    // A /Filter whose value is not a name we know (an indirect reference) is tried as Flate too.
    if (names.has('Filter') || [...names].some((n) => FLATE.has(n))) {
      const budget = Math.min(this.limits.maxInflatedBytes, this.limits.maxTotalInflatedBytes - this.inflatedTotal);
      try {
        // Without Z_SYNC_FLUSH: data cut short (e.g. by a fake `endstream` inside it) is an error.
        text = inflateSync(data, { maxOutputLength: Math.max(1, budget) });
      } catch (error) {
        const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        return this.markIncomplete(tooBig ? 'object streams inflate beyond the scan limit' : 'an object stream does not inflate (encrypted, corrupt or truncated)');
      }
      this.inflatedTotal += text.length;
    }
    const inner = new PdfActiveContentScanner(this.limits, true);
    inner.write(text);
    for (const name of inner.finish().names) this.found.add(name);
  }
}

/** Scans a whole buffer (tests, small files); streamed files use the scanner directly. */
export function scanPdfActiveContent(pdf: Buffer, limits?: PdfScanLimits): PdfActiveContent {
  const scanner = new PdfActiveContentScanner(limits);
  scanner.write(pdf);
  return scanner.finish();
}

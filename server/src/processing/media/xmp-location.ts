/**
 * Location in XMP (the XML packet photo apps write beside EXIF), blanked in place: every property
 * whose name is `prefix:GPS…` / `prefix:Gps…` (exif:GPSLatitude, exif:GPSLongitude, DJI's
 * drone-dji:GpsLatitude …), as an attribute (`exif:GPSLatitude="48,51.5N"`) or as an element with
 * its content (`<exif:GPSLatitude>…</exif:GPSLatitude>`), is overwritten with spaces of the same
 * length. The packet stays well-formed XML (whitespace between attributes and between elements is
 * insignificant in RDF/XML) and no length or offset changes. Place names (Iptc4xmpCore:Location,
 * photoshop:City) are not coordinates and are kept.
 *
 * The packet may be split over several buffers (JPEG extended XMP is cut into 64 KiB segments): the
 * parts are searched as one text, so a property cut in two is blanked in both parts.
 */

// Bounded repetitions: a hostile packet full of unclosed `<x:GPS` cannot make matching quadratic.
const ATTRIBUTE = /\s([A-Za-z_][\w.-]{0,64}:gps[\w.-]{0,64})\s{0,16}=\s{0,16}("[^"]{0,2048}"|'[^']{0,2048}')/gi;
const ELEMENT = /<([A-Za-z_][\w.-]{0,64}:gps[\w.-]{0,64})(\s[^>]{0,2048})?(\/>|>[\s\S]{0,2048}?<\/\1\s{0,16}>)/gi;

/** Blanks GPS properties across `parts` (one packet, in order). Returns whether any was found. */
export function blankXmpLocation(parts: Buffer[]): boolean {
  // latin1 maps each byte to one UTF-16 unit, so string indexes are byte indexes.
  const text = parts.map((p) => p.toString('latin1')).join('');
  const ranges: [number, number][] = [];
  for (const pattern of [ATTRIBUTE, ELEMENT]) {
    for (const match of text.matchAll(pattern)) {
      const start = match.index + (pattern === ATTRIBUTE ? 1 : 0);
      ranges.push([start, match.index + match[0].length]);
    }
  }
  for (const [start, end] of ranges) fillSpaces(parts, start, end);
  return ranges.length > 0;
}

function fillSpaces(parts: Buffer[], start: number, end: number): void {
  let base = 0;
  for (const part of parts) {
    const from = Math.max(start, base);
    const to = Math.min(end, base + part.length);
    if (from < to) part.fill(0x20, from - base, to - base);
    base += part.length;
  }
}

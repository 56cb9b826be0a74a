/**
 * A PDF file as latin1 text: `header`, then `objects` numbered 1, 2, … in that order, and a correct
 * cross-reference table and trailer naming object `root` as the catalog. The PDF writers of the
 * benchmarks and of the tests (tests/media-fixtures/pdf-writer.ts, tests/helpers/fixtures.ts) say
 * what the objects are; this lays them out.
 */
export function pdfFile(header: string, objects: readonly string[], root: number): string {
  let out = header;
  const offsets = objects.map((body, i) => {
    const offset = Buffer.byteLength(out, 'latin1');
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${root} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return out;
}

import { pdfFile } from '../../bench/lib/pdf-file.js';

/**
 * A minimal PDF writer for tests: N pages of text (Helvetica, not embedded), optionally a
 * JavaScript OpenAction, with a correct cross-reference table. qpdf (make-media.ts) turns its
 * output into object streams or encrypts it.
 */
/** `javascript`: true for an alert, or the script itself (PDF string syntax: escape parentheses). */
export function writePdf({ pages = 1, javascript = false as boolean | string, width = 612, height = 792 } = {}): Buffer {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body) + 0; // returns the 1-based object number
  const catalog = add('');
  const pageTree = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (let n = 1; n <= pages; n++) {
    const text = `BT /F1 48 Tf 72 ${height - 120} Td (Page ${n}) Tj ET 0 0 1 rg 72 72 ${width / 2} 100 re f`;
    const content = add(`<< /Length ${text.length} >>\nstream\n${text}\nendstream`);
    kids.push(add(`<< /Type /Page /Parent ${pageTree} 0 R /MediaBox [0 0 ${width} ${height}] /Contents ${content} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> >>`));
  }
  const script = typeof javascript === 'string' ? javascript : 'app.alert\\("hello from the PDF"\\);';
  const action = javascript ? add(`<< /Type /Action /S /JavaScript /JS (${script}) >>`) : 0;
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pageTree} 0 R${action ? ` /OpenAction ${action} 0 R` : ''} >>`;
  objects[pageTree - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${pages} >>`;
  // The second line's bytes over 127 mark the file as binary (PDF 32000-1 §7.5.2).
  return Buffer.from(pdfFile('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', objects, catalog), 'latin1');
}

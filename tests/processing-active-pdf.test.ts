import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simplePdf } from './helpers/fixtures.js';
import { type HaulServer, type ProcessingHaul, startProcessingHaul } from './helpers/haul-server.js';
import { uploadBuffer } from './helpers/tus.js';
import { bearer, waitForUpload } from './helpers/uploads-api.js';

/**
 * Issue 13, item 6: a PDF carrying JavaScript (or launch actions, embedded files) is flagged in the
 * upload JSON (`activeContent`) and served only as an attachment — never inline, where a browser's
 * PDF viewer would run it. An inert PDF is still shown inline.
 */
describe('active PDFs', () => {
  let processing: ProcessingHaul;
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    ({ server } = processing = await startProcessingHaul());
    token = await server.token('alice');
  });
  afterAll(() => processing?.close());

  const disposition = async (contentUrl: string, query = '') => {
    const response = await fetch(`${server.url}${contentUrl}${query}`, { headers: bearer(token) });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    return response.headers.get('content-disposition')!.split(';')[0];
  };

  it('a PDF with /JS → ready, activeContent: true, served as an attachment only', async () => {
    const pdf = simplePdf('Open me', { javascript: 'app.alert("hello")' });
    const { id } = await uploadBuffer(server.tusEndpoint, token, pdf, { filename: 'form.pdf', filetype: 'application/pdf' });
    const upload = await waitForUpload(server, token, id);
    expect(upload).toMatchObject({ status: 'ready', detectedType: 'application/pdf', scanned: true, activeContent: true });
    expect(upload.reason).toMatch(/^active PDF, served only as an attachment \(it contains .*JavaScript.*\)$/);
    expect(await disposition(upload.contentUrl!)).toBe('attachment');
    expect(await disposition(upload.contentUrl!, '?download=1')).toBe('attachment');
  });

  it('an inert PDF → activeContent: false, shown inline', async () => {
    const { id } = await uploadBuffer(server.tusEndpoint, token, simplePdf('Just text'), { filename: 'plain.pdf', filetype: 'application/pdf' });
    const upload = await waitForUpload(server, token, id);
    expect(upload).toMatchObject({ status: 'ready', activeContent: false, reason: null });
    expect(await disposition(upload.contentUrl!)).toBe('inline');
  });

  it('anything but a PDF → activeContent: null', async () => {
    const { id } = await uploadBuffer(server.tusEndpoint, token, Buffer.from('a,b\n1,2\n'), { filename: 'x.csv', filetype: 'text/csv' });
    expect(await waitForUpload(server, token, id)).toMatchObject({ status: 'ready', activeContent: null });
  });
});

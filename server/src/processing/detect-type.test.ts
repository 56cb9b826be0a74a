import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { detectType } from './detect-type.js';

const text = (value: string) => Buffer.from(value, 'utf8');
const detect = (head: Buffer, filename: string | null = null, complete = true) => detectType(head, { complete, filename });

describe('detectType', () => {
  it('recognises formats by their magic numbers, whatever the name says', async () => {
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } }).png().toBuffer();
    expect(await detect(png, 'photo.txt')).toBe('image/png');
    expect(await detect(text('%PDF-1.7\n%âãÏÓ\n1 0 obj\n'), 'x.csv')).toBe('application/pdf');
  });

  it('calls valid UTF-8 without NULs text; only the name chooses CSV', async () => {
    expect(await detect(text('hello, wörld\n'))).toBe('text/plain');
    expect(await detect(text('a,b\n1,2\n'), 'table.CSV')).toBe('text/csv');
    expect(await detect(text('a\tb\n'), 'table.tsv')).toBe('text/csv');
    expect(await detect(text('a,b\n1,2\n'), 'table.txt')).toBe('text/plain');
  });

  it('is not fooled by a text name on binary content', async () => {
    expect(await detect(Buffer.from([0x68, 0x69, 0x00, 0x01]), 'notes.txt')).toBeUndefined();
    expect(await detect(Buffer.from([0x61, 0xc3, 0x28, 0xa0, 0xa1, 0x62]), 'notes.txt')).toBeUndefined();
    expect(await detect(Buffer.alloc(0), 'empty.txt')).toBeUndefined();
  });

  it('allows a multi-byte character cut off at the end of a sample, not of a whole file', async () => {
    const cut = text('naïve café ☕').subarray(0, -1);
    expect(await detect(cut, null, false)).toBe('text/plain');
    expect(await detect(cut, null, true)).toBeUndefined();
  });

  it('recognises scripts, HTML and SVG so the policy can refuse them', async () => {
    expect(await detect(text('#!/bin/sh\nrm -rf /\n'), 'run.txt')).toBe('text/x-shellscript');
    expect(await detect(text('\n  <!DOCTYPE html><html><body>hi</body></html>'), 'page.txt')).toBe('text/html');
    expect(await detect(text('<SCRIPT>alert(1)</SCRIPT>'))).toBe('text/html');
    expect(await detect(text('<?xml version="1.0"?>\n<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe('image/svg+xml');
    expect(await detect(text('<svg onload="alert(1)"/>'), 'image.png')).toBe('image/svg+xml');
    expect(await detect(text('<?xml version="1.0"?><note/>'))).toBe('application/xml');
  });
});

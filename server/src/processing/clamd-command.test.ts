import { describe, expect, it } from 'vitest';
import { signatureDate } from './clamd-command.js';

describe('signatureDate (clamd VERSION)', () => {
  it('reads the database date of an official signature set', () => {
    const date = signatureDate('ClamAV 1.4.3/27471/Sat Nov 29 09:25:02 2026');
    expect(date?.getFullYear()).toBe(2026);
    expect(date?.getMonth()).toBe(10);
    expect(date?.getDate()).toBe(29);
  });

  it('has none for local signatures only, or an answer it cannot read', () => {
    expect(signatureDate('ClamAV 1.4.6')).toBeUndefined();
    expect(signatureDate('ClamAV 1.4.6/27471/not a date')).toBeUndefined();
  });
});

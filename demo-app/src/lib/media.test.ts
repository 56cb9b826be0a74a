import { rgbaToThumbHash } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { cardAspectRatio, formatDuration, placeholderDataUrl } from './media.js';

describe('card media', () => {
  it('shapes a card like its picture, within bounds', () => {
    expect(cardAspectRatio({ width: 640, height: 360 })).toBe('1.778');
    expect(cardAspectRatio({ width: 480, height: 640 })).toBe('0.75');
    expect(cardAspectRatio({ width: 10_000, height: 100 })).toBe('2');
    expect(cardAspectRatio({ width: 100, height: 10_000 })).toBe('0.5');
    expect(cardAspectRatio({ width: null, height: null })).toBeUndefined();
  });

  it('turns a ThumbHash into a PNG data URL; nothing for none or garbage', () => {
    const rgba = new Uint8Array(4 * 8 * 8).fill(200);
    const hash = Buffer.from(rgbaToThumbHash(8, 8, rgba)).toString('base64');
    expect(placeholderDataUrl(hash)).toMatch(/^data:image\/png;base64,/);
    expect(placeholderDataUrl(null)).toBeUndefined();
    expect(placeholderDataUrl('%%%')).toBeUndefined();
  });

  it('formats durations like players do', () => {
    expect(formatDuration(3_000)).toBe('0:03');
    expect(formatDuration(83_400)).toBe('1:23');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

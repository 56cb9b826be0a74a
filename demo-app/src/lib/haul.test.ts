import { describe, expect, it } from 'vitest';
import { uploadIdFromUrl } from './haul.js';

describe('uploadIdFromUrl', () => {
  it('takes the last path segment of a tus upload URL', () => {
    expect(uploadIdFromUrl('http://localhost:3000/files/Wcm_-mP9f3Sw8A9OczmpVCeV')).toBe('Wcm_-mP9f3Sw8A9OczmpVCeV');
    expect(uploadIdFromUrl('/files/abc/?x=1#y')).toBe('abc');
    expect(uploadIdFromUrl(null)).toBeUndefined();
  });
});

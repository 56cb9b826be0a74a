import { describe, expect, it } from 'vitest';
import { forgetResumableUpload, readResumableUploads } from './resumable-uploads.js';

/** localStorage's interface over a Map, in insertion order like the real one. */
function storage(entries: Record<string, string>): Storage {
  const map = new Map(Object.entries(entries));
  return {
    get length() {
      return map.size;
    },
    key: (index) => [...map.keys()][index] ?? null,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
    clear: () => map.clear(),
  };
}

const ENDPOINT = 'http://localhost:3000/files/';
const entry = (fields: object) => JSON.stringify({ size: 7302490, metadata: { filename: 'server.log', name: 'server.log' }, creationTime: 'Sat Nov 21 2026 03:00:00 GMT+0000', ...fields });

describe('readResumableUploads', () => {
  it("lists this user's unfinished uploads on this endpoint, with their server ids", () => {
    const store = storage({
      [`tus::tus-haul-dev[alice]-server/log-1e-text/x-log-7302490-1700000000000-${ENDPOINT}::123`]: entry({ uploadUrl: `${ENDPOINT}AbC_123` }),
      [`tus::tus-haul-dev[alice]-big/bin-1e-application/zip-9-1-${ENDPOINT}::456`]: entry({ parallelUploadUrls: [`${ENDPOINT}p1`, `${ENDPOINT}p2`], metadata: { name: 'big.zip' } }),
      [`tus::tus-haul-dev[alice-b]-x-${ENDPOINT}::1`]: entry({ uploadUrl: `${ENDPOINT}other-user` }),
      [`tus::tus-haul-dev[alice]-x-http://elsewhere/files/::2`]: entry({ uploadUrl: 'http://elsewhere/files/z' }),
      'tus::tus-haul-dev[alice]-broken-http://localhost:3000/files/::3': '{not json',
      'haul-demo:settings': '{}',
    });
    const found = readResumableUploads(store, { instanceId: 'haul-dev[alice]', endpoint: ENDPOINT });
    expect(found.map((u) => [u.filename, u.uploadIds])).toEqual([
      ['server.log', ['AbC_123']],
      ['big.zip', ['p1', 'p2']],
    ]);
    expect(found[0]).toMatchObject({ fileId: 'haul-dev[alice]-server/log-1e-text/x-log-7302490-1700000000000', size: 7302490, createdAt: '2026-11-21T03:00:00.000Z' });
  });

  it('forgets an entry by its key', () => {
    const key = `tus::tus-haul-dev[bob]-f-${ENDPOINT}::9`;
    const store = storage({ [key]: entry({ uploadUrl: `${ENDPOINT}id` }) });
    forgetResumableUpload(store, key);
    expect(readResumableUploads(store, { instanceId: 'haul-dev[bob]', endpoint: ENDPOINT })).toEqual([]);
  });
});

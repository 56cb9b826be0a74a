import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events split anywhere, with comments, ids and multi-line data', () => {
    const text = ': keep-alive\n\nevent: status\ndata: {"a":1}\nid: 1\n\nevent: status\r\ndata: line1\r\ndata: line2\r\n\r\ndata:no-space\n\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.feed(text.slice(i, i + size)));
      expect(events, `chunk size ${size}`).toEqual([
        { event: 'status', data: '{"a":1}', id: '1' },
        { event: 'status', data: 'line1\nline2', id: '1' },
        { event: 'message', data: 'no-space', id: '1' },
      ]);
    }
  });

  it('a lone CR ends a line (one at the very end waits: it may be half a CRLF); an event without data is dropped', () => {
    const parser = new SseParser();
    expect(parser.feed('event: ping\r\rdata: x\r')).toEqual([]);
    expect(parser.feed('\r')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{ event: 'message', data: 'x', id: undefined }]);
  });
});

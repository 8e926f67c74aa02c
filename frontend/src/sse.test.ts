/** The SSE parser: messages out of text cut anywhere, as the standard reads an event stream. */
import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

const STREAM = ':subscribed\n\nevent: processing\ndata: {"id":"a"}\n\n: heartbeat\n\nevent: processing\ndata: {"id":"b"}\n\n';

describe('SseParser', () => {
  it('reads named events and drops comments', () => {
    const messages = new SseParser().push(STREAM);
    expect(messages).toEqual([
      { event: 'processing', data: '{"id":"a"}', lastEventId: '' },
      { event: 'processing', data: '{"id":"b"}', lastEventId: '' },
    ]);
  });

  it('gives the same messages however the text is cut', () => {
    const whole = new SseParser().push(STREAM);
    for (let size = 1; size <= 7; size += 1) {
      const parser = new SseParser();
      const messages = [];
      for (let i = 0; i < STREAM.length; i += size) messages.push(...parser.push(STREAM.slice(i, i + size)));
      expect(messages, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('takes CRLF, CR and LF line ends, also a CRLF split between chunks', () => {
    const parser = new SseParser();
    expect(parser.push('event: a\r')).toEqual([]);
    expect(parser.push('\ndata: 1\r\n\r')).toEqual([{ event: 'a', data: '1', lastEventId: '' }]);
    expect(parser.push('\ndata: 2\r\rdata: 3\n\n')).toEqual([
      { event: 'message', data: '2', lastEventId: '' },
      { event: 'message', data: '3', lastEventId: '' },
    ]);
  });

  it('joins data lines, strips one leading space, keeps the last id and skips empty events', () => {
    const parser = new SseParser();
    const messages = parser.push('\uFEFFid: 7\ndata:x\ndata:  y\ndata\nretry: 10\n\nevent: lonely\n\n');
    expect(messages).toEqual([{ event: 'message', data: 'x\n y\n', lastEventId: '7' }]);
  });

  it('holds an unfinished message until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('event: processing\ndata: {"id":')).toEqual([]);
    expect(parser.push('"a"}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'processing', data: '{"id":"a"}', lastEventId: '' }]);
  });
});

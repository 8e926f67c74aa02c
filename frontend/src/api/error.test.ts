/** Error envelope parsing: field errors reach forms, and non-envelope answers still become ApiErrors. */
import { describe, expect, it } from 'vitest';
import { ApiError, codeForStatus, isAbortError, parseErrorResponse, parseRetryAfter } from './error';

describe('parseErrorResponse', () => {
  it('reads code, message and field errors from the envelope', () => {
    const body = JSON.stringify({
      error: { code: 'validation', message: 'invalid input', fields: { username: 'too short', password: 'too weak' } },
    });
    const error = parseErrorResponse(422, body);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation');
    expect(error.message).toBe('invalid input');
    expect(error.fields).toEqual({ username: 'too short', password: 'too weak' });
  });

  it('keeps the conflicting field of a 409', () => {
    const error = parseErrorResponse(409, '{"error":{"code":"conflict","message":"taken","fields":{"email":"already taken"}}}');
    expect(error.code).toBe('conflict');
    expect(error.fields).toEqual({ email: 'already taken' });
  });

  it('has no fields when the envelope has none', () => {
    const error = parseErrorResponse(401, '{"error":{"code":"unauthorized","message":"wrong login or password"}}');
    expect(error.fields).toEqual({});
    expect(error.message).toBe('wrong login or password');
    expect(error.isUnauthorized).toBe(true);
  });

  it('derives the code from the status for a body that is not JSON (a proxy error page)', () => {
    const error = parseErrorResponse(502, '<html>Bad Gateway</html>');
    expect(error.code).toBe('unavailable');
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/unavailable/i);
  });

  it('derives the code from the status for JSON without the envelope and for an empty body', () => {
    expect(parseErrorResponse(404, '{"detail":"nope"}').code).toBe('not_found');
    expect(parseErrorResponse(404, '').isNotFound).toBe(true);
    expect(parseErrorResponse(500, 'null').code).toBe('internal');
  });

  it('drops field messages that are not strings instead of rendering [object Object]', () => {
    const error = parseErrorResponse(422, '{"error":{"code":"validation","message":"x","fields":{"a":"ok","b":{"nested":1},"c":3}}}');
    expect(error.fields).toEqual({ a: 'ok' });
  });

  it('falls back to a readable message when the envelope has an empty message', () => {
    const error = parseErrorResponse(503, '{"error":{"code":"unavailable","message":""}}');
    expect(error.message).toMatch(/try again/i);
  });
});

describe('codeForStatus', () => {
  it('maps the documented statuses', () => {
    expect(codeForStatus(401)).toBe('unauthorized');
    expect(codeForStatus(403)).toBe('forbidden');
    expect(codeForStatus(409)).toBe('conflict');
    expect(codeForStatus(413)).toBe('payload_too_large');
    expect(codeForStatus(422)).toBe('validation');
    expect(codeForStatus(503)).toBe('unavailable');
    expect(codeForStatus(500)).toBe('internal');
    expect(codeForStatus(418)).toBe('error');
  });
});

describe('isAbortError', () => {
  it('recognises an aborted fetch only', () => {
    expect(isAbortError(new DOMException('aborted', 'AbortError'))).toBe(true);
    expect(isAbortError(new Error('boom'))).toBe(false);
    expect(isAbortError(null)).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, and nothing else', () => {
    expect(parseRetryAfter('1')).toBe(1000);
    expect(parseRetryAfter(' 30 ')).toBe(30_000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT')).toBeNull();
    expect(parseRetryAfter('-1')).toBeNull();
  });
});

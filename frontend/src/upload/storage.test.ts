/** What a refusal from storage says, and which failures are worth another try. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/error';
import { StorageError, storageError } from './storage';
import { isTransient } from './uploader';

const s3 = (code: string, message: string) => `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

describe('storageError', () => {
  it('explains a checksum mismatch and an expired link in words', () => {
    expect(storageError(400, s3('BadDigest', 'The Content-SHA256 you specified did not match')).message).toMatch(/file changed/);
    expect(storageError(403, s3('AccessDenied', 'Request has expired')).message).toMatch(/link expired/);
  });

  it('keeps S3’s code for anything else', () => {
    const error = storageError(403, s3('SignatureDoesNotMatch', 'nope'));
    expect(error.code).toBe('SignatureDoesNotMatch');
    expect(error.message).toBe('Storage refused the upload (SignatureDoesNotMatch: nope).');
    expect(storageError(413, '').message).toBe('Storage refused the upload (413).');
  });
});

describe('isTransient', () => {
  it('retries dropped connections and overloaded servers, never refusals or aborts', () => {
    expect(isTransient(new StorageError(0, null, 'lost'))).toBe(true);
    expect(isTransient(storageError(503, ''))).toBe(true);
    expect(isTransient(new ApiError(0, 'network', 'offline'))).toBe(true);
    expect(isTransient(new ApiError(503, 'busy', 'busy'))).toBe(true);
    expect(isTransient(storageError(403, s3('SignatureDoesNotMatch', '')))).toBe(false);
    expect(isTransient(new ApiError(422, 'validation', 'bad'))).toBe(false);
    expect(isTransient(new DOMException('aborted', 'AbortError'))).toBe(false);
  });
});

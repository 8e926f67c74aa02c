/**
 * Sends bytes straight to object storage with a request the catalogue signed.
 *
 * XMLHttpRequest rather than fetch: only it reports upload progress (`xhr.upload.onprogress`).
 * The request goes out exactly as signed: its method, URL and every header it lists (Host and
 * Content-Length are signed too, but the browser sets those itself from the URL and the body).
 * No cookies: storage is another origin and needs none.
 */
import type { SignedRequest } from '../api/types';

/** Headers scripts may not set; the browser sends its own (and storage signed the same values). */
const BROWSER_HEADERS = new Set(['host', 'content-length', 'connection', 'expect', 'accept-encoding']);

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    /** HTTP status, or 0 when the connection failed before any answer. */
    readonly status: number,
    /** S3's error code (`SignatureDoesNotMatch`, `BadDigest`, `AccessDenied`, ...), when it said. */
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }

  /** A dropped connection or a storage hiccup, which may well pass on another try. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** S3 answers errors as `<Error><Code>…</Code><Message>…</Message></Error>`. */
export function storageError(status: number, body: string): StorageError {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(body)?.[1] ?? null;
  const detail = /<Message>([^<]{1,300})<\/Message>/.exec(body)?.[1];
  let message: string;
  if (code === 'BadDigest' || code === 'XAmzContentSHA256Mismatch' || code === 'InvalidDigest') {
    message = 'Storage refused the bytes: the file changed after it was checked. Choose it again and retry.';
  } else if (code === 'AccessDenied' && detail && /expired/i.test(detail)) {
    message = 'The upload link expired. Please start the upload again.';
  } else if (status >= 500) {
    message = `Storage is unavailable right now (${status}). Please try again shortly.`;
  } else {
    message = `Storage refused the upload (${code ?? status}${detail ? `: ${detail}` : ''}).`;
  }
  return new StorageError(status, code, message);
}

export type Send = (
  request: SignedRequest,
  body: Blob,
  onProgress: (sentBytes: number) => void,
  signal: AbortSignal,
) => Promise<void>;

export const sendToStorage: Send = (request, body, onProgress, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(new DOMException('The operation was aborted.', 'AbortError'));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers)) {
      if (!BROWSER_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      signal.removeEventListener('abort', onAbort);
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(body.size);
        resolve();
      } else {
        reject(storageError(xhr.status, typeof xhr.responseText === 'string' ? xhr.responseText : ''));
      }
    };
    xhr.onerror = () => {
      signal.removeEventListener('abort', onAbort);
      reject(new StorageError(0, null, 'The connection to storage was lost.'));
    };
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      signal.removeEventListener('abort', onAbort);
      reject(new DOMException('The operation was aborted.', 'AbortError'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });

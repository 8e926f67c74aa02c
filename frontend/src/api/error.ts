/**
 * The one error type of the API client.
 *
 * Every REST endpoint answers failures with
 * `{"error": {"code", "message", "fields"?}}` (docs/api.md, "Errors"); `fields` maps a request
 * field to a message on 422 and 409 so forms can show it beside the input. Responses that are
 * not that envelope (a proxy's HTML 502, an empty 503) still become an `ApiError`, with a code
 * derived from the status, so callers only ever branch on `code`/`status`.
 */

/** Machine codes from docs/api.md, plus `network` for a request that never got an answer. */
export type ApiErrorCode =
  | 'validation'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'payload_too_large'
  | 'unavailable'
  | 'internal'
  | 'network';

export type FieldErrors = Record<string, string>;

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status, or 0 when the request failed before any answer. */
    readonly status: number,
    readonly code: ApiErrorCode | (string & {}),
    message: string,
    readonly fields: FieldErrors = {},
  ) {
    super(message);
  }

  /** How long the server asked to wait before trying again (`Retry-After` of a 503 or 429), if it said. */
  retryAfterMs: number | null = null;

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

/** What each status means when the body did not say (docs/api.md code table). */
export function codeForStatus(status: number): ApiErrorCode | 'error' {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 422:
      return 'validation';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal' : 'error';
  }
}

const genericMessages: Record<string, string> = {
  unauthorized: 'Please log in.',
  forbidden: 'You are not allowed to do that.',
  not_found: 'Not found.',
  conflict: 'That conflicts with existing data.',
  payload_too_large: 'That is too large.',
  validation: 'Please check the highlighted fields.',
  unavailable: 'The service is unavailable right now. Please try again shortly.',
  internal: 'Something went wrong on our side. Please try again.',
};

/**
 * Builds the `ApiError` for a failed response from its status and raw body text.
 *
 * Tolerant on purpose: a body that is not JSON, or JSON without the envelope, must not turn a
 * clear 404 into a parse exception. Non-string field messages are dropped rather than rendered
 * as "[object Object]".
 */
export function parseErrorResponse(status: number, bodyText: string): ApiError {
  const fallbackCode = codeForStatus(status);
  let envelope: unknown;
  try {
    envelope = bodyText ? JSON.parse(bodyText) : undefined;
  } catch {
    envelope = undefined;
  }
  const inner =
    envelope && typeof envelope === 'object' && 'error' in envelope
      ? (envelope as { error: unknown }).error
      : undefined;
  if (!inner || typeof inner !== 'object') {
    return new ApiError(status, fallbackCode, genericMessages[fallbackCode] ?? `Request failed (${status}).`);
  }
  const { code, message, fields } = inner as { code?: unknown; message?: unknown; fields?: unknown };
  const parsedFields: FieldErrors = {};
  if (fields && typeof fields === 'object' && !Array.isArray(fields)) {
    for (const [field, text] of Object.entries(fields)) {
      if (typeof text === 'string') parsedFields[field] = text;
    }
  }
  const finalCode = typeof code === 'string' && code ? code : fallbackCode;
  const finalMessage =
    typeof message === 'string' && message
      ? message
      : (genericMessages[finalCode] ?? `Request failed (${status}).`);
  return new ApiError(status, finalCode, finalMessage, parsedFields);
}

/** True for the rejection `fetch` gives when its `AbortSignal` fired (a page was left). */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'name' in error &&
    (error as { name: unknown }).name === 'AbortError'
  );
}

/** `Retry-After` in seconds (the form the services send) as milliseconds; null when absent or a date. */
export function parseRetryAfter(value: string | null): number | null {
  if (!value || !/^\d{1,6}$/.test(value.trim())) return null;
  return Number(value.trim()) * 1000;
}

/**
 * What the catalogue accepts and how the pages name it: the file types (by MIME type, or by
 * extension when the browser does not know the type, as with .mkv), the title and description
 * limits, and the words for visibility and status. Mirrors the service's rules so mistakes are
 * answered before anything is hashed or sent; the server stays the authority.
 */
import type { FieldErrors } from '../api/error';
import type { MediaKind, MediaStatus, Processing, Visibility } from '../api/types';

export const TITLE_MAX_CHARS = 200;
export const DESCRIPTION_MAX_CHARS = 5000;

const TYPES: readonly { type: string; kind: MediaKind; extensions: readonly string[] }[] = [
  { type: 'video/mp4', kind: 'video', extensions: ['mp4', 'm4v'] },
  { type: 'video/quicktime', kind: 'video', extensions: ['mov'] },
  { type: 'video/webm', kind: 'video', extensions: ['webm'] },
  { type: 'video/x-matroska', kind: 'video', extensions: ['mkv'] },
  { type: 'image/jpeg', kind: 'image', extensions: ['jpg', 'jpeg'] },
  { type: 'image/png', kind: 'image', extensions: ['png'] },
  { type: 'image/webp', kind: 'image', extensions: ['webp'] },
  { type: 'image/gif', kind: 'image', extensions: ['gif'] },
];

/** The file input's `accept`: the types and their extensions. */
export const ACCEPT = TYPES.flatMap((t) => [t.type, ...t.extensions.map((e) => `.${e}`)]).join(',');

/** A short list for the page: "MP4, MOV, WebM, MKV, JPEG, PNG, WebP or GIF". */
export const ACCEPTED_NAMES = 'MP4, MOV, WebM, MKV, JPEG, PNG, WebP or GIF';

export interface FileType {
  contentType: string;
  kind: MediaKind;
}

/** The content type to declare for a file, or null when the catalogue would not take it. */
export function fileType(file: { name: string; type: string }): FileType | null {
  const declared = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  const byType = TYPES.find((t) => t.type === declared);
  if (byType) return { contentType: byType.type, kind: byType.kind };
  const extension = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase();
  const byExtension = extension ? TYPES.find((t) => t.extensions.includes(extension)) : undefined;
  return byExtension ? { contentType: byExtension.type, kind: byExtension.kind } : null;
}

/** A title from a file name: no extension, separators as spaces, within the limit. */
export function titleFromFileName(name: string): string {
  const base = name.replace(/\.[^.]*$/, '') || name;
  const spaced = base.replace(/[_.]+/g, ' ').replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').replace(/\s+/g, ' ').trim();
  return [...spaced].slice(0, TITLE_MAX_CHARS).join('').trim();
}

const HIDDEN_LINE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const HIDDEN_TEXT = /[\p{Cf}\p{Zl}\p{Zp}]|[^\P{Cc}\n\t]/u;

/** Field errors for a title and a description, keyed as the API keys them. */
export function validateDetails(values: { title: string; description: string }): FieldErrors {
  const errors: FieldErrors = {};
  const title = values.title.trim();
  const titleLength = [...title].length;
  if (titleLength === 0) errors.title = 'Give it a title.';
  else if (titleLength > TITLE_MAX_CHARS) errors.title = `Use at most ${TITLE_MAX_CHARS} characters.`;
  else if (HIDDEN_LINE.test(title)) errors.title = 'Remove line breaks and invisible characters.';
  const description = values.description.replace(/\r\n/g, '\n').trim();
  if ([...description].length > DESCRIPTION_MAX_CHARS) errors.description = `Use at most ${DESCRIPTION_MAX_CHARS} characters.`;
  else if (HIDDEN_TEXT.test(description)) errors.description = 'Remove invisible characters.';
  return errors;
}

export const VISIBILITIES: readonly { value: Visibility; label: string; hint: string }[] = [
  { value: 'public', label: 'Public', hint: 'Everyone, and search' },
  { value: 'unlisted', label: 'Unlisted', hint: 'Anyone with the link' },
  { value: 'private', label: 'Private', hint: 'Only you' },
];

export function visibilityLabel(visibility: Visibility): string {
  return VISIBILITIES.find((v) => v.value === visibility)?.label ?? visibility;
}

export function statusLabel(status: MediaStatus): string {
  switch (status) {
    case 'awaiting_upload':
      return 'Waiting for upload';
    case 'uploaded':
      return 'Uploaded';
    default:
      return String(status).replace(/_/g, ' ');
  }
}

/** How far a video's processing got, for a person; null when there is none (images, unfinished uploads). */
export function processingLabel(processing: Processing | null | undefined): string | null {
  if (!processing) return null;
  switch (processing.status) {
    case 'PENDING':
      return 'Waiting to be processed';
    case 'IN PROGRESS':
      return processing.hls_url ? `Playable, processing ${processing.percent} %` : `Processing ${processing.percent} %`;
    case 'DONE':
      return 'Ready to watch';
    case 'FAILED':
      return `Could not be processed: ${processing.reason ?? 'unknown reason'}`;
    default:
      return String(processing.status);
  }
}

/**
 * How long processing took, once it finished: "Playable 1.2 s after upload · done in 8.4 s ·
 * 1 attempt". Null before that.
 */
export function processingTimes(processing: Processing | null | undefined): string | null {
  if (!processing?.finished_at || processing.status !== 'DONE') return null;
  const from = Date.parse(processing.queued_at);
  const seconds = (at: string | null | undefined) => (at ? `${Math.max(0, (Date.parse(at) - from) / 1000).toFixed(1)} s` : null);
  const parts: string[] = [];
  const playableAfter = seconds(processing.playable_at);
  if (playableAfter) parts.push(`Playable ${playableAfter} after upload`);
  parts.push(`done in ${seconds(processing.finished_at) ?? '?'}`);
  parts.push(processing.attempts === 1 ? '1 attempt' : `${processing.attempts} attempts`);
  return parts.join(' · ');
}

/** Whether there is something to play yet. */
export function playable(processing: Processing | null | undefined): boolean {
  return Boolean(processing?.hls_url);
}

/**
 * Tags as the catalogue stores them: one shared list, so every tag is folded to one spelling
 * (trimmed, inner white space made one space, lower case) and kept to 1–32 characters without
 * commas (the search filter's separator) or control and format characters. Mirrors the
 * service's rules so a chip shows exactly what will be saved; the server stays the authority.
 */

export const TAG_MAX_CHARS = 32;
export const TAGS_PER_ITEM = 20;

/** Control, format (bidi, zero-width) and line/paragraph separator characters. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export type TagResult = { ok: true; tag: string } | { ok: false; error: string };

export function normaliseTag(raw: string): TagResult {
  const folded = raw.trim().split(/\s+/u).join(' ').toLowerCase();
  const length = [...folded].length;
  if (length < 1 || length > TAG_MAX_CHARS) return { ok: false, error: `A tag is 1–${TAG_MAX_CHARS} characters.` };
  if (folded.includes(',') || HIDDEN.test(folded)) {
    return { ok: false, error: 'A tag cannot contain commas or invisible characters.' };
  }
  return { ok: true, tag: folded };
}

/**
 * Adds what was typed or pasted (one tag, or several separated by commas) to `tags`: folded,
 * without duplicates, at most TAGS_PER_ITEM. Returns the new list and the first problem met,
 * if any; the valid tags are added either way.
 */
export function addTags(tags: readonly string[], typed: string): { tags: string[]; error: string | null } {
  const next = [...tags];
  let error: string | null = null;
  for (const piece of typed.split(',')) {
    if (!piece.trim()) continue;
    const result = normaliseTag(piece);
    if (!result.ok) {
      error ??= result.error;
      continue;
    }
    if (next.includes(result.tag)) continue;
    if (next.length >= TAGS_PER_ITEM) {
      error ??= `At most ${TAGS_PER_ITEM} tags.`;
      break;
    }
    next.push(result.tag);
  }
  return { tags: next, error };
}

/** The folded start of a tag for the autocomplete lookup, or null when nothing is worth asking. */
export function tagPrefix(typed: string): string | null {
  const last = typed.split(',').at(-1) ?? '';
  const folded = last.trimStart().split(/\s+/u).join(' ').toLowerCase();
  if (!folded.trim() || [...folded].length > TAG_MAX_CHARS || HIDDEN.test(folded)) return null;
  return folded;
}

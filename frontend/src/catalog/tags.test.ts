/** Tag folding, limits and the autocomplete prefix, as the catalogue applies them. */
import { describe, expect, it } from 'vitest';
import { addTags, normaliseTag, tagPrefix, TAGS_PER_ITEM } from './tags';

describe('normaliseTag', () => {
  it('folds case and white space to one spelling', () => {
    expect(normaliseTag('  Speed   Run ')).toEqual({ ok: true, tag: 'speed run' });
    expect(normaliseTag('ÉTÉ')).toEqual({ ok: true, tag: 'été' });
  });

  it('refuses empty, long, comma and invisible-character tags', () => {
    expect(normaliseTag('   ').ok).toBe(false);
    expect(normaliseTag('x'.repeat(33)).ok).toBe(false);
    expect(normaliseTag('a,b').ok).toBe(false);
    expect(normaliseTag('evil\u202etxt').ok).toBe(false);
    expect(normaliseTag('zero\u200bwidth').ok).toBe(false);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(normaliseTag('🎮'.repeat(32)).ok).toBe(true);
  });
});

describe('addTags', () => {
  it('adds each comma-separated tag once, in order', () => {
    expect(addTags(['rust'], 'OBS, Rust,  speed run ,')).toEqual({ tags: ['rust', 'obs', 'speed run'], error: null });
  });

  it('keeps the valid tags and reports the first problem', () => {
    const result = addTags([], `ok, ${'x'.repeat(40)}, fine`);
    expect(result.tags).toEqual(['ok', 'fine']);
    expect(result.error).toMatch(/1–32/);
  });

  it('stops at the per-item limit', () => {
    const full = Array.from({ length: TAGS_PER_ITEM }, (_, i) => `t${i}`);
    expect(addTags(full, 'one more')).toEqual({ tags: full, error: `At most ${TAGS_PER_ITEM} tags.` });
    expect(addTags(full, 't3').error).toBeNull();
  });
});

describe('tagPrefix', () => {
  it('folds the last piece typed, or nothing when there is nothing to look up', () => {
    expect(tagPrefix('Spe')).toBe('spe');
    expect(tagPrefix('rust, Spe')).toBe('spe');
    expect(tagPrefix('  ')).toBeNull();
    expect(tagPrefix('a\u202e')).toBeNull();
  });
});

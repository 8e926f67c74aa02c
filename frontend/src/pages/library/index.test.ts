/** The library's tag filter and results wording. */
import { describe, expect, it } from 'vitest';
import { MAX_TAG_FILTERS, resultsSummary, toggleTag } from '.';

describe('toggleTag', () => {
  it('adds a tag, and removes it when chosen again', () => {
    expect(toggleTag([], 'rust')).toEqual(['rust']);
    expect(toggleTag(['rust', 'obs'], 'rust')).toEqual(['obs']);
  });

  it('drops the oldest past the filter limit', () => {
    const full = Array.from({ length: MAX_TAG_FILTERS }, (_, i) => `t${i}`);
    expect(toggleTag(full, 'new')).toEqual([...full.slice(1), 'new']);
  });
});

describe('resultsSummary', () => {
  it('says what was searched and how much was found', () => {
    expect(resultsSummary({ q: '', tags: [] }, 0, false)).toBe('Nothing has been shared yet.');
    expect(resultsSummary({ q: '', tags: [] }, 24, true)).toBe('24+ results, newest first');
    expect(resultsSummary({ q: ' cat ', tags: [] }, 1, false)).toBe('1 result for “cat”');
    expect(resultsSummary({ q: 'cat', tags: ['funny', 'pets'] }, 0, false)).toBe('0 results for “cat” tagged funny, pets');
  });
});

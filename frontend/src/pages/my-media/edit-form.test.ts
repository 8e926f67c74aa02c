/** The editor sends only what changed. */
import { describe, expect, it } from 'vitest';
import type { Media } from '../../api/types';
import { changes } from './edit-form';

const item: Media = {
  id: 'm1',
  kind: 'image',
  title: 'Sunset',
  description: 'Over the bay',
  tags: ['sky', 'sea'],
  visibility: 'public',
  status: 'uploaded',
  content_type: 'image/png',
  size: 1,
  owner: 'alice',
  created_at: '',
  updated_at: '',
};
const same = { title: 'Sunset', description: 'Over the bay', tags: ['sky', 'sea'], visibility: 'public' as const };

describe('changes', () => {
  it('is empty when nothing changed', () => {
    expect(changes(item, same)).toEqual({});
  });

  it('holds each changed field, tags as a whole list (their order counts)', () => {
    expect(changes(item, { ...same, title: 'Dusk', visibility: 'private' })).toEqual({ title: 'Dusk', visibility: 'private' });
    expect(changes(item, { ...same, tags: ['sea', 'sky'] })).toEqual({ tags: ['sea', 'sky'] });
    expect(changes(item, { ...same, tags: [] })).toEqual({ tags: [] });
    expect(changes(item, { ...same, description: '' })).toEqual({ description: '' });
  });
});

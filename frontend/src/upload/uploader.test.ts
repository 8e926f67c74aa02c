/** The upload flow against fake storage: single PUT, parts with a retried drop, cancel, refusal. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/error';
import type { CreatedMedia, Media, SignedRequest } from '../api/types';
import type { Hasher } from './hasher';
import { StorageError } from './storage';
import { uploadMedia, type UploadDeps, type UploadInput, type UploadState } from './uploader';

function media(overrides: Partial<Media> = {}): Media {
  return {
    id: 'm1',
    kind: 'video',
    title: 'Clip',
    description: '',
    tags: [],
    visibility: 'public',
    status: 'awaiting_upload',
    content_type: 'video/mp4',
    size: 10,
    owner: 'alice',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

const signed = (url: string): SignedRequest => ({ method: 'PUT', url, headers: { 'x-amz-checksum-sha256': 'x' }, expires_at: '' });

/** Digests are the blob's text, so tests can see which bytes were hashed. */
const textHasher: Hasher = {
  hash: async (blob, onProgress) => {
    onProgress(blob.size);
    return `sha(${await blob.text()})`;
  },
  dispose: () => {},
};

interface Fake {
  deps: UploadDeps;
  calls: string[];
  sent: { url: string; body: string }[];
}

function fake(upload: CreatedMedia['upload'], options: { failSends?: number[]; finalize?: () => Promise<Media> } = {}): Fake {
  const calls: string[] = [];
  const sent: { url: string; body: string }[] = [];
  let sendNumber = 0;
  const deps: UploadDeps = {
    api: {
      createMedia: async (body) => {
        calls.push(`create ${body.sha256} ${body.size}`);
        return { media: media({ size: body.size }), upload };
      },
      mediaParts: async (id, parts) => {
        calls.push(`parts ${id} ${parts.map((p) => `${p.number}:${p.sha256}`).join(',')}`);
        return { parts: parts.map((p) => ({ number: p.number, request: signed(`https://s3/part${p.number}`) })) };
      },
      finalizeMedia: async (id) => {
        calls.push(`finalize ${id}`);
        return options.finalize ? options.finalize() : media({ status: 'uploaded' });
      },
      deleteMedia: async (id) => {
        calls.push(`delete ${id}`);
      },
    },
    hasher: textHasher,
    send: async (request, body, onProgress) => {
      sendNumber += 1;
      if (options.failSends?.includes(sendNumber)) {
        onProgress(1);
        throw new StorageError(0, null, 'The connection to storage was lost.');
      }
      onProgress(body.size);
      sent.push({ url: request.url, body: await body.text() });
    },
    sleep: async () => {},
    now: (() => {
      let t = 0;
      return () => (t += 500);
    })(),
    random: () => 0,
  };
  return { deps, calls, sent };
}

const input = (text: string): UploadInput => ({
  file: new Blob([text]),
  kind: 'video',
  contentType: 'video/mp4',
  title: 'Clip',
  description: '',
  tags: ['demo'],
  visibility: 'public',
});

describe('uploadMedia', () => {
  it('hashes, creates, sends one signed PUT and finalizes', async () => {
    const { deps, calls, sent } = fake({ method: 'put', request: signed('https://s3/object') });
    const states: UploadState[] = [];
    const done = await uploadMedia(input('0123456789'), deps, { onState: (s) => states.push(s) }, new AbortController().signal);
    expect(done.status).toBe('uploaded');
    expect(calls).toEqual(['create sha(0123456789) 10', 'finalize m1']);
    expect(sent).toEqual([{ url: 'https://s3/object', body: '0123456789' }]);
    expect(states.map((s) => s.phase)).toEqual(['hashing', 'hashing', 'creating', 'uploading', 'uploading', 'finalizing']);
    expect(states.at(-2)).toMatchObject({ phase: 'uploading', done: 10, total: 10, part: null });
  });

  it('reuses a digest computed before', async () => {
    const { deps, calls } = fake({ method: 'put', request: signed('https://s3/object') });
    const states: UploadState[] = [];
    await uploadMedia({ ...input('abc'), sha256: 'known' }, deps, { onState: (s) => states.push(s) }, new AbortController().signal);
    expect(calls[0]).toBe('create known 3');
    expect(states[0]!.phase).toBe('creating');
  });

  it('sends parts in order, each signed with its own digest, and retries a dropped one', async () => {
    const { deps, calls, sent } = fake({ method: 'multipart', part_size: 4, parts: 3 }, { failSends: [2] });
    const states: UploadState[] = [];
    await uploadMedia(input('0123456789'), deps, { onState: (s) => states.push(s) }, new AbortController().signal);
    expect(sent).toEqual([
      { url: 'https://s3/part1', body: '0123' },
      { url: 'https://s3/part2', body: '4567' },
      { url: 'https://s3/part3', body: '89' },
    ]);
    expect(calls).toEqual([
      'create sha(0123456789) 10',
      'parts m1 1:sha(0123)',
      'parts m1 2:sha(4567)',
      'parts m1 2:sha(4567)',
      'parts m1 3:sha(89)',
      'finalize m1',
    ]);
    const retried = states.find((s) => s.phase === 'uploading' && s.retry);
    expect(retried).toMatchObject({ done: 4, part: { number: 2, count: 3 }, retry: { attempt: 1, delayMs: 1000 } });
    const uploading = states.filter((s): s is Extract<UploadState, { phase: 'uploading' }> => s.phase === 'uploading');
    expect(uploading.at(-1)).toMatchObject({ done: 10, total: 10, part: { number: 3, count: 3 } });
  });

  it('gives up after three tries and deletes the item', async () => {
    const { deps, calls } = fake({ method: 'multipart', part_size: 4, parts: 3 }, { failSends: [1, 2, 3] });
    const failing = uploadMedia(input('0123456789'), deps, { onState: () => {} }, new AbortController().signal);
    await expect(failing).rejects.toBeInstanceOf(StorageError);
    expect(calls.filter((c) => c.startsWith('parts'))).toHaveLength(3);
    expect(calls.at(-1)).toBe('delete m1');
  });

  it('deletes the item when cancelled during the transfer', async () => {
    const controller = new AbortController();
    const { deps, calls } = fake({ method: 'put', request: signed('https://s3/object') });
    deps.send = (_request, _body, _onProgress, signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        controller.abort();
      });
    const cancelled = uploadMedia(input('abc'), deps, { onState: () => {} }, controller.signal);
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toEqual(['create sha(abc) 3', 'delete m1']);
  });

  it('does not delete an item the catalogue refused and removed itself', async () => {
    const refused = new ApiError(422, 'upload_refused', 'the bytes are not an MP4 video');
    const { deps, calls } = fake({ method: 'put', request: signed('https://s3/object') }, { finalize: () => Promise.reject(refused) });
    await expect(uploadMedia(input('abc'), deps, { onState: () => {} }, new AbortController().signal)).rejects.toBe(refused);
    expect(calls).toEqual(['create sha(abc) 3', 'finalize m1']);
  });

  it('refuses a plan whose parts do not cover the file', async () => {
    const { deps, calls } = fake({ method: 'multipart', part_size: 4, parts: 2 });
    await expect(uploadMedia(input('0123456789'), deps, { onState: () => {} }, new AbortController().signal)).rejects.toThrow(/planned 2 parts/);
    expect(calls.at(-1)).toBe('delete m1');
  });
});

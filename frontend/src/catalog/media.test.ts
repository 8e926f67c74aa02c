/** Accepted files, titles from file names and the detail limits. */
import { describe, expect, it } from 'vitest';
import type { Processing } from '../api/types';
import { ACCEPT, fileType, playable, processingLabel, processingTimes, statusLabel, titleFromFileName, validateDetails } from './media';

describe('fileType', () => {
  it('takes the browser type when the catalogue accepts it', () => {
    expect(fileType({ name: 'a.bin', type: 'video/mp4' })).toEqual({ contentType: 'video/mp4', kind: 'video' });
    expect(fileType({ name: 'x', type: 'image/PNG' })).toEqual({ contentType: 'image/png', kind: 'image' });
    expect(fileType({ name: 'x', type: 'video/webm;codecs=vp9' })).toEqual({ contentType: 'video/webm', kind: 'video' });
  });

  it('falls back to the extension when the browser has no type', () => {
    expect(fileType({ name: 'Holiday.MKV', type: '' })).toEqual({ contentType: 'video/x-matroska', kind: 'video' });
    expect(fileType({ name: 'clip.mov', type: 'application/octet-stream' })).toEqual({ contentType: 'video/quicktime', kind: 'video' });
    expect(fileType({ name: 'photo.jpg', type: '' })).toEqual({ contentType: 'image/jpeg', kind: 'image' });
  });

  it('refuses anything else', () => {
    expect(fileType({ name: 'notes.txt', type: 'text/plain' })).toBeNull();
    expect(fileType({ name: 'logo.svg', type: 'image/svg+xml' })).toBeNull();
    expect(fileType({ name: 'noext', type: '' })).toBeNull();
  });

  it('lists every accepted type and extension for the file picker', () => {
    expect(ACCEPT).toContain('video/x-matroska');
    expect(ACCEPT).toContain('.mkv');
    expect(ACCEPT).toContain('.webp');
  });
});

describe('titleFromFileName', () => {
  it('drops the extension and reads separators as spaces', () => {
    expect(titleFromFileName('my_first.clip.mp4')).toBe('my first clip');
    expect(titleFromFileName('Holiday 2026 .mov')).toBe('Holiday 2026');
    expect(titleFromFileName('.mp4')).toBe('mp4');
  });

  it('removes invisible characters and keeps within the limit', () => {
    expect(titleFromFileName('evil\u202egpj.mp4')).toBe('evilgpj');
    expect([...titleFromFileName(`${'a'.repeat(300)}.png`)].length).toBe(200);
  });
});

describe('validateDetails', () => {
  it('accepts a title and an optional multi-line description', () => {
    expect(validateDetails({ title: 'Hello', description: '' })).toEqual({});
    expect(validateDetails({ title: 'Hello', description: 'line one\r\n\tline two' })).toEqual({});
  });

  it('names each field that breaks a limit', () => {
    expect(Object.keys(validateDetails({ title: '  ', description: '' }))).toEqual(['title']);
    expect(Object.keys(validateDetails({ title: 'x'.repeat(201), description: 'y'.repeat(5001) }))).toEqual(['title', 'description']);
    expect(Object.keys(validateDetails({ title: 'a\u200bb', description: 'c\u0007' }))).toEqual(['title', 'description']);
    expect(Object.keys(validateDetails({ title: 'one\ntwo', description: '' }))).toEqual(['title']);
  });
});

describe('statusLabel', () => {
  it('words each status', () => {
    expect(statusLabel('awaiting_upload')).toBe('Waiting for upload');
    expect(statusLabel('uploaded')).toBe('Uploaded');
  });
});

describe('processingLabel', () => {
  const base: Processing = {
    status: 'PENDING',
    percent: 0,
    attempts: 0,
    renditions: [],
    queued_at: '2026-12-07T10:00:00Z',
  };
  it('names each state, with the percent and the reason', () => {
    expect(processingLabel(undefined)).toBeNull();
    expect(processingLabel(base)).toBe('Waiting to be processed');
    expect(processingLabel({ ...base, status: 'IN PROGRESS', percent: 40 })).toBe('Processing 40 %');
    expect(processingLabel({ ...base, status: 'IN PROGRESS', percent: 60, hls_url: '/m.m3u8' })).toBe('Playable, processing 60 %');
    expect(processingLabel({ ...base, status: 'DONE', percent: 100 })).toBe('Ready to watch');
    expect(processingLabel({ ...base, status: 'FAILED', reason: 'not a video' })).toBe('Could not be processed: not a video');
  });
  it('plays once a master exists', () => {
    expect(playable(base)).toBe(false);
    expect(playable({ ...base, status: 'IN PROGRESS', hls_url: '/m.m3u8' })).toBe(true);
  });
});

describe('processingTimes', () => {
  const done: Processing = {
    status: 'DONE',
    percent: 100,
    attempts: 1,
    renditions: ['720p'],
    queued_at: '2026-12-07T10:00:00.000Z',
    playable_at: '2026-12-07T10:00:01.250Z',
    finished_at: '2026-12-07T10:00:08.400Z',
  };
  it('says how soon it played and how long it took, once done', () => {
    expect(processingTimes(done)).toBe('Playable 1.3 s after upload · done in 8.4 s · 1 attempt');
    expect(processingTimes({ ...done, attempts: 2, playable_at: null })).toBe('done in 8.4 s · 2 attempts');
    expect(processingTimes({ ...done, status: 'IN PROGRESS', finished_at: null })).toBeNull();
    expect(processingTimes(null)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { cueAt, parseThumbnailVtt } from './thumbnails';

const VTT = `WEBVTT

00:00:00.000 --> 00:00:05.000
sprite_0.jpg#xywh=0,0,160,90

00:00:05.000 --> 00:00:10.000
sprite_0.jpg#xywh=160,0,160,90

00:00:10.000 --> 00:00:12.500
sprite_1.jpg#xywh=0,0,160,90

garbage --> here
sprite_1.jpg#xywh=1,2

01:00:00.000 --> 01:00:05.000
no-region.jpg
`;

describe('thumbnail WebVTT', () => {
  const url = '/api/media/m/vod/j/thumbs/thumbnails.vtt';

  it('maps time ranges to sprite regions, resolved beside the VTT', () => {
    const cues = parseThumbnailVtt(VTT, url);
    expect(cues).toHaveLength(3);
    expect(cues[1]).toEqual({ start: 5, end: 10, url: '/api/media/m/vod/j/thumbs/sprite_0.jpg', x: 160, y: 0, width: 160, height: 90 });
    expect(cues[2]?.url).toBe('/api/media/m/vod/j/thumbs/sprite_1.jpg');
    expect(cues[2]?.end).toBe(12.5);
  });

  it('finds the cue for a time, none outside them', () => {
    const cues = parseThumbnailVtt(VTT, url);
    expect(cueAt(cues, 0)?.x).toBe(0);
    expect(cueAt(cues, 7.2)?.x).toBe(160);
    expect(cueAt(cues, 10)?.url).toContain('sprite_1');
    expect(cueAt(cues, 12.5)).toBeNull();
    expect(cueAt([], 1)).toBeNull();
  });

  it('never leaves the VTT folder for another origin', () => {
    const cues = parseThumbnailVtt('WEBVTT\n\n00:00.000 --> 00:01.000\nhttps://evil.example/x.jpg#xywh=0,0,1,1\n', url);
    expect(cues[0]?.url).toBe('/x.jpg');
  });
});

/** What the progress panel says at each step of an upload. */
import { describe as suite, expect, it } from 'vitest';
import { describe, progressPanel } from './progress';

const MIB = 1024 * 1024;

suite('describe', () => {
  it('counts bytes while checking the file', () => {
    expect(describe({ phase: 'hashing', done: 5 * MIB, total: 20 * MIB })).toMatchObject({
      step: 'Checking the file…',
      amount: '5.00 MB of 20.0 MB (25%)',
      speed: '',
    });
  });

  it('shows bytes, speed and the part while uploading', () => {
    const text = describe({
      phase: 'uploading',
      done: 24 * MIB,
      total: 40 * MIB,
      bytesPerSecond: 2 * MIB,
      part: { number: 2, count: 3 },
      retry: null,
    });
    expect(text).toMatchObject({ step: 'Uploading part 2 of 3…', amount: '24.0 MB of 40.0 MB (60%)', speed: '2.00 MB/s', notice: '' });
  });

  it('says when a part is tried again', () => {
    const text = describe({
      phase: 'uploading',
      done: 0,
      total: 10,
      bytesPerSecond: null,
      part: null,
      retry: { attempt: 1, delayMs: 2000, message: 'The connection to storage was lost.' },
    });
    expect(text.step).toBe('Uploading…');
    expect(text.speed).toBe('—');
    expect(text.notice).toBe('The connection to storage was lost. Trying again in 2 s (try 2 of 3).');
  });
});

suite('progressPanel', () => {
  it('fills the bar and goes indeterminate while nothing can be counted', () => {
    const panel = progressPanel();
    const bar = panel.element.querySelector('progress')!;
    panel.show({ phase: 'uploading', done: 30, total: 120, bytesPerSecond: null, part: null, retry: null });
    expect(bar.max).toBe(120);
    expect(bar.value).toBe(30);
    panel.show({ phase: 'creating' });
    expect(bar.hasAttribute('value')).toBe(false);
  });

  it('stays full with the size sent once complete', () => {
    const panel = progressPanel();
    panel.complete(2048);
    const bar = panel.element.querySelector('progress')!;
    expect(bar.value).toBe(bar.max);
    expect(panel.element.querySelector('[data-testid="upload-step"]')!.textContent).toBe('Upload complete.');
    expect(panel.element.querySelector('[data-testid="upload-bytes"]')!.textContent).toBe('2.00 KB of 2.00 KB (100%)');
  });
});

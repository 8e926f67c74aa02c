/** What the player does about each kind of fatal hls.js error. */
import { describe, expect, it } from 'vitest';
import { RecoveryPolicy } from './recovery';

describe('RecoveryPolicy', () => {
  const noJitter = () => 0;

  it('reloads after network errors with a growing delay, capped at 10 s', () => {
    const policy = new RecoveryPolicy(noJitter);
    const delays = Array.from({ length: 6 }, () => policy.decide('network', 0));
    expect(delays).toEqual([
      { action: 'reload', delayMs: 1000 },
      { action: 'reload', delayMs: 2000 },
      { action: 'reload', delayMs: 4000 },
      { action: 'reload', delayMs: 8000 },
      { action: 'reload', delayMs: 10_000 },
      { action: 'reload', delayMs: 10_000 },
    ]);
  });

  it('starts again from the shortest delay once media flowed', () => {
    const policy = new RecoveryPolicy(noJitter);
    policy.decide('network', 0);
    policy.decide('network', 0);
    policy.progressed();
    expect(policy.decide('network', 0)).toEqual({ action: 'reload', delayMs: 1000 });
  });

  it('recovers media errors, then swaps the audio codec, then gives up', () => {
    const policy = new RecoveryPolicy(noJitter);
    expect(policy.decide('media', 0)).toEqual({ action: 'recover-media' });
    expect(policy.decide('media', 1000)).toEqual({ action: 'swap-audio-and-recover' });
    expect(policy.decide('media', 2000)).toEqual({ action: 'give-up' });
  });

  it('forgets media errors older than the window', () => {
    const policy = new RecoveryPolicy(noJitter);
    expect(policy.decide('media', 0)).toEqual({ action: 'recover-media' });
    expect(policy.decide('media', 60_000)).toEqual({ action: 'recover-media' });
  });

  it('gives up on other fatal errors', () => {
    expect(new RecoveryPolicy().decide('other')).toEqual({ action: 'give-up' });
  });
});

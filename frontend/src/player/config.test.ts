/** ferrocast's hls.js settings, checked against the real hls.js they are meant for. */
import Hls from 'hls.js';
import { afterEach, describe, expect, it } from 'vitest';
import { LIVE_HLS_CONFIG, LIVE_HLS_DEFAULTS } from './config';

describe('live hls.js settings', () => {
  const original = Hls.DefaultConfig;
  afterEach(() => {
    Hls.DefaultConfig = original;
  });

  it('are accepted by hls.js and keep the two-segment distance as a default only', () => {
    Hls.DefaultConfig = { ...Hls.DefaultConfig, ...LIVE_HLS_DEFAULTS };
    // hls.js throws on a page's max latency without a page's sync count: both are defaults.
    const hls = new Hls(LIVE_HLS_CONFIG);
    expect(hls.config.liveSyncDurationCount).toBe(2);
    expect(hls.config.liveMaxLatencyDurationCount).toBe(6);
    expect(hls.config.lowLatencyMode).toBe(true);
    // A page's own sync setting would override a low-latency playlist's PART-HOLD-BACK.
    expect(hls.userConfig.liveSyncDurationCount).toBeUndefined();
    expect(hls.userConfig.liveSyncDuration).toBeUndefined();
    hls.destroy();
  });
});

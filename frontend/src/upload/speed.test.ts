/** The upload speed follows the last seconds, not the whole transfer. */
import { describe, expect, it } from 'vitest';
import { SpeedMeter } from './speed';

describe('SpeedMeter', () => {
  it('has no rate until enough time has passed', () => {
    const meter = new SpeedMeter();
    expect(meter.bytesPerSecond()).toBeNull();
    meter.add(0, 0);
    meter.add(100, 1000);
    expect(meter.bytesPerSecond()).toBeNull();
  });

  it('measures bytes per second', () => {
    const meter = new SpeedMeter();
    meter.add(0, 0);
    meter.add(500, 500_000);
    meter.add(1000, 1_000_000);
    expect(meter.bytesPerSecond()).toBe(1_000_000);
  });

  it('forgets what happened before the window, so a stall shows', () => {
    const meter = new SpeedMeter(3000);
    meter.add(0, 0);
    meter.add(1000, 10_000_000);
    meter.add(5000, 10_000_000);
    meter.add(6000, 10_000_000);
    expect(meter.bytesPerSecond()).toBe(0);
  });

  it('starts over when the total goes back (a part sent again)', () => {
    const meter = new SpeedMeter();
    meter.add(0, 0);
    meter.add(1000, 2_000_000);
    meter.add(1100, 1_000_000);
    expect(meter.bytesPerSecond()).toBeNull();
    meter.add(2100, 2_000_000);
    expect(meter.bytesPerSecond()).toBe(1_000_000);
  });
});

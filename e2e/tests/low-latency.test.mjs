// A stream with the default ladder (the 720p source's own rendition, remuxed by the ingest, and
// 480p and 360p from x264, read back from ffmpeg and cut by the ingest) is served as low-latency
// HLS on every rung, and the watch page's hls.js plays it steadily about a second behind the
// ingest: parts are listed and loaded, the player holds the playlist's PART-HOLD-BACK, playback
// keeps pace with the wall clock, the frame on screen is as old as the part hold-back, not as two
// segments, and a switch to another rung halfway through costs no stall (the rungs share one
// clock, cut at the same instants).
//
// "As old": the ingest dates each segment by the wall clock its first frame arrived at
// (EXT-X-PROGRAM-DATE-TIME), and hls.js's `playingDate` maps the frame on screen onto that clock
// through the fragment it plays (whose start it took from the parsed media when it loaded it).
// Playback keeping pace with the wall clock, without a wait, guards the other way a broken
// timeline shows: stalls and jumps.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPlatform, startPublisher, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage, signUpForKey } from '../lib/browser.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts', 'low-latency');
/** How long playback is watched once it has settled, and how often it is sampled. */
const WATCH_MS = 30000;
const SAMPLE_MS = 500;
/** Plain HLS at the test's 1 s segments sits two segments behind; parts must beat that clearly. */
const MAX_MEDIAN_AGE_S = 1.75;

let platform;
let browser;
let publisher;
const fatalErrors = [];

before(async () => {
  // Default settings: the default ladder, low-latency parts on.
  platform = await startPlatform({ logDir: join(ARTIFACTS, 'logs') });
  browser = await launchChromium();
});

after(async () => {
  publisher?.kill('SIGKILL');
  await browser?.close();
  await platform?.stop();
});

/** What the page's hls.js and video say right now; `age` is null until a dated fragment is loaded. */
function sample(page) {
  return page.evaluate(() => {
    const hls = window.__ferrocast?.hls;
    const video = document.querySelector('[data-testid="video"]');
    const details = hls?.levels?.[hls.currentLevel]?.details;
    const shown = hls?.playingDate?.getTime();
    return {
      level: hls?.currentLevel ?? -1,
      levels: hls?.levels?.length ?? 0,
      wall: Date.now(),
      currentTime: video.currentTime,
      age: shown ? (Date.now() - shown) / 1000 : null,
      parts: details?.partList?.length ?? 0,
      partTarget: details?.partTarget ?? 0,
      targetLatency: hls?.targetLatency ?? null,
      lowLatencyMode: hls?.lowLatencyMode ?? false,
      latency: hls?.latency ?? null,
      waits: window.__e2eWaits ?? 0,
    };
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

test('a stream with a ladder plays as low-latency HLS on every rung, steadily about a second behind the ingest', async (t) => {
  const username = `e2e_ll_${randomBytes(4).toString('hex')}`;
  const streamer = await newPage(browser, fatalErrors);
  const key = await signUpForKey(streamer, platform.web, username);
  publisher = startPublisher(platform.rtmp, key, join(ARTIFACTS, 'logs'));

  const viewer = await newPage(browser, fatalErrors);
  await viewer.goto(`${platform.web}/watch/${username}`);
  await viewer.waitForFunction(
    () => document.querySelector('[data-testid="video"]')?.currentTime > 2,
    null,
    { timeout: 30000 },
  );
  // hls.js seeks to its target and may speed up to reach it: give it a few seconds to settle,
  // then count every time the video runs out of data.
  await viewer.waitForTimeout(5000);
  await viewer.evaluate(() => {
    window.__e2eWaits = 0;
    document.querySelector('[data-testid="video"]').addEventListener('waiting', () => {
      window.__e2eWaits += 1;
    });
  });

  const samples = [];
  let switchedTo = null;
  for (let t = 0; t <= WATCH_MS; t += SAMPLE_MS) {
    samples.push(await sample(viewer));
    if (switchedTo === null && t >= WATCH_MS / 3) {
      // The next fragments come from another rung; what is buffered plays out first, so a
      // switch onto a rung cut at other instants or on another clock would stall or jump.
      switchedTo = await viewer.evaluate(() => {
        const hls = window.__ferrocast.hls;
        const target = hls.currentLevel === 0 ? hls.levels.length - 1 : 0;
        hls.loadLevel = target;
        return target;
      });
    }
    await viewer.waitForTimeout(SAMPLE_MS);
  }
  await viewer.screenshot({ path: join(ARTIFACTS, 'watching.png') });
  const first = samples[0];
  const last = samples.at(-1);
  const summary = JSON.stringify({ first, last });

  assert.equal(last.levels, 3, `the master lists the three rungs: ${summary}`);
  assert.equal(last.level, switchedTo, `playback moved to the rung asked for: ${summary}`);
  assert.ok(last.lowLatencyMode, 'the player runs hls.js in low-latency mode');
  assert.notEqual(first.level, last.level, `the rung changed while watched: ${summary}`);
  for (const at of [first, last]) {
    assert.ok(at.parts > 0 && at.partTarget > 0, `rung ${at.level}'s playlist lists parts: ${summary}`);
  }
  assert.ok(
    last.targetLatency !== null && last.targetLatency < 1.5,
    `hls.js aims at the playlist's part hold-back, not two segments: ${summary}`,
  );

  const played = last.currentTime - first.currentTime;
  const elapsed = (last.wall - first.wall) / 1000;
  assert.ok(
    played >= 0.95 * elapsed,
    `playback keeps pace with the wall clock: ${played.toFixed(2)} s played in ${elapsed.toFixed(2)} s (${summary})`,
  );
  assert.equal(last.waits, 0, `the video never ran out of data while watched: ${summary}`);

  const ages = samples.map((s) => s.age).filter((age) => age !== null);
  assert.ok(ages.length >= samples.length / 2, `most samples could date the frame on screen: ${summary}`);
  const medianAge = median(ages);
  t.diagnostic(
    `frame on screen arrived at the ingest ${medianAge.toFixed(2)} s earlier (median; ` +
      `${Math.min(...ages).toFixed(2)}–${Math.max(...ages).toFixed(2)} s), hls.latency ${last.latency?.toFixed(2)} s`,
  );
  assert.ok(
    medianAge > 0 && medianAge <= MAX_MEDIAN_AGE_S,
    `the frame on screen arrived at the ingest ${medianAge.toFixed(2)} s earlier (median of ${ages.length}; ` +
      `≤ ${MAX_MEDIAN_AGE_S} s expected): ${summary}`,
  );
  assert.ok(
    Math.max(...ages) - Math.min(...ages) < 1.0,
    `the distance behind the ingest holds steady: ${Math.min(...ages).toFixed(2)}–${Math.max(...ages).toFixed(2)} s`,
  );

  assert.deepEqual(fatalErrors, [], 'no fatal hls.js errors');
});

// Prints what hls.js on the watch page makes of a live stream, once a second: playhead, buffered
// ranges, its latency estimate and target, and the timeline it built from the playlist (the
// newest fragments and the fragment hint as sn@start+duration, P = start taken from the media).
// A timeline that jumps or repeats starts shows a playlist hls.js misreads; this is how the
// missing EXT-X-PRELOAD-HINT was found (without it hls.js took a just-closed segment for the
// segment in progress and slid its timeline on every such reload, then stalled).
//
//   FERROCAST_TEST_MONGODB_URL=... node e2e/tools/player-probe.mjs '{"FERROCAST_HLS_LADDER":""}' 30
//
// Arguments: FERROCAST_* settings for the platform (JSON), seconds to watch. Needs the debug
// build (or FERROCAST_E2E_PROFILE=release) and the built frontend, like the e2e tests.

import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { startPlatform, startPublisher } from '../lib/platform.mjs';
import { launchChromium, newPage, signUpForKey } from '../lib/browser.mjs';

const settings = JSON.parse(process.argv[2] || '{}');
const seconds = Number(process.argv[3] || 30);
const logDir = join(tmpdir(), 'ferrocast-player-probe');
const platform = await startPlatform({ logDir, settings });
const browser = await launchChromium();
const fatalErrors = [];
let publisher;
try {
  const username = `probe_${randomBytes(3).toString('hex')}`;
  const key = await signUpForKey(await newPage(browser, fatalErrors), platform.web, username);
  publisher = startPublisher(platform.rtmp, key, logDir);
  const viewer = await newPage(browser, fatalErrors);
  await viewer.goto(`${platform.web}/watch/${username}`);
  await viewer.waitForFunction(() => window.__ferrocast?.hls?.levels?.length, null, { timeout: 30000 });
  for (let second = 0; second < seconds; second += 1) {
    await viewer.waitForTimeout(1000);
    console.log(second, await viewer.evaluate(describePlayer));
  }
} finally {
  publisher?.kill('SIGKILL');
  await browser.close();
  await platform.stop();
  console.log('fatal hls.js errors:', fatalErrors, '; service logs in', logDir);
}

function describePlayer() {
  const hls = window.__ferrocast.hls;
  const video = document.querySelector('[data-testid="video"]');
  const details = hls.levels[hls.currentLevel]?.details;
  const ranges = [];
  for (let i = 0; i < video.buffered.length; i += 1) {
    ranges.push(`${video.buffered.start(i).toFixed(2)}-${video.buffered.end(i).toFixed(2)}`);
  }
  const fragment = (f) =>
    `${f.sn}@${f.start.toFixed(2)}+${f.duration.toFixed(2)}${Number.isFinite(f.startPTS) ? 'P' : ''}`;
  const newest = (details?.fragments ?? []).slice(-3).map(fragment).join(',');
  const hint = details?.fragmentHint ? fragment(details.fragmentHint) : '-';
  return (
    `level=${hls.currentLevel}/${hls.levels.length} t=${video.currentTime.toFixed(2)} ` +
    `rate=${video.playbackRate} buffered=[${ranges}] ` +
    `latency=${hls.latency?.toFixed(2)} target=${hls.targetLatency?.toFixed(2)} ` +
    `fragments=${newest} hint=${hint} parts=${details?.partList?.length ?? 0}`
  );
}

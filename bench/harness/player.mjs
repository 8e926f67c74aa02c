// Headless Debian Chromium + hls.js as a viewer: plays a live playlist for N seconds and reports
// hls.js's own `hls.latency` (seconds behind the live edge) sampled every 250 ms, with the level
// played and any fatal error. The page is served by Playwright at the HLS server's own origin, so
// no CORS setting of either peer matters.
//
// For the wall-clock latency each sample also carries Date.now() (the same clock as the harness's
// time.time()), video.currentTime and the fragment playing, and every INIT_PTS_FOUND is kept:
// hls.js sets SourceBuffer.timestampOffset = -initPTS/timescale, so the frame at currentTime t has
// the server's PTS t * timescale + initPTS (of its discontinuity counter `cc`).
//
// usage: node player.mjs PLAYLIST_URL SECONDS HLS_CONFIG_JSON [HLS_DEFAULTS_JSON]
// (defaults go to Hls.DefaultConfig, as the frontend does, so a playlist's hold-back still wins)
// needs playwright-core (e2e/node_modules) and hls.js (frontend/node_modules).

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(join(ROOT, 'e2e', 'package.json'));
const { chromium } = require('playwright-core');
const HLS_JS = readFileSync(join(ROOT, 'frontend', 'node_modules', 'hls.js', 'dist', 'hls.min.js'));
const HLS_VERSION = JSON.parse(readFileSync(join(ROOT, 'frontend', 'node_modules', 'hls.js', 'package.json'))).version;

const [playlist, secondsArg, configJson, defaultsJson] = process.argv.slice(2);
const seconds = Number(secondsArg);
const config = JSON.parse(configJson || '{}');
const defaults = JSON.parse(defaultsJson || '{}');
const origin = new URL(playlist).origin;

const PAGE = `<!doctype html><html><body><video id="v" muted autoplay playsinline></video>
<script src="/__bench/hls.min.js"></script>
<script>
window.benchState = { errors: [], samples: [], level: -1, initPts: [], playing: null };
const video = document.getElementById('v');
Hls.DefaultConfig = Object.assign({}, Hls.DefaultConfig, ${JSON.stringify(defaults)});
const hls = new Hls(${JSON.stringify(config)});
window.hls = hls;
hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.benchState.errors.push(d.type + ':' + d.details); });
hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => { window.benchState.level = d.level; });
hls.on(Hls.Events.INIT_PTS_FOUND, (_e, d) => {
  window.benchState.initPts.push({ initPTS: d.initPTS, timescale: d.timescale, cc: d.frag.cc,
    sn: d.frag.sn, level: d.frag.level, wall: Date.now() });
});
hls.on(Hls.Events.FRAG_CHANGED, (_e, d) => {
  window.benchState.playing = { sn: d.frag.sn, level: d.frag.level, cc: d.frag.cc };
});
hls.loadSource(${JSON.stringify(playlist)});
hls.attachMedia(video);
video.play().catch(() => {});
</script></body></html>`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});
let result;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route(`${origin}/__bench/**`, (route) => {
    const url = route.request().url();
    if (url.endsWith('/hls.min.js')) return route.fulfill({ body: HLS_JS, contentType: 'text/javascript' });
    return route.fulfill({ body: PAGE, contentType: 'text/html' });
  });
  await page.goto(`${origin}/__bench/player.html`);
  // Wait for playback to start (bounded), then play `seconds` and sample.
  const startDeadline = Date.now() + 30000;
  let started = false;
  while (Date.now() < startDeadline) {
    started = await page.evaluate(() => document.getElementById('v').currentTime > 0);
    if (started) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const samples = [];
  const clock = [];
  const stalls = [];
  if (started) {
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      // wall and t are read together in the page, so the round trip to node does not part them.
      const s = await page.evaluate(() => ({
        latency: window.hls.latency,
        t: document.getElementById('v').currentTime,
        wall: Date.now(),
        playing: window.benchState.playing,
        waiting: document.getElementById('v').readyState < 3,
      }));
      samples.push(s.latency);
      clock.push({ wall: s.wall, t: s.t, latency: s.latency, playing: s.playing });
      if (s.waiting) stalls.push(s.t);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const state = await page.evaluate(() => window.benchState);
  const levelUrls = await page.evaluate(() => window.hls.levels.map((l) => l.uri));
  result = {
    started,
    hls_version: HLS_VERSION,
    latency_end: samples.length ? samples[samples.length - 1] : null,
    latency_samples: samples,
    stalled_samples: stalls.length,
    clock_samples: clock,
    init_pts: state.initPts,
    level_urls: levelUrls,
    level: state.level,
    errors: state.errors,
  };
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');

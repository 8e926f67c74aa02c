// The streamer's and the viewer's whole journey in a real browser: sign up, get a key, go live
// with ffmpeg, watch in hls.js with adaptive quality, see the stream end.
// Screenshots land in e2e/artifacts/ (kept by CI as artifacts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPlatform, startPublisher, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage as openPage, signUpForKey } from '../lib/browser.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');

let platform;
let browser;
let publisher;
const fatalErrors = [];

before(async () => {
  platform = await startPlatform({ logDir: join(ARTIFACTS, 'logs') });
  browser = await launchChromium();
});

after(async () => {
  publisher?.kill('SIGKILL');
  await browser?.close();
  await platform?.stop();
});

const newPage = () => openPage(browser, fatalErrors);

// Mean per-channel variance of the current video frame, drawn to a canvas in the page: a blank or
// frozen-black picture has (almost) none, the test pattern a lot.
async function frameVariance(page) {
  return page.evaluate(() => {
    const video = document.querySelector('[data-testid="video"]');
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 90;
    const context = canvas.getContext('2d');
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    let sumSquares = 0;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      for (let c = 0; c < 3; c += 1) {
        sum += data[i + c];
        sumSquares += data[i + c] ** 2;
        n += 1;
      }
    }
    const mean = sum / n;
    return sumSquares / n - mean * mean;
  });
}

test('a streamer goes live and a viewer watches with adaptive quality until the stream ends', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const streamer = await newPage();

  // 1. Sign up in the page, open the dashboard, reveal and read the key.
  const key = await signUpForKey(streamer, platform.web, username);
  await streamer.screenshot({ path: join(ARTIFACTS, '1-dashboard.png') });

  // 2. Go live with ffmpeg.
  const viewer = await newPage();
  await viewer.goto(platform.web);
  publisher = startPublisher(platform.rtmp, key, join(ARTIFACTS, 'logs'));

  // 3. The home page shows the room without a reload; open it and watch.
  const card = viewer.getByTestId('room-card').filter({ hasText: username });
  await card.waitFor({ timeout: 20000 });
  await viewer.screenshot({ path: join(ARTIFACTS, '2-home-live.png') });
  await viewer.goto(`${platform.web}/watch/${username}`);
  await viewer.waitForFunction(
    () => document.querySelector('[data-testid="video"]')?.currentTime > 0,
    null,
    { timeout: 20000 },
  );
  const startTime = await viewer.evaluate(() => document.querySelector('[data-testid="video"]').currentTime);
  await viewer.waitForFunction(
    (start) => document.querySelector('[data-testid="video"]').currentTime >= start + 5,
    startTime,
    { timeout: 20000 },
  );
  const levels = await viewer.evaluate(() => window.__ferrocast.levels());
  assert.ok(levels.length >= 3, `hls.js sees at least 3 renditions, got ${JSON.stringify(levels)}`);

  await viewer.getByTestId('quality-select').selectOption({ label: '360p' });
  await viewer.waitForFunction(() => window.__ferrocast?.currentHeight() === 360, null, { timeout: 20000 });

  await viewer.waitForFunction(
    () => Number(document.querySelector('[data-testid="viewer-count"]')?.textContent?.match(/\d+/)?.[0] ?? 0) >= 1,
    null,
    { timeout: 20000 },
  );
  const variance = await frameVariance(viewer);
  assert.ok(variance > 100, `the picture is not blank (variance ${variance.toFixed(1)})`);
  await viewer.screenshot({ path: join(ARTIFACTS, '3-watching-360p.png') });

  // 4. Stop ffmpeg: the watch page says so, the home page drops the room within the lease.
  publisher.kill('SIGINT');
  await viewer.getByTestId('stream-ended').waitFor({ timeout: 20000 });
  await viewer.screenshot({ path: join(ARTIFACTS, '4-ended.png') });
  const home = await newPage();
  await home.goto(platform.web);
  await home.getByTestId('room-card').filter({ hasText: username }).waitFor({ state: 'detached', timeout: 15000 });

  assert.deepEqual(fatalErrors, [], 'no fatal hls.js errors');
});

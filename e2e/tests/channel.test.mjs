// A channel in a real browser against the real platform with the catalogue: a streamer uploads a
// video and goes live with ffmpeg; the home grid shows the stream's live thumbnail (a picture
// that really loaded); the username on the card leads to the channel page, which plays the
// stream live and lists the upload; the upload's page links back to the channel; an unknown
// name gets a clear "no such channel".
// Screenshots land in e2e/artifacts/ (kept by CI as artifacts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPlatform, startPublisher, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage as openPage, signUpForKey } from '../lib/browser.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');

let platform;
let browser;
let publisher;
let workDir;
let video;
const fatalErrors = [];

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-channel-'));
  video = join(workDir, 'pier.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine',
    '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart',
    video,
  ]);
  platform = await startPlatform({ logDir: join(ARTIFACTS, 'logs'), catalog: true });
  browser = await launchChromium();
});

after(async () => {
  publisher?.kill('SIGKILL');
  await browser?.close();
  await platform?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const newPage = () => openPage(browser, fatalErrors);

test('the home grid shows a live thumbnail, and the channel plays live and lists uploads', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const title = `Pier at noon ${randomBytes(3).toString('hex')}`;
  const streamer = await newPage();

  // 1. Sign up with a key, and upload a video through the upload page.
  const key = await signUpForKey(streamer, platform.web, username);
  await streamer.getByTestId('nav-upload').click();
  await streamer.waitForURL(/\/upload$/);
  await streamer.getByTestId('file-input').setInputFiles(video);
  await streamer.getByTestId('chosen-file').filter({ hasText: 'pier.mp4' }).waitFor();
  await streamer.getByLabel('Title').fill(title);
  await streamer.getByTestId('upload-submit').click();
  const failed = streamer.getByTestId('error-form');
  await streamer.locator('[data-testid="upload-done"]:visible, [data-testid="error-form"]:visible').first().waitFor({ timeout: 60000 });
  assert.equal(await failed.isVisible(), false, `the upload failed: ${await failed.textContent()}`);

  // 2. Go live: the home grid shows the room, then its thumbnail, decoded by the browser.
  publisher = startPublisher(platform.rtmp, key, join(ARTIFACTS, 'logs'));
  const viewer = await newPage();
  await viewer.goto(platform.web);
  const card = viewer.locator(`[data-testid="room-card"][data-username="${username}"]`);
  await card.waitFor({ timeout: 20000 });
  const thumbnail = card.getByTestId('room-thumbnail');
  await thumbnail.waitFor({ timeout: 40000 });
  const size = await thumbnail.evaluate((img) => ({ width: img.naturalWidth, height: img.naturalHeight, src: img.getAttribute('src') }));
  assert.ok(size.width > 0 && size.height > 0, `the thumbnail loaded: ${JSON.stringify(size)}`);
  assert.match(size.src, new RegExp(`^/hls/${username}/thumbnail\\.jpg\\?t=\\d+$`));
  await viewer.screenshot({ path: join(ARTIFACTS, 'channel-1-home-thumbnail.png') });
  // Through the gateway with the origin's caching headers.
  const answer = await viewer.request.get(`${platform.web}/hls/${username}/thumbnail.jpg`);
  assert.equal(answer.status(), 200);
  assert.equal(answer.headers()['content-type'], 'image/jpeg');
  assert.equal(answer.headers()['cache-control'], 'public, max-age=30');
  assert.match(answer.headers().etag ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(answer.headers()['last-modified'], 'Last-Modified passes the gateway');

  // 3. The username leads to the channel, which plays the stream live.
  await viewer.getByTestId('room-channel').filter({ hasText: username }).click();
  await viewer.waitForURL(new RegExp(`/c/${username}$`));
  await viewer.waitForFunction(
    () => document.querySelector('[data-testid="video"]')?.currentTime > 0,
    null,
    { timeout: 30000 },
  );
  await viewer.getByTestId('live-badge').waitFor();

  // 4. Below the player: the upload, linking to its page, which links back to the channel.
  const upload = viewer.getByTestId('channel-uploads').getByRole('link', { name: title });
  await upload.waitFor({ timeout: 20000 });
  await viewer.screenshot({ path: join(ARTIFACTS, 'channel-2-live.png') });
  await upload.click();
  await viewer.waitForURL(/\/videos\/[0-9a-f-]{36}$/);
  const owner = viewer.getByTestId('video-owner');
  await owner.waitFor();
  assert.equal(await owner.textContent(), username);
  await owner.click();
  await viewer.waitForURL(new RegExp(`/c/${username}$`));
  await viewer.getByTestId('channel-uploads').getByRole('link', { name: title }).waitFor({ timeout: 20000 });

  // 5. An unknown name is said to be one.
  await viewer.goto(`${platform.web}/c/nobody_${randomBytes(4).toString('hex')}`);
  await viewer.getByTestId('channel-not-found').waitFor({ timeout: 15000 });

  publisher.kill('SIGINT');
  assert.deepEqual(fatalErrors, [], 'no fatal hls.js errors');
});

// Past broadcasts in a real browser against the real platform with the catalogue and a worker:
// a streamer publishes 20 s with ffmpeg and stops; the broadcast appears under "Past broadcasts"
// on their channel page, its video page plays it from its first second to its end, and its
// length is within one segment (1 s here) of what was published.
// Screenshots land in e2e/artifacts/ (kept by CI as artifacts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPlatform, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage as openPage, signUpForKey } from '../lib/browser.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
const PUBLISHED_SECONDS = 20;

let platform;
let browser;
const fatalErrors = [];

before(async () => {
  platform = await startPlatform({ logDir: join(ARTIFACTS, 'logs'), catalog: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await platform?.stop();
});

/** Publishes `seconds` of a test pattern with a tone (a keyframe a second) and waits for its end. */
function publishFor(rtmpUrl, key, seconds) {
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'warning', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-f', 'flv', `${rtmpUrl}/${key}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr.pipe(createWriteStream(join(ARTIFACTS, 'logs', 'past-broadcast-publisher.log')));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`the publisher exited ${code}`))));
  });
}

test('a broadcast becomes a past broadcast on the channel that plays from start to end', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const page = await openPage(browser, fatalErrors);
  const key = await signUpForKey(page, platform.web, username);
  // The dashboard shows the choice, on by default.
  const keep = page.getByTestId('save-past-broadcasts');
  await keep.waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-testid="save-past-broadcasts"]')?.disabled, null, { timeout: 15000 });
  assert.equal(await keep.isChecked(), true, 'past broadcasts are saved by default');

  await publishFor(platform.rtmp, key, PUBLISHED_SECONDS);

  // The channel lists it under "Past broadcasts" once it is registered (reload until then).
  const past = page.getByTestId('channel-past').getByRole('link', { name: new RegExp(`^${username}'s broadcast — `) });
  const deadline = Date.now() + 90000;
  for (;;) {
    await page.goto(`${platform.web}/c/${username}`);
    if (await past.first().waitFor({ timeout: 3000 }).then(() => true, () => false)) break;
    assert.ok(Date.now() < deadline, 'the past broadcast never appeared on the channel');
  }
  await page.screenshot({ path: join(ARTIFACTS, 'past-broadcasts-1-channel.png') });
  await past.first().click();
  await page.waitForURL(/\/videos\/[0-9a-f-]{36}$/);

  // It plays from its first second to its end.
  const video = page.getByTestId('vod-video');
  await video.waitFor({ timeout: 60000 });
  await page.waitForFunction(
    () => {
      const v = document.querySelector('[data-testid="vod-video"]');
      return v && v.currentTime > 0 && v.currentTime < 2 && Number.isFinite(v.duration);
    },
    null,
    { timeout: 90000, polling: 100 },
  );
  const duration = await video.evaluate((v) => v.duration);
  assert.ok(Math.abs(duration - PUBLISHED_SECONDS) <= 1, `lasts ${duration} s for ${PUBLISHED_SECONDS} s published`);
  await page.screenshot({ path: join(ARTIFACTS, 'past-broadcasts-2-playing.png') });
  await page.waitForFunction(
    () => document.querySelector('[data-testid="vod-video"]')?.ended === true,
    null,
    { timeout: (PUBLISHED_SECONDS + 30) * 1000, polling: 250 },
  );
  const end = await video.evaluate((v) => v.currentTime);
  assert.ok(Math.abs(end - duration) <= 0.5, `ended at ${end} s of ${duration} s`);
  assert.deepEqual(fatalErrors, [], 'no fatal hls.js errors');
});

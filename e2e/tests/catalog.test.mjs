// A user's media journey in a real browser against the real platform with the catalogue:
// sign up, upload a real video through the page (hashed in the page's worker, sent straight
// to SeaweedFS with the signed PUT, finalized), see it uploaded in My media, find it in the
// library by a word of its title and by its tag, download it, then delete it. A 20 s 720p
// video is processed into the ladder and plays in hls.js and, from its DASH manifest, in
// shaka-player; an encrypted one plays for every signed-in viewer with a playback session, and
// its key goes to no one without one. A larger video goes up in parts on a throttled
// connection (the speed shows), and a cancelled upload leaves nothing.
// Screenshots land in e2e/artifacts/ (kept by CI as artifacts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPlatform, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage, signUp } from '../lib/browser.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');

let platform;
let browser;
let workDir;
let video;
let hdVideo;
let bigVideo;
let image;

const MIB = 1024 * 1024;
// Files above 1 MiB go up in parts of 5 MiB (S3's smallest): the large video is eight parts.
const MULTIPART = {
  FERROCAST_CATALOG_MULTIPART_THRESHOLD_BYTES: String(MIB),
  FERROCAST_CATALOG_PART_BYTES: String(5 * MIB),
};

/** Lower-case letters only, so the search sees one word. */
function word(length) {
  return [...randomBytes(length)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-media-'));
  video = join(workDir, 'harbour_walk.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine',
    '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart',
    video,
  ]);
  // What a phone or OBS recording looks like: 720p30 H.264 at 2.5 Mb/s with AAC, 2 s GOP.
  hdVideo = join(workDir, 'ferry_crossing.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2500k', '-g', '60', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart',
    hdVideo,
  ]);
  // Lossless, so 18 s of test pattern are about 36 MB: above what the page hashes in one go
  // with WebCrypto, so the worker's sliced hashing runs too.
  bigVideo = join(workDir, 'lighthouse.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-t', '18', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
    bigVideo,
  ]);
  image = join(workDir, 'gull.png');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360', '-frames:v', '1', image]);
  platform = await startPlatform({ logDir: join(ARTIFACTS, 'logs'), catalog: true, settings: MULTIPART });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await platform?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('a user uploads a video, sees it in My media and finds it in the library by word and by tag', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const distinctive = `quay${word(8)}`;
  const title = `Harbour walk ${distinctive} at dusk`;
  const tag = `tag${word(8)}`;
  const pageErrors = [];
  const page = await newPage(browser, []);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Refused connections (CSP, CORS) and script errors; the API's ordinary 401/404 answers
  // (not signed in yet, no room) are logged by the browser too and are not failures.
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[14]/.test(message.text())) pageErrors.push(message.text());
  });
  // Requests cut short by leaving a page (the event stream) end as ERR_ABORTED; any other
  // failure (a CORS refusal is ERR_FAILED) is one.
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED') pageErrors.push(`${request.url()}: ${reason}`);
  });

  // 1. Sign up, then open the upload page from the header.
  await signUp(page, platform.web, username);
  await page.getByTestId('nav-upload').click();
  await page.waitForURL(/\/upload$/);

  // 2. Choose the file: the title starts as its name; set a title and a tag, upload.
  await page.getByTestId('file-input').setInputFiles(video);
  const size = statSync(video).size;
  await page.getByTestId('chosen-file').filter({ hasText: 'harbour_walk.mp4' }).waitFor();
  assert.equal(await page.getByLabel('Title').inputValue(), 'harbour walk', 'the title starts as the file name');
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Description').fill('Boats, gulls and the lighthouse.');
  await page.getByRole('combobox', { name: 'Tags' }).fill(tag.toUpperCase());
  await page.getByRole('combobox', { name: 'Tags' }).press('Enter');
  await page.getByTestId('tag-chip').filter({ hasText: tag }).waitFor();
  await page.getByTestId('upload-submit').click();

  // 3. The upload ends with the link to My media; the bar counted every byte of the file.
  const failed = page.getByTestId('error-form');
  await page.locator('[data-testid="upload-done"]:visible, [data-testid="error-form"]:visible').first().waitFor({ timeout: 60000 });
  assert.equal(await failed.isVisible(), false, `the upload failed: ${await failed.textContent()}`);
  await page.getByTestId('upload-step').filter({ hasText: 'Upload complete.' }).waitFor();
  const bytes = await page.getByTestId('upload-bytes').textContent();
  assert.equal(bytes, `${(size / 1024).toFixed(1)} KB of ${(size / 1024).toFixed(1)} KB (100%)`, 'the bar counted the whole file');
  const bar = await page.getByTestId('upload-progress').evaluate((el) => ({ value: el.value, max: el.max }));
  assert.equal(bar.value, size);
  assert.equal(bar.max, size);
  await page.screenshot({ path: join(ARTIFACTS, 'media-1-uploaded.png') });

  // 4. My media lists it as uploaded, public, with its tag.
  await page.getByTestId('upload-done-link').click();
  await page.waitForURL(/\/media$/);
  const mine = page.getByTestId('media-item').filter({ hasText: title });
  await mine.waitFor({ timeout: 15000 });
  assert.equal((await mine.getByTestId('media-status').textContent())?.trim(), 'Uploaded');
  assert.equal((await mine.getByTestId('media-visibility').textContent())?.trim(), 'Public');
  assert.deepEqual(await mine.getByTestId('item-tags').locator('[data-tag]').allTextContents(), [tag]);
  await page.screenshot({ path: join(ARTIFACTS, 'media-2-my-media.png') });

  // 5. The library finds it by a word of its title, typed (results come as you type).
  await page.getByTestId('nav-library').click();
  await page.waitForURL(/\/library/);
  await page.getByLabel('Search the library').fill(distinctive);
  const found = page.getByTestId('library-results').getByTestId('library-item').filter({ hasText: title });
  await found.waitFor({ timeout: 15000 });
  assert.equal((await found.getByTestId('library-owner').textContent())?.trim(), username);
  assert.equal(await page.getByTestId('library-item').count(), 1, 'only the item with that word');
  assert.match(page.url(), new RegExp(`[?&]q=${distinctive}`), 'the search is in the URL');
  await page.screenshot({ path: join(ARTIFACTS, 'media-3-library-word.png') });

  // 6. ... and by its tag: clear the words, choose the tag among the top tags.
  await page.getByLabel('Search the library').fill('');
  await page.getByTestId('top-tags').getByRole('button', { name: tag }).click();
  await page.waitForURL(new RegExp(`[?&]tags=${tag}`));
  await page.getByTestId('library-summary').filter({ hasText: `tagged ${tag}` }).waitFor({ timeout: 15000 });
  await found.waitFor();
  assert.equal(await page.getByTestId('library-item').count(), 1, 'only the item with that tag');
  assert.equal(await page.getByTestId('top-tags').getByRole('button', { name: tag }).getAttribute('aria-pressed'), 'true');
  await page.screenshot({ path: join(ARTIFACTS, 'media-4-library-tag.png') });

  // 7. Its owner downloads the original straight from storage.
  await page.getByTestId('nav-media').click();
  const original = page.waitForResponse(
    (response) => response.url().startsWith(process.env.FERROCAST_TEST_S3_ENDPOINT) && response.request().method() === 'GET',
  );
  await mine.getByTestId('media-download').click();
  const download = await original;
  assert.ok(download.ok(), `storage serves the original (${download.status()})`);
  assert.equal(download.headers()['content-type'], 'video/mp4');
  await page.goto(`${platform.web}/media`);

  // 8. Delete it from My media (through the confirm dialog): gone there and from the library.
  await mine.getByTestId('media-delete').click();
  await page.getByTestId('confirm-ok').click();
  await mine.waitFor({ state: 'detached', timeout: 15000 });
  await page.goto(`${platform.web}/library?tags=${tag}`);
  await page.getByTestId('library-summary').filter({ hasText: `0 results tagged ${tag}` }).waitFor({ timeout: 15000 });

  assert.deepEqual(pageErrors, [], 'no script errors or refused connections (CSP, CORS) in the page');
});

/**
 * Waits until My media links `row` to its video's page (once a first rendition plays). The page
 * is not reloaded meanwhile: the row's processing line and link change as the catalogue pushes
 * progress (`/api/media/progress`).
 */
async function watchLink(page, row) {
  const watch = row.getByTestId('media-watch');
  const line = row.getByTestId('media-processing');
  const already = await watch.isVisible();
  const before = (await line.textContent())?.trim();
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  await watch.waitFor({ timeout: 90000 }).catch(async () => {
    assert.fail(`no watch link; processing: ${await line.textContent()}`);
  });
  assert.ok(await page.evaluate(() => window.__sameDocument === true), 'My media followed the progress without a reload');
  if (!already) assert.notEqual((await line.textContent())?.trim(), before, 'the processing line changed in place');
  return watch;
}

/** Waits until the video page's player has played past 0.3 s with `rungs` renditions or more. */
async function playing(page, rungs) {
  await page.waitForFunction(
    (wanted) => {
      const video = document.querySelector('[data-testid="vod-video"]');
      return video instanceof HTMLVideoElement && video.currentTime > 0.3 && (window.__ferrocast?.levels().length ?? 0) >= wanted;
    },
    rungs,
    { timeout: 90000 },
  );
  return page.evaluate(() => [...window.__ferrocast.levels()].sort((a, b) => b - a));
}

test('a 20 s 720p video is processed into the ladder and plays in hls.js and, as DASH, in shaka-player', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const title = `Ferry crossing ${word(8)}`;
  const page = await newPage(browser, []);
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signUp(page, platform.web, username);
  await chooseAndUpload(page, hdVideo, title);
  await page.getByTestId('upload-done').waitFor({ timeout: 60000 });
  await page.getByTestId('upload-done-link').click();
  const mine = page.getByTestId('media-item').filter({ hasText: title });
  await mine.waitFor({ timeout: 15000 });

  // The 720p source is copied and packaged first (fast start); 480p and 360p join as the
  // worker finishes them, at the production ladder's sizes.
  await (await watchLink(page, mine)).click();
  await page.waitForURL(/\/videos\/[0-9a-f-]{36}$/);
  await page.getByTestId('video-title').filter({ hasText: title }).waitFor();
  assert.deepEqual(await playing(page, 3), [720, 480, 360], 'the source and two encoded rungs');
  await page.screenshot({ path: join(ARTIFACTS, 'media-6-hls.png') });

  // Scrubbing shows the frame under the pointer, cut from the worker's sprite sheet.
  const bar = page.getByTestId('scrub-bar');
  await bar.scrollIntoViewIfNeeded();
  const box = await bar.boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  const preview = page.getByTestId('scrub-preview');
  await preview.waitFor({ state: 'visible', timeout: 15000 });
  const sprite = await preview.evaluate((el) => /url\("([^"]+)"\)/.exec(el.style.backgroundImage)?.[1]);
  assert.match(sprite ?? '', /\/thumbs\/sprite_\d+\.jpg$/);
  const sheet = await page.request.get(`${platform.web}${sprite}`);
  assert.equal(sheet.headers()['content-type'], 'image/jpeg');

  // Once every rung is done the DASH manifest exists: shaka-player plays the same segments.
  await page.getByTestId('video-status').waitFor({ state: 'hidden', timeout: 90000 });
  await page.getByTestId('video-times').filter({ hasText: /^Playable \d+\.\d s after upload · done in \d+\.\d s · 1 attempt$/ }).waitFor();
  await page.getByTestId('switch-player').click();
  await page.waitForURL(/\/videos\/[0-9a-f-]{36}\/dash$/);
  assert.deepEqual(await playing(page, 3), [720, 480, 360], 'the DASH manifest names the same ladder');
  await page.screenshot({ path: join(ARTIFACTS, 'media-7-dash.png') });
  assert.deepEqual(pageErrors, []);
});

test('an encrypted video plays for its owner and, with a session, for any signed-in viewer; its key never goes without one', async () => {
  const owner = `e2e_${randomBytes(4).toString('hex')}`;
  const title = `Sealed ${word(8)}`;
  const page = await newPage(browser, []);
  await signUp(page, platform.web, owner);
  await page.getByTestId('nav-upload').click();
  await page.getByTestId('file-input').setInputFiles(video);
  await page.getByLabel('Title').fill(title);
  await page.getByTestId('encrypt').check();
  await page.getByTestId('upload-submit').click();
  await page.getByTestId('upload-done').waitFor({ timeout: 60000 });
  await page.getByTestId('upload-done-link').click();
  const mine = page.getByTestId('media-item').filter({ hasText: title });
  await mine.waitFor({ timeout: 15000 });
  await (await watchLink(page, mine)).click();
  await page.waitForURL(/\/videos\/[0-9a-f-]{36}$/);
  const url = page.url();
  await page.getByTestId('video-encrypted').waitFor();

  // The owner's player gets a playback session, then asks the licence endpoint for the key
  // (the session's token in a header) and decrypts through EME.
  const licences = [];
  page.on('response', (response) => {
    if (response.url().endsWith('/licence')) licences.push(response.status());
  });
  await playing(page, 1);
  assert.ok(licences.includes(200), `the licence was handed out: ${licences}`);
  await page.getByTestId('video-status').waitFor({ state: 'hidden', timeout: 90000 });
  await page.goto(`${url}/dash`);
  await playing(page, 1);
  await page.screenshot({ path: join(ARTIFACTS, 'media-8-encrypted-owner.png') });

  // Asked by hand, without a session's token, the licence endpoint refuses the key, even to
  // the owner's cookie.
  const id = url.split('/').pop();
  const { encryption } = await (await page.request.get(`${platform.web}/api/media/${id}`)).json();
  const status = await page.evaluate(
    async ({ path, kid }) =>
      (await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kids: [kid] }) })).status,
    { path: encryption.licence_url, kid: Buffer.from(encryption.key_id, 'hex').toString('base64url') },
  );
  assert.ok([401, 403].includes(status), `no key without a token (${status})`);

  // Any other signed-in viewer of the public video plays it too, with a session of their own.
  for (const kind of ['hls', 'dash']) {
    const stranger = await newPage(browser, []);
    await signUp(stranger, platform.web, `e2e_${randomBytes(4).toString('hex')}`);
    await stranger.goto(kind === 'dash' ? `${url}/dash` : url);
    await playing(stranger, 1);
    await stranger.screenshot({ path: join(ARTIFACTS, `media-9-encrypted-viewer-${kind}.png`) });
    await stranger.context().close();
  }
});

/** Limits the page's uploads to `bytesPerSecond` (Chromium's network emulation). */
async function throttleUploads(page, bytesPerSecond) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

async function chooseAndUpload(page, file, title) {
  await page.getByTestId('nav-upload').click();
  await page.getByTestId('file-input').setInputFiles(file);
  await page.getByLabel('Title').fill(title);
  await page.getByTestId('upload-submit').click();
}

test('a large video goes up in parts on a slow connection, with its speed shown', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const title = `Lighthouse ${word(8)}`;
  const page = await newPage(browser, []);
  const partsSent = [];
  page.on('request', (request) => {
    const number = new URL(request.url()).searchParams.get('partNumber');
    if (request.method() === 'PUT' && number) partsSent.push(Number(number));
  });
  await signUp(page, platform.web, username);
  await throttleUploads(page, 8 * MIB);
  await chooseAndUpload(page, bigVideo, title);
  const parts = Math.ceil(statSync(bigVideo).size / (5 * MIB));

  // While it runs: the part being sent and a measured speed.
  await page.getByTestId('upload-step').filter({ hasText: new RegExp(`Uploading part \\d of ${parts}`) }).waitFor({ timeout: 30000 });
  await page.getByTestId('upload-speed').filter({ hasText: /\d (KB|MB)\/s$/ }).waitFor({ timeout: 15000 });
  await page.getByTestId('upload-panel').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ARTIFACTS, 'media-5-parts.png') });
  await page.getByTestId('upload-done').waitFor({ timeout: 90000 });
  assert.deepEqual(
    [...new Set(partsSent)].sort((a, b) => a - b),
    Array.from({ length: parts }, (_, i) => i + 1),
    'each part went to storage',
  );

  await page.getByTestId('upload-done-link').click();
  const mine = page.getByTestId('media-item').filter({ hasText: title });
  await mine.waitFor({ timeout: 15000 });
  assert.equal((await mine.getByTestId('media-status').textContent())?.trim(), 'Uploaded');
  assert.equal((await mine.getByTestId('media-size').textContent())?.trim(), `${(statSync(bigVideo).size / MIB).toFixed(1)} MB`);
  await mine.getByTestId('media-delete').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('media-empty').waitFor({ timeout: 15000 });
});

test('cancelling an upload midway stops it and keeps nothing', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const page = await newPage(browser, []);
  await signUp(page, platform.web, username);
  await throttleUploads(page, 1 * MIB);
  await chooseAndUpload(page, bigVideo, `Cancelled ${word(8)}`);

  await page.getByTestId('upload-step').filter({ hasText: 'Uploading part 1 of' }).waitFor({ timeout: 30000 });
  await page.getByTestId('upload-cancel').click();
  await page.getByTestId('upload-result').filter({ hasText: 'Upload cancelled; nothing was kept.' }).waitFor({ timeout: 15000 });
  assert.equal(await page.getByTestId('upload-submit').isEnabled(), true, 'the form can be used again');

  await page.getByTestId('nav-media').click();
  await page.getByTestId('media-empty').waitFor({ timeout: 15000 });
});

test('an image goes up as an image, private, and stays out of the library', async () => {
  const username = `e2e_${randomBytes(4).toString('hex')}`;
  const title = `Gull ${word(8)}`;
  const page = await newPage(browser, []);
  await signUp(page, platform.web, username);
  await page.getByTestId('nav-upload').click();
  await page.getByTestId('file-input').setInputFiles(image);
  await page.getByTestId('chosen-file').filter({ hasText: 'gull.png' }).filter({ hasText: 'Image' }).waitFor();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Who can see it').selectOption('private');
  await page.getByTestId('upload-submit').click();
  await page.getByTestId('upload-done').waitFor({ timeout: 30000 });

  await page.getByTestId('upload-done-link').click();
  const mine = page.getByTestId('media-item').filter({ hasText: title });
  await mine.waitFor({ timeout: 15000 });
  assert.equal((await mine.getByTestId('media-status').textContent())?.trim(), 'Uploaded');
  assert.equal((await mine.getByTestId('media-visibility').textContent())?.trim(), 'Private');
  assert.match((await mine.textContent()) ?? '', /Image/);

  await page.goto(`${platform.web}/library?q=${encodeURIComponent(title)}`);
  await page.getByTestId('library-summary').filter({ hasText: '0 results for' }).waitFor({ timeout: 15000 });

  await page.getByTestId('nav-media').click();
  await mine.getByTestId('media-delete').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('media-empty').waitFor({ timeout: 15000 });
});

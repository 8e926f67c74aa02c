// Playback sessions in real browsers against the real platform, one stream per account
// (FERROCAST_PLAYBACK_STREAMS_PER_ACCOUNT=1) and 4 s leases: one account in two browser
// contexts (two devices). The second device is denied while the first plays, waits in line, and
// starts by itself, without a reload, once the first device vanishes and its lease lapses; from
// "Your devices" it ends its own session, and its player stops and says why. From the denied
// dialog a device ends the other one's session: that player stops within a heartbeat and this
// one plays. The key of an encrypted video is handed out only against a live session of the
// account for that video, in a header: not without a token, not with a forged one, not with
// another video's; a private video's playlists and segments likewise go only with the token. A
// visitor who is not signed in is asked to sign in instead of getting a player.
// Screenshots land in e2e/artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPlatform, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage, signUp } from '../lib/browser.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
const LEASE_SECONDS = 4;
const SETTINGS = {
  FERROCAST_PLAYBACK_STREAMS_PER_ACCOUNT: '1',
  FERROCAST_PLAYBACK_LEASE_SECONDS: String(LEASE_SECONDS),
};

let platform;
let browser;
let workDir;
/** Public videos of one uploader, processed: any signed-in viewer may ask to play them. */
let clear;
let sealed;
let other;

function username() {
  return `e2e_${randomBytes(4).toString('hex')}`;
}

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-playback-'));
  const file = join(workDir, 'pier.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine',
    '-t', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart',
    file,
  ]);
  platform = await startPlatform({ logDir: join(ARTIFACTS, 'logs-playback'), catalog: true, settings: SETTINGS });
  browser = await launchChromium();
  const uploader = await newPage(browser, []);
  await signUp(uploader, platform.web, username());
  clear = await upload(uploader, file, `Pier ${randomBytes(3).toString('hex')}`, { encrypt: false });
  sealed = await upload(uploader, file, `Sealed pier ${randomBytes(3).toString('hex')}`, { encrypt: true });
  other = await upload(uploader, file, `Other pier ${randomBytes(3).toString('hex')}`, { encrypt: false });
  await uploader.context().close();
});

after(async () => {
  await browser?.close();
  await platform?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Uploads `file` through the upload page and waits until the video is processed; its record. */
async function upload(page, file, title, { encrypt, visibility = 'public' }) {
  await page.getByTestId('nav-upload').click();
  await page.getByTestId('file-input').setInputFiles(file);
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Who can see it').selectOption(visibility);
  if (encrypt) await page.getByTestId('encrypt').check();
  else await page.getByTestId('encrypt').uncheck();
  await page.getByTestId('upload-submit').click();
  await page.getByTestId('upload-done').waitFor({ timeout: 60000 });
  const owner = (await page.getByTestId('nav-username').textContent()).trim();
  const listed = await (await page.request.get(`${platform.web}/api/media?owner=${owner}`)).json();
  const item = listed.items.find((i) => i.title === title);
  assert.ok(item, `${title} is listed`);
  const deadline = Date.now() + 120000;
  for (;;) {
    const media = await (await page.request.get(`${platform.web}/api/media/${item.id}`)).json();
    if (media.processing?.status === 'DONE') return media;
    assert.notEqual(media.processing?.status, 'FAILED', `processing failed: ${media.processing?.reason}`);
    assert.ok(Date.now() < deadline, `not processed in time: ${JSON.stringify(media.processing)}`);
    await page.waitForTimeout(500);
  }
}

/** Signs `name` in on a fresh page (another device of the same account). */
async function logIn(page, name) {
  await page.goto(`${platform.web}/login`);
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('nav-username').filter({ hasText: name }).waitFor({ timeout: 15000 });
}

/** One account on two devices: two browser contexts, each signed in. */
async function twoDevices() {
  const name = username();
  const a = await newPage(browser, []);
  await signUp(a, platform.web, name);
  const b = await newPage(browser, []);
  await logIn(b, name);
  const errors = [];
  for (const page of [a, b]) page.on('pageerror', (error) => errors.push(error.message));
  return { name, a, b, errors };
}

/** What the video page shows, for a failure message. */
function pageState(page) {
  return page
    .evaluate(() => {
      const video = document.querySelector('[data-testid="vod-video"]');
      const shown = [...document.querySelectorAll('[role="alert"], [role="status"], dialog')]
        .filter((el) => !el.hidden && el.textContent.trim())
        .map((el) => el.textContent.trim());
      return {
        shown,
        player: window.__ferrocast !== undefined,
        video: video && { time: video.currentTime, paused: video.paused, readyState: video.readyState, src: video.currentSrc, error: video.error?.message },
      };
    })
    .then((state) => JSON.stringify(state))
    .catch((error) => `(page state unavailable: ${error.message})`);
}

/** Waits until `predicate` holds on the page, failing with what the page shows. */
async function until(page, what, predicate, timeout) {
  try {
    await page.waitForFunction(predicate, null, { timeout });
  } catch (error) {
    assert.fail(`${what} within ${timeout} ms: ${error.message.split('\n')[0]}; page: ${await pageState(page)}`);
  }
}

/** Waits until the video page's player has played past 0.3 s. */
function playing(page, timeout = 30000) {
  return until(
    page,
    'playing',
    () => {
      const video = document.querySelector('[data-testid="vod-video"]');
      return video instanceof HTMLVideoElement && video.currentTime > 0.3 && !video.paused;
    },
    timeout,
  );
}

/** The player is gone: no player instance, nothing loaded in the video element. */
function stopped(page, timeout) {
  return until(
    page,
    'the player stopped',
    () => {
      const video = document.querySelector('[data-testid="vod-video"]');
      return window.__ferrocast === undefined && video instanceof HTMLVideoElement && video.readyState === 0;
    },
    timeout,
  );
}

/** The account's sessions and waiting requests, as the page's own cookie sees them. */
async function sessionsOf(page) {
  const response = await page.request.get(`${platform.web}/api/playback`);
  assert.equal(response.status(), 200);
  return response.json();
}

test('a second device waits for a free screen and plays by itself once the first one’s lease lapses', async (t) => {
  const { a, b, errors } = await twoDevices();
  const url = `${platform.web}/videos/${clear.id}`;

  // 1. Device A plays: the account's one screen.
  await a.goto(url);
  await playing(a);
  const [held] = (await sessionsOf(a)).sessions;
  assert.equal(held.media_id, clear.id);
  assert.equal(held.device, 'Chrome on Linux', 'the device label is read from the user agent');

  // 2. Device B is denied, and the dialog lists A's session.
  await b.goto(url);
  const dialog = b.getByTestId('playback-denied');
  await dialog.waitFor({ timeout: 15000 });
  assert.equal((await dialog.getByRole('heading').textContent()).trim(), 'This account already plays 1 video');
  const rows = dialog.getByTestId('denied-session');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute('data-session-id'), held.session_id);
  assert.match(await rows.first().textContent(), new RegExp(`${clear.title}.*Chrome on Linux`));
  await b.screenshot({ path: join(ARTIFACTS, 'playback-1-denied.png') });

  // 3. B waits in line: number 1.
  await dialog.getByTestId('denied-wait').click();
  await b.getByTestId('playback-status').filter({ hasText: 'Waiting for a free screen: you are number 1' }).waitFor({ timeout: 15000 });
  assert.deepEqual((await sessionsOf(b)).queued.map((q) => q.position), [1]);
  await b.evaluate(() => {
    window.__sameDocument = true;
  });

  // 4. A vanishes without a word (its renderer dies: no pagehide, no beacon, no heartbeat).
  const cdp = await a.context().newCDPSession(a);
  const crashed = a.waitForEvent('crash');
  cdp.send('Page.crash').catch(() => undefined);
  await crashed;
  const vanishedAt = Date.now();
  await a.context().close();

  // 5. B plays once A's lease lapsed, on the same page.
  await playing(b, (LEASE_SECONDS + 8) * 1000);
  const waited = Date.now() - vanishedAt;
  assert.ok(waited >= ((LEASE_SECONDS * 1000) / 3) * 1.5, `the slot came with the lapse, not at once (${waited} ms)`);
  t.diagnostic(`B played ${waited} ms after A vanished (lease ${LEASE_SECONDS} s)`);
  assert.equal(await b.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.equal(await b.getByTestId('playback-status').isVisible(), false);
  await b.screenshot({ path: join(ARTIFACTS, 'playback-2-granted-after-lapse.png') });

  // 6. B's "Your devices" page lists its session; ending it stops B's player, which says why.
  const devices = await b.context().newPage();
  await devices.goto(`${platform.web}/devices`);
  await devices.getByTestId('nav-devices').waitFor();
  const mine = devices.getByTestId('device-session');
  await mine.waitFor({ timeout: 15000 });
  assert.equal(await mine.count(), 1);
  assert.equal((await mine.getByTestId('device-title').textContent()).trim(), clear.title);
  assert.equal(await mine.getByTestId('device-title').getAttribute('href'), `/videos/${clear.id}`);
  assert.equal((await mine.getByTestId('device-state').textContent()).trim(), 'Playing');
  await devices.screenshot({ path: join(ARTIFACTS, 'playback-3-devices.png') });
  await mine.getByTestId('device-end').click();
  await b.getByTestId('playback-ended').filter({ hasText: 'Playback ended:' }).waitFor({ timeout: LEASE_SECONDS * 1000 });
  await stopped(b, 5000);
  await devices.getByTestId('devices-empty').waitFor({ state: 'visible', timeout: 15000 });
  await b.screenshot({ path: join(ARTIFACTS, 'playback-4-ended.png') });

  // 7. "Play again" asks anew and plays.
  await b.getByTestId('play-again').click();
  await playing(b);
  await devices.getByTestId('device-session').waitFor({ timeout: 15000 });
  assert.deepEqual(errors, []);
  await b.context().close();
});

test('ending the other device’s session from the denied dialog stops it there, with the reason, and plays here', async (t) => {
  const { a, b, errors } = await twoDevices();
  const url = `${platform.web}/videos/${clear.id}`;
  await a.goto(url);
  await playing(a);

  await b.goto(`${url}/dash`);
  const dialog = b.getByTestId('playback-denied');
  await dialog.waitFor({ timeout: 15000 });
  await dialog.getByTestId('denied-end').click();
  const endedAt = Date.now();

  // A learns at once (pushed), at the latest at its next heartbeat (a third of the lease).
  await a.getByTestId('playback-ended').filter({ hasText: 'ended from another device' }).waitFor({ timeout: LEASE_SECONDS * 1000 });
  await stopped(a, 5000);
  t.diagnostic(`A stopped and said why ${Date.now() - endedAt} ms after B ended its session`);
  await playing(b);
  const { sessions } = await sessionsOf(b);
  assert.equal(sessions.length, 1);
  await a.screenshot({ path: join(ARTIFACTS, 'playback-5-ended-elsewhere.png') });
  assert.deepEqual(errors, []);
  await a.context().close();
  await b.context().close();
});

test('a private video plays for its owner with the session’s token on every file; its files go to no one without it', async () => {
  const page = await newPage(browser, []);
  await signUp(page, platform.web, username());
  const mine = await upload(page, join(workDir, 'pier.mp4'), `Private pier ${randomBytes(3).toString('hex')}`, { encrypt: false, visibility: 'private' });
  assert.equal(mine.visibility, 'private');
  // Playlists and segments (posters and thumbnails are images the browser loads itself).
  const files = [];
  page.on('request', (request) => {
    const url = request.url();
    if (url.includes(`/api/media/${mine.id}/vod/`) && /\.(m3u8|m4s|mp4|mpd)$/.test(url)) {
      files.push({ url, token: request.headers()['x-playback-token'] });
    }
  });
  await page.goto(`${platform.web}/videos/${mine.id}`);
  await playing(page);
  const [session] = (await sessionsOf(page)).sessions;
  assert.ok(files.length >= 3, `playlists and segments were fetched: ${files.length}`);
  assert.deepEqual(files.filter((f) => f.token !== session.token), [], 'every file request carried the token');
  assert.ok(files.every((f) => !f.url.includes(session.token)), 'never in a URL');

  // The owner's cookie alone no longer opens the files; the token does. (`no-store`: the
  // player's own copy is in the browser's cache.)
  const fetchStatus = (token) =>
    page.evaluate(
      async ({ url, token }) => (await fetch(url, { cache: 'no-store', headers: token ? { 'X-Playback-Token': token } : {} })).status,
      { url: mine.processing.hls_url, token },
    );
  assert.equal(await fetchStatus(session.token), 200);
  const without = await fetchStatus(null);
  assert.ok([401, 403, 404].includes(without), `the master playlist without a token: ${without}`);
  await page.context().close();
});

test('a visitor who is not signed in is asked to sign in, then plays', async () => {
  const page = await newPage(browser, []);
  const name = username();
  await signUp(page, platform.web, name);
  await page.getByTestId('logout').click();
  await page.getByTestId('nav-login').waitFor();
  await page.goto(`${platform.web}/videos/${clear.id}`);
  const prompt = page.getByTestId('sign-in-to-watch');
  await prompt.waitFor({ timeout: 15000 });
  assert.equal(await page.evaluate(() => window.__ferrocast), undefined, 'no player');
  await prompt.getByRole('link', { name: 'Sign in to watch' }).click();
  await page.waitForURL(/\/login\?next=/);
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(new RegExp(`/videos/${clear.id}$`));
  await playing(page);
  await page.context().close();
});

test('an encrypted video’s key is handed out only against a live session of the account for that video', async () => {
  const page = await newPage(browser, []);
  await signUp(page, platform.web, username());
  const licences = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/licence')) licences.push({ url: request.url(), token: request.headers()['x-playback-token'] });
  });
  page.on('response', (response) => {
    if (response.url().endsWith('/licence')) licences.push({ status: response.status() });
  });

  // With its session the viewer (not the owner) plays: the token went in the header.
  await page.goto(`${platform.web}/videos/${sealed.id}`);
  await page.getByTestId('video-encrypted').waitFor();
  await playing(page);
  const [session] = (await sessionsOf(page)).sessions;
  assert.equal(session.media_id, sealed.id);
  assert.ok(licences.some((l) => l.token === session.token), `the licence request carried the token: ${JSON.stringify(licences)}`);
  assert.ok(licences.some((l) => l.status === 200), 'and got the key');
  assert.ok(licences.every((l) => !l.url || !l.url.includes(session.token)), 'never in a URL');

  // Asked by hand from the page (its cookie goes along): only the session's own token opens it.
  const kid = Buffer.from(sealed.encryption.key_id, 'hex').toString('base64url');
  const licence = (token) =>
    page.evaluate(
      async ({ path, kid, token }) => {
        const headers = { 'Content-Type': 'application/json' };
        if (token) headers['X-Playback-Token'] = token;
        const response = await fetch(path, { method: 'POST', headers, body: JSON.stringify({ kids: [kid] }) });
        return response.status;
      },
      { path: sealed.encryption.licence_url, kid, token },
    );
  assert.equal(await licence(session.token), 200, 'the live session’s token');
  assert.ok([401, 403].includes(await licence(null)), 'no token');
  const forged = `${session.session_id}.${'A'.repeat(22)}`;
  assert.ok([401, 403].includes(await licence(forged)), 'a forged token');

  // Another video's session (the account's one screen moves there): its token opens nothing here.
  await page.goto(`${platform.web}/videos/${other.id}`);
  await playing(page);
  const [elsewhere] = (await sessionsOf(page)).sessions;
  assert.equal(elsewhere.media_id, other.id);
  const refused = await licence(elsewhere.token);
  assert.ok([401, 403, 404].includes(refused), `another video's token: ${refused}`);
  assert.ok([401, 403, 404].includes(await licence(session.token)), 'the ended session’s token');
  await page.context().close();
});

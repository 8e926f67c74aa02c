// Reconnects a viewer does not notice. A frozen ffmpeg publisher (SIGSTOP: a dead uplink, a
// half-open connection) replaced by a new one with the same key, and OBS Studio whose connection a
// TCP proxy in this test cuts (OBS reconnects by itself, as its profile says): in both cases the
// room stays the same and a Chromium viewer's video keeps playing, without a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { startPlatform, startPublisher, ROOT } from '../lib/platform.mjs';
import { launchChromium, newPage as openPage, signUpForKey } from '../lib/browser.mjs';
import { writeObsConfig, launchObs } from '../lib/obs.mjs';

const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
// A folder of its own: the platform's logs of another test file must not overwrite these.
const LOGS = join(ARTIFACTS, 'logs', 'obs-reconnect');

let platform;
let browser;
const cleanups = [];
const fatalErrors = [];

before(async () => {
  platform = await startPlatform({
    logDir: LOGS,
    settings: { FERROCAST_HLS_LADDER: '720:3000,480:1500,360:800,240:400' },
  });
  browser = await launchChromium();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await browser?.close();
  await platform?.stop();
});

const newPage = () => openPage(browser, fatalErrors);

/** A TCP proxy on a free loopback port to `port`; `cut()` drops every connection through it. */
async function tcpProxy(port) {
  const pairs = new Set();
  let connections = 0;
  const server = createServer((client) => {
    connections += 1;
    const upstream = connect(port, '127.0.0.1');
    const pair = [client, upstream];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: server.address().port,
    connections: () => connections,
    /** Both sides see their connection reset, as when a router drops it. */
    cut() {
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
    },
    close: () => new Promise((done) => { server.close(done); for (const [c, u] of pairs) { c.destroy(); u.destroy(); } }),
  };
}

const currentTime = (page) => page.evaluate(() => document.querySelector('[data-testid="video"]')?.currentTime ?? 0);

async function room(username) {
  const response = await fetch(`${platform.web}/api/rooms/${username}`);
  return response.ok ? response.json() : null;
}

/** Opens the watch page of `username` and waits until it plays. */
async function watch(username) {
  const viewer = await newPage();
  await viewer.goto(`${platform.web}/watch/${username}`);
  await viewer.waitForFunction(() => document.querySelector('[data-testid="video"]')?.currentTime > 1, null, { timeout: 30000 });
  return viewer;
}

/** Waits until the viewer played `seconds` more than at `from`, and the page never said ended. */
async function keepsPlaying(viewer, from, seconds) {
  await viewer.waitForFunction(
    (target) => {
      const ended = document.querySelector('[data-testid="stream-ended"]');
      if (ended && !ended.hidden) throw new Error('the page says the stream ended');
      return document.querySelector('[data-testid="video"]').currentTime >= target;
    },
    from + seconds,
    { timeout: 45000, polling: 250 },
  );
}

async function signUp(prefix) {
  const username = `${prefix}_${randomBytes(4).toString('hex')}`;
  const page = await newPage();
  const key = await signUpForKey(page, platform.web, username);
  await page.close();
  return { username, key };
}

test('a frozen ffmpeg publisher replaced by a new one: same room, the viewer keeps playing', async () => {
  const { username, key } = await signUp('frz');
  const first = startPublisher(platform.rtmp, key, LOGS);
  cleanups.push(async () => first.kill('SIGKILL'));
  const viewer = await watch(username);
  const started = (await room(username)).started_at;

  first.kill('SIGSTOP');
  const frozenAt = await currentTime(viewer);
  // Past the ingest's stall time (1 s): the new publish takes the room over at once.
  await new Promise((r) => setTimeout(r, 1500));
  const second = startPublisher(platform.rtmp, key, LOGS);
  cleanups.push(async () => second.kill('SIGKILL'));
  await keepsPlaying(viewer, frozenAt, 8);
  assert.equal(second.exitCode, null, 'the new publisher was accepted and streams');
  assert.equal((await room(username))?.started_at, started, 'the same room');
  await viewer.screenshot({ path: join(ARTIFACTS, 'reconnect-after-freeze.png') });

  second.kill('SIGINT');
  await viewer.getByTestId('stream-ended').waitFor({ timeout: 20000 });
  first.kill('SIGCONT');
  await viewer.close();
  assert.deepEqual(fatalErrors, [], 'no fatal hls.js errors');
});

test('OBS reconnects by itself after its connection is cut: same room, the viewer keeps playing', async () => {
  const { username, key } = await signUp('rcn');
  const proxy = await tcpProxy(Number(new URL(platform.rtmp).port));
  cleanups.push(() => proxy.close());
  const config = await writeObsConfig({
    server: `rtmp://127.0.0.1:${proxy.port}/live`, key, width: 640, height: 360,
    encoder: { keyint_sec: 1 }, reconnect: { delaySeconds: 1, maxRetries: 20 },
  });
  const obs = launchObs(config.home, join(LOGS, 'obs-reconnect.log'));
  cleanups.push(async () => { await obs.stop('SIGKILL', 1000); config.remove(); });
  const viewer = await watch(username);
  const started = (await room(username)).started_at;
  assert.equal(proxy.connections(), 1);

  const cutAt = await currentTime(viewer);
  proxy.cut();
  await keepsPlaying(viewer, cutAt, 8);
  assert.ok(proxy.connections() >= 2, `OBS reconnected (${proxy.connections()} connections)`);
  assert.equal((await room(username))?.started_at, started, 'the same room');
  await viewer.screenshot({ path: join(ARTIFACTS, 'reconnect-after-cut.png') });

  // OBS 29 sometimes crashes as it quits after a reconnect, before it closes its stream; the
  // ingest then keeps the room for its 10 s grace, so the end may take that long here.
  await obs.stop('SIGINT');
  await viewer.getByTestId('stream-ended').waitFor({ timeout: 20000 });
  await viewer.close();
  assert.deepEqual(fatalErrors, [], 'no fatal hls.js errors');
});

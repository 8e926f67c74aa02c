// Starts the real ferrocast platform for a test run: users, rooms, ingest and gateway from the
// workspace's debug build, on free loopback ports, against the Redis and document store the test
// runner provides (./ferrocast test exports their URLs), each run in its own database and Redis
// key prefix; with `catalog: true` also the catalogue and a VOD worker, with a NATS server of
// the run's own, in a PostgreSQL database and an S3 bucket
// of its own on the servers the runner provides. Stops everything it started.

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, createWriteStream, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'target', process.env.FERROCAST_E2E_PROFILE ?? 'debug');

/** A listener on a free loopback port, still open. */
function listenOnFreePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => done(server));
  });
}

/**
 * One free loopback port per name, all distinct: every listener stays open until all are
 * chosen. Closing each before asking for the next let the kernel hand the same port out twice,
 * and the ingest then found its port taken by the users service.
 */
export async function freePorts(names) {
  const servers = [];
  try {
    for (const name of names) servers.push([name, await listenOnFreePort()]);
    return Object.fromEntries(servers.map(([name, server]) => [name, server.address().port]));
  } finally {
    await Promise.all(servers.map(([, server]) => new Promise((done) => server.close(done))));
  }
}

async function waitForHttp(url, timeoutMs, name) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through ./ferrocast test`);
  return value;
}

// psql gets the server from PG* variables, so a password in the URL never shows in argv.
async function psql(serverUrl, sql) {
  const url = new URL(serverUrl);
  const env = {
    PATH: process.env.PATH,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    PGDATABASE: decodeURIComponent(url.pathname.slice(1) || 'postgres'),
    PGCONNECT_TIMEOUT: '10',
  };
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  await promisify(execFile)('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env, timeout: 30000 });
}

/**
 * Deletes the run's bucket, which SeaweedFS answers by freeing the volumes it reserved for it
 * (7 per bucket, of the test server's 20). Only an empty bucket can go: the test deletes what it
 * uploaded. curl signs the request; the keys reach it on stdin, never in argv.
 */
function deleteBucket({ endpoint, accessKey, secretKey, bucket }) {
  return new Promise((done, fail) => {
    const child = spawn(
      'curl',
      ['-fsS', '-o', '/dev/null', '--max-time', '10', '-X', 'DELETE', '--aws-sigv4', 'aws:amz:us-east-1:s3', '-K', '-', `${endpoint}/${bucket}`],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`deleting bucket ${bucket}: curl exited ${code}`))));
    child.stdin.end(`user = "${accessKey}:${secretKey}"\n`);
  });
}

/**
 * The catalogue's own database, created on FERROCAST_TEST_POSTGRES_URL's server and dropped at
 * stop, and its own bucket on FERROCAST_TEST_S3_ENDPOINT (the catalogue creates it at start).
 * Database and bucket names are this run's id, so parallel runs never meet.
 */
async function catalogStorage(runId) {
  const server = required('FERROCAST_TEST_POSTGRES_URL');
  const database = `e2e_catalog_${runId}`;
  await psql(server, `CREATE DATABASE ${database}`);
  const url = new URL(server);
  url.pathname = `/${database}`;
  return {
    database: url.toString(),
    s3: {
      endpoint: required('FERROCAST_TEST_S3_ENDPOINT'),
      accessKey: required('FERROCAST_TEST_S3_ACCESS_KEY'),
      secretKey: required('FERROCAST_TEST_S3_SECRET_KEY'),
      bucket: `e2e-catalog-${runId}`,
    },
    async drop() {
      await psql(server, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await deleteBucket(this.s3).catch(() => undefined);
    },
  };
}

/** `nats-server` from FERROCAST_NATS_SERVER, PATH or Debian's /usr/sbin. */
function natsServer() {
  if (process.env.FERROCAST_NATS_SERVER) return process.env.FERROCAST_NATS_SERVER;
  const onPath = (process.env.PATH ?? '').split(':').map((dir) => join(dir, 'nats-server')).find((p) => existsSync(p));
  return onPath ?? '/usr/sbin/nats-server';
}

/**
 * `settings`: FERROCAST_* variables that override the test defaults below, for every service.
 * `catalog`: also start the catalogue (media uploads, tags, search) and route the gateway to it.
 */
export async function startPlatform({ logDir, leaseSeconds = 4, settings = {}, catalog = false } = {}) {
  const ports = await freePorts([
    'users', 'grpc', 'rooms', 'ingestHttp', 'rtmp', 'gateway',
    ...(catalog ? ['catalog', 'nats', 'natsMonitor', 'worker'] : []),
  ]);
  const runId = randomBytes(6).toString('hex');
  const hlsRoot = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-hls-'));
  mkdirSync(logDir, { recursive: true });
  const mongo = process.env.FERROCAST_TEST_MONGODB_URL;
  if (!mongo) throw new Error('FERROCAST_TEST_MONGODB_URL is not set: run through ./ferrocast test');
  const env = {
    ...process.env,
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    FERROCAST_DEV_MODE: 'true',
    FERROCAST_COOKIE_SECURE: 'false',
    FERROCAST_SERVICE_TOKEN: randomBytes(24).toString('hex'),
    FERROCAST_JWT_SECRET: randomBytes(32).toString('hex'),
    FERROCAST_MONGODB_URL: mongo,
    FERROCAST_MONGODB_DATABASE: `e2e_${runId}`,
    FERROCAST_REDIS_URL: process.env.FERROCAST_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    FERROCAST_ROOMS_KEY_PREFIX: `e2e:${runId}:`,
    // Playback sessions of this run only (the catalogue's sweeper ends lapsed ones under it).
    FERROCAST_PLAYBACK_KEY_PREFIX: `e2e:${runId}:playback:`,
    FERROCAST_ROOM_LEASE_SECONDS: String(leaseSeconds),
    // The ingest must renew well inside the lease: its 5 s default against this 4 s lease let
    // the room lapse between renewals, which ended it on the watch page mid-test.
    FERROCAST_INGEST_UPDATE_INTERVAL_MS: String(Math.max(500, Math.floor((leaseSeconds * 1000) / 4))),
    FERROCAST_USERS_HTTP_ADDR: `127.0.0.1:${ports.users}`,
    FERROCAST_USERS_GRPC_ADDR: `127.0.0.1:${ports.grpc}`,
    FERROCAST_USERS_GRPC_URL: `http://127.0.0.1:${ports.grpc}`,
    FERROCAST_ROOMS_HTTP_ADDR: `127.0.0.1:${ports.rooms}`,
    FERROCAST_ROOMS_CALLBACK_URL: `http://127.0.0.1:${ports.rooms}/callbacks/rtmp`,
    FERROCAST_INGEST_HTTP_ADDR: `127.0.0.1:${ports.ingestHttp}`,
    FERROCAST_INGEST_ORIGIN_URL: `http://127.0.0.1:${ports.ingestHttp}`,
    FERROCAST_INGEST_RTMP_ADDR: `127.0.0.1:${ports.rtmp}`,
    FERROCAST_HLS_ROOT: hlsRoot,
    FERROCAST_HLS_SEGMENT_SECONDS: '1',
    FERROCAST_GATEWAY_HTTP_ADDR: `127.0.0.1:${ports.gateway}`,
    // Readiness and metrics: nothing here reads them; port 0 keeps parallel runs apart.
    FERROCAST_GATEWAY_INTERNAL_ADDR: '127.0.0.1:0',
    FERROCAST_USERS_HTTP_URL: `http://127.0.0.1:${ports.users}`,
    FERROCAST_ROOMS_HTTP_URL: `http://127.0.0.1:${ports.rooms}`,
    FERROCAST_FRONTEND_DIR: join(ROOT, 'frontend', 'dist'),
    // Past broadcasts need the catalogue (below); without it nothing is recorded.
    FERROCAST_INGEST_RECORDING_DIR: '',
    ...settings,
  };
  // The runner's storage keys are the catalogue's alone (below), not every service's.
  delete env.FERROCAST_TEST_S3_ACCESS_KEY;
  delete env.FERROCAST_TEST_S3_SECRET_KEY;
  const storage = catalog ? await catalogStorage(runId) : null;
  /** Only the catalogue holds the database URL and the storage keys. */
  let catalogEnv = null;
  if (storage) {
    Object.assign(env, {
      FERROCAST_CATALOG_HTTP_ADDR: `127.0.0.1:${ports.catalog}`,
      FERROCAST_CATALOG_HTTP_URL: `http://127.0.0.1:${ports.catalog}`,
      // Every broadcast of the run is recorded here and registered with the run's catalogue.
      FERROCAST_INGEST_RECORDING_DIR: join(hlsRoot, 'recordings'),
      // The gateway's CSP lets pages connect to the storage they upload to.
      FERROCAST_S3_ENDPOINT: storage.s3.endpoint,
      FERROCAST_S3_BUCKET: storage.s3.bucket,
      FERROCAST_CATALOG_UPLOAD_ORIGINS: `http://127.0.0.1:${ports.gateway}`,
      ...settings,
    });
    catalogEnv = {
      ...env,
      // The run's own queue server (below): jobs of this run never reach another's workers.
      FERROCAST_NATS_URL: `nats://127.0.0.1:${ports.nats}`,
      FERROCAST_POSTGRES_URL: storage.database,
      FERROCAST_S3_ACCESS_KEY: storage.s3.accessKey,
      FERROCAST_S3_SECRET_KEY: storage.s3.secretKey,
      // Seals the content keys of encrypted videos (catalogue and worker only).
      FERROCAST_CONTENT_KEY_SECRET: randomBytes(32).toString('hex'),
    };
  }
  const children = [];
  const cleanups = [];
  const start = (name, childEnv = env) => {
    const child = spawn(join(BIN, `ferrocast-${name}`), [], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(logDir, `${name}.log`));
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    children.push(child);
    return child;
  };
  const platform = {
    ports,
    web: `http://127.0.0.1:${ports.gateway}`,
    rtmp: `rtmp://127.0.0.1:${ports.rtmp}/live`,
    async stop() {
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(
        children.map(
          (child) =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
              child.on('exit', () => {
                clearTimeout(timer);
                done();
              });
            }),
        ),
      );
      rmSync(hlsRoot, { recursive: true, force: true });
      for (const cleanup of cleanups) cleanup();
      await storage?.drop();
    },
  };
  try {
    start('users');
    await waitForHttp(`http://127.0.0.1:${ports.users}/readyz`, 30000, 'users');
    start('rooms');
    await waitForHttp(`http://127.0.0.1:${ports.rooms}/readyz`, 30000, 'rooms');
    start('ingest');
    await waitForHttp(`http://127.0.0.1:${ports.ingestHttp}/readyz`, 30000, 'ingest');
    if (catalogEnv) {
      const natsStore = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-nats-'));
      cleanups.push(() => rmSync(natsStore, { recursive: true, force: true }));
      const nats = spawn(
        natsServer(),
        ['-js', '-a', '127.0.0.1', '-p', String(ports.nats), '-m', String(ports.natsMonitor), '-sd', natsStore],
        { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const natsLog = createWriteStream(join(logDir, 'nats.log'));
      nats.stdout.pipe(natsLog);
      nats.stderr.pipe(natsLog);
      children.push(nats);
      await waitForHttp(`http://127.0.0.1:${ports.natsMonitor}/healthz?js-enabled-only=true`, 30000, 'nats');
      start('catalog', catalogEnv);
      // A VOD worker on the same queue and bucket, with the production ladder and preset.
      const scratch = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-worker-'));
      cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
      start('worker', {
        ...catalogEnv,
        FERROCAST_WORKER_HTTP_ADDR: `127.0.0.1:${ports.worker}`,
        FERROCAST_WORKER_SCRATCH_DIR: scratch,
        FERROCAST_WORKER_PACKAGER: process.env.PACKAGER ?? join(ROOT, '.ferrocast', 'venv', 'bin', 'packager'),
      });
      await waitForHttp(`http://127.0.0.1:${ports.worker}/readyz`, 60000, 'worker');
      await waitForHttp(`http://127.0.0.1:${ports.catalog}/readyz`, 60000, 'catalog');
    }
    start('gateway');
    await waitForHttp(`${platform.web}/healthz`, 30000, 'gateway');
  } catch (error) {
    await platform.stop();
    throw error;
  }
  return platform;
}

// ffmpeg as the streamer: a 1280x720 test pattern with a 1 s GOP, as OBS would send it.
export function startPublisher(rtmpUrl, key, logDir) {
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'warning', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-b:v', '2500k', '-g', '30',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k',
      '-f', 'flv', `${rtmpUrl}/${key}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr.pipe(createWriteStream(join(logDir, 'publisher.log')));
  return child;
}

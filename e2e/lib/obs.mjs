// OBS Studio (Debian's obs-studio 29) as the streamer, headless under Xvfb: a fresh config folder
// per run (its own HOME, so nothing of the machine's OBS is read or changed), a profile with a
// Custom RTMP server and the streamer's key, x264 CBR, a scene with a looping test clip, and OBS
// launched with --startstreaming. The key lives only in the profile's service.json (0600, in the
// run's temp folder): never in argv or in the environment of OBS or anything else.

import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, createWriteStream, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROFILE = 'ferrocast';
const COLLECTION = 'ferrocast';

/** A small looping clip for the scene: a moving test pattern with a clock, and a tone. */
async function makeClip(dir, { width, height, fps }) {
  const path = join(dir, 'clip.mp4');
  await promisify(execFile)('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=120`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=120',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(fps), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', '-shortest', path,
  ], { timeout: 60000 });
  return path;
}

function ini(sections) {
  return Object.entries(sections)
    .map(([name, values]) => `[${name}]\n${Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n')}\n`)
    .join('\n');
}

/**
 * Writes an OBS config under a new temp HOME and returns it. `encoder` holds obs-x264's settings
 * (keyint_sec, profile, x264opts, ...); `reconnect` OBS's automatic reconnect (delay in s).
 */
export async function writeObsConfig({
  server, key, width = 1280, height = 720, fps = 30,
  encoder = {}, reconnect = { delaySeconds: 1, maxRetries: 20 },
}) {
  const home = mkdtempSync(join(tmpdir(), 'ferrocast-e2e-obs-'));
  const config = join(home, '.config', 'obs-studio');
  const profile = join(config, 'basic', 'profiles', PROFILE);
  const scenes = join(config, 'basic', 'scenes');
  mkdirSync(profile, { recursive: true });
  mkdirSync(scenes, { recursive: true });
  const clip = await makeClip(home, { width, height, fps });

  // FirstRun=true: OBS has "run before", so no auto-configuration wizard.
  writeFileSync(join(config, 'global.ini'), ini({
    General: { FirstRun: 'true', LastVersion: '486539266', EnableAutoUpdates: 'false', ConfirmOnExit: 'false' },
    Basic: {
      Profile: PROFILE, ProfileDir: PROFILE, SceneCollection: COLLECTION, SceneCollectionFile: COLLECTION,
    },
    // No preview: drawing it costs llvmpipe as much as a third of the frame time.
    BasicWindow: { PreviewEnabled: 'false', SysTrayEnabled: 'true', SysTrayWhenStarted: 'true', WarnBeforeStartingStream: 'false',
      WarnBeforeStoppingStream: 'false', RecordWhenStreaming: 'false' },
  }));
  writeFileSync(join(profile, 'basic.ini'), ini({
    General: { Name: PROFILE },
    Output: {
      Mode: 'Advanced',
      Reconnect: reconnect ? 'true' : 'false',
      RetryDelay: String(reconnect?.delaySeconds ?? 1),
      MaxRetries: String(reconnect?.maxRetries ?? 20),
    },
    AdvOut: { Encoder: 'obs_x264', TrackIndex: '1', ApplyServiceSettings: 'false', RecType: 'Standard' },
    Video: {
      BaseCX: String(width), BaseCY: String(height), OutputCX: String(width), OutputCY: String(height),
      FPSType: '0', FPSCommon: String(fps), ScaleType: 'bilinear', ColorFormat: 'NV12',
    },
    Audio: { SampleRate: '48000', ChannelSetup: 'Stereo' },
  }));
  writeFileSync(join(profile, 'streamEncoder.json'), JSON.stringify({
    rate_control: 'CBR', bitrate: 2500, keyint_sec: 1, preset: 'veryfast', profile: 'main', tune: '',
    ...encoder,
  }));
  const service = join(profile, 'service.json');
  writeFileSync(service, JSON.stringify({
    type: 'rtmp_custom', settings: { server, key, use_auth: false, bwtest: false },
  }), { mode: 0o600 });
  chmodSync(service, 0o600);

  writeFileSync(join(scenes, `${COLLECTION}.json`), JSON.stringify({
    name: COLLECTION,
    current_scene: 'Scene',
    current_program_scene: 'Scene',
    scene_order: [{ name: 'Scene' }],
    groups: [],
    quick_transitions: [],
    transitions: [],
    current_transition: 'Fade',
    transition_duration: 300,
    sources: [
      {
        id: 'scene', versioned_id: 'scene', name: 'Scene', enabled: true, flags: 0, volume: 1, muted: false,
        settings: {
          id_counter: 1,
          custom_size: false,
          items: [{
            name: 'Clip', id: 1, visible: true, locked: false, rot: 0, align: 5,
            pos: { x: 0, y: 0 }, scale: { x: 1, y: 1 }, bounds: { x: 0, y: 0 }, bounds_type: 0,
            bounds_align: 0, crop_left: 0, crop_top: 0, crop_right: 0, crop_bottom: 0,
          }],
        },
      },
      {
        id: 'ffmpeg_source', versioned_id: 'ffmpeg_source', name: 'Clip', enabled: true, flags: 0,
        volume: 1, muted: false, monitoring_type: 0, mixers: 255,
        settings: { local_file: clip, is_local_file: true, looping: true, restart_on_activate: false,
          clear_on_media_end: false, hw_decode: false },
      },
    ],
  }));
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}

/**
 * Launches OBS on the config in `home` under its own Xvfb (xvfb-run -a picks a free display) and
 * starts streaming at once. Its log goes to `logFile`. The environment is a short allowlist:
 * nothing of the test runner's (no service tokens, no test URLs) reaches OBS.
 */
export function launchObs(home, logFile) {
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    LANG: 'C.UTF-8',
    // Mesa's software renderer; no GPU on CI.
    LIBGL_ALWAYS_SOFTWARE: '1',
    QT_QPA_PLATFORM: 'xcb',
  };
  const child = spawn('xvfb-run', [
    '-a', '-s', '-screen 0 1280x800x24 -nolisten tcp',
    'obs', '--startstreaming', '--minimize-to-tray', '--multi', '--disable-updater',
    '--disable-missing-files-check', '--profile', PROFILE, '--collection', COLLECTION,
  ], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return {
    child,
    /** SIGINT to OBS itself (xvfb-run waits for it): OBS stops streaming and quits. */
    async stop(signal = 'SIGINT', timeoutMs = 20000) {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      await signalObs(child.pid, signal);
      const timer = setTimeout(() => {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      }, timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sends `signal` to the obs process xvfb-run started (a child of the group leader's shell). */
async function signalObs(groupId, signal) {
  const { stdout } = await promisify(execFile)('pgrep', ['-g', String(groupId), '-x', 'obs']).catch(() => ({ stdout: '' }));
  const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
  if (pids.length === 0) {
    try { process.kill(-groupId, signal); } catch { /* gone */ }
    return;
  }
  for (const pid of pids) process.kill(pid, signal);
}

/** The obs process's pid in the group, once it runs. */
export async function obsPid(groupId) {
  const { stdout } = await promisify(execFile)('pgrep', ['-g', String(groupId), '-x', 'obs']).catch(() => ({ stdout: '' }));
  return Number(stdout.split(/\s+/).filter(Boolean)[0]) || null;
}

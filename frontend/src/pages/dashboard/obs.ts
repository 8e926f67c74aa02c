/**
 * "Connect OBS": the RTMP server URL and the encoder settings that suit ferrocast.
 *
 * The ingest listens on port 1935 of the same host the site is served from
 * (docs/api.md, "ingest"). The keyframe advice follows from the ingest cutting 1 s HLS segments:
 * a segment can only start on a keyframe, so a 1 s (or 2 s) keyframe interval keeps segments
 * short and regular, which is what keeps viewer latency near 2–3 s.
 */
import { copyText } from '../../clipboard';
import { h, setText } from '../../dom';

export function obsServerUrl(hostname: string): string {
  // An IPv6 literal needs brackets in a URL.
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `rtmp://${host}:1935/live`;
}

export function obsPanel(): HTMLElement {
  const url = obsServerUrl(location.hostname);
  const status = h('p', { class: 'panel-status', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'btn', 'data-testid': 'copy-server' }, 'Copy');
  copy.addEventListener('click', async () => {
    setText(status, (await copyText(url)) ? 'Server URL copied.' : 'Copy failed: select the URL and copy it by hand.');
  });

  const setting = (name: string, value: string) => h('div', { class: 'setting' }, h('dt', {}, name), h('dd', {}, value));

  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'obs-heading', 'data-testid': 'obs-panel' },
    h('h2', { id: 'obs-heading' }, 'Connect OBS'),
    h('p', {}, 'In OBS open Settings → Stream, choose Service “Custom…”, and enter:'),
    h(
      'dl',
      { class: 'settings' },
      h(
        'div',
        { class: 'setting' },
        h('dt', {}, 'Server'),
        h('dd', { class: 'key-row' }, h('code', { 'data-testid': 'obs-server' }, url), copy),
      ),
      setting('Stream Key', 'your stream key (above)'),
    ),
    status,
    h('h3', {}, 'Recommended output settings'),
    h('p', { class: 'muted' }, 'Settings → Output, Output Mode “Advanced”:'),
    h(
      'dl',
      { class: 'settings' },
      setting('Encoder', 'x264, CPU preset “veryfast”'),
      setting('Rate control', 'CBR'),
      setting('Bitrate', '2500–6000 kb/s (2500 for 720p, 4500–6000 for 1080p)'),
      setting('Keyframe interval', '1 s (matches ferrocast’s 1 s segments; 2 s also works)'),
      setting('Profile / tune', 'main or high / zerolatency'),
      setting('Audio', 'AAC, 128–160 kb/s'),
    ),
  );
}

/** The playback token reaches the licence request (and a private video's files) in a header only. */
import { describe, expect, it } from 'vitest';
import { hlsConfig, PLAYBACK_TOKEN_HEADER } from './player';

/** What hls.js does with an XHR: the setup opens it and sets headers. */
function fakeXhr() {
  const log: string[] = [];
  const xhr = {
    open: (method: string, url: string) => log.push(`open ${method} ${url}`),
    setRequestHeader: (name: string, value: string) => log.push(`${name}: ${value}`),
  } as unknown as XMLHttpRequest;
  return { xhr, log };
}

describe('hlsConfig', () => {
  it('plays a clear public video as before', () => {
    const config = hlsConfig({ playbackToken: 'tok' });
    expect(config.emeEnabled).toBeUndefined();
    expect(config.licenseXhrSetup).toBeUndefined();
    expect(config.xhrSetup).toBeUndefined();
  });

  it('sends the token with the licence request of an encrypted video, not in its URL', () => {
    const config = hlsConfig({ clearKeyLicenceUrl: '/api/media/m1/licence', playbackToken: 'tok' });
    expect(config.emeEnabled).toBe(true);
    expect(config.drmSystems).toEqual({ 'org.w3.clearkey': { licenseUrl: '/api/media/m1/licence' } });
    const { xhr, log } = fakeXhr();
    config.licenseXhrSetup!.call(undefined as never, xhr, '/api/media/m1/licence', {} as never, new Uint8Array());
    expect(log).toEqual(['open POST /api/media/m1/licence', `${PLAYBACK_TOKEN_HEADER}: tok`]);
    expect(config.xhrSetup).toBeUndefined();
  });

  it('sends the token with every playlist and segment request of a private video', () => {
    const config = hlsConfig({ playbackToken: 'tok', tokenOnEveryRequest: true });
    const { xhr, log } = fakeXhr();
    config.xhrSetup!(xhr, '/api/media/m1/vod/j/master.m3u8', {} as never);
    expect(log).toEqual(['open GET /api/media/m1/vod/j/master.m3u8', `${PLAYBACK_TOKEN_HEADER}: tok`]);
  });
});

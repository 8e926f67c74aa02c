/** Past broadcasts panel: shows the saved choice, saves a change alone, says why the last recording stopped. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiError, byTestId, json, stubApi } from '../../test-support';
import { pastBroadcastsPanel } from './past-broadcasts';

const realFetch = globalThis.fetch;
let page: AbortController;
let panel: HTMLElement;

function mount() {
  page = new AbortController();
  panel = pastBroadcastsPanel(page.signal);
  document.body.replaceChildren(panel);
}

const keep = () => byTestId<HTMLInputElement>(panel, 'save-past-broadcasts');

/** The settings, and a recordings list whose newest entry has `reasons`. */
function stubNewestRecording(reasons: { stopped_reason?: string; refused_reason?: string }) {
  const newest = { recording_id: 'abc', started_at: '2026-12-07T15:00:00Z', stopped_reason: null, refused_reason: null, media_id: null, finalized: false, ...reasons };
  stubApi((_method, url) =>
    url === '/api/media/recordings' ? json({ recordings: [newest] }) : json({ encrypt_videos: false, save_past_broadcasts: true }),
  );
}

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
  vi.unstubAllGlobals();
});

describe('past broadcasts panel', () => {
  it('shows the saved choice and saves a change without touching the other settings', async () => {
    const api = stubApi((method, url, body) => {
      if (url === '/api/media/recordings') return json({ recordings: [] });
      if (method === 'PUT') return json({ encrypt_videos: true, ...(body as object) });
      return json({ encrypt_videos: true, save_past_broadcasts: true });
    });
    mount();
    await vi.waitFor(() => expect(keep().disabled).toBe(false));
    expect(keep().checked).toBe(true);

    keep().checked = false;
    keep().dispatchEvent(new Event('change'));
    await vi.waitFor(() =>
      expect(byTestId(panel, 'past-broadcasts-status').textContent).toBe('Your broadcasts will not be saved.'),
    );
    expect(api.calls).toContainEqual({ method: 'PUT', url: '/api/media/settings', body: { save_past_broadcasts: false } });
  });

  it('puts the box back and says so when the change is not saved', async () => {
    stubApi((method, url) => {
      if (url === '/api/media/recordings') return json({ recordings: [] });
      if (method === 'PUT') return apiError(503, 'unavailable', 'the catalogue is unavailable right now');
      return json({ encrypt_videos: false, save_past_broadcasts: true });
    });
    mount();
    await vi.waitFor(() => expect(keep().disabled).toBe(false));
    keep().checked = false;
    keep().dispatchEvent(new Event('change'));
    await vi.waitFor(() => expect(keep().disabled).toBe(false));
    expect(keep().checked).toBe(true);
    expect(byTestId(panel, 'past-broadcasts-status').textContent).toBe('the catalogue is unavailable right now');
  });

  it('says why the last recording stopped early', async () => {
    stubNewestRecording({ stopped_reason: 'the recording reached its disk budget (4096 MiB); the stream goes on unrecorded' });
    mount();
    await vi.waitFor(() =>
      expect(byTestId(panel, 'latest-recording').textContent).toContain('reached its disk budget'),
    );
  });

  it('says why the last broadcast could not be saved as a video', async () => {
    stubNewestRecording({ refused_reason: 'storage quota exceeded: 250 of 256 bytes in use, this file needs 80 more' });
    mount();
    await vi.waitFor(() =>
      expect(byTestId(panel, 'latest-recording').textContent).toBe(
        'Your last broadcast could not be saved as a video: storage quota exceeded: 250 of 256 bytes in use, this file needs 80 more. The recording is kept on the server for an operator.',
      ),
    );
  });
});

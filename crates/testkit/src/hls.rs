//! Reading HLS the way a player does: master playlist → variant playlists → segments.

use std::time::Duration;

/// A media playlist as a player sees it.
#[derive(Debug, Clone, Default)]
pub struct MediaPlaylist {
    pub media_sequence: u64,
    pub segments: Vec<String>,
    pub ended: bool,
}

impl MediaPlaylist {
    pub fn parse(text: &str) -> Self {
        let mut playlist = Self::default();
        for line in text.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
                playlist.media_sequence = n.parse().unwrap_or(0);
            } else if line == "#EXT-X-ENDLIST" {
                playlist.ended = true;
            } else if !line.is_empty() && !line.starts_with('#') {
                playlist.segments.push(line.to_owned());
            }
        }
        playlist
    }

    /// Sequence number just after the last listed segment: grows while the stream is produced.
    pub fn next_sequence(&self) -> u64 {
        self.media_sequence + self.segments.len() as u64
    }
}

/// Variant playlist URIs of a master playlist (relative to it).
pub fn variants(master: &str) -> Vec<String> {
    master
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `GET base + path`, the body if 200.
pub async fn get_text(client: &reqwest::Client, url: &str) -> Option<String> {
    let response = client.get(url).send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    response.text().await.ok()
}

/// Waits until `{base}/hls/{username}/master.m3u8` names a variant whose playlist lists at least
/// `segments` segments; returns that variant's URI (e.g. `source/index.m3u8`).
pub async fn wait_for_segments(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    segments: usize,
    limit: Duration,
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Some(master) = get_text(client, &format!("{base}/hls/{username}/master.m3u8")).await
        {
            if let Some(variant) = variants(&master).into_iter().next() {
                let url = format!("{base}/hls/{username}/{variant}");
                if let Some(text) = get_text(client, &url).await {
                    if MediaPlaylist::parse(&text).segments.len() >= segments {
                        return Some(variant);
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// The current media playlist of `variant` (e.g. `source/index.m3u8`).
pub async fn playlist(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    variant: &str,
) -> Option<MediaPlaylist> {
    get_text(client, &format!("{base}/hls/{username}/{variant}"))
        .await
        .map(|t| MediaPlaylist::parse(&t))
}

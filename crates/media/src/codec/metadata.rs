//! The few `onMetaData` fields the pipeline uses: picture size (fallback when the SPS cannot be
//! read), declared bit rates (the copied rung's BANDWIDTH) and whether audio is announced.
//!
//! A bounded AMF0 reader: only the top-level object is read, nested values are skipped with a
//! depth cap, and anything malformed just ends the scan (metadata is advisory).

/// Numbers announced by the publisher, all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceMetadata {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub video_kbps: Option<u32>,
    pub audio_kbps: Option<u32>,
    /// `audiocodecid` present: the publisher will send audio.
    pub has_audio: bool,
}

const MAX_DEPTH: usize = 4;

/// Reads `["onMetaData", {...}]` (an optional `@setDataFrame` first string is skipped).
pub fn parse(body: &[u8]) -> SourceMetadata {
    let mut metadata = SourceMetadata::default();
    let mut reader = Reader { data: body, at: 0 };
    // Leading strings: `@setDataFrame` and/or `onMetaData`.
    while reader.peek() == Some(2) {
        if reader.skip_value(0).is_none() {
            return metadata;
        }
    }
    let _ = reader.read_object(&mut metadata);
    metadata
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    fn take(&mut self, count: usize) -> Option<&[u8]> {
        let slice = self.data.get(self.at..self.at.checked_add(count)?)?;
        self.at += count;
        Some(slice)
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Option<usize> {
        let b = self.take(4)?;
        usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()
    }

    fn key(&mut self) -> Option<String> {
        let length = self.u16()?;
        Some(String::from_utf8_lossy(self.take(length)?).into_owned())
    }

    /// The top-level ECMA array or object: records the known keys.
    fn read_object(&mut self, metadata: &mut SourceMetadata) -> Option<()> {
        match self.take(1)?[0] {
            8 => {
                self.u32()?;
            }
            3 => {}
            _ => return None,
        }
        loop {
            let key = self.key()?;
            if key.is_empty() && self.peek() == Some(9) {
                return Some(());
            }
            let number = if self.peek() == Some(0) {
                self.take(1)?;
                let b = self.take(8)?;
                Some(f64::from_be_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            } else {
                self.skip_value(1)?;
                None
            };
            let as_u32 = number
                .filter(|n| n.is_finite() && *n > 0.0 && *n < f64::from(u32::MAX))
                .map(|n| n.round() as u32);
            match key.as_str() {
                "width" => metadata.width = as_u32,
                "height" => metadata.height = as_u32,
                "videodatarate" => metadata.video_kbps = as_u32,
                "audiodatarate" => metadata.audio_kbps = as_u32,
                "audiocodecid" => metadata.has_audio = true,
                _ => {}
            }
        }
    }

    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let marker = self.take(1)?[0];
        match marker {
            0 => self.take(8).map(|_| ()),
            1 => self.take(1).map(|_| ()),
            2 => {
                let length = self.u16()?;
                self.take(length).map(|_| ())
            }
            3 | 8 => {
                if marker == 8 {
                    self.u32()?;
                }
                loop {
                    let key = self.key()?;
                    if key.is_empty() && self.peek() == Some(9) {
                        self.take(1)?;
                        return Some(());
                    }
                    self.skip_value(depth + 1)?;
                }
            }
            5 | 6 => Some(()),
            10 => {
                let count = self.u32()?;
                for _ in 0..count {
                    self.skip_value(depth + 1)?;
                }
                Some(())
            }
            11 => self.take(10).map(|_| ()),
            12 => {
                let length = self.u32()?;
                self.take(length).map(|_| ())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, text: &str) {
        out.push(2);
        out.extend_from_slice(&(text.len() as u16).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    }

    fn key(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(&(text.len() as u16).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    }

    fn number(out: &mut Vec<u8>, name: &str, value: f64) {
        key(out, name);
        out.push(0);
        out.extend_from_slice(&value.to_be_bytes());
    }

    fn obs_like() -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, "@setDataFrame");
        string(&mut out, "onMetaData");
        out.push(8);
        out.extend_from_slice(&5u32.to_be_bytes());
        key(&mut out, "encoder");
        string(&mut out, "obs-output module");
        key(&mut out, "nested");
        out.push(3);
        number(&mut out, "x", 1.0);
        out.extend_from_slice(&[0, 0, 9]);
        number(&mut out, "width", 1280.0);
        number(&mut out, "height", 720.0);
        number(&mut out, "videodatarate", 2500.0);
        number(&mut out, "audiocodecid", 10.0);
        out.extend_from_slice(&[0, 0, 9]);
        out
    }

    #[test]
    fn reads_obs_style_metadata() {
        let metadata = parse(&obs_like());
        assert_eq!(metadata.width, Some(1280));
        assert_eq!(metadata.height, Some(720));
        assert_eq!(metadata.video_kbps, Some(2500));
        assert_eq!(metadata.audio_kbps, None);
        assert!(metadata.has_audio);
    }

    #[test]
    fn truncated_or_hostile_metadata_never_panics() {
        let body = obs_like();
        for cut in 0..body.len() {
            let _ = parse(&body[..cut]);
        }
        // Deeply nested objects stop at the depth cap instead of recursing.
        let mut deep = Vec::new();
        string(&mut deep, "onMetaData");
        deep.push(3);
        for _ in 0..10_000 {
            key(&mut deep, "a");
            deep.push(3);
        }
        assert_eq!(parse(&deep), SourceMetadata::default());
    }
}

//! AAC from RTMP's form to MPEG-TS's form, for the native passthrough rendition.
//!
//! RTMP sends the `AudioSpecificConfig` once and then raw AAC frames; MPEG-TS (stream type 0x0F)
//! carries each frame behind a 7-byte ADTS header that repeats the profile, sample rate and
//! channels (ISO 14496-3 1.A.2). ADTS can only describe object types 1–4 and the 13 indexed
//! sample rates: anything else is refused and the pipeline keeps ffmpeg for that stream.

/// `header_size` + payload must fit ADTS's 13-bit frame length.
const MAX_FRAME: usize = (1 << 13) - 1;
const HEADER_SIZE: usize = 7;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdtsError {
    #[error("AudioSpecificConfig is truncated")]
    Truncated,
    #[error("AAC object type {0} cannot be carried in ADTS")]
    ObjectType(u8),
    #[error("AAC sample rate index {0} cannot be carried in ADTS")]
    SampleRate(u8),
    #[error("AAC frame of {0} bytes is too large for ADTS")]
    FrameTooLarge(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacConfig {
    /// 1 = Main, 2 = LC, 3 = SSR, 4 = LTP.
    pub object_type: u8,
    pub sample_rate_index: u8,
    pub channels: u8,
}

impl AacConfig {
    /// Reads the first two bytes of an `AudioSpecificConfig`.
    pub fn parse(config: &[u8]) -> Result<Self, AdtsError> {
        let [first, second, ..] = *config else {
            return Err(AdtsError::Truncated);
        };
        let object_type = first >> 3;
        let sample_rate_index = ((first & 0x07) << 1) | (second >> 7);
        let channels = (second >> 3) & 0x0f;
        if !(1..=4).contains(&object_type) {
            return Err(AdtsError::ObjectType(object_type));
        }
        if sample_rate_index > 12 {
            return Err(AdtsError::SampleRate(sample_rate_index));
        }
        Ok(Self {
            object_type,
            sample_rate_index,
            channels,
        })
    }

    /// Appends one frame behind its ADTS header (no CRC).
    pub fn frame(self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), AdtsError> {
        let length = HEADER_SIZE + payload.len();
        if length > MAX_FRAME {
            return Err(AdtsError::FrameTooLarge(payload.len()));
        }
        let profile = self.object_type - 1;
        out.reserve(length);
        out.extend_from_slice(&[
            0xff,
            // Sync continues, MPEG-4, layer 0, no CRC.
            0xf1,
            (profile << 6) | (self.sample_rate_index << 2) | (self.channels >> 2),
            ((self.channels & 0x03) << 6) | ((length >> 11) as u8 & 0x03),
            (length >> 3) as u8,
            ((length & 0x07) as u8) << 5 | 0x1f,
            // Buffer fullness 0x7FF (variable rate), one raw data block.
            0xfc,
        ]);
        out.extend_from_slice(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lc_stereo_44100() {
        // 0x12 0x10: object type 2, index 4, 2 channels (what ffmpeg's aac encoder writes).
        let config = AacConfig::parse(&[0x12, 0x10]).expect("valid");
        assert_eq!(
            config,
            AacConfig {
                object_type: 2,
                sample_rate_index: 4,
                channels: 2
            }
        );
    }

    #[test]
    fn writes_the_adts_header_fields() {
        // LC (profile 1), index 3, 2 channels, frame length 369 = 7 + 362, fullness 0x7FF.
        let config = AacConfig::parse(&[0x11, 0x90]).expect("LC 48 kHz stereo");
        let mut out = Vec::new();
        config.frame(&[0u8; 362], &mut out).expect("fits");
        assert_eq!(out[..7], [0xff, 0xf1, 0x4c, 0x80, 0x2e, 0x3f, 0xfc]);
        assert_eq!(out.len(), 369);
    }

    #[test]
    fn refuses_what_adts_cannot_say() {
        assert_eq!(AacConfig::parse(&[0x12]), Err(AdtsError::Truncated));
        // HE-AAC (5) and an explicit sample rate (index 15).
        assert_eq!(
            AacConfig::parse(&[0x2b, 0x92]),
            Err(AdtsError::ObjectType(5))
        );
        assert_eq!(
            AacConfig::parse(&[0x17, 0x80]),
            Err(AdtsError::SampleRate(15))
        );
        let config = AacConfig::parse(&[0x12, 0x10]).expect("valid");
        assert_eq!(
            config.frame(&vec![0; 8185], &mut Vec::new()),
            Err(AdtsError::FrameTooLarge(8185))
        );
    }
}

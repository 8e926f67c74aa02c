//! H.264 from RTMP's form to MPEG-TS's form, for the native passthrough rendition.
//!
//! RTMP carries each picture as NAL units prefixed by their length (ISO 14496-15, "AVCC"), with
//! SPS and PPS sent once in the decoder configuration record. An MPEG-TS elementary stream wants
//! start codes (ITU-T H.264 Annex B), an access unit delimiter first in every access unit, and
//! the parameter sets repeated before each keyframe so every segment decodes on its own.
//! The input is untrusted: every length is checked against what is really there.

const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Access unit delimiter behind its start code, `primary_pic_type` 7 ("any slice type").
const DELIMITER_UNIT: [u8; 6] = [0, 0, 0, 1, 0x09, 0xf0];
const NAL_TYPE_AUD: u8 = 9;
const NAL_TYPE_SPS: u8 = 7;
const NAL_TYPE_PPS: u8 = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnnexBError {
    #[error("AVC decoder configuration record is truncated or malformed")]
    Record,
    #[error("AVC decoder configuration record carries no SPS or no PPS")]
    NoParameterSets,
    #[error("a NAL unit length runs past the end of the picture")]
    Truncated,
}

/// What converting pictures needs from the decoder configuration record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSets {
    /// Bytes of each NAL unit's length prefix (1, 2 or 4).
    pub length_size: usize,
    /// SPS then PPS NAL units, each already behind a start code, ready to repeat.
    pub annex_b: Vec<u8>,
}

impl ParameterSets {
    /// Reads an `AVCDecoderConfigurationRecord` (ISO 14496-15 5.2.4.1).
    pub fn from_record(record: &[u8]) -> Result<Self, AnnexBError> {
        if record.len() < 7 || record[0] != 1 {
            return Err(AnnexBError::Record);
        }
        let length_size = usize::from(record[4] & 0x03) + 1;
        if length_size == 3 {
            return Err(AnnexBError::Record);
        }
        let mut annex_b = Vec::new();
        let mut at = 5;
        let mut counts = [0usize; 2];
        // SPS count is the low 5 bits of its byte; PPS count is a whole byte.
        for (list, mask) in [(0, 0x1f), (1, 0xff)] {
            let count = record.get(at).ok_or(AnnexBError::Record)? & mask;
            at += 1;
            for _ in 0..count {
                let length = record.get(at..at + 2).ok_or(AnnexBError::Record)?;
                let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
                let nal = record
                    .get(at + 2..at + 2 + length)
                    .ok_or(AnnexBError::Record)?;
                annex_b.extend_from_slice(&START_CODE);
                annex_b.extend_from_slice(nal);
                at += 2 + length;
                counts[list] += usize::from(!nal.is_empty());
            }
        }
        if counts.contains(&0) {
            return Err(AnnexBError::NoParameterSets);
        }
        Ok(Self {
            length_size,
            annex_b,
        })
    }

    /// One access unit in Annex B form, as the pieces to write one after the other: a
    /// delimiter, the parameter sets on keyframes (unless the picture carries its own), then the
    /// picture's NAL units, each behind a start code. The picture's own delimiters are dropped,
    /// since one already leads. Pieces rather than one buffer, so that the TS writer copies each
    /// picture once, straight into its packets (a copy into a buffer first was the ingest's
    /// largest `memmove` with hundreds of streams).
    pub fn access_unit<'a>(
        &'a self,
        mut avcc: &'a [u8],
        keyframe: bool,
    ) -> Result<Vec<&'a [u8]>, AnnexBError> {
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(8);
        pieces.push(&DELIMITER_UNIT);
        let mut carries_own = false;
        while !avcc.is_empty() {
            let prefix = avcc.get(..self.length_size).ok_or(AnnexBError::Truncated)?;
            let length = prefix
                .iter()
                .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
            let nal = avcc
                .get(self.length_size..self.length_size + length)
                .ok_or(AnnexBError::Truncated)?;
            avcc = &avcc[self.length_size + length..];
            match nal_type(nal) {
                _ if nal.is_empty() => continue,
                NAL_TYPE_AUD => continue,
                NAL_TYPE_SPS | NAL_TYPE_PPS => carries_own = true,
                _ => {}
            }
            pieces.push(&START_CODE);
            pieces.push(nal);
        }
        if keyframe && !carries_own {
            pieces.insert(1, &self.annex_b);
        }
        Ok(pieces)
    }
}

fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |header| header & 0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPS `67 42 c0 1f`, PPS `68 ce 0f c8`, 4-byte lengths.
    const RECORD: [u8; 19] = [
        1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x0f,
        0xc8,
    ];

    fn sets() -> ParameterSets {
        ParameterSets::from_record(&RECORD).expect("valid record")
    }

    #[test]
    fn reads_length_size_and_parameter_sets() {
        let sets = sets();
        assert_eq!(sets.length_size, 4);
        assert_eq!(
            sets.annex_b,
            [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x0f, 0xc8]
        );
    }

    #[test]
    fn refuses_truncated_or_incomplete_records() {
        for cut in 0..RECORD.len() {
            assert!(ParameterSets::from_record(&RECORD[..cut]).is_err(), "{cut}");
        }
        let mut no_pps = RECORD[..12].to_vec();
        no_pps.push(0);
        assert_eq!(
            ParameterSets::from_record(&no_pps),
            Err(AnnexBError::NoParameterSets)
        );
        let mut three_byte_lengths = RECORD;
        three_byte_lengths[4] = 0xfe;
        assert!(ParameterSets::from_record(&three_byte_lengths).is_err());
    }

    #[test]
    fn keyframes_get_a_delimiter_and_the_parameter_sets() {
        // An IDR slice and an SEI, each behind a 4-byte length.
        let picture = [0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 3, 0x65, 0x88, 0x84];
        let out = sets()
            .access_unit(&picture, true)
            .expect("converted")
            .concat();
        let mut expected = vec![0, 0, 0, 1, 0x09, 0xf0];
        expected.extend_from_slice(&sets().annex_b);
        expected.extend_from_slice(&[0, 0, 0, 1, 0x06, 0x05, 0, 0, 0, 1, 0x65, 0x88, 0x84]);
        assert_eq!(out, expected);
    }

    #[test]
    fn other_pictures_lose_their_own_delimiter_and_get_no_parameter_sets() {
        let picture = [0, 0, 0, 2, 0x09, 0x30, 0, 0, 0, 2, 0x41, 0x9a];
        let out = sets()
            .access_unit(&picture, false)
            .expect("converted")
            .concat();
        assert_eq!(out, [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x41, 0x9a]);
    }

    #[test]
    fn a_keyframe_with_its_own_parameter_sets_is_not_given_a_second_copy() {
        let picture = [
            0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 2, 0x68, 0xce, 0, 0, 0, 2, 0x65, 0x88,
        ];
        let out = sets()
            .access_unit(&picture, true)
            .expect("converted")
            .concat();
        assert_eq!(out.windows(2).filter(|w| *w == [0x67, 0x42]).count(), 1);
    }

    #[test]
    fn lengths_past_the_end_are_refused() {
        for picture in [&[0, 0, 0, 9, 0x65][..], &[0, 0][..], &[0, 0, 0, 1][..]] {
            assert_eq!(
                sets().access_unit(picture, true),
                Err(AnnexBError::Truncated)
            );
        }
    }
}

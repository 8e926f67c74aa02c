//! H.264 facts the media pipeline needs from the source: the AVC decoder configuration record
//! that RTMP publishers send as the first video packet, and the sequence parameter set inside it.
//!
//! Width and height decide the ladder, and profile/constraints/level become the `avc1.PPCCLL`
//! CODECS attribute of the copied rung, which ffmpeg leaves out of its own master playlist.
//! The parser reads untrusted bytes: every read is bounds-checked and loop counts are capped.

/// What the pipeline knows about an H.264 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvcInfo {
    pub profile_idc: u8,
    /// The byte of `constraint_set0..5` flags (plus reserved bits) that follows `profile_idc`.
    pub constraints: u8,
    pub level_idc: u8,
    pub width: u32,
    pub height: u32,
}

impl AvcInfo {
    /// The RFC 6381 codec string used in `CODECS=` (e.g. `avc1.64001f`).
    pub fn codecs(&self) -> String {
        avc_codecs(self.profile_idc, self.constraints, self.level_idc)
    }
}

/// `avc1.PPCCLL` from the three bytes after the SPS NAL header.
pub fn avc_codecs(profile_idc: u8, constraints: u8, level_idc: u8) -> String {
    format!("avc1.{profile_idc:02x}{constraints:02x}{level_idc:02x}")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AvcError {
    #[error("AVC decoder configuration record is truncated or malformed")]
    Record,
    #[error("AVC decoder configuration record carries no SPS")]
    NoSps,
    #[error("SPS is truncated or malformed")]
    Sps,
    #[error("SPS describes an implausible picture size")]
    Size,
}

/// Parses an `AVCDecoderConfigurationRecord` (ISO 14496-15 5.2.4.1) and its first SPS.
pub fn parse_decoder_config(record: &[u8]) -> Result<AvcInfo, AvcError> {
    // version(1) profile(1) compat(1) level(1) lengthSize(1) numSps(1) then u16 length + SPS.
    if record.len() < 8 || record[0] != 1 {
        return Err(AvcError::Record);
    }
    if record[5] & 0x1f == 0 {
        return Err(AvcError::NoSps);
    }
    let length = usize::from(u16::from_be_bytes([record[6], record[7]]));
    let sps = record.get(8..8 + length).ok_or(AvcError::Record)?;
    parse_sps(sps)
}

/// Parses an SPS NAL unit (header byte included) far enough to know the cropped picture size.
pub fn parse_sps(nal: &[u8]) -> Result<AvcInfo, AvcError> {
    if nal.first().map(|b| b & 0x1f) != Some(7) {
        return Err(AvcError::Sps);
    }
    let rbsp = unescape(&nal[1..]);
    let mut bits = BitReader::new(&rbsp);
    let profile_idc = bits.u8()?;
    let constraints = bits.u8()?;
    let level_idc = bits.u8()?;
    let _sps_id = bits.ue()?;

    let mut chroma_format_idc = 1;
    let mut separate_colour_plane = false;
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = bits.ue()?;
        if chroma_format_idc == 3 {
            separate_colour_plane = bits.flag()?;
        }
        let _bit_depth_luma = bits.ue()?;
        let _bit_depth_chroma = bits.ue()?;
        let _qpprime_y_zero_transform_bypass = bits.flag()?;
        if bits.flag()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for index in 0..lists {
                if bits.flag()? {
                    skip_scaling_list(&mut bits, if index < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    let _log2_max_frame_num = bits.ue()?;
    match bits.ue()? {
        0 => {
            let _log2_max_poc_lsb = bits.ue()?;
        }
        1 => {
            let _delta_pic_order_always_zero = bits.flag()?;
            let _offset_for_non_ref_pic = bits.se()?;
            let _offset_for_top_to_bottom_field = bits.se()?;
            let cycle = bits.ue()?;
            if cycle > 255 {
                return Err(AvcError::Sps);
            }
            for _ in 0..cycle {
                let _offset_for_ref_frame = bits.se()?;
            }
        }
        2 => {}
        _ => return Err(AvcError::Sps),
    }
    let _max_num_ref_frames = bits.ue()?;
    let _gaps_allowed = bits.flag()?;
    let width_mbs = u64::from(bits.ue()?) + 1;
    let height_map_units = u64::from(bits.ue()?) + 1;
    let frame_mbs_only = bits.flag()?;
    if !frame_mbs_only {
        let _mb_adaptive_frame_field = bits.flag()?;
    }
    let _direct_8x8_inference = bits.flag()?;
    let (mut left, mut right, mut top, mut bottom) = (0u64, 0u64, 0u64, 0u64);
    if bits.flag()? {
        left = bits.ue()?.into();
        right = bits.ue()?.into();
        top = bits.ue()?.into();
        bottom = bits.ue()?.into();
    }

    // Cropping is counted in chroma samples (H.264 7.4.2.1.1, CropUnitX/CropUnitY).
    let field_factor = if frame_mbs_only { 1 } else { 2 };
    let chroma_array_type = if separate_colour_plane {
        0
    } else {
        chroma_format_idc
    };
    let (crop_x, crop_y) = match chroma_array_type {
        0 => (1, field_factor),
        1 => (2, 2 * field_factor),
        2 => (2, field_factor),
        _ => (1, field_factor),
    };
    let full_width = width_mbs * 16;
    let full_height = height_map_units * 16 * field_factor;
    let width = full_width
        .checked_sub(crop_x * (left + right))
        .ok_or(AvcError::Size)?;
    let height = full_height
        .checked_sub(crop_y * (top + bottom))
        .ok_or(AvcError::Size)?;
    // 8192x8192 covers every real encoder; anything larger is garbage or an attack on memory.
    if width == 0 || height == 0 || width > 8192 || height > 8192 {
        return Err(AvcError::Size);
    }
    Ok(AvcInfo {
        profile_idc,
        constraints,
        level_idc,
        width: u32::try_from(width).map_err(|_| AvcError::Size)?,
        height: u32::try_from(height).map_err(|_| AvcError::Size)?,
    })
}

fn skip_scaling_list(bits: &mut BitReader<'_>, size: usize) -> Result<(), AvcError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = i64::from(bits.se()?);
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Removes emulation prevention bytes (`00 00 03` → `00 00`).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &byte in data {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

/// An MSB-first bit reader over RBSP bytes.
struct BitReader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, position: 0 }
    }

    fn flag(&mut self) -> Result<bool, AvcError> {
        let byte = self.data.get(self.position / 8).ok_or(AvcError::Sps)?;
        let bit = (byte >> (7 - self.position % 8)) & 1;
        self.position += 1;
        Ok(bit == 1)
    }

    fn bits(&mut self, count: u32) -> Result<u32, AvcError> {
        let mut value = 0u32;
        for _ in 0..count {
            value = (value << 1) | u32::from(self.flag()?);
        }
        Ok(value)
    }

    fn u8(&mut self) -> Result<u8, AvcError> {
        u8::try_from(self.bits(8)?).map_err(|_| AvcError::Sps)
    }

    /// Exp-Golomb unsigned; more than 31 leading zeros cannot be a valid SPS field.
    fn ue(&mut self) -> Result<u32, AvcError> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros > 31 {
                return Err(AvcError::Sps);
            }
        }
        let rest = self.bits(zeros)?;
        ((1u64 << zeros) - 1 + u64::from(rest))
            .try_into()
            .map_err(|_| AvcError::Sps)
    }

    fn se(&mut self) -> Result<i32, AvcError> {
        let value = i64::from(self.ue()?);
        let signed = if value % 2 == 1 {
            (value + 1) / 2
        } else {
            -(value / 2)
        };
        i32::try_from(signed).map_err(|_| AvcError::Sps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records copied from FLV files that ffmpeg 5.1 / x264 wrote (the bytes after `17 00 00 00 00`).
    const RECORD_720P_BASELINE: &str =
        "0142c01fffe100176742c01fda014016ec0440000003004000000f03c60ca801000468ce0fc8";
    const RECORD_1080P_HIGH: &str = "01640028ffe1001b67640028acd940780227e5c044000003000400000300f03c60c65801000468ef8fcbfdf8f800";
    const RECORD_360P_BASELINE: &str =
        "0142c01effe100196742c01eda0280bfe5c044000003000400000300f03c58ba8001000468ce0fc8";

    #[test]
    fn parses_720p_constrained_baseline_record() {
        let info =
            parse_decoder_config(&hex::decode(RECORD_720P_BASELINE).expect("hex")).expect("valid");
        assert_eq!((info.width, info.height), (1280, 720));
        assert_eq!(info.codecs(), "avc1.42c01f");
    }

    #[test]
    fn parses_1080p_high_record_with_cropping() {
        // 1080 is not a multiple of 16: the SPS codes 1088 rows and crops 8.
        let info =
            parse_decoder_config(&hex::decode(RECORD_1080P_HIGH).expect("hex")).expect("valid");
        assert_eq!((info.width, info.height), (1920, 1080));
        assert_eq!(info.codecs(), "avc1.640028");
    }

    #[test]
    fn parses_360p_record() {
        let info =
            parse_decoder_config(&hex::decode(RECORD_360P_BASELINE).expect("hex")).expect("valid");
        assert_eq!((info.width, info.height), (640, 360));
        assert_eq!(info.codecs(), "avc1.42c01e");
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let record = hex::decode(RECORD_1080P_HIGH).expect("hex");
        for cut in 0..record.len() - 8 {
            let _ = parse_decoder_config(&record[..cut]);
        }
        assert_eq!(parse_decoder_config(&[]), Err(AvcError::Record));
        assert_eq!(
            parse_decoder_config(&record[..20]),
            Err(AvcError::Record),
            "SPS length runs past the end"
        );
    }

    #[test]
    fn record_without_sps_is_rejected() {
        assert_eq!(
            parse_decoder_config(&[1, 0x64, 0, 0x28, 0xff, 0xe0, 0, 0]),
            Err(AvcError::NoSps)
        );
    }

    #[test]
    fn non_sps_nal_is_rejected() {
        assert_eq!(parse_sps(&[0x68, 0xce]), Err(AvcError::Sps));
        assert_eq!(
            parse_sps(&[0x67, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
            Err(AvcError::Sps)
        );
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }
}

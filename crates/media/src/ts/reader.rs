//! Reads the H.264 profile and level from the first MPEG-TS segment of a transcoded rendition.
//!
//! x264 picks the profile from its preset (ultrafast yields Constrained Baseline whatever
//! `-profile` says) and the level from size, rate and bitrate, so the only reliable `CODECS`
//! value is the one in the SPS it actually wrote. This finds the H.264 elementary stream via
//! PAT/PMT, reassembles the start of its first PES packet, and reads the SPS's first bytes.

const PACKET: usize = 188;
/// The SPS sits right after the access unit delimiter at the start of the keyframe's PES.
const PES_BYTES_NEEDED: usize = 4096;

/// `(profile_idc, constraint flags, level_idc)` of the first SPS in `segment`.
pub fn first_sps(segment: &[u8]) -> Option<(u8, u8, u8)> {
    let mut pmt_pid = None;
    let mut video_pid = None;
    let mut pes: Vec<u8> = Vec::new();
    let mut in_pes = false;
    for packet in segment.chunks_exact(PACKET) {
        if packet[0] != 0x47 {
            return None;
        }
        let pid = (u16::from(packet[1] & 0x1f) << 8) | u16::from(packet[2]);
        let unit_start = packet[1] & 0x40 != 0;
        let Some(payload) = payload(packet) else {
            continue;
        };
        if pid == 0 && unit_start {
            pmt_pid = pmt_pid.or_else(|| program_map_pid(payload));
        } else if Some(pid) == pmt_pid && unit_start && video_pid.is_none() {
            video_pid = h264_pid(payload);
        } else if Some(pid) == video_pid {
            if unit_start {
                if in_pes {
                    break;
                }
                in_pes = true;
                let header = 9 + usize::from(*payload.get(8)?);
                pes.extend_from_slice(payload.get(header..)?);
            } else if in_pes {
                pes.extend_from_slice(payload);
            }
            if pes.len() >= PES_BYTES_NEEDED {
                break;
            }
        }
    }
    sps_bytes(&pes)
}

/// The payload of a TS packet, after the adaptation field if any.
fn payload(packet: &[u8]) -> Option<&[u8]> {
    let control = (packet[3] >> 4) & 0x3;
    match control {
        1 => packet.get(4..),
        3 => packet.get(5 + usize::from(packet[4])..),
        _ => None,
    }
}

/// A PSI section after its pointer field.
fn section(payload: &[u8]) -> Option<&[u8]> {
    let pointer = usize::from(*payload.first()?);
    let section = payload.get(1 + pointer..)?;
    let length = (usize::from(section.get(1)? & 0x0f) << 8) | usize::from(*section.get(2)?);
    // Up to but excluding the CRC.
    section.get(..(3 + length).checked_sub(4)?)
}

fn program_map_pid(payload: &[u8]) -> Option<u16> {
    let section = section(payload)?;
    // Program loop after the 8-byte header: program_number(2) + PID(2); program 0 is the NIT.
    section.get(8..)?.chunks_exact(4).find_map(|entry| {
        let program = u16::from_be_bytes([entry[0], entry[1]]);
        (program != 0).then(|| (u16::from(entry[2] & 0x1f) << 8) | u16::from(entry[3]))
    })
}

fn h264_pid(payload: &[u8]) -> Option<u16> {
    let section = section(payload)?;
    let info_length = (usize::from(section.get(10)? & 0x0f) << 8) | usize::from(*section.get(11)?);
    let mut at = 12 + info_length;
    while let Some(entry) = section.get(at..at + 5) {
        let pid = (u16::from(entry[1] & 0x1f) << 8) | u16::from(entry[2]);
        if entry[0] == 0x1b {
            return Some(pid);
        }
        at += 5 + ((usize::from(entry[3] & 0x0f) << 8) | usize::from(entry[4]));
    }
    None
}

/// The three bytes after the header of the first SPS NAL unit in an Annex B byte stream.
fn sps_bytes(stream: &[u8]) -> Option<(u8, u8, u8)> {
    stream.windows(7).find_map(|w| {
        (w[0] == 0 && w[1] == 0 && w[2] == 1 && w[3] & 0x1f == 7).then_some((w[4], w[5], w[6]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-frame 64x64 segment written by ffmpeg 5.1 (libx264 ultrafast, mpegts muxer).
    const SEGMENT: &[u8] = include_bytes!("testdata/x264_ultrafast_64x64.ts");

    #[test]
    fn reads_profile_and_level_of_an_ffmpeg_segment() {
        // Constrained Baseline, level 1.0 for a tiny picture.
        assert_eq!(first_sps(SEGMENT), Some((0x42, 0xc0, 0x0a)));
    }

    #[test]
    fn garbage_and_truncation_give_none_not_panics() {
        assert_eq!(first_sps(&[0u8; 188 * 4]), None);
        for cut in (0..SEGMENT.len()).step_by(61) {
            let _ = first_sps(&SEGMENT[..cut]);
        }
        let mut corrupted = SEGMENT.to_vec();
        for byte in corrupted.iter_mut().skip(5).step_by(7) {
            *byte ^= 0x5a;
        }
        let _ = first_sps(&corrupted);
    }

    #[test]
    fn finds_sps_in_annex_b() {
        assert_eq!(
            sps_bytes(&[0, 0, 0, 1, 9, 0xf0, 0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0xac]),
            Some((0x64, 0, 0x1f))
        );
    }
}

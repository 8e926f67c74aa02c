//! MPEG-TS packetisation for the native passthrough rendition, on the `mpeg2ts` crate: PAT and
//! PMT at the start of every segment (so each segment stands alone), one PES per video access
//! unit and per AAC frame, PCR on the video PID carried by every video PES (≥ 30 a second,
//! well inside the 100 ms the standard asks), and the random-access flag on keyframes. Only
//! continuation packets that their payload fills are written by hand (see
//! `write_full_continuation`). Pure: bytes in, bytes out.

use mpeg2ts::{
    es::{StreamId, StreamType},
    pes::PesHeader,
    time::{ClockReference, Timestamp},
    ts::{
        payload::{Bytes as Payload, Pat, Pes, Pmt},
        AdaptationField, ContinuityCounter, EsInfo, Pid, ProgramAssociation,
        TransportScramblingControl, TsHeader, TsPacket, TsPacketWriter, TsPayload, VersionNumber,
        WriteTsPacket,
    },
};

/// The PIDs ffmpeg's mpegts muxer uses, so segments of every rung look alike to players.
const PMT_PID: u16 = 0x1000;
const VIDEO_PID: u16 = 0x100;
const AUDIO_PID: u16 = 0x101;
const PROGRAM: u16 = 1;
/// TS payload bytes per packet.
const PAYLOAD: usize = TsPacket::SIZE - 4;
/// PES header bytes before the data: start code, stream id, length, flags, header length.
const PES_FIXED_HEADER: usize = 9;
const TIMESTAMP_BYTES: usize = 5;
/// Adaptation field with only its flags byte (random access), and with a PCR added.
const ADAPTATION_FLAGS: usize = 2;
const ADAPTATION_PCR: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("MPEG-TS packetisation failed: {0}")]
pub struct TsWriteError(String);

impl From<mpeg2ts::Error> for TsWriteError {
    fn from(error: mpeg2ts::Error) -> Self {
        Self(error.to_string())
    }
}

/// One program with H.264 video and optional ADTS AAC; keeps continuity counters across
/// segments so a player reading them back to back sees one unbroken stream.
#[derive(Debug)]
pub struct TsWriter {
    has_audio: bool,
    pat: ContinuityCounter,
    pmt: ContinuityCounter,
    video: ContinuityCounter,
    audio: ContinuityCounter,
}

/// One elementary stream access unit, timestamps in 90 kHz units.
pub struct Unit<'a> {
    pub pts: u64,
    pub dts: u64,
    pub keyframe: bool,
    /// The access unit's bytes, in pieces to be written one after the other.
    pub data: &'a [&'a [u8]],
}

impl TsWriter {
    pub fn new(has_audio: bool) -> Self {
        Self {
            has_audio,
            pat: ContinuityCounter::new(),
            pmt: ContinuityCounter::new(),
            video: ContinuityCounter::new(),
            audio: ContinuityCounter::new(),
        }
    }

    /// PAT and PMT: what a segment must start with.
    pub fn tables(&mut self, out: &mut Vec<u8>) -> Result<(), TsWriteError> {
        let pat = Pat {
            transport_stream_id: 1,
            version_number: VersionNumber::new(),
            table: vec![ProgramAssociation {
                program_num: PROGRAM,
                program_map_pid: pid(PMT_PID)?,
            }],
        };
        let mut es_info = vec![EsInfo {
            stream_type: StreamType::H264,
            elementary_pid: pid(VIDEO_PID)?,
            descriptors: Vec::new(),
        }];
        if self.has_audio {
            es_info.push(EsInfo {
                stream_type: StreamType::AdtsAac,
                elementary_pid: pid(AUDIO_PID)?,
                descriptors: Vec::new(),
            });
        }
        let pmt = Pmt {
            program_num: PROGRAM,
            pcr_pid: Some(pid(VIDEO_PID)?),
            version_number: VersionNumber::new(),
            program_info: Vec::new(),
            es_info,
        };
        let pat_header = header(0, &mut self.pat)?;
        let pmt_header = header(PMT_PID, &mut self.pmt)?;
        write(out, pat_header, None, TsPayload::Pat(pat))?;
        write(out, pmt_header, None, TsPayload::Pmt(pmt))
    }

    /// One video access unit (Annex B), with the PCR and, on keyframes, the random-access flag.
    pub fn video(&mut self, unit: &Unit<'_>, out: &mut Vec<u8>) -> Result<(), TsWriteError> {
        let adaptation = AdaptationField {
            discontinuity_indicator: false,
            random_access_indicator: unit.keyframe,
            es_priority_indicator: false,
            pcr: Some(ClockReference::new(timestamp(unit.dts).as_u64() * 300)?),
            opcr: None,
            splice_countdown: None,
            transport_private_data: Vec::new(),
            extension: None,
        };
        let stream = StreamId::new_video(StreamId::VIDEO_MIN)?;
        let dts = (unit.dts != unit.pts).then(|| timestamp(unit.dts));
        // Video PES may leave the length open (0): access units often exceed 64 KiB.
        pes(
            out,
            VIDEO_PID,
            &mut self.video,
            stream,
            (timestamp(unit.pts), dts),
            Some(adaptation),
            Pieces::new(unit.data),
            false,
        )
    }

    /// One ADTS frame (or several, back to back) presented at `pts`.
    pub fn audio(&mut self, pts: u64, data: &[u8], out: &mut Vec<u8>) -> Result<(), TsWriteError> {
        let stream = StreamId::new_audio(StreamId::AUDIO_MIN)?;
        pes(
            out,
            AUDIO_PID,
            &mut self.audio,
            stream,
            (timestamp(pts), None),
            None,
            Pieces::new(&[data]),
            true,
        )
    }
}

/// Splits one PES packet over as many TS packets as it takes; the crate pads the last one.
#[allow(clippy::too_many_arguments)]
fn pes(
    out: &mut Vec<u8>,
    pid_value: u16,
    counter: &mut ContinuityCounter,
    stream_id: StreamId,
    (pts, dts): (Timestamp, Option<Timestamp>),
    adaptation: Option<AdaptationField>,
    mut data: Pieces<'_>,
    bounded: bool,
) -> Result<(), TsWriteError> {
    let header_bytes = PES_FIXED_HEADER + TIMESTAMP_BYTES * (1 + usize::from(dts.is_some()));
    let packet_len = if bounded {
        u16::try_from(header_bytes - 6 + data.remaining())
            .map_err(|_| TsWriteError(format!("audio PES of {} bytes", data.remaining())))?
    } else {
        0
    };
    let adaptation_bytes = match &adaptation {
        Some(field) if field.pcr.is_some() => ADAPTATION_PCR,
        Some(_) => ADAPTATION_FLAGS,
        None => 0,
    };
    let mut staged = [0; PAYLOAD];
    let first = data.stage(PAYLOAD - header_bytes - adaptation_bytes, &mut staged);
    let start = Pes {
        header: PesHeader {
            stream_id,
            priority: false,
            data_alignment_indicator: true,
            copyright: false,
            original_or_copy: false,
            pts: Some(pts),
            dts,
            escr: None,
        },
        pes_packet_len: packet_len,
        data: Payload::new(first)?,
    };
    let first_header = header(pid_value, counter)?;
    write(out, first_header, adaptation, TsPayload::PesStart(start))?;
    let continuation_pid = pid(pid_value)?;
    while data.remaining() >= PAYLOAD {
        write_full_continuation(out, continuation_pid, counter, &mut data);
    }
    if data.remaining() > 0 {
        // The crate pads the short last packet with an adaptation field.
        let last = data.stage(PAYLOAD, &mut staged);
        let last_header = header(pid_value, counter)?;
        write(
            out,
            last_header,
            None,
            TsPayload::PesContinuation(Payload::new(last)?),
        )?;
    }
    Ok(())
}

/// A continuation packet whose payload fills it (most packets of a video PES): its four header
/// bytes and the next [`PAYLOAD`] bytes of `data`, straight into `out`. Through the crate, each
/// such packet copied its payload three times in small pieces (into the payload type, a staging
/// buffer, the output), which made the packetiser the ingest's largest user-space cost with
/// hundreds of streams (perf). The crate keeps every packet with an adaptation field or padding; a
/// test checks this one byte for byte against it.
fn write_full_continuation(
    out: &mut Vec<u8>,
    pid: Pid,
    counter: &mut ContinuityCounter,
    data: &mut Pieces<'_>,
) {
    // Not scrambled (00), payload only (01), then the 4-bit continuity counter.
    const PAYLOAD_ONLY: u8 = 0b0001_0000;
    let [pid_high, pid_low] = pid.as_u16().to_be_bytes();
    out.reserve(TsPacket::SIZE);
    out.extend_from_slice(&[
        TsPacket::SYNC_BYTE,
        pid_high,
        pid_low,
        PAYLOAD_ONLY | counter.as_u8(),
    ]);
    data.take(PAYLOAD, |bytes| out.extend_from_slice(bytes));
    counter.increment();
}

/// Bytes given as pieces (an access unit's start codes, parameter sets and NAL units), read as
/// one run: each byte is copied once, into the packet that carries it.
struct Pieces<'a> {
    current: &'a [u8],
    next: &'a [&'a [u8]],
    remaining: usize,
}

impl<'a> Pieces<'a> {
    fn new(pieces: &'a [&'a [u8]]) -> Self {
        Self {
            current: &[],
            next: pieces,
            remaining: pieces.iter().map(|piece| piece.len()).sum(),
        }
    }

    fn remaining(&self) -> usize {
        self.remaining
    }

    /// Copies the next `count` bytes (or all that are left) into `staged`: the part of a packet
    /// the crate writes. Returns them.
    fn stage<'s>(&mut self, count: usize, staged: &'s mut [u8; PAYLOAD]) -> &'s [u8] {
        let mut filled = 0;
        self.take(count.min(PAYLOAD), |bytes| {
            staged[filled..filled + bytes.len()].copy_from_slice(bytes);
            filled += bytes.len();
        });
        &staged[..filled]
    }

    /// Hands the next `count` bytes (or all that are left) to `sink`, as many slices as pieces
    /// they span.
    fn take(&mut self, mut count: usize, mut sink: impl FnMut(&[u8])) {
        while count > 0 {
            if self.current.is_empty() {
                let Some((first, rest)) = self.next.split_first() else {
                    return;
                };
                self.current = first;
                self.next = rest;
                continue;
            }
            let (taken, left) = self.current.split_at(count.min(self.current.len()));
            sink(taken);
            self.current = left;
            count -= taken.len();
            self.remaining -= taken.len();
        }
    }
}

fn write(
    out: &mut Vec<u8>,
    header: TsHeader,
    adaptation_field: Option<AdaptationField>,
    payload: TsPayload,
) -> Result<(), TsWriteError> {
    let packet = TsPacket {
        header,
        adaptation_field,
        payload: Some(payload),
    };
    out.reserve(TsPacket::SIZE);
    TsPacketWriter::new(out).write_ts_packet(&packet)?;
    Ok(())
}

/// A header with the PID's next continuity counter value.
fn header(pid_value: u16, counter: &mut ContinuityCounter) -> Result<TsHeader, TsWriteError> {
    let header = TsHeader {
        transport_error_indicator: false,
        transport_priority: false,
        pid: pid(pid_value)?,
        transport_scrambling_control: TransportScramblingControl::NotScrambled,
        continuity_counter: *counter,
    };
    counter.increment();
    Ok(header)
}

fn pid(value: u16) -> Result<Pid, TsWriteError> {
    Ok(Pid::new(value)?)
}

/// MPEG-TS timestamps are 33 bits and wrap (every ≈ 26.5 h).
fn timestamp(ticks: u64) -> Timestamp {
    Timestamp::new(ticks & Timestamp::MAX).unwrap_or_else(|_| unreachable!("masked to 33 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(bytes: &[u8]) -> Vec<&[u8]> {
        assert_eq!(bytes.len() % TsPacket::SIZE, 0, "whole packets");
        bytes.chunks(TsPacket::SIZE).collect()
    }

    fn pid_of(packet: &[u8]) -> u16 {
        (u16::from(packet[1] & 0x1f) << 8) | u16::from(packet[2])
    }

    #[test]
    fn tables_name_the_video_and_audio_streams() {
        let mut out = Vec::new();
        TsWriter::new(true).tables(&mut out).expect("tables");
        let packets = packets(&out);
        assert_eq!(packets.len(), 2);
        assert_eq!(pid_of(packets[0]), 0);
        assert_eq!(pid_of(packets[1]), PMT_PID);
        // The PMT lists stream type 0x1B on 0x100 and 0x0F on 0x101.
        assert!(packets[1].windows(3).any(|w| w == [0x1b, 0xe1, 0x00]));
        assert!(packets[1].windows(3).any(|w| w == [0x0f, 0xe1, 0x01]));
    }

    #[test]
    fn a_large_access_unit_spans_packets_with_counters_and_one_start() {
        let mut writer = TsWriter::new(false);
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        let unit = Unit {
            pts: 133_500,
            dts: 126_000,
            keyframe: true,
            data: &[&data],
        };
        writer.video(&unit, &mut out).expect("written");
        let packets = packets(&out);
        assert!(packets
            .iter()
            .all(|p| p[0] == 0x47 && pid_of(p) == VIDEO_PID));
        let starts = packets.iter().filter(|p| p[1] & 0x40 != 0).count();
        assert_eq!(starts, 1);
        let counters: Vec<u8> = packets.iter().map(|p| p[3] & 0x0f).collect();
        let expected: Vec<u8> = (0..packets.len()).map(|i| (i % 16) as u8).collect();
        assert_eq!(counters, expected);
        // Adaptation field with random access and PCR flags on the first packet.
        assert_eq!(packets[0][3] & 0x30, 0x30);
        assert_eq!(packets[0][5] & 0x50, 0x50);
        // Every data byte is there, in order, after the headers and stuffing.
        let tail = &packets.last().expect("packets")[TsPacket::SIZE - 8..];
        assert_eq!(tail, &data[data.len() - 8..]);
    }

    #[test]
    fn where_an_access_unit_is_cut_into_pieces_does_not_change_a_byte() {
        let data: Vec<u8> = (0..7000u32).map(|i| (i * 31) as u8).collect();
        let write_in = |pieces: &[&[u8]]| {
            let mut out = Vec::new();
            let unit = Unit {
                pts: 133_500,
                dts: 126_000,
                keyframe: true,
                data: pieces,
            };
            TsWriter::new(true).video(&unit, &mut out).expect("written");
            out
        };
        let whole = write_in(&[&data]);
        // Cuts inside the first packet, across packet boundaries, empty pieces, a 1-byte piece.
        let cuts = [6, 6, 22, 170, 171, 184 * 3 + 5, 4000, 6999];
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut at = 0;
        for cut in cuts {
            pieces.push(&data[at..cut]);
            at = cut;
        }
        pieces.push(&data[at..]);
        assert_eq!(write_in(&pieces), whole);
    }

    #[test]
    fn a_full_continuation_packet_is_what_the_crate_writes() {
        let chunk: [u8; PAYLOAD] = std::array::from_fn(|i| (i * 7) as u8);
        for start in [0, 9, 15] {
            let mut by_crate = ContinuityCounter::from_u8(start).expect("counter");
            let mut by_hand = by_crate;
            let mut expected = Vec::new();
            let crate_header = header(VIDEO_PID, &mut by_crate).expect("header");
            let payload = TsPayload::PesContinuation(Payload::new(&chunk).expect("payload"));
            write(&mut expected, crate_header, None, payload).expect("written");
            let mut out = Vec::new();
            let video = pid(VIDEO_PID).expect("pid");
            let (front, back) = chunk.split_at(50);
            let split = [front, &[], back];
            let mut pieces = Pieces::new(&split);
            write_full_continuation(&mut out, video, &mut by_hand, &mut pieces);
            assert_eq!(pieces.remaining(), 0);
            assert_eq!(out, expected, "counter {start}");
            assert_eq!(by_hand, by_crate);
        }
    }

    #[test]
    fn audio_pes_carries_its_exact_length_and_pts_only() {
        let mut out = Vec::new();
        TsWriter::new(true)
            .audio(90_000, &[0xff; 300], &mut out)
            .expect("written");
        let packets = packets(&out);
        assert_eq!(packets.len(), 2);
        assert!(packets.iter().all(|p| pid_of(p) == AUDIO_PID));
        // No adaptation field on the first packet: the PES starts right after the header.
        let pes = &packets[0][4..];
        assert_eq!(pes[..4], [0, 0, 1, 0xc0]);
        assert_eq!(u16::from_be_bytes([pes[4], pes[5]]), 3 + 5 + 300);
        assert_eq!(pes[7] & 0xc0, 0x80, "PTS only");
    }
}

//! Codec and container parsing and writing for what RTMP and FLV carry: the FLV container
//! ([`flv`] writes and classifies, [`flv_reader`] reads a stream back), H.264 ([`avc`] reads the
//! decoder configuration and SPS, [`annexb`] converts to Annex B), AAC ([`adts`]) and the
//! `onMetaData` script tag ([`metadata`]).

pub mod adts;
pub mod annexb;
pub mod avc;
pub mod flv;
pub mod flv_reader;
pub mod metadata;

//! Video on demand: the pure half of the worker that turns an uploaded file into a packaged,
//! adaptive stream. Nothing here runs a process or touches a file; the worker feeds in ffprobe's
//! report and its own scratch paths, and gets back plans, argv vectors and text to write.
//!
//! - [`probe`]: ffprobe's JSON report, typed and bounded.
//! - [`limits`]: what is accepted, and a reason a person can act on when not.
//! - [`plan`](mod@plan): the renditions of a file (the live ladder, rotation honoured) and fast start.
//! - [`argv`]: ffmpeg command lines for file input — rungs, the source copy, audio, poster,
//!   thumbnail sprites — and the thumbnails' WebVTT.
//! - [`package`]: Shaka Packager's command line (CMAF, HLS + DASH, optional cbcs with the key in a
//!   flag file, never in argv), the HLS key-line rewrite for hls.js and the ClearKey licence.
//! - [`master`]: the HLS master playlist for the rungs finished so far.
//!
//! A job, in the worker's order:
//!
//! 1. Run [`argv::probe`]; [`Probe::parse`] its stdout (ffprobe printing `{}` and exiting 1 means
//!    "not media": still parse it, [`check`] says why).
//! 2. [`check`] against [`Limits`]: a [`Refusal`]'s `Display` is the job's `FAILED` reason.
//!    Then set `keyframe_gap` from [`argv::keyframes`] and [`probe::longest_keyframe_gap`].
//! 3. [`plan()`] with [`PlanOptions`]; `transcode_reasons` say why the source is not copied.
//! 4. Fast start (`copy_source`): run [`argv::copy_source`], package the copy and the audio
//!    ([`package::Package`] with `mpd: None`), write [`master::render`] of what
//!    [`master::read_packager_master`] found: the video plays. Otherwise [`argv::audio`] first.
//! 5. Each encoded rung in plan order ([`argv::encode_rung`], percent from
//!    [`argv::progress_percent`]), package it alone, re-render the master with it.
//! 6. [`argv::poster`], [`argv::sprites`] (from the smallest rung), [`argv::thumbnails_vtt`].
//! 7. One packager run over every stream with the `.mpd`; with a key, the same flag file (same
//!    IV) so segments already served stay byte-identical. For hls.js, serve
//!    [`package::clearkey_hls`] variants of the media playlists beside the originals, and
//!    [`package::clearkey_licence`] to allowed viewers.
//!
//! Dependencies point one way: `limits` reads `probe`, `plan` reads `limits`, `argv` and
//! `package` read `plan`, `master` reads `plan` and `package`.

pub mod argv;
pub mod limits;
pub mod master;
pub mod package;
pub mod plan;
pub mod probe;

pub use limits::{check, Limits, Refusal, Source};
pub use plan::{plan, PlanOptions, VodPlan};
pub use probe::Probe;

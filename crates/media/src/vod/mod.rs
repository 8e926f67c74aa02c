//! Video on demand: the pure half of the worker that turns an uploaded file into a packaged,
//! adaptive stream. Nothing here runs a process or touches a file; the worker feeds in ffprobe's
//! report and its own scratch paths, and gets back plans, argv vectors and text to write.
//!
//! - [`probe`]: ffprobe's JSON report, typed and bounded.
//! - [`limits`]: what is accepted, and a reason a person can act on when not.
//! - [`plan`]: the renditions of a file (the live ladder, rotation honoured) and fast start.
//! - [`argv`]: ffmpeg command lines for file input — rungs, the source copy, audio, poster,
//!   thumbnail sprites — and the thumbnails' WebVTT.
//! - [`package`]: Shaka Packager's command line (CMAF, HLS + DASH, optional cbcs with the key in a
//!   flag file, never in argv), the HLS key-line rewrite for hls.js and the ClearKey licence.
//! - [`master`]: the HLS master playlist for the rungs finished so far.
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

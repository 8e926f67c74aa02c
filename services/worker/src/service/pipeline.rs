//! One job, start to finish, in the order crates/media's `vod` module documents: download,
//! probe and limits, plan, then each rendition encoded (or the source copied: fast start),
//! packaged alone and uploaded with a master naming every rendition so far, so the video plays
//! after the first and gains rungs as they finish; then poster and scrubbing thumbnails, and one
//! packager run over everything for the DASH manifest. Segments of a stream come out the same
//! in every packager run, so the last run only adds the manifest.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use ferrocast_kit::{
    jobs::{Job, Outputs, Report},
    sealing::{self, Sealer},
};
use ferrocast_media::{
    ladder::{argv::AudioPlan, Encoding, RungSpec},
    vod::{
        self,
        argv::{self, EncodeOptions},
        master::{self, AudioRendition, VideoRendition},
        package::{ContentKey, PackKind, PackStream, Package},
        probe::longest_keyframe_gap,
        Limits, PlanOptions, Probe, VodPlan,
    },
};

use crate::{
    adapters::{
        storage::{Objects, StorageError},
        tools::{self, ToolError, Tools},
    },
    ports::{JobError, Progress},
};

impl From<StorageError> for JobError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Missing(_) => Self::Refused("the original file is gone".into()),
            StorageError::TooLarge { .. } => Self::Refused(error.to_string()),
            other => Self::Retry(other.to_string()),
        }
    }
}

impl From<ToolError> for JobError {
    fn from(error: ToolError) -> Self {
        Self::Retry(error.to_string())
    }
}

impl From<std::io::Error> for JobError {
    fn from(error: std::io::Error) -> Self {
        Self::Retry(format!("scratch folder: {error}"))
    }
}

/// What a job needs besides the job.
pub struct Pipeline {
    pub tools: Tools,
    pub objects: Objects,
    pub scratch_dir: PathBuf,
    pub max_source_bytes: u64,
    pub limits: Limits,
    pub rungs: Vec<RungSpec>,
    pub preset: String,
    /// Opens the content keys of encrypted videos; `None` when no platform key is configured
    /// (an encrypted job then fails here and is retried by a worker that has one).
    pub sealer: Option<Sealer>,
}

impl Pipeline {
    pub async fn run(&self, job: &Job, progress: &dyn Progress) -> Result<Outputs, JobError> {
        let scratch = Scratch::create(&self.scratch_dir.join(job.job_id.to_string())).await?;
        let dir = scratch.0.as_path();
        let key_flagfile = self.key_flagfile(job, dir).await?;
        let key_flagfile = key_flagfile.as_deref();
        let source = dir.join("source");
        self.objects
            .download(&job.source_key, &source, self.max_source_bytes)
            .await?;
        let plan = self.plan(&source).await?;
        let out = dir.join("out");
        tokio::fs::create_dir_all(&out).await?;

        let mut meter = Meter::new(&plan);
        let audio = dir.join("audio.mp4");
        let has_audio = plan.audio != AudioPlan::None;
        let mut audio_packaged: Option<AudioRendition> = None;
        let mut videos: Vec<VideoRendition> = Vec::new();
        let mut made: Vec<(String, PathBuf)> = Vec::new();
        if has_audio && !plan.copy_source {
            if let Some(args) = argv::audio(&source, &plan, &audio) {
                self.ffmpeg(&args, &plan, &mut meter, progress).await?;
            }
        }
        let options = EncodeOptions {
            preset: &self.preset,
            tune: "",
        };
        for rung in &plan.rungs {
            let output = dir.join(format!("{}.mp4", rung.name));
            let args = match rung.encoding {
                Encoding::Copy => argv::copy_source(&source, &plan, &output, &audio),
                Encoding::X264 { .. } => argv::encode_rung(&source, &plan, rung, &options, &output),
            };
            self.ffmpeg(&args, &plan, &mut meter, progress).await?;
            // The audio alone once (the packager describes a stream fully only when it
            // packages it alone), then this rendition alone.
            if has_audio && audio_packaged.is_none() {
                let audio_stream = [PackStream {
                    kind: PackKind::Audio,
                    input: &audio,
                    name: "audio",
                }];
                let packaged = self
                    .package_alone(&audio_stream, &out, &plan, key_flagfile)
                    .await?;
                audio_packaged = Some(packaged.audio.ok_or_else(|| {
                    JobError::Retry("the packager described no audio rendition".into())
                })?);
                self.upload_stream(&out, "audio", &job.output_prefix)
                    .await?;
            }
            let video_stream = [PackStream {
                kind: PackKind::Video,
                input: &output,
                name: &rung.name,
            }];
            let packaged = self
                .package_alone(&video_stream, &out, &plan, key_flagfile)
                .await?;
            videos.extend(packaged.video);
            self.upload_stream(&out, &rung.name, &job.output_prefix)
                .await?;
            let master_path = out.join("master.m3u8");
            tokio::fs::write(
                &master_path,
                master::render(&videos, audio_packaged.as_ref()),
            )
            .await?;
            self.objects
                .upload_file(&master_path, &format!("{}master.m3u8", job.output_prefix))
                .await?;
            made.push((rung.name.clone(), output));
            progress
                .report(Report::Playable {
                    master: format!("{}master.m3u8", job.output_prefix),
                    renditions: made.iter().map(|(name, _)| name.clone()).collect(),
                })
                .await;
        }

        // Poster and thumbnails (from the smallest rendition: upright and small to decode).
        let poster = out.join("poster.jpg");
        tools::output(
            &self.tools.ffmpeg,
            &argv::poster(&source, &plan, &poster),
            false,
        )
        .await?;
        let thumbs = out.join("thumbs");
        tokio::fs::create_dir_all(&thumbs).await?;
        let smallest = made
            .iter()
            .min_by_key(|(name, _)| {
                plan.rungs
                    .iter()
                    .find(|r| &r.name == name)
                    .map(|r| r.height)
            })
            .map_or(source.as_path(), |(_, path)| path.as_path());
        tools::output(
            &self.tools.ffmpeg,
            &argv::sprites(smallest, &plan, &thumbs),
            false,
        )
        .await?;
        let vtt = argv::thumbnails_vtt(&plan.thumbnails, plan.duration, argv::sprite_name);
        tokio::fs::write(thumbs.join("thumbnails.vtt"), vtt).await?;
        self.objects
            .upload_dir(&thumbs, &format!("{}thumbs/", job.output_prefix))
            .await?;
        self.objects
            .upload_file(&poster, &format!("{}poster.jpg", job.output_prefix))
            .await?;

        // Every stream once more, for the DASH manifest.
        let mut streams = Vec::new();
        if audio_packaged.is_some() {
            streams.push(PackStream {
                kind: PackKind::Audio,
                input: &audio,
                name: "audio",
            });
        }
        for (name, path) in &made {
            streams.push(PackStream {
                kind: PackKind::Video,
                input: path,
                name,
            });
        }
        let mpd = out.join("manifest.mpd");
        self.package(
            &streams,
            &out,
            &plan,
            &out.join("packager-all.m3u8"),
            Some(&mpd),
            key_flagfile,
        )
        .await?;
        self.objects
            .upload_file(&mpd, &format!("{}manifest.mpd", job.output_prefix))
            .await?;
        Ok(Outputs {
            master: format!("{}master.m3u8", job.output_prefix),
            mpd: format!("{}manifest.mpd", job.output_prefix),
            poster: format!("{}poster.jpg", job.output_prefix),
            thumbnails: format!("{}thumbs/thumbnails.vtt", job.output_prefix),
            renditions: made.into_iter().map(|(name, _)| name).collect(),
            duration_ms: u64::try_from(plan.duration.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Probe, limits, keyframes, plan.
    async fn plan(&self, source: &Path) -> Result<VodPlan, JobError> {
        let report = tools::output(&self.tools.ffprobe, &argv::probe(source), true).await?;
        let probe = Probe::parse(&report).map_err(|_| {
            JobError::Refused("the file is not a video this platform can read".into())
        })?;
        let mut accepted = vod::check(&probe, &self.limits)
            .map_err(|refusal| JobError::Refused(refusal.to_string()))?;
        let packets = tools::output(&self.tools.ffprobe, &argv::keyframes(source), false).await?;
        accepted.keyframe_gap = longest_keyframe_gap(&String::from_utf8_lossy(&packets));
        Ok(vod::plan(
            &accepted,
            &PlanOptions {
                rungs: self.rungs.clone(),
                ..PlanOptions::default()
            },
        ))
    }

    /// One ffmpeg run, its `-progress` turned into the job's percent as it goes.
    async fn ffmpeg(
        &self,
        args: &[OsString],
        plan: &VodPlan,
        meter: &mut Meter,
        progress: &dyn Progress,
    ) -> Result<(), JobError> {
        let (sender, mut percents) = tokio::sync::watch::channel(0u8);
        let duration = plan.duration;
        let run = tools::with_progress(&self.tools.ffmpeg, args, move |line| {
            if let Some(percent) = argv::progress_percent(line, duration) {
                let _ = sender.send(percent);
            }
        });
        let reports = async {
            while percents.changed().await.is_ok() {
                let percent = *percents.borrow_and_update();
                if let Some(overall) = meter.step(percent) {
                    progress.report(Report::Progress { percent: overall }).await;
                }
            }
        };
        let (result, ()) = tokio::join!(run, reports);
        result?;
        meter.finish_step();
        Ok(())
    }

    /// Packages `streams` into `out` (HLS only) and reads what the packager measured of them.
    async fn package_alone(
        &self,
        streams: &[PackStream<'_>],
        out: &Path,
        plan: &VodPlan,
        key_flagfile: Option<&Path>,
    ) -> Result<master::Packaged, JobError> {
        // The packager writes media playlists beside its master: in `out`, with the segments'
        // folders. Its own masters are not served (ours is).
        let packager_master = out.join(format!("packager-{}.m3u8", streams[0].name));
        self.package(streams, out, plan, &packager_master, None, key_flagfile)
            .await?;
        master::read_packager_master(&tokio::fs::read_to_string(&packager_master).await?)
            .map_err(|e| JobError::Retry(e.to_string()))
    }

    async fn package(
        &self,
        streams: &[PackStream<'_>],
        out: &Path,
        plan: &VodPlan,
        hls_master: &Path,
        mpd: Option<&Path>,
        key_flagfile: Option<&Path>,
    ) -> Result<(), JobError> {
        let args = Package {
            streams,
            out_dir: out,
            segment_seconds: plan.segment_seconds,
            hls_master,
            mpd,
            key_flagfile,
        }
        .argv()
        .map_err(|e| JobError::Retry(e.to_string()))?;
        tools::output(&self.tools.packager, &args, false).await?;
        Ok(())
    }

    /// For an encrypted video, its content key opened and written as the packager's flag
    /// file (mode 0600, in the scratch folder that is removed with the job); the key never
    /// reaches argv, the environment or a log.
    async fn key_flagfile(&self, job: &Job, dir: &Path) -> Result<Option<PathBuf>, JobError> {
        let Some(sealed) = &job.content_key else {
            return Ok(None);
        };
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            JobError::Retry(
                "the video is encrypted and this worker has no FERROCAST_CONTENT_KEY_SECRET".into(),
            )
        })?;
        let key = sealing::from_text(sealed)
            .and_then(|bytes| sealer.open(&bytes, job.media_id.as_bytes()))
            .ok()
            .and_then(|bytes| ContentKey::from_bytes(&bytes))
            .ok_or_else(|| {
                JobError::Retry(
                    "the video's content key does not open with this worker's platform key".into(),
                )
            })?;
        let path = dir.join("content-key.flags");
        write_private(&path, key.flagfile().as_bytes()).await?;
        Ok(Some(path))
    }

    /// A stream's folder of segments, then its playlist.
    async fn upload_stream(&self, out: &Path, name: &str, prefix: &str) -> Result<(), JobError> {
        self.objects
            .upload_dir(&out.join(name), &format!("{prefix}{name}/"))
            .await?;
        self.objects
            .upload_file(
                &out.join(format!("{name}.m3u8")),
                &format!("{prefix}{name}.m3u8"),
            )
            .await?;
        Ok(())
    }
}

/// Writes a file only this user can read, created with that mode (never readable in between).
async fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;

    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.flush().await
}

/// A job's scratch folder, emptied of a previous attempt's leftovers and removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    async fn create(path: &Path) -> std::io::Result<Self> {
        match tokio::fs::remove_dir_all(path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        tokio::fs::create_dir_all(path).await?;
        Ok(Self(path.to_owned()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The job's percent over all its ffmpeg runs, reported at most every few percent and second.
struct Meter {
    steps: u32,
    done: u32,
    last_sent: Option<(u8, Instant)>,
    current: u8,
}

const REPORT_EVERY: Duration = Duration::from_secs(1);

impl Meter {
    fn new(plan: &VodPlan) -> Self {
        let audio_alone = u32::from(plan.audio != AudioPlan::None && !plan.copy_source);
        Self {
            steps: u32::try_from(plan.rungs.len())
                .unwrap_or(u32::MAX)
                .saturating_add(audio_alone)
                .max(1),
            done: 0,
            last_sent: None,
            current: 0,
        }
    }

    fn overall(&self) -> u8 {
        let total = (self.done * 100 + u32::from(self.current)) / self.steps;
        u8::try_from(total.min(99)).unwrap_or(99)
    }

    /// The overall percent when it is worth a report.
    fn step(&mut self, percent: u8) -> Option<u8> {
        self.current = percent;
        self.overall_if_due()
    }

    fn overall_if_due(&mut self) -> Option<u8> {
        let overall = self.overall();
        let due = match self.last_sent {
            None => true,
            Some((sent, at)) => overall > sent && at.elapsed() >= REPORT_EVERY,
        };
        if due {
            self.last_sent = Some((overall, Instant::now()));
            Some(overall)
        } else {
            None
        }
    }

    fn finish_step(&mut self) {
        self.done = (self.done + 1).min(self.steps);
        self.current = 0;
    }
}

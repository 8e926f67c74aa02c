//! rtmp-fleet: many real-time passthrough RTMP publishers in one process, for bench/run's
//! capacity ramp (one ffmpeg per stream cost so much CPU that the publishers, not the server,
//! were the limit on 2 cores).
//!
//! usage: `rtmp-fleet --source FILE.flv [--threads N] [--report-ms MS]`, then on stdin, one per
//! line, `add ID rtmp://HOST[:PORT]/APP/KEY` and `stop ID`; stdin's end stops every stream and
//! the process. On stdout, every `--report-ms` (250) for each sending stream:
//! `progress ID OUT_TIME T0_WALL` — the media seconds sent so far (passes included) and the UNIX
//! time at which media time 0 was sent, what the bench reads from `ffmpeg -progress`; and once
//! per stream `exit ID REASON` (`stopped`, or why it failed). Bad command lines go to stderr.
//!
//! Why not one `ffmpeg -re -stream_loop -1 -c copy` per stream: at 200 streams those ffmpegs
//! used ≈ 1.8 of this machine's 2 cores, so the ramp measured the publishers, not the servers.
//! Here the file is read once and every stream sends the same bodies from one tokio runtime.

mod command;
mod flv;
mod publisher;

use std::{
    collections::HashMap,
    fmt::Write as _,
    io::{BufRead, Write as _},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use command::Command;
use flv::Source;
use publisher::Progress;
use tokio::{sync::mpsc, task::JoinSet};
use tokio_util::sync::CancellationToken;

struct Args {
    source: PathBuf,
    threads: usize,
    report: Duration,
}

fn args() -> Result<Args> {
    const USAGE: &str = "usage: rtmp-fleet --source FILE.flv [--threads N] [--report-ms MS]";
    let mut source = None;
    let mut threads = 1;
    let mut report = Duration::from_millis(250);
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let Some(value) = argv.next() else {
            bail!("{flag} needs a value; {USAGE}");
        };
        match flag.as_str() {
            "--source" => source = Some(PathBuf::from(value)),
            "--threads" => threads = value.parse().context("--threads must be a number")?,
            "--report-ms" => {
                report =
                    Duration::from_millis(value.parse().context("--report-ms must be a number")?)
            }
            _ => bail!("unknown option {flag}; {USAGE}"),
        }
    }
    let Some(source) = source else {
        bail!("{USAGE}");
    };
    if threads == 0 || report.is_zero() {
        bail!("--threads and --report-ms must be positive");
    }
    Ok(Args {
        source,
        threads,
        report,
    })
}

fn main() -> Result<()> {
    let args = args()?;
    let data = std::fs::read(&args.source)
        .with_context(|| format!("reading {}", args.source.display()))?;
    let source = flv::parse(&data.into()).with_context(|| args.source.display().to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    runtime.block_on(run(Arc::new(source), args.report))
}

/// A stream being published.
struct Live {
    progress: Arc<Progress>,
    stop: CancellationToken,
}

async fn run(source: Arc<Source>, report_every: Duration) -> Result<()> {
    let mut lines = stdin_lines();
    let mut stdin_open = true;
    let shutdown = CancellationToken::new();
    let mut live: HashMap<String, Live> = HashMap::new();
    let mut tasks: JoinSet<(String, Result<()>)> = JoinSet::new();
    let mut task_ids: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut report = tokio::time::interval(report_every);
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut out = String::new();
    loop {
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(line) => match command::parse(&line) {
                    Ok(Some(Command::Add { id, target })) => {
                        if live.contains_key(&id) {
                            eprintln!("rtmp-fleet: stream {id} is already running; add ignored");
                            continue;
                        }
                        let progress = Arc::new(Progress::default());
                        let stop = shutdown.child_token();
                        let task = {
                            let (id, source, progress, stop) =
                                (id.clone(), source.clone(), progress.clone(), stop.clone());
                            tasks.spawn(async move {
                                let result = publisher::publish(&target, &source, &progress, &stop).await;
                                (id, result)
                            })
                        };
                        task_ids.insert(task.id(), id.clone());
                        live.insert(id, Live { progress, stop });
                    }
                    Ok(Some(Command::Stop { id })) => match live.get(&id) {
                        Some(stream) => stream.stop.cancel(),
                        None => eprintln!("rtmp-fleet: no stream {id} to stop"),
                    },
                    Ok(None) => {}
                    Err(e) => eprintln!("rtmp-fleet: ignored a command line: {e}"),
                },
                None => {
                    stdin_open = false;
                    shutdown.cancel();
                }
            },
            Some(done) = tasks.join_next_with_id() => {
                let (id, reason) = match done {
                    Ok((task, (id, Ok(())))) => (task_ids.remove(&task).unwrap_or(id), "stopped".to_string()),
                    Ok((task, (id, Err(e)))) => {
                        task_ids.remove(&task);
                        (id, format!("error: {}", publisher::one_line(&format!("{e:#}"))))
                    }
                    Err(e) => {
                        let id = task_ids.remove(&e.id()).unwrap_or_default();
                        (id, format!("error: the stream's task failed: {}", publisher::one_line(&e.to_string())))
                    }
                };
                live.remove(&id);
                out.clear();
                let _ = writeln!(out, "exit {id} {reason}");
                emit(&out)?;
            }
            _ = report.tick() => {
                out.clear();
                for (id, stream) in &live {
                    if let Some((sent, t0)) = stream.progress.get() {
                        let _ = writeln!(out, "progress {id} {sent:.3} {t0:.6}");
                    }
                }
                emit(&out)?;
            }
        }
        if !stdin_open && tasks.is_empty() {
            return Ok(());
        }
    }
}

/// Writes report lines; a closed stdout (the bench is gone) ends the process.
fn emit(text: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("stdout closed")
}

/// Stdin's lines from a thread of their own: a blocking read must not hold a runtime worker,
/// and the thread ends with stdin (the channel then closes).
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(1024);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

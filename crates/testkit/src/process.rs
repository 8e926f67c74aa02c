//! What the test process itself holds (the services run inside it): resident memory and open
//! file descriptors, read from /proc, for the soak's growth bounds; child processes by name or
//! by command line; signals to send them; and a service binary started as a child of its own
//! (for the tests that kill one).

/// Resident set size of this process in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Pids of this process's direct children whose command name is `name` (e.g. the ingest's
/// ffmpeg pipelines, as opposed to the test's ffmpeg publishers when they are told apart by
/// their arguments).
pub fn children_named(name: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid ..."; comm may hold spaces, so split at the last ')'.
            let close = stat.rfind(')')?;
            let comm = &stat[stat.find('(')? + 1..close];
            let ppid: u32 = stat[close + 2..].split_whitespace().nth(1)?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (ppid == me && comm == name).then_some((pid, cmdline))
        })
        .collect()
}

/// Pids of every process whose command line matches `pattern` (`pgrep -f`).
pub fn pgrep(pattern: &str) -> Vec<u32> {
    let output = std::process::Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Sends `signal` (`-9`, `-STOP`, …) to `pid`; panics when `kill` fails.
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// `program` started with `env` added, killed when the handle is dropped; its log goes to this
/// test's stderr when `FERROCAST_TEST_CHILD_LOG` is set, and nowhere otherwise.
pub fn spawn_service(program: &std::path::Path, env: &[(String, String)]) -> tokio::process::Child {
    tokio::process::Command::new(program)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(if std::env::var_os("FERROCAST_TEST_CHILD_LOG").is_some() {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("{} starts: {error}", program.display()))
}

//! CPU time from /proc, to say what else was busy while a figure was taken: the whole machine
//! (2 shared cores), this process (the services and the load client) and the PostgreSQL
//! backends serving the catalogue.

use std::time::Instant;

/// Linux's USER_HZ on every platform the bench runs on.
const TICKS_PER_SECOND: f64 = 100.0;

pub struct Snapshot {
    at: Instant,
    machine_busy: u64,
    machine_total: u64,
    own: u64,
    backends: u64,
    pids: Vec<u32>,
}

/// CPU use between two snapshots, in % of one core.
pub struct Use {
    pub machine: f64,
    pub cores: f64,
    pub own: f64,
    pub backends: f64,
}

impl Snapshot {
    /// Now, with the PostgreSQL backend processes `pids`.
    pub fn take(pids: &[u32]) -> Self {
        let (machine_busy, machine_total) = machine();
        Self {
            at: Instant::now(),
            machine_busy,
            machine_total,
            own: process_ticks("self"),
            backends: pids.iter().map(|p| process_ticks(&p.to_string())).sum(),
            pids: pids.to_vec(),
        }
    }

    pub fn since(&self, earlier: &Snapshot) -> Use {
        let seconds = self.at.duration_since(earlier.at).as_secs_f64().max(1e-3);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let total = self
            .machine_total
            .saturating_sub(earlier.machine_total)
            .max(1) as f64;
        let busy = self.machine_busy.saturating_sub(earlier.machine_busy) as f64;
        let per_core = |ticks: u64| 100.0 * ticks as f64 / TICKS_PER_SECOND / seconds;
        let backends_before: u64 = if self.pids == earlier.pids {
            earlier.backends
        } else {
            0
        };
        Use {
            machine: 100.0 * cores * busy / total,
            cores,
            own: per_core(self.own.saturating_sub(earlier.own)),
            backends: per_core(self.backends.saturating_sub(backends_before)),
        }
    }
}

impl std::fmt::Display for Use {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "machine {:.0} % busy (of {:.0} %: {:.0} cores); this process (services + \
             client) {:.0} %, its PostgreSQL backends {:.0} %",
            self.machine,
            self.cores * 100.0,
            self.cores,
            self.own,
            self.backends
        )
    }
}

/// (busy, total) jiffies of all CPUs.
fn machine() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    // idle and iowait
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// utime + stime of a process, in ticks.
fn process_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: the fields that follow it start after its ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// The system's 1-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

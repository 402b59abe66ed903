//! The process's CPU, memory, file descriptors and start time, read from `/proc` at each
//! scrape with the `process_*` names every Prometheus client library uses. On a system without
//! `/proc` (not Linux) the families are left out.

use std::fs;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// Linux reports CPU times and the start time in clock ticks of `USER_HZ`, which is 100 on
/// every architecture Linux supports (the kernel's `HZ` is converted before `/proc` shows it).
const USER_HZ: f64 = 100.0;

/// The process's figures from `/proc/self`.
#[derive(Debug)]
pub(crate) struct Process;

/// What `/proc` gave; a file that could not be read leaves its figures `None`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ProcessFigures {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) resident_bytes: Option<u64>,
    pub(crate) virtual_bytes: Option<u64>,
    pub(crate) start_time_seconds: Option<f64>,
    pub(crate) open_fds: Option<u64>,
    pub(crate) max_fds: Option<u64>,
}

impl ProcessFigures {
    fn read() -> ProcessFigures {
        let mut figures = ProcessFigures::default();
        if let Ok(stat) = fs::read_to_string("/proc/self/stat") {
            let boot_time = fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|s| boot_time(&s));
            figures.apply_stat(&stat, boot_time);
        }
        if let Ok(status) = fs::read_to_string("/proc/self/status") {
            figures.resident_bytes = status_kib(&status, "VmRSS:").map(|kib| kib * 1024);
        }
        figures.open_fds = fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as u64);
        figures.max_fds = fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| max_open_files(&s));
        figures
    }

    /// `/proc/self/stat`: CPU times (fields 14 and 15), start time (22, ticks after boot) and
    /// virtual size (23, bytes). The command name (field 2) may hold spaces and parentheses,
    /// so fields are counted after its last `)`.
    fn apply_stat(&mut self, stat: &str, boot_time: Option<u64>) {
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `fields[0]` is field 3 (the state).
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            self.cpu_seconds = Some((user + system) as f64 / USER_HZ);
        }
        if let (Some(start), Some(boot)) = (field(22), boot_time) {
            self.start_time_seconds = Some(boot as f64 + start as f64 / USER_HZ);
        }
        self.virtual_bytes = field(23);
    }
}

/// `btime` of `/proc/stat`: the boot time in Unix seconds.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `kB` line of `/proc/self/status`, e.g. `VmRSS:     1234 kB`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(key))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits` (`unlimited` has no figure).
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = ProcessFigures::read();
        if let Some(seconds) = figures.cpu_seconds {
            let counter = ConstCounter::new(seconds);
            let metric = encoder.encode_descriptor(
                "process_cpu",
                "Total user and system CPU time spent in seconds",
                Some(&Unit::Seconds),
                counter.metric_type(),
            )?;
            counter.encode(metric)?;
        }
        let gauges: [(&str, &str, Option<Unit>, Option<f64>); 5] = [
            (
                "process_resident_memory",
                "Resident memory size in bytes",
                Some(Unit::Bytes),
                figures.resident_bytes.map(|b| b as f64),
            ),
            (
                "process_virtual_memory",
                "Virtual memory size in bytes",
                Some(Unit::Bytes),
                figures.virtual_bytes.map(|b| b as f64),
            ),
            (
                "process_start_time",
                "Start time of the process since unix epoch in seconds",
                Some(Unit::Seconds),
                figures.start_time_seconds,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                None,
                figures.open_fds.map(|n| n as f64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                None,
                figures.max_fds.map(|n| n as f64),
            ),
        ];
        for (name, help, unit, value) in gauges {
            let Some(value) = value else { continue };
            let gauge = ConstGauge::new(value);
            let metric =
                encoder.encode_descriptor(name, help, unit.as_ref(), gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        // A command name with a space and a parenthesis, as a process may name itself.
        let stat = "4242 (rock scope) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 \
                    8 0 123456 987654321 2048 18446744073709551615";
        let mut figures = ProcessFigures::default();
        figures.apply_stat(stat, Some(1_700_000_000));
        assert_eq!(figures.cpu_seconds, Some(3.0));
        assert_eq!(figures.start_time_seconds, Some(1_700_000_000.0 + 1234.56));
        assert_eq!(figures.virtual_bytes, Some(987_654_321));
    }

    #[test]
    fn status_limits_and_boot_time_are_read() {
        let status = "Name:\trockscope\nVmSize:\t  100 kB\nVmRSS:\t   5120 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(5120));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn this_process_is_read_on_linux() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let figures = ProcessFigures::read();
        assert!(figures.resident_bytes.unwrap() > 0);
        assert!(figures.virtual_bytes.unwrap() >= figures.resident_bytes.unwrap());
        assert!(figures.open_fds.unwrap() >= 3);
        assert!(figures.start_time_seconds.unwrap() > 1_600_000_000.0);
        assert!(figures.cpu_seconds.is_some());
    }
}

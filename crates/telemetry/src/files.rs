//! The database's and its write-ahead log's sizes, from a `stat` at each scrape.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// The database file to report; nothing until [`crate::Telemetry::watch_database`].
#[derive(Debug, Default)]
pub(crate) struct DatabaseFiles {
    pub(crate) path: OnceLock<PathBuf>,
}

impl Collector for DatabaseFiles {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(path) = self.path.get() else {
            return Ok(());
        };
        let files = [
            (
                "rockscope_store_database_size",
                "Size of the SQLite database file",
                path.clone(),
            ),
            (
                "rockscope_store_wal_size",
                "Size of the SQLite write-ahead log (0 when there is none)",
                wal_path(path),
            ),
        ];
        for (name, help, file) in files {
            // A file that cannot be read (the WAL between checkpoints' truncations, a replaced
            // database) is 0 bytes; the store's own health reports a missing database.
            let size = std::fs::metadata(&file).map_or(0, |m| m.len());
            let gauge = ConstGauge::new(size as i64);
            let metric =
                encoder.encode_descriptor(name, help, Some(&Unit::Bytes), gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

/// SQLite's write-ahead log of the database at `path`: `<path>-wal`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

//! Logging: env_logger, with two corrections of what libraries log.
//!
//! * ureq's `trace` level writes raw request bytes, the `Authorization` header included, so
//!   ureq is capped at `debug` (which it redacts) whatever `RUST_LOG` says: no level may print
//!   a password.
//! * actix-http logs a client's malformed request (`stream error: request parse error: …`) at
//!   `ERROR`; that is the client's fault, not the server's, so such records are logged at
//!   `debug` (one benchmark run wrote 1,500 ERROR lines otherwise).

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The module whose `ERROR` records are about clients' requests.
const CLIENT_ERROR_TARGET: &str = "actix_http::h1::dispatcher";

/// `RUST_LOG` decides; `info` by default.
pub fn init() {
    let spec = std::env::var("RUST_LOG")
        .unwrap_or_else(|_| "info,ureq=warn,ureq_proto=warn,actix_server=warn".to_owned());
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(&spec).format_timestamp_millis();
    if spec.contains("trace") {
        builder
            .filter_module("ureq", LevelFilter::Debug)
            .filter_module("ureq_proto", LevelFilter::Debug);
    }
    let inner = builder.build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(ClientErrorsAtDebug { inner })).is_ok() {
        log::set_max_level(max);
    }
}

/// Passes every record on, `ERROR`s of [`CLIENT_ERROR_TARGET`] lowered to `debug`.
struct ClientErrorsAtDebug {
    inner: env_logger::Logger,
}

impl Log for ClientErrorsAtDebug {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if record.level() == Level::Error && record.target().starts_with(CLIENT_ERROR_TARGET) {
            let lowered = Record::builder()
                .args(*record.args())
                .level(Level::Debug)
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build();
            if self.inner.enabled(lowered.metadata()) {
                self.inner.log(&lowered);
            }
            return;
        }
        self.inner.log(record);
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

use std::collections::HashSet;
use std::time::Duration;

use super::*;

fn recorded() -> Telemetry {
    let telemetry = Telemetry::new();
    telemetry.cycle_finished(Duration::from_millis(700));
    telemetry.cluster_collected("prod \"eu\"", Duration::from_millis(300));
    telemetry.scrape_failed("prod \"eu\"", "timeout");
    telemetry.samples_parsed("prod \"eu\"", 1200);
    telemetry.samples_parsed("prod \"eu\"", 34);
    telemetry.store_write("insert_cycle", Duration::from_millis(4));
    telemetry.api_request("/api/clusters/{id}/overview", 200, Duration::from_millis(2));
    telemetry.api_request(UNMATCHED_ROUTE, 404, Duration::from_micros(300));
    telemetry.alert_evaluated(Duration::from_millis(3), true);
    telemetry.alert_evaluated(Duration::from_millis(3), false);
    telemetry
}

fn encoded(telemetry: &Telemetry, format: Format) -> String {
    let mut out = String::new();
    telemetry.encode(&mut out, format);
    out
}

/// The families' names in `# TYPE` lines, each once.
fn families(body: &str) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    body.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(seen.insert(name.to_owned()), "{name} typed twice");
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

#[test]
fn every_family_is_in_the_prometheus_text_with_its_0_0_4_name() {
    let text = encoded(&recorded(), Format::Prometheus);
    let families = families(&text);
    for (name, kind) in [
        ("rockscope_build_info", "gauge"),
        ("rockscope_collector_cycle_duration_seconds", "histogram"),
        (
            "rockscope_collector_cluster_collection_duration_seconds",
            "histogram",
        ),
        ("rockscope_collector_scrape_errors_total", "counter"),
        ("rockscope_collector_samples_parsed_total", "counter"),
        ("rockscope_store_write_duration_seconds", "histogram"),
        ("rockscope_api_request_duration_seconds", "histogram"),
        ("rockscope_alert_evaluations_total", "counter"),
        ("rockscope_alert_evaluation_failures_total", "counter"),
        ("rockscope_alert_evaluation_duration_seconds", "histogram"),
    ] {
        assert!(
            families.contains(&(name.to_owned(), kind.to_owned())),
            "{name} {kind} missing in:\n{text}"
        );
    }
    if std::path::Path::new("/proc/self/stat").exists() {
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_start_time_seconds",
            "process_open_fds",
            "process_max_fds",
        ] {
            assert!(families.iter().any(|(n, _)| n == name), "{name}:\n{text}");
        }
    }
    assert!(
        !text.contains("# UNIT") && !text.contains("# EOF"),
        "{text}"
    );
    for line in [
        "rockscope_collector_scrape_errors_total{cluster=\"prod \\\"eu\\\"\",code=\"timeout\"} 1",
        "rockscope_collector_samples_parsed_total{cluster=\"prod \\\"eu\\\"\"} 1234",
        "rockscope_alert_evaluations_total 2",
        "rockscope_alert_evaluation_failures_total 1",
        "rockscope_collector_cycle_duration_seconds_bucket{le=\"1.0\"} 1",
        "rockscope_collector_cycle_duration_seconds_bucket{le=\"0.5\"} 0",
        "rockscope_api_request_duration_seconds_count{route=\"unmatched\",status=\"404\"} 1",
        "rockscope_store_write_duration_seconds_count{operation=\"insert_cycle\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing in:\n{text}"
        );
    }
    assert!(text.contains(&format!(
        "rockscope_build_info{{version=\"{}\",os=\"{}\",arch=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )));
}

#[test]
fn open_metrics_names_counters_without_total_and_has_no_eof() {
    let body = encoded(&recorded(), Format::OpenMetrics);
    let families = families(&body);
    assert!(families.contains(&(
        "rockscope_collector_scrape_errors".to_owned(),
        "counter".to_owned()
    )));
    assert!(body.contains("# UNIT rockscope_collector_cycle_duration_seconds seconds"));
    assert!(!body.contains("# EOF"), "the /metrics writer ends the body");
}

#[test]
fn the_database_and_wal_sizes_are_read_at_each_scrape() {
    let dir = std::env::temp_dir().join(format!("rockscope-telemetry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("rockscope.db");
    std::fs::write(&db, vec![0u8; 4096]).unwrap();
    let telemetry = Telemetry::new();
    assert!(!encoded(&telemetry, Format::Prometheus).contains("rockscope_store_database"));
    telemetry.watch_database(db.clone());
    let text = encoded(&telemetry, Format::Prometheus);
    assert!(
        text.contains("\nrockscope_store_database_size_bytes 4096\n"),
        "{text}"
    );
    assert!(
        text.contains("\nrockscope_store_wal_size_bytes 0\n"),
        "{text}"
    );
    std::fs::write(dir.join("rockscope.db-wal"), vec![0u8; 100]).unwrap();
    let text = encoded(&telemetry, Format::Prometheus);
    assert!(
        text.contains("\nrockscope_store_wal_size_bytes 100\n"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clones_record_into_one_registry() {
    let telemetry = Telemetry::new();
    let clone = telemetry.clone();
    clone.store_write("record_run", Duration::from_millis(1));
    let text = encoded(&telemetry, Format::Prometheus);
    assert!(
        text.contains("rockscope_store_write_duration_seconds_count{operation=\"record_run\"} 1")
    );
}

#[test]
fn every_family_is_in_docs_export_md() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/EXPORT.md"))
        .expect("docs/EXPORT.md");
    let telemetry = recorded();
    let dir = std::env::temp_dir().join(format!("rockscope-telemetry-doc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("db"), b"x").unwrap();
    telemetry.watch_database(dir.join("db"));
    telemetry.watch_delivery(Arc::new(webhook_notifier()));
    let text = encoded(&telemetry, Format::Prometheus);
    std::fs::remove_dir_all(&dir).unwrap();
    let names: Vec<String> = families(&text).into_iter().map(|(name, _)| name).collect();
    assert!(names.len() >= 16, "{names:?}");
    for name in names {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is not in docs/EXPORT.md's table"
        );
    }
}

/// A notifier with one webhook and one Alertmanager on loopback ports nothing listens on.
fn webhook_notifier() -> Notifier {
    use rockscope_notify::{NotifyConfig, ReceiverConfig};
    let config = NotifyConfig {
        webhooks: vec![ReceiverConfig::new("http://hook:s3cret@127.0.0.1:9/hook")],
        alertmanagers: vec![ReceiverConfig::new("http://127.0.0.1:9")],
        ..NotifyConfig::default()
    };
    Notifier::start(config).expect("a valid config")
}

#[test]
fn delivery_counts_are_read_from_the_notifier_by_receiver_without_credentials() {
    let telemetry = Telemetry::new();
    let notifier = Arc::new(webhook_notifier());
    telemetry.watch_delivery(Arc::clone(&notifier));
    let text = encoded(&telemetry, Format::Prometheus);
    for status in notifier.status() {
        let labels = format!(
            "{{receiver=\"{}\",kind=\"{}\"}}",
            status.url,
            status.kind.as_str()
        );
        for (name, value) in [
            ("rockscope_notifications_sent_total", status.sent),
            ("rockscope_notifications_failed_total", status.failed),
            ("rockscope_notifications_dropped_total", status.dropped),
        ] {
            let line = format!("{name}{labels} {value}");
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
    assert!(text.contains("kind=\"webhook\"") && text.contains("kind=\"alertmanager\""));
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("# TYPE rockscope_notification_queue_length gauge"));
}

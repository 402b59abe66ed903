//! Real StarRocks FE and BE bodies (shapes from the reference) parse in strict mode.

use rockscope_promtext::{MetricType, Mode, Parser};

use crate::{fixture, lenient, strict};

#[test]
fn fe_leader_body_parses_strictly_with_all_its_quirks() {
    let body = fixture("starrocks-fe-leader-3.3.txt");
    let samples = strict(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(samples.len(), 44);

    let find = |name: &str, label: Option<(&str, &str)>| {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && label.is_none_or(|(k, v)| s.labels.iter().any(|(n, x)| n == k && x == v))
            })
            .unwrap_or_else(|| panic!("{name} {label:?} missing"))
    };
    // JVM block without prefix, double-space HELP/TYPE, Java scientific notation.
    assert_eq!(
        find("jvm_heap_size_bytes", Some(("type", "used"))).value,
        1_234_567_800.0
    );
    assert_eq!(
        find("jvm_young_size_bytes", Some(("type", "max"))).value,
        -1.0
    );
    assert_eq!(find("starrocks_fe_query_err_rate", None).value, 5.0e-4);
    assert_eq!(find("starrocks_fe_qps", None).value, 41.266666666666666);
    // ", " between labels, in insertion order.
    let job = find("starrocks_fe_job", Some(("type", "INSERT")));
    assert_eq!(
        job.labels,
        vec![
            ("job".into(), "load".into()),
            ("type".into(), "INSERT".into()),
            ("state".into(), "LOADING".into())
        ]
    );
    // Non-contiguous samples of one family and duplicate series are both kept.
    let tablets: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "starrocks_fe_tablet_num")
        .collect();
    assert_eq!(tablets.len(), 2);
    let dup = samples
        .iter()
        .filter(|s| s.name == "starrocks_fe_table_load_rows")
        .count();
    assert_eq!(dup, 2);
    // The summary's children belong to it.
    assert_eq!(
        find("starrocks_fe_query_latency_ms_count", None).family,
        "starrocks_fe_query_latency_ms"
    );
    assert_eq!(find("node_info", Some(("type", "is_master"))).value, 1.0);

    let mut parser = Parser::new(body.as_bytes(), Mode::Strict);
    assert!(parser.by_ref().all(|s| s.is_ok()));
    let heap = parser.family("jvm_heap_size_bytes").unwrap();
    assert_eq!(heap.metric_type, Some(MetricType::Gauge));
    assert_eq!(heap.help.as_deref(), Some("jvm heap stat"));
    // `# HELP name ` with a trailing blank is an empty docstring.
    assert_eq!(
        parser.family("starrocks_fe_query_latency_ms").unwrap().help,
        None
    );
    assert_eq!(
        parser.family("node_info").unwrap().metric_type,
        Some(MetricType::Gauge)
    );
}

#[test]
fn be_body_parses_strictly_including_the_bvar_tail() {
    let body = fixture("starrocks-be-3.3.txt");
    let samples = strict(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(samples.len(), 35);
    let cpu: f64 = samples
        .iter()
        .filter(|s| s.name == "starrocks_be_cpu")
        .map(|s| s.value)
        .sum();
    assert_eq!(
        cpu,
        1_739_157_078.0 + 210_944.0 + 4210.0 + 81_002.0 + 2_903_117.0 + 11_917_999.0
    );
    let ratio = samples
        .iter()
        .find(|s| s.name == "starrocks_be_query_cache_hit_ratio")
        .unwrap();
    assert_eq!(ratio.value, 0.984098);
    let negative = samples
        .iter()
        .find(|s| s.name == "starrocks_be_resource_group_running_queries")
        .unwrap();
    assert_eq!(negative.value, -1.0);
    let count = samples
        .iter()
        .find(|s| s.name == "rpc_server_8060_brpc_latency_count")
        .unwrap();
    assert_eq!(count.family, "rpc_server_8060_brpc_latency");
    assert_eq!(count.value, 98_043.0);
}

#[test]
fn every_line_prefix_parses_to_a_prefix_of_the_samples() {
    // Like a body cut at any line boundary: strict and lenient agree on the samples so far.
    for name in ["starrocks-fe-leader-3.3.txt", "starrocks-be-3.3.txt"] {
        let body = fixture(name);
        let all = strict(&body).unwrap();
        let mut offset = 0;
        for line in body.split_inclusive('\n') {
            offset += line.len();
            let prefix = &body[..offset];
            let got = strict(prefix).unwrap_or_else(|e| panic!("{name} at {offset}: {e}"));
            assert_eq!(got[..], all[..got.len()], "{name} at {offset}");
            let (lenient_samples, errors) = lenient(prefix.as_bytes());
            assert!(errors.is_empty());
            assert_eq!(lenient_samples, got);
        }
    }
}

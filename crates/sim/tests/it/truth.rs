//! Ground truth against deltas computed from served bodies; monotonic counters; scale.

use std::collections::HashMap;
use std::time::Duration;

use rockscope_sim::{Condition, NodeId, NodeKind, SimConfig, Simulator, Version};

use crate::support::{
    Sample, by_series, get, monotonic_names, parse_prom, sum_where, value, within,
};
use crate::{ROOT, start};

fn read_all(sim: &Simulator) -> HashMap<NodeId, Vec<Sample>> {
    read_raw(sim)
        .into_iter()
        .map(|(id, t)| (id, parse_prom(&t)))
        .collect()
}

fn read_raw(sim: &Simulator) -> HashMap<NodeId, String> {
    let info = sim.clusters().remove(0);
    info.nodes
        .iter()
        .map(|n| (n.id, get(n.addr, "/metrics", ROOT).text().to_string()))
        .collect()
}

#[test]
fn counters_are_monotonic_across_reads() {
    let (sim, _info) = start(Version::V3_3, 2, 2);
    let a = read_raw(&sim);
    sim.advance(Duration::from_secs(45));
    let b = read_raw(&sim);
    let mut checked = 0;
    for (id, text) in &a {
        let monotonic = monotonic_names(text);
        let before = parse_prom(text);
        let after_samples = parse_prom(&b[id]);
        let after = by_series(&after_samples);
        for s in &before {
            if !monotonic.contains(&s.name) {
                continue;
            }
            let key = format!("{}{:?}", s.name, s.labels);
            let v = after[&key];
            assert!(v >= s.value, "{id} {key}: {} -> {v}", s.value);
            checked += 1;
        }
        if id.kind == NodeKind::Fe {
            let q = |x: &Vec<Sample>| value(x, "starrocks_fe_query_total", &[]).unwrap();
            assert!(q(&after_samples) > q(&before), "queries advance");
            assert!(monotonic.contains("starrocks_fe_query_total"));
        } else {
            assert!(monotonic.contains("starrocks_be_cpu"));
        }
    }
    assert!(checked > 500, "{checked}");
}

#[test]
fn ground_truth_matches_served_deltas() {
    let (sim, _info) = start(Version::V3_3, 3, 4);
    let t_a = sim.now();
    let a = read_all(&sim);
    sim.advance(Duration::from_secs(60));
    let t_b = sim.now();
    let b = read_all(&sim);
    let gt = sim.ground_truth("sim-1", t_a, t_b).unwrap();
    let dt = 60.0;
    let delta = |id: &NodeId, name: &str, f: &dyn Fn(&Sample) -> bool| {
        sum_where(&b[id], name, f) - sum_where(&a[id], name, f)
    };
    let all = |_: &Sample| true;
    let fes: Vec<NodeId> = a
        .keys()
        .filter(|k| k.kind == NodeKind::Fe)
        .copied()
        .collect();
    let bes: Vec<NodeId> = a
        .keys()
        .filter(|k| k.kind == NodeKind::Be)
        .copied()
        .collect();
    let qps: f64 = fes
        .iter()
        .map(|id| delta(id, "starrocks_fe_query_total", &all))
        .sum::<f64>()
        / dt;
    let rps: f64 = fes
        .iter()
        .map(|id| delta(id, "starrocks_fe_request_total", &all))
        .sum::<f64>()
        / dt;
    let errs: f64 = fes
        .iter()
        .map(|id| delta(id, "starrocks_fe_query_err", &all))
        .sum::<f64>();
    assert!(within(qps, gt.qps, 0.01), "qps {qps} vs {}", gt.qps);
    assert!(within(rps, gt.rps, 0.01), "rps {rps} vs {}", gt.rps);
    assert!((100.0 * errs / (qps * dt) - gt.query_error_rate_pct).abs() < 0.5);
    assert!((gt.queries as f64 - qps * dt).abs() <= 3.0 * fes.len() as f64);
    let mut cpu_sum = 0.0;
    for id in &bes {
        let mode = |m: &'static str| move |s: &Sample| s.label("mode") == Some(m);
        let total: f64 = [
            "user", "nice", "system", "idle", "iowait", "irq", "soft_irq", "steal",
        ]
        .iter()
        .map(|m| delta(id, "starrocks_be_cpu", &mode(m)))
        .sum();
        let busy = total
            - delta(id, "starrocks_be_cpu", &mode("idle"))
            - delta(id, "starrocks_be_cpu", &mode("iowait"));
        let pct = 100.0 * busy / total;
        cpu_sum += pct;
        assert!(
            within(pct, gt.per_node_cpu_pct[id], 0.01),
            "{id} cpu {pct} vs {}",
            gt.per_node_cpu_pct[id]
        );
    }
    assert!(within(
        cpu_sum / bes.len() as f64,
        gt.avg_cpu_usage_pct,
        0.01
    ));
    let not_lo = |s: &Sample| s.label("device") != Some("lo");
    let send: f64 = bes
        .iter()
        .map(|id| delta(id, "starrocks_be_network_send_bytes", &not_lo))
        .sum::<f64>()
        / dt;
    let recv: f64 = bes
        .iter()
        .map(|id| delta(id, "starrocks_be_network_receive_bytes", &not_lo))
        .sum::<f64>()
        / dt;
    let rd: f64 = bes
        .iter()
        .map(|id| delta(id, "starrocks_be_disk_bytes_read", &all))
        .sum::<f64>()
        / dt;
    let wr: f64 = bes
        .iter()
        .map(|id| delta(id, "starrocks_be_disk_bytes_written", &all))
        .sum::<f64>()
        / dt;
    assert!(
        within(send, gt.network_send_rate, 0.001),
        "send {send} vs {}",
        gt.network_send_rate
    );
    assert!(within(recv, gt.network_receive_rate, 0.001));
    assert!(within(rd, gt.io_read_rate, 0.001));
    assert!(within(wr, gt.io_write_rate, 0.001));
    let lo_send: f64 = bes
        .iter()
        .map(|id| {
            delta(id, "starrocks_be_network_send_bytes", &|s: &Sample| {
                s.label("device") == Some("lo")
            })
        })
        .sum();
    assert!(lo_send > 0.0, "lo traffic exists but is excluded");
    // Gauges at `to`.
    let heap_used: f64 = fes
        .iter()
        .map(|id| value(&b[id], "jvm_heap_size_bytes", &[("type", "used")]).unwrap())
        .sum();
    let heap_max: f64 = fes
        .iter()
        .map(|id| value(&b[id], "jvm_heap_size_bytes", &[("type", "max")]).unwrap())
        .sum();
    assert_eq!(heap_used as u64, gt.jvm_heap_used);
    assert_eq!(heap_max as u64, gt.jvm_heap_max);
    let disk_total: f64 = bes
        .iter()
        .map(|id| sum_where(&b[id], "starrocks_be_disks_total_capacity", all))
        .sum();
    let disk_used: f64 = bes
        .iter()
        .map(|id| sum_where(&b[id], "starrocks_be_disks_data_used_capacity", all))
        .sum();
    assert_eq!(disk_total as u64, gt.disk_total_bytes);
    assert_eq!(disk_used as u64, gt.disk_used_bytes);
    // Plausibility.
    assert!(gt.qps > 1.0 && gt.avg_cpu_usage_pct > 1.0 && gt.avg_cpu_usage_pct < 95.0);
    assert!(sim.ground_truth("sim-1", t_b, t_a).is_err());
    assert!(sim.ground_truth("nope", t_a, t_b).is_err());
}

#[test]
fn qps_gauge_reads_fifteen_sixteenths_of_the_true_rate() {
    // MetricCalculator divides a 15 s tick's increase by Δms / 1000 + 1 = 16. The pinned clock
    // is on a whole minute, so the last closed tick is [now − 15 s, now].
    let (sim, info) = start(Version::V3_3, 1, 1);
    let fe = info.node(NodeId::fe(0)).unwrap().addr;
    let s = parse_prom(get(fe, "/metrics", None).text());
    let qps = value(&s, "starrocks_fe_qps", &[]).unwrap();
    let now = sim.now();
    let gt = sim
        .ground_truth("sim-1", now - time::Duration::seconds(15), now)
        .unwrap();
    // query_total = success + err, two floored integrals: ±2 queries over the tick
    let quantum = 2.0 / 15.0;
    assert!(
        (qps * 16.0 / 15.0 - gt.qps).abs() <= quantum + 1e-9,
        "{qps} × 16/15 vs {}",
        gt.qps
    );
    assert!(gt.qps * 15.0 > 100.0, "enough queries for the check");
    // query_err_rate: the same tick's failed queries, through the same division.
    let err_rate = value(&s, "starrocks_fe_query_err_rate", &[]).unwrap();
    let errors = gt.query_errors as f64;
    assert!(
        (err_rate * 16.0 - errors).abs() <= 1.0 + 1e-9,
        "{err_rate} × 16 vs {errors} failed in the tick"
    );
}

#[test]
fn query_err_rate_follows_the_error_counter_over_the_tick() {
    // 2 extra failures a second on top of the model's own (under 0.1/s): the gauge reads the
    // last closed tick's Δquery_err / 16. The clock stays on a whole minute: the tick is
    // [now − 15 s, now].
    let (sim, info) = start(Version::V4_0, 1, 1);
    sim.set_condition("sim-1", Some(NodeId::fe(0)), Condition::QueryErrors(2.0))
        .unwrap();
    sim.advance(Duration::from_secs(60));
    let fe = info.node(NodeId::fe(0)).unwrap().addr;
    let scrape = || parse_prom(get(fe, "/metrics", ROOT).text());
    let now = scrape();
    let err_rate = value(&now, "starrocks_fe_query_err_rate", &[]).unwrap();
    sim.set_manual_time(Some(sim.now() - time::Duration::seconds(15)));
    let tick_start = scrape();
    let delta = value(&now, "starrocks_fe_query_err", &[]).unwrap()
        - value(&tick_start, "starrocks_fe_query_err", &[]).unwrap();
    assert!((30.0..=32.0).contains(&delta), "{delta} failed in the tick");
    assert!(
        (err_rate * 16.0 - delta).abs() < 1e-9,
        "{err_rate} × 16 vs {delta}"
    );
}

#[test]
fn thousand_nodes_in_one_process() {
    let sim = Simulator::start(SimConfig::uniform(100, 3, 7, Version::V3_3, 9)).unwrap();
    let clusters = sim.clusters();
    assert_eq!(clusters.iter().map(|c| c.nodes.len()).sum::<usize>(), 1000);
    let started = std::time::Instant::now();
    // One scrape of every 10th cluster's nodes, sequentially: bounded and quick.
    let mut bytes = 0;
    for c in clusters.iter().step_by(10) {
        for n in &c.nodes {
            let r = get(n.addr, "/metrics", None);
            assert_eq!(r.status, 200);
            bytes += r.body.len();
        }
    }
    assert!(bytes > 10 * (3 * 25_000 + 7 * 120_000), "{bytes}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// `page_cache_lookup_count` / `page_cache_hit_count`: typed gauge as StarRocks does, yet
/// counters from the process start (monotonic, reset by a restart), 80–95 % hits, equal to the
/// ground truth; the insert/evict counters only on a BE of the newer build, which the
/// backends list shows.
#[test]
fn page_cache_counters_are_gauge_typed_counters() {
    use rockscope_sim::{ClusterSpec, Fault};
    let spec = ClusterSpec::new("sim-1", 1, 3, Version::V3_3).with_newer_be(1);
    let sim = Simulator::start(SimConfig::with_clusters(vec![spec]).seed(11)).expect("start");
    sim.set_manual_time(Some(crate::pinned_now()));
    let info = sim.clusters().remove(0);
    let be = |i: u32| crate::addr(&info, NodeId::be(i));
    let counts = |i: u32| {
        let text = get(be(i), "/metrics", ROOT).text().to_string();
        let types = monotonic_names(&text);
        assert!(!types.contains("starrocks_be_page_cache_lookup_count"));
        assert!(text.contains("# TYPE starrocks_be_page_cache_lookup_count gauge\n"));
        let s = parse_prom(&text);
        let v = |n: &str| value(&s, n, &[]);
        (
            v("starrocks_be_page_cache_lookup_count").unwrap(),
            v("starrocks_be_page_cache_hit_count").unwrap(),
            v("starrocks_be_page_cache_insert_count"),
        )
    };
    let t_a = sim.now();
    let a: Vec<_> = (0..3).map(counts).collect();
    sim.advance(Duration::from_secs(60));
    let t_b = sim.now();
    let b: Vec<_> = (0..3).map(counts).collect();
    let gt = sim.ground_truth("sim-1", t_a, t_b).unwrap();
    for i in 0..3u32 {
        let ((l0, h0, _), (l1, h1, ins)) = (a[i as usize], b[i as usize]);
        assert!(l1 > l0 && h1 > h0, "be{i} grows");
        let share = h1 / l1;
        assert!((0.80..=0.95).contains(&share), "be{i} hit share {share}");
        let truth = gt.page_cache[&NodeId::be(i)];
        assert_eq!(truth.lookup_count as f64, l1);
        assert_eq!(truth.hit_count as f64, h1);
        assert!((l1 - l0 - truth.lookups).abs() <= 1.0);
        assert!((h1 - h0 - truth.hits).abs() <= 1.0);
        assert_eq!(ins, truth.insert_count.map(|c| c as f64));
        assert_eq!(ins.is_some(), i == 1, "be{i}: only the newer build");
    }
    assert_eq!(b[1].2, Some(b[1].0 - b[1].1), "every miss inserts");
    let fe = crate::addr(&info, NodeId::fe(0));
    let rows = get(fe, "/api/show_proc?path=/backends", ROOT).json();
    let versions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions.iter().filter(|v| **v == "3.3.14-5d8e3c1").count(),
        1
    );
    // A restart: the counters start again from 0; the truth counts from the restart.
    sim.advance(Duration::from_secs(4));
    sim.set_fault("sim-1", NodeId::be(0), Fault::Restart)
        .unwrap();
    let t_r = sim.now();
    sim.advance(Duration::from_secs(6));
    let (l2, h2, _) = counts(0);
    assert!(l2 > 0.0 && l2 < b[0].0 / 10.0, "{l2} after a restart");
    let gt = sim.ground_truth("sim-1", t_b, sim.now()).unwrap();
    let truth = gt.page_cache[&NodeId::be(0)];
    assert!(
        (l2 - truth.lookups).abs() <= 1.0,
        "{l2} vs {}",
        truth.lookups
    );
    assert!((h2 - truth.hits).abs() <= 1.0);
    let since_restart = sim.ground_truth("sim-1", t_r, sim.now()).unwrap();
    assert_eq!(
        since_restart.page_cache[&NodeId::be(0)].lookups,
        truth.lookups
    );
    // Exactly reproducible: a second simulator with the same seed serves the same numbers.
    let twin = Simulator::start(
        SimConfig::with_clusters(vec![ClusterSpec::new("sim-1", 1, 3, Version::V3_3)]).seed(11),
    )
    .expect("twin");
    twin.set_manual_time(Some(t_b));
    let twin_truth = twin.ground_truth("sim-1", t_a, t_b).unwrap();
    assert_eq!(
        twin_truth.page_cache[&NodeId::be(2)].lookup_count as f64,
        b[2].0
    );
}

/// `disks_data_used_capacity{path}` per storage root equals the per-path truth.
#[test]
fn data_used_by_path_matches_the_served_gauges() {
    let (sim, info) = start(Version::V3_3, 1, 2);
    let gt = sim
        .ground_truth("sim-1", sim.now() - time::Duration::seconds(10), sim.now())
        .unwrap();
    for i in 0..2u32 {
        let text = get(crate::addr(&info, NodeId::be(i)), "/metrics", ROOT)
            .text()
            .to_string();
        let s = parse_prom(&text);
        let paths = &gt.data_used_by_path[&NodeId::be(i)];
        assert_eq!(paths.len(), 2);
        for (path, used) in paths {
            let served = value(
                &s,
                "starrocks_be_disks_data_used_capacity",
                &[("path", path)],
            );
            assert_eq!(served, Some(*used as f64), "be{i} {path}");
        }
    }
}

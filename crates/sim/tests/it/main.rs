//! Integration tests: every endpoint over real HTTP on loopback, faults, ground truth.

mod conditions;
mod endpoints;
mod faults;
mod latency;
mod receiver;
mod support;
mod truth;

use rockscope_sim::{ClusterInfo, NodeId, SimConfig, Simulator, Version};
use std::net::SocketAddr;
use time::OffsetDateTime;

/// The current wall time rounded down to a minute: tests pin the served clock there so
/// windows are exact (it is after every simulated process start).
pub fn pinned_now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    OffsetDateTime::from_unix_timestamp(now - now % 60).expect("valid")
}

/// One cluster of `fes` FEs and `bes` BEs in Ports mode with the clock pinned at
/// [`pinned_now`].
pub fn start(version: Version, fes: usize, bes: usize) -> (Simulator, ClusterInfo) {
    let sim = Simulator::start(SimConfig::uniform(1, fes, bes, version, 11)).expect("start");
    sim.set_manual_time(Some(pinned_now()));
    let info = sim.clusters().remove(0);
    (sim, info)
}

pub fn addr(info: &ClusterInfo, id: NodeId) -> SocketAddr {
    info.node(id).expect("node").addr
}

pub const ROOT: Option<(&str, &str)> = Some(("root", ""));

#[test]
fn simulator_is_send_and_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<Simulator>();
    assert::<rockscope_sim::GroundTruth>();
}

#[test]
fn config_validation() {
    use rockscope_sim::ClusterSpec;
    let dup = SimConfig::with_clusters(vec![ClusterSpec::default(), ClusterSpec::default()]);
    assert!(Simulator::start(dup).is_err());
    let no_fe = SimConfig::with_clusters(vec![ClusterSpec::new("x", 0, 1, Version::V3_3)]);
    assert!(Simulator::start(no_fe).is_err());
    assert_eq!("3.3.10".parse::<Version>().unwrap(), Version::V3_3);
    assert_eq!("fe2".parse::<NodeId>().unwrap(), NodeId::fe(2));
    assert!("xx1".parse::<NodeId>().is_err());
}

#[test]
fn a_slice_of_a_uniform_fleet_serves_what_the_whole_fleet_serves() {
    let whole = Simulator::start(SimConfig::uniform(3, 1, 1, Version::V3_3, 7)).expect("whole");
    let slice =
        Simulator::start(SimConfig::uniform_slice(2..3, 1, 1, Version::V3_3, 7)).expect("slice");
    let t = pinned_now();
    for sim in [&whole, &slice] {
        sim.set_manual_time(Some(t));
    }
    let whole_info = whole.cluster("sim-3").expect("sim-3 in the whole fleet");
    let slice_info = slice.clusters();
    assert_eq!(
        slice_info
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["sim-3"]
    );
    let be_metrics = |info: &ClusterInfo| {
        support::get(addr(info, NodeId::be(0)), "/metrics", ROOT)
            .text()
            .to_owned()
    };
    let cluster_id = |info: &ClusterInfo| {
        let v = support::get(
            addr(info, NodeId::fe(0)),
            "/api/show_proc?path=/frontends",
            ROOT,
        )
        .json();
        v[0]["ClusterId"].clone()
    };
    // Seeded by the place in the fleet, not in the process (where sim-3 is the first).
    assert_eq!(cluster_id(&whole_info), cluster_id(&slice_info[0]));
    assert_eq!(be_metrics(&whole_info), be_metrics(&slice_info[0]));
    let first = whole.cluster("sim-1").expect("sim-1");
    assert_ne!(cluster_id(&first), cluster_id(&whole_info));
}

//! Conditions: pressures a test puts a cluster or node under (a full disk, a busy CPU, failing
//! compactions, …), so that each StarRocks alert can be made to fire and then resolve.
//!
//! A condition is not a fault: the node keeps answering, its numbers move. Each one is kept as
//! a timeline of `(since, value)` entries stamped with the served clock, so counters stay
//! closed-form functions of time: a rate condition adds its rate only over the spans it was set,
//! and a counter never goes down when it is cleared. Gauges take the value in force at the
//! instant served.

use std::collections::BTreeMap;

use crate::{NodeKind, SimError, Version};

/// A storage-engine task type of `starrocks_be_engine_requests_total{type}` that alerts watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EngineTask {
    /// `cumulative_compaction`.
    CumulativeCompaction,
    /// `base_compaction`.
    BaseCompaction,
    /// `schema_change`.
    SchemaChange,
    /// `create_rollup`.
    CreateRollup,
    /// `clone`.
    Clone,
}

impl EngineTask {
    /// The `type` label value.
    pub fn label(self) -> &'static str {
        match self {
            EngineTask::CumulativeCompaction => "cumulative_compaction",
            EngineTask::BaseCompaction => "base_compaction",
            EngineTask::SchemaChange => "schema_change",
            EngineTask::CreateRollup => "create_rollup",
            EngineTask::Clone => "clone",
        }
    }

    /// The task of a `type` label value, if alerts watch it.
    pub fn from_label(label: &str) -> Option<EngineTask> {
        [
            EngineTask::CumulativeCompaction,
            EngineTask::BaseCompaction,
            EngineTask::SchemaChange,
            EngineTask::CreateRollup,
            EngineTask::Clone,
        ]
        .into_iter()
        .find(|t| t.label() == label)
    }
}

/// A pressure on a cluster or node, set with [`crate::Simulator::set_condition`] or
/// `POST /sim/condition`. Percentages are 0–100; rates are per node (a condition set without a
/// node applies to every node it concerns, each at the full rate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Condition {
    /// BE: storage root `path` (its index: 0 is `/data1/starrocks/storage`, 1 is
    /// `/data2/starrocks/storage`) used at `pct` %: `disks_{total,avail}_capacity{path}` and the
    /// backends list's capacities follow.
    StoragePathUsage {
        /// Index of the storage root.
        path: usize,
        /// (total − avail) / total × 100.
        pct: f64,
    },
    /// BE: every storage root used at this % (the BE as a whole nearly full); a
    /// `StoragePathUsage` of the same node wins for its root.
    StorageUsage(f64),
    /// BE/CN: `starrocks_be_max_disk_io_util_percent`.
    DiskIoUtil(f64),
    /// BE/CN: host CPU busy % (the `starrocks_be_cpu` jiffies advance accordingly; `CpuUsedPct`
    /// follows).
    CpuBusy(f64),
    /// BE/CN: process memory as % of `MemLimit` (`process_mem_bytes` and `MemUsedPct`).
    MemoryUsage(f64),
    /// BE: `starrocks_be_max_tablet_rowset_num`.
    MaxRowsetNum(i64),
    /// BE: its cumulative compaction score (base = score / 4); the leader's
    /// `tablet_max_compaction_score{backend}` and `max_tablet_compaction_score` follow.
    CompactionScore(f64),
    /// BE/CN: `engine_requests_total{status="failed",type=task}` grows by `per_minute` a minute
    /// (and `status="total"` with it).
    EngineFailures {
        /// Which task type fails.
        task: EngineTask,
        /// Failures per minute.
        per_minute: f64,
    },
    /// FE: heap used at `pct` % of `jvm_heap_size_bytes{type="max"}` (committed grows to fit;
    /// `show_runtime_info` follows).
    HeapUsage(f64),
    /// FE: `jvm_thread{type="count"}` (and `thread_cnt` of `show_runtime_info`).
    JvmThreads(i64),
    /// FE: `starrocks_fe_connection_total`.
    Connections(i64),
    /// FE: query latency p95, ms: the latency reservoir's mean becomes `ms / 3.5`, so the
    /// summary's `quantile="0.95"` and the window's `95_quantile` read `ms`.
    QueryLatencyP95(f64),
    /// FE: extra failed queries per second (counted in `query_total` and `query_err`).
    QueryErrors(f64),
    /// FE: extra internal errors per second (`query_internal_err`, also counted as failed
    /// queries). Not on 3.0, which has no `query_internal_err`.
    InternalQueryErrors(f64),
    /// FE: every query rate multiplied by this factor (2.0: the QPS doubles).
    QpsFactor(f64),
    /// Leader: `starrocks_fe_meta_log_count`.
    MetaLogCount(i64),
    /// Leader: transactions begun and failed per second (`txn_begin`, `txn_failed`; rejects stop
    /// meanwhile so that `txn_begin` grows by exactly `begin_per_second`).
    LoadTransactions {
        /// Transactions begun per second.
        begin_per_second: f64,
        /// Of them, failed per second.
        failed_per_second: f64,
    },
    /// Leader: `routine_load_jobs{state}` counts (RUNNING stays as is).
    RoutineLoadJobs {
        /// `NEED_SCHEDULE`.
        need_schedule: i64,
        /// `PAUSED`.
        paused: i64,
        /// `UNSTABLE`.
        unstable: i64,
    },
    /// Leader: `enable_routine_load_lag_metrics` on, with `routine_load_max_lag_of_partition`
    /// of job `rl_orders` at `rows` (and `rl_clicks` at a third of it). Without this condition
    /// the series is absent, as by default.
    RoutineLoadLag(i64),
    /// Leader: `txn_running{db="ssb"}` (the first database). 4.0 only: older versions have no
    /// per-database `txn_running`.
    TxnRunning(i64),
}

/// Which condition: the key of a timeline, for [`crate::Simulator::clear_condition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum ConditionKind {
    StoragePathUsage,
    StorageUsage,
    DiskIoUtil,
    CpuBusy,
    MemoryUsage,
    MaxRowsetNum,
    CompactionScore,
    EngineFailures(EngineTask),
    HeapUsage,
    JvmThreads,
    Connections,
    QueryLatencyP95,
    QueryErrors,
    InternalQueryErrors,
    QpsFactor,
    MetaLogCount,
    LoadTransactions,
    RoutineLoadJobs,
    RoutineLoadLag,
    TxnRunning,
}

/// Which nodes a condition concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// BEs only.
    Backend,
    /// BEs and CNs.
    Compute,
    /// FEs (observers included).
    Frontend,
    /// The cluster, read by whichever FE leads.
    Leader,
}

impl Scope {
    pub(crate) fn admits(self, kind: NodeKind) -> bool {
        match self {
            Scope::Backend => kind == NodeKind::Be,
            Scope::Compute => kind != NodeKind::Fe,
            Scope::Frontend => kind == NodeKind::Fe,
            Scope::Leader => false,
        }
    }
}

impl ConditionKind {
    /// The nodes conditions of this kind concern.
    pub(crate) fn scope(self) -> Scope {
        use ConditionKind as K;
        match self {
            K::StoragePathUsage | K::StorageUsage | K::MaxRowsetNum | K::CompactionScore => {
                Scope::Backend
            }
            K::DiskIoUtil | K::CpuBusy | K::MemoryUsage | K::EngineFailures(_) => Scope::Compute,
            K::HeapUsage
            | K::JvmThreads
            | K::Connections
            | K::QueryLatencyP95
            | K::QueryErrors
            | K::InternalQueryErrors
            | K::QpsFactor => Scope::Frontend,
            K::MetaLogCount
            | K::LoadTransactions
            | K::RoutineLoadJobs
            | K::RoutineLoadLag
            | K::TxnRunning => Scope::Leader,
        }
    }
}

impl Condition {
    /// Its timeline key.
    pub fn kind(&self) -> ConditionKind {
        use Condition as C;
        use ConditionKind as K;
        match self {
            C::StoragePathUsage { .. } => K::StoragePathUsage,
            C::StorageUsage(_) => K::StorageUsage,
            C::DiskIoUtil(_) => K::DiskIoUtil,
            C::CpuBusy(_) => K::CpuBusy,
            C::MemoryUsage(_) => K::MemoryUsage,
            C::MaxRowsetNum(_) => K::MaxRowsetNum,
            C::CompactionScore(_) => K::CompactionScore,
            C::EngineFailures { task, .. } => K::EngineFailures(*task),
            C::HeapUsage(_) => K::HeapUsage,
            C::JvmThreads(_) => K::JvmThreads,
            C::Connections(_) => K::Connections,
            C::QueryLatencyP95(_) => K::QueryLatencyP95,
            C::QueryErrors(_) => K::QueryErrors,
            C::InternalQueryErrors(_) => K::InternalQueryErrors,
            C::QpsFactor(_) => K::QpsFactor,
            C::MetaLogCount(_) => K::MetaLogCount,
            C::LoadTransactions { .. } => K::LoadTransactions,
            C::RoutineLoadJobs { .. } => K::RoutineLoadJobs,
            C::RoutineLoadLag(_) => K::RoutineLoadLag,
            C::TxnRunning(_) => K::TxnRunning,
        }
    }

    /// Checks the values and that `version` can express the condition.
    pub(crate) fn validate(&self, version: Version) -> Result<(), SimError> {
        use Condition as C;
        let bad = |m: String| Err(SimError::InvalidCondition(m));
        let pct = |v: f64| (0.0..=100.0).contains(&v);
        let rate = |v: f64| v.is_finite() && v >= 0.0;
        let ok = match *self {
            C::StoragePathUsage { pct: p, .. }
            | C::StorageUsage(p)
            | C::DiskIoUtil(p)
            | C::CpuBusy(p)
            | C::MemoryUsage(p)
            | C::HeapUsage(p) => pct(p),
            C::CompactionScore(v) | C::QueryLatencyP95(v) | C::QueryErrors(v) => rate(v),
            C::InternalQueryErrors(v) => rate(v),
            C::EngineFailures { per_minute, .. } => rate(per_minute),
            C::QpsFactor(f) => f.is_finite() && f > 0.0,
            C::LoadTransactions {
                begin_per_second: b,
                failed_per_second: f,
            } => rate(b) && rate(f) && f <= b,
            C::MaxRowsetNum(v)
            | C::JvmThreads(v)
            | C::Connections(v)
            | C::MetaLogCount(v)
            | C::RoutineLoadLag(v)
            | C::TxnRunning(v) => v >= 0,
            C::RoutineLoadJobs {
                need_schedule,
                paused,
                unstable,
            } => need_schedule >= 0 && paused >= 0 && unstable >= 0,
        };
        if !ok {
            return bad(format!("value out of range in {self:?}"));
        }
        match self {
            C::TxnRunning(_) if version != Version::V4_0 => {
                bad("txn_running{db} is served by version 4.0 only".into())
            }
            C::InternalQueryErrors(_) if version == Version::V3_0 => {
                bad("version 3.0 has no query_internal_err".into())
            }
            _ => Ok(()),
        }
    }

    /// Parses a control-endpoint condition: `kind` is the snake-case name
    /// (`storage_path_usage`, `storage_usage`, `disk_io_util`, `cpu_busy`, `memory_usage`, `max_rowset_num`,
    /// `compaction_score`, `engine_failures`, `heap_usage`, `jvm_threads`, `connections`,
    /// `query_latency_p95`, `query_errors`, `internal_query_errors`, `qps_factor`,
    /// `meta_log_count`, `load_transactions`, `routine_load_jobs`, `routine_load_lag`,
    /// `txn_running`); `num` gives the named numbers (`value`, and `path`, `task`, `begin`,
    /// `failed`, `need_schedule`, `paused`, `unstable` where the kind has them), `text` the
    /// named words (`task`).
    pub fn parse(
        kind: &str,
        num: impl Fn(&str) -> Option<f64>,
        text: impl Fn(&str) -> Option<String>,
    ) -> Result<Condition, SimError> {
        use Condition as C;
        let need = |name: &str| {
            num(name).ok_or_else(|| SimError::InvalidCondition(format!("{kind} needs {name}")))
        };
        let count = |name: &str| {
            need(name).and_then(|v| {
                v.is_finite().then_some(v as i64).ok_or_else(|| {
                    SimError::InvalidCondition(format!("{kind}: {name} is not a number"))
                })
            })
        };
        Ok(match kind {
            "storage_path_usage" => C::StoragePathUsage {
                path: num("path").unwrap_or(0.0).max(0.0) as usize,
                pct: need("value")?,
            },
            "storage_usage" => C::StorageUsage(need("value")?),
            "disk_io_util" => C::DiskIoUtil(need("value")?),
            "cpu_busy" => C::CpuBusy(need("value")?),
            "memory_usage" => C::MemoryUsage(need("value")?),
            "max_rowset_num" => C::MaxRowsetNum(count("value")?),
            "compaction_score" => C::CompactionScore(need("value")?),
            "engine_failures" => {
                let task = text("task").unwrap_or_default();
                C::EngineFailures {
                    task: EngineTask::from_label(&task).ok_or_else(|| {
                        SimError::InvalidCondition(format!("unknown engine task {task:?}"))
                    })?,
                    per_minute: need("value")?,
                }
            }
            "heap_usage" => C::HeapUsage(need("value")?),
            "jvm_threads" => C::JvmThreads(count("value")?),
            "connections" => C::Connections(count("value")?),
            "query_latency_p95" => C::QueryLatencyP95(need("value")?),
            "query_errors" => C::QueryErrors(need("value")?),
            "internal_query_errors" => C::InternalQueryErrors(need("value")?),
            "qps_factor" => C::QpsFactor(need("value")?),
            "meta_log_count" => C::MetaLogCount(count("value")?),
            "load_transactions" => C::LoadTransactions {
                begin_per_second: need("begin")?,
                failed_per_second: need("failed")?,
            },
            "routine_load_jobs" => C::RoutineLoadJobs {
                need_schedule: num("need_schedule").unwrap_or(0.0) as i64,
                paused: num("paused").unwrap_or(0.0) as i64,
                unstable: num("unstable").unwrap_or(0.0) as i64,
            },
            "routine_load_lag" => C::RoutineLoadLag(count("value")?),
            "txn_running" => C::TxnRunning(count("value")?),
            other => {
                return Err(SimError::InvalidCondition(format!(
                    "unknown condition {other:?}"
                )));
            }
        })
    }
}

/// The condition timelines of one node or cluster: per kind, `(since, value)` entries in the
/// order they were set (`None`: cleared).
#[derive(Debug, Default)]
pub(crate) struct Timelines {
    map: BTreeMap<ConditionKind, Vec<(i64, Option<Condition>)>>,
}

impl Timelines {
    /// Sets (or with `None` clears) `kind` from `since` on.
    pub(crate) fn set(&mut self, kind: ConditionKind, since: i64, value: Option<Condition>) {
        self.map.entry(kind).or_default().push((since, value));
    }

    /// Clears every kind that has a value from `since` on.
    pub(crate) fn clear_all(&mut self, since: i64) {
        let kinds: Vec<ConditionKind> = self.map.keys().copied().collect();
        for k in kinds {
            self.set(k, since, None);
        }
    }

    /// The value of `kind` in force at `t`.
    pub(crate) fn at(&self, kind: ConditionKind, t: i64) -> Option<Condition> {
        let line = self.map.get(&kind)?;
        line.iter().rev().find(|(s, _)| *s <= t).and_then(|e| e.1)
    }

    /// `∫_a^b` of a quantity whose rate depends on the condition in force: `f(value, lo, hi)`
    /// gives the amount over `[lo, hi]`, a span over which the value does not change.
    pub(crate) fn integrate(
        &self,
        kind: ConditionKind,
        a: i64,
        b: i64,
        f: impl Fn(Option<Condition>, i64, i64) -> f64,
    ) -> f64 {
        if b <= a {
            return 0.0;
        }
        let mut cuts: Vec<i64> = self
            .map
            .get(&kind)
            .map(|l| l.iter().map(|e| e.0).filter(|s| *s > a && *s < b).collect())
            .unwrap_or_default();
        cuts.sort_unstable();
        cuts.dedup();
        let mut sum = 0.0;
        let mut lo = a;
        for hi in cuts.into_iter().chain(std::iter::once(b)) {
            sum += f(self.at(kind, lo), lo, hi);
            lo = hi;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_integrates_over_the_spans_set() {
        let mut t = Timelines::default();
        let k = ConditionKind::QueryErrors;
        let per_s = |c: Option<Condition>, lo: i64, hi: i64| match c {
            Some(Condition::QueryErrors(r)) => r * (hi - lo) as f64,
            _ => 0.0,
        };
        assert_eq!(t.integrate(k, 0, 100, per_s), 0.0);
        t.set(k, 10, Some(Condition::QueryErrors(2.0)));
        t.set(k, 30, None);
        t.set(k, 50, Some(Condition::QueryErrors(1.0)));
        assert_eq!(t.at(k, 9), None);
        assert_eq!(t.at(k, 10), Some(Condition::QueryErrors(2.0)));
        assert_eq!(t.at(k, 40), None);
        // 20 × 2 + 50 × 1
        assert_eq!(t.integrate(k, 0, 100, per_s), 90.0);
        assert_eq!(t.integrate(k, 20, 60, per_s), 30.0);
        t.clear_all(100);
        assert_eq!(t.at(k, 100), None);
    }

    #[test]
    fn validation_and_parsing() {
        assert!(Condition::CpuBusy(101.0).validate(Version::V3_3).is_err());
        assert!(Condition::CpuBusy(95.0).validate(Version::V3_3).is_ok());
        assert!(Condition::TxnRunning(950).validate(Version::V3_3).is_err());
        assert!(Condition::TxnRunning(950).validate(Version::V4_0).is_ok());
        assert!(
            Condition::InternalQueryErrors(1.0)
                .validate(Version::V3_0)
                .is_err()
        );
        let c = Condition::parse(
            "engine_failures",
            |n| (n == "value").then_some(6.0),
            |n| (n == "task").then(|| "clone".to_owned()),
        );
        assert_eq!(
            c,
            Ok(Condition::EngineFailures {
                task: EngineTask::Clone,
                per_minute: 6.0
            })
        );
        assert!(Condition::parse("cpu_busy", |_| None, |_| None).is_err());
        assert!(Condition::parse("nonsense", |_| Some(1.0), |_| None).is_err());
    }
}

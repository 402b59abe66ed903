//! Browser tests of rockscope's pages: the real `rockscope serve` binary (started by the e2e
//! suite's [`support::TestApp`]) collecting simulated StarRocks clusters (`rockscope-sim`),
//! opened in Debian's headless Chromium through chromedriver (`driver`). Every page is also
//! saved as screenshots at 1280 × 800 and 390 × 844 under `target/screenshots/`.
//!
//! * `monitoring`: the cluster list with health (a dead BE → degraded), the XSS-named cluster
//!   as text, the cluster overview (dead node first, range change refetches and redraws,
//!   auto-refresh at an injected interval, a null gap in a chart), the collector page.
//! * `manage`: the empty state, then register, edit, disable, test and delete from the page.
//! * `auth`: the token prompt on 401, and the token kept for the session.
//! * `alerts`: the badge of firing alerts in the cluster list, a cluster's alerts at the top of
//!   its overview, and the Alerts page (filters, history, rules), over alerts stored in the
//!   binary's database.
//! * `shards`: a `shard = "1/3"` instance marks the clusters other shards collect in the list
//!   and on a cluster's page, and names its shard on the collector page.
//! * `custom`: the cluster page's "Custom" chart group over `[[collector.custom_metrics]]`: a
//!   chart per definition with its description, unit and warnings, statistics equal to the
//!   API's, no data (not 0) for a series no node has, a zoom kept through auto-refresh, a 390 px
//!   phone; no group without definitions.
//! * `figures`: `#[ignore]`d measurements for docs/BENCHMARKS.md (run by hand).
//!
//! Every page is checked for console errors and warnings (chromedriver's browser log).
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the tests fail, naming the packages.

#[path = "../e2e/support.rs"]
#[allow(dead_code)]
mod support;

mod alerts;
mod auth;
mod custom;
mod driver;
mod figures;
mod manage;
mod monitoring;
mod shards;

/// Runs a browser test's async body on its own runtime (the simulator owns another one, so
/// tests stay synchronous at the top and the simulator is dropped outside any runtime).
pub fn run<F: std::future::Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(body);
}

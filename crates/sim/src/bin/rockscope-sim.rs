//! `rockscope-sim`: serve simulated StarRocks clusters until SIGINT/SIGTERM.
//!
//! Prints the served clusters as TOML for rockscope's config on stdout; notes (address
//! fallbacks, control endpoint) go to stdout as TOML comments so the output stays pasteable.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use rockscope_sim::{BindMode, ClusterSpec, SimConfig, Simulator, Version};

/// Serves N simulated StarRocks clusters and prints them as rockscope [[clusters]] TOML.
///
/// In `addresses` mode (default) cluster c uses BASE+256*c+1.. (default base 127.0.1.0) with
/// ports 8030 (FE) and 8040 (BE/CN); `ports` puts every node on 127.0.0.1 with an ephemeral
/// port. The control endpoint (default 127.0.0.1:0) takes
/// POST /sim/fault?cluster=..&node=be0&mode=down etc.
#[derive(Debug, Parser)]
// `--version` is the StarRocks version shape to simulate, as it always was.
#[command(name = "rockscope-sim", disable_version_flag = true)]
struct Args {
    /// Clusters to serve (sim-1, sim-2, …).
    #[arg(long, default_value_t = 1)]
    clusters: usize,
    /// Leader-capable FEs per cluster.
    #[arg(long, default_value_t = 1)]
    fes: usize,
    /// BEs per cluster.
    #[arg(long, default_value_t = 3)]
    bes: usize,
    /// CNs per cluster.
    #[arg(long, default_value_t = 0)]
    cns: usize,
    /// Observer FEs per cluster.
    #[arg(long, default_value_t = 0)]
    observers: usize,
    /// StarRocks version shape: 3.0, 3.3 or 4.0.
    #[arg(long, default_value = "3.3")]
    version: Version,
    /// Seed of every generated value.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Basic-auth user of every cluster.
    #[arg(long, default_value = "root")]
    user: String,
    /// Basic-auth password of every cluster.
    #[arg(long, default_value = "")]
    password: String,
    /// How nodes bind: one loopback address each, or ephemeral ports on 127.0.0.1.
    #[arg(long, value_enum, default_value_t = Bind::Addresses)]
    bind: Bind,
    /// First address of `addresses` mode.
    #[arg(long, default_value = "127.0.1.0")]
    base_address: Ipv4Addr,
    /// Address of the HTTP control endpoint.
    #[arg(long, default_value = "127.0.0.1:0")]
    control: SocketAddr,
    /// Serve no control endpoint.
    #[arg(long, conflicts_with = "control")]
    no_control: bool,
    /// Seconds added to the simulated clock.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    time_offset: f64,
}

/// `--bind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Bind {
    Addresses,
    Ports,
}

impl Args {
    fn bind_mode(&self) -> BindMode {
        match self.bind {
            Bind::Ports => BindMode::Ports,
            Bind::Addresses => BindMode::Addresses {
                base: self.base_address,
            },
        }
    }

    fn control_addr(&self) -> Option<SocketAddr> {
        (!self.no_control).then_some(self.control)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = SimConfig {
        clusters: (1..=args.clusters)
            .map(|i| {
                ClusterSpec::new(format!("sim-{i}"), args.fes, args.bes, args.version)
                    .with_observers(args.observers)
                    .with_cns(args.cns)
                    .with_credentials(args.user.clone(), args.password.clone())
            })
            .collect(),
        seed: args.seed,
        bind: args.bind_mode(),
        control: false,
        first_index: 0,
    };
    let started = match args.control_addr() {
        Some(addr) => Simulator::start_with_control_addr(config, addr),
        None => Simulator::start(config),
    };
    let sim = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rockscope-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.time_offset != 0.0 {
        sim.set_time_offset(time::Duration::seconds_f64(args.time_offset));
    }
    println!(
        "# rockscope-sim: {} cluster(s), StarRocks {} shape, seed {}",
        args.clusters, args.version, args.seed
    );
    if let Some(c) = sim.control_addr() {
        println!(
            "# control endpoint: http://{c}/sim/ (POST /sim/fault?cluster=sim-1&node=be0&mode=down)"
        );
    }
    for n in sim.notes() {
        println!("# note: {n}");
    }
    println!("{}", sim.to_toml());
    use std::io::Write;
    let _ = std::io::stdout().flush();

    // A tiny runtime of our own just to wait for the termination signals.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rockscope-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    });
    eprintln!("rockscope-sim: shutting down");
    sim.shutdown();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("rockscope-sim").chain(s.split_whitespace()))
    }

    #[test]
    fn parses_flags() {
        let a = args("--clusters 3 --fes=2 --bes 5 --cns 1 --observers 1 --version 4.0 --seed 9 --user u --password p --bind ports --no-control")
            .unwrap();
        assert_eq!(
            (a.clusters, a.fes, a.bes, a.cns, a.observers, a.seed),
            (3, 2, 5, 1, 1, 9)
        );
        assert_eq!(a.version, Version::V4_0);
        assert_eq!((a.user.as_str(), a.password.as_str()), ("u", "p"));
        assert_eq!(a.bind_mode(), BindMode::Ports);
        assert!(a.control_addr().is_none());
        let b = args("--base-address 127.0.9.0 --control 127.0.0.1:9999").unwrap();
        assert_eq!(
            b.bind_mode(),
            BindMode::Addresses {
                base: Ipv4Addr::new(127, 0, 9, 0)
            }
        );
        assert_eq!(
            b.control_addr(),
            Some(SocketAddr::from(([127, 0, 0, 1], 9999)))
        );
        let d = args("").unwrap();
        assert_eq!(
            (d.clusters, d.fes, d.bes, d.version),
            (1, 1, 3, Version::V3_3)
        );
        assert_eq!(
            d.control_addr(),
            Some(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert_eq!(
            args("--help").unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
        assert!(args("--fes").is_err());
        assert!(args("--version 2.5").is_err());
        assert!(args("--bogus 1").is_err());
        assert!(args("--time-offset -3600").is_ok());
        <Args as clap::CommandFactory>::command().debug_assert();
    }
}

//! `rockscope-sim`: serve simulated StarRocks clusters until SIGINT/SIGTERM.
//!
//! Prints the served clusters as TOML for rockscope's config on stdout; notes (address
//! fallbacks, control endpoint) go to stdout as TOML comments so the output stays pasteable.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use rockscope_sim::{BindMode, ClusterSpec, SimConfig, SimError, Simulator, Version};

const USAGE: &str = "\
usage: rockscope-sim [--clusters N] [--fes F] [--bes B] [--cns C] [--observers O]
                     [--version 3.0|3.3|4.0] [--seed S] [--user U] [--password P]
                     [--bind addresses|ports] [--base-address A] [--control ADDR | --no-control]
                     [--time-offset SECS]

Serves N simulated StarRocks clusters (default 1 cluster, 1 FE, 3 BEs, version 3.3, seed 1,
user root, empty password) and prints them as rockscope [[clusters]] TOML. In `addresses` mode
(default) cluster c uses BASE+256*c+1.. (default base 127.0.1.0) with ports 8030 (FE) and 8040
(BE/CN); `ports` puts every node on 127.0.0.1 with an ephemeral port. The control endpoint
(default 127.0.0.1:0) takes POST /sim/fault?cluster=..&node=be0&mode=down etc.";

struct Args {
    clusters: usize,
    fes: usize,
    bes: usize,
    cns: usize,
    observers: usize,
    version: Version,
    seed: u64,
    user: String,
    password: String,
    bind: BindMode,
    control: Option<SocketAddr>,
    time_offset: f64,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, SimError> {
    let mut a = Args {
        clusters: 1,
        fes: 1,
        bes: 3,
        cns: 0,
        observers: 0,
        version: Version::V3_3,
        seed: 1,
        user: "root".into(),
        password: String::new(),
        bind: BindMode::addresses(),
        control: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        time_offset: 0.0,
    };
    let mut base: Option<Ipv4Addr> = None;
    let mut ports = false;
    while let Some(flag) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--no-control" {
            a.control = None;
            continue;
        }
        let val = match inline.or_else(|| it.next()) {
            Some(v) => v,
            None => return Err(SimError::Config(format!("{flag} needs a value"))),
        };
        let bad = |what: &str| SimError::Config(format!("bad value {val:?} for {what}"));
        match flag.as_str() {
            "--clusters" => a.clusters = val.parse().map_err(|_| bad("--clusters"))?,
            "--fes" => a.fes = val.parse().map_err(|_| bad("--fes"))?,
            "--bes" => a.bes = val.parse().map_err(|_| bad("--bes"))?,
            "--cns" => a.cns = val.parse().map_err(|_| bad("--cns"))?,
            "--observers" => a.observers = val.parse().map_err(|_| bad("--observers"))?,
            "--version" => a.version = val.parse()?,
            "--seed" => a.seed = val.parse().map_err(|_| bad("--seed"))?,
            "--user" => a.user = val,
            "--password" => a.password = val,
            "--bind" => match val.as_str() {
                "addresses" => ports = false,
                "ports" => ports = true,
                _ => return Err(bad("--bind (addresses|ports)")),
            },
            "--base-address" => base = Some(val.parse().map_err(|_| bad("--base-address"))?),
            "--control" => a.control = Some(val.parse().map_err(|_| bad("--control"))?),
            "--time-offset" => a.time_offset = val.parse().map_err(|_| bad("--time-offset"))?,
            other => return Err(SimError::Config(format!("unknown argument {other}"))),
        }
    }
    a.bind = if ports {
        BindMode::Ports
    } else {
        BindMode::Addresses {
            base: base.unwrap_or(Ipv4Addr::new(127, 0, 1, 0)),
        }
    };
    Ok(Some(a))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("rockscope-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
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
        bind: args.bind,
        control: false,
    };
    let started = match args.control {
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

    fn args(s: &str) -> Result<Option<Args>, SimError> {
        parse(s.split_whitespace().map(str::to_string))
    }

    #[test]
    fn parses_flags() {
        let a = args("--clusters 3 --fes=2 --bes 5 --cns 1 --observers 1 --version 4.0 --seed 9 --user u --password p --bind ports --no-control")
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.clusters, a.fes, a.bes, a.cns, a.observers, a.seed),
            (3, 2, 5, 1, 1, 9)
        );
        assert_eq!(a.version, Version::V4_0);
        assert_eq!((a.user.as_str(), a.password.as_str()), ("u", "p"));
        assert_eq!(a.bind, BindMode::Ports);
        assert!(a.control.is_none());
        let b = args("--base-address 127.0.9.0 --control 127.0.0.1:9999")
            .unwrap()
            .unwrap();
        assert_eq!(
            b.bind,
            BindMode::Addresses {
                base: Ipv4Addr::new(127, 0, 9, 0)
            }
        );
        assert_eq!(b.control, Some(SocketAddr::from(([127, 0, 0, 1], 9999))));
        assert!(args("--help").unwrap().is_none());
        assert!(args("--fes").is_err());
        assert!(args("--version 2.5").is_err());
        assert!(args("--bogus 1").is_err());
    }
}

//! The command line: subcommands and their options, parsed by hand (a handful of flags does not
//! need an argument-parsing crate).

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// `parse-metrics [--lenient] [FILE]`: print the samples of a Prometheus text body.
    ParseMetrics {
        /// The file to read; `None` (or `-`) reads standard input.
        path: Option<String>,
        /// Skip bad lines instead of failing on the first.
        lenient: bool,
    },
    /// `serve`: collector and API until SIGINT/SIGTERM.
    Serve,
    /// `collect-once`: one cycle, a summary line per cluster.
    CollectOnce,
    /// `check-config`: validate and print the effective configuration, secrets masked.
    CheckConfig,
    /// `demo`: an in-process simulator with two clusters and the service against it.
    Demo,
    /// `rotate-key`: re-encrypt the stored passwords with a new secret key.
    RotateKey,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The subcommand.
    pub command: Command,
    /// `--config PATH`, accepted before or after the subcommand.
    pub config: Option<PathBuf>,
}

/// The usage text.
pub const USAGE: &str = "\
usage: rockscope [--config PATH] <command> [options]

commands:
  serve                              collect every cluster every interval and serve the HTTP
                                     API until SIGINT/SIGTERM
  collect-once                       run one collection cycle and print a line per cluster
                                     (exit 1 when a cluster failed)
  check-config                       validate the configuration and print it, secrets masked
  demo                               start a simulated pair of StarRocks clusters and the
                                     service against them
  rotate-key                         re-encrypt the stored cluster passwords with a new secret
                                     key (run it with the service stopped; see the README)
  parse-metrics [--lenient] [FILE]   print each sample of a Prometheus text body (FILE, or
                                     standard input when FILE is absent or -) as one JSON
                                     object per line; strict by default (exit 1 on the first
                                     invalid line), --lenient skips and reports bad lines
  help                               print this text

options:
  --config PATH   configuration file (default config/metrics-collector.toml); every key can
                  be overridden by ROCKSCOPE_<SECTION>__<KEY>, e.g. ROCKSCOPE_SERVER__PORT=9000";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut config = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            let Some(path) = iter.next() else {
                return Err("--config needs a PATH".to_owned());
            };
            config = Some(PathBuf::from(path));
        } else if let Some(path) = arg.strip_prefix("--config=") {
            config = Some(PathBuf::from(path));
        } else {
            rest.push(arg.as_str());
        }
    }
    let mut rest = rest.into_iter();
    let Some(name) = rest.next() else {
        return Err("no command given".to_owned());
    };
    let no_more = |command: Command, mut rest: std::vec::IntoIter<&str>| match rest.next() {
        Some(extra) => Err(format!("unexpected argument {extra:?}")),
        None => Ok(command),
    };
    let command = match name {
        "help" | "--help" | "-h" => Command::Help,
        "serve" => no_more(Command::Serve, rest)?,
        "collect-once" => no_more(Command::CollectOnce, rest)?,
        "check-config" => no_more(Command::CheckConfig, rest)?,
        "demo" => no_more(Command::Demo, rest)?,
        "rotate-key" => no_more(Command::RotateKey, rest)?,
        "parse-metrics" => {
            let mut path = None;
            let mut lenient = false;
            for arg in rest {
                match arg {
                    "--lenient" => lenient = true,
                    "--strict" => lenient = false,
                    "-" => path = None,
                    flag if flag.starts_with("--") => {
                        return Err(format!("parse-metrics: unknown option {flag}"));
                    }
                    file => {
                        if path.is_some() {
                            return Err("parse-metrics: more than one FILE given".to_owned());
                        }
                        path = Some(file.to_owned());
                    }
                }
            }
            Command::ParseMetrics { path, lenient }
        }
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok(Invocation { command, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn command(line: &str) -> Result<Command, String> {
        parse(&args(line)).map(|i| i.command)
    }

    #[test]
    fn parse_metrics_arguments() {
        assert_eq!(
            command("parse-metrics"),
            Ok(Command::ParseMetrics {
                path: None,
                lenient: false
            })
        );
        assert_eq!(
            command("parse-metrics --lenient body.txt"),
            Ok(Command::ParseMetrics {
                path: Some("body.txt".into()),
                lenient: true
            })
        );
        assert_eq!(
            command("parse-metrics -"),
            Ok(Command::ParseMetrics {
                path: None,
                lenient: false
            })
        );
        assert!(command("parse-metrics a b").is_err());
        assert!(command("parse-metrics --bogus").is_err());
        assert!(command("frobnicate").is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn config_before_or_after_the_command() {
        for line in [
            "--config c.toml serve",
            "serve --config c.toml",
            "serve --config=c.toml",
        ] {
            let inv = parse(&args(line)).unwrap();
            assert_eq!(inv.command, Command::Serve, "{line}");
            assert_eq!(inv.config, Some(PathBuf::from("c.toml")), "{line}");
        }
        assert_eq!(parse(&args("check-config")).unwrap().config, None);
        assert!(parse(&args("serve --config")).is_err());
        assert!(parse(&args("serve extra")).is_err());
    }
}

//! The command line: subcommands and their options, declared with clap's derive (which also
//! gives `--help` for every subcommand, `help <command>` and `--version`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// rockscope watches StarRocks clusters: it polls every FE and BE/CN over HTTP, stores one
/// metrics snapshot per cluster per interval in SQLite, and serves them over an HTTP API.
#[derive(Debug, Parser)]
#[command(name = "rockscope", version, propagate_version = true)]
pub struct Invocation {
    /// Configuration file (default config/metrics-collector.toml); every key can be overridden
    /// by ROCKSCOPE_<SECTION>__<KEY>, e.g. ROCKSCOPE_SERVER__PORT=9000.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Collect every cluster every interval and serve the HTTP API until SIGINT/SIGTERM.
    Serve,
    /// Run one collection cycle and print a line per cluster (exit 1 when a cluster failed).
    CollectOnce,
    /// Validate the configuration and print it, secrets masked; says which file was read.
    CheckConfig,
    /// Start a simulated pair of StarRocks clusters and the service against them.
    Demo,
    /// Re-encrypt the stored cluster passwords with a new secret key (stop the service first):
    /// a new random key file, or ROCKSCOPE_NEW_SECRET_KEY when the key comes from
    /// ROCKSCOPE_SECRET_KEY.
    RotateKey,
    /// Alert rules: `alerts export-rules` writes them as a Prometheus rule file.
    Alerts {
        /// What to do with the rules.
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Print each sample of a Prometheus text body as one JSON object per line (with
    /// `--families`, each metric family); strict by default (exit 1 on the first invalid line).
    ParseMetrics {
        /// One line per family instead: name, TYPE, HELP and the label names seen.
        #[arg(long)]
        families: bool,
        /// Skip and report bad lines instead of failing on the first.
        #[arg(long, overrides_with = "strict")]
        lenient: bool,
        /// Fail on the first bad line (the default).
        #[arg(long, overrides_with = "lenient")]
        strict: bool,
        /// The file to read; standard input when absent or `-`.
        #[arg(value_name = "FILE")]
        file: Option<String>,
    },
}

/// `rockscope alerts …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AlertsCommand {
    /// Print the effective rules (built-in with overrides, the configuration's and those added
    /// through the API) as a Prometheus rule file over the series rockscope exports, for
    /// `promtool check rules` and a Prometheus of your own.
    ExportRules {
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

impl Command {
    /// `parse-metrics`' file, `None` for standard input.
    pub fn metrics_file(file: Option<String>) -> Option<String> {
        file.filter(|f| f != "-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Invocation, clap::Error> {
        Invocation::try_parse_from(std::iter::once("rockscope").chain(line.split_whitespace()))
    }

    fn command(line: &str) -> Result<Command, clap::Error> {
        parse(line).map(|i| i.command)
    }

    #[test]
    fn parse_metrics_arguments() {
        let metrics = |lenient, file: Option<&str>| Command::ParseMetrics {
            families: false,
            lenient,
            strict: false,
            file: file.map(str::to_owned),
        };
        assert_eq!(command("parse-metrics").unwrap(), metrics(false, None));
        assert_eq!(
            command("parse-metrics --lenient body.txt").unwrap(),
            metrics(true, Some("body.txt"))
        );
        assert_eq!(
            command("parse-metrics --families --lenient").unwrap(),
            Command::ParseMetrics {
                families: true,
                lenient: true,
                strict: false,
                file: None,
            }
        );
        assert_eq!(
            Command::metrics_file(Some("-".to_owned())),
            None,
            "`-` is standard input"
        );
        assert!(command("parse-metrics a b").is_err());
        assert!(command("parse-metrics --bogus").is_err());
        assert!(command("frobnicate").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn config_before_or_after_the_command() {
        for line in [
            "--config c.toml serve",
            "serve --config c.toml",
            "serve --config=c.toml",
        ] {
            let inv = parse(line).unwrap();
            assert_eq!(inv.command, Command::Serve, "{line}");
            assert_eq!(inv.config, Some(PathBuf::from("c.toml")), "{line}");
        }
        assert_eq!(parse("check-config").unwrap().config, None);
        assert!(parse("serve --config").is_err());
        assert!(parse("serve extra").is_err());
    }

    #[test]
    fn help_and_version_for_every_command() {
        for line in [
            "--help",
            "serve --help",
            "help serve",
            "parse-metrics -h",
            "--version",
        ] {
            let kind = parse(line).unwrap_err().kind();
            assert!(
                matches!(
                    kind,
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ),
                "{line}: {kind:?}"
            );
        }
        <Invocation as clap::CommandFactory>::command().debug_assert();
    }
}

//! `rockscope`: the thin binary that wires rockscope's layers together.
//!
//! Each subcommand lives in its own module and only calls into the library crates; this file
//! parses the command line, sets up logging and maps results to exit codes.

mod api_server;
mod cli;
mod config;
mod demo;
mod export_rules;
mod logging;
mod parse_metrics;
mod protocol_errors;
mod service;
mod tester;

use std::process::ExitCode;

use config::Settings;

fn main() -> ExitCode {
    // clap prints usage errors (exit 2), `--help` and `--version` (exit 0) itself.
    let invocation = <cli::Invocation as clap::Parser>::parse();
    let settings = || {
        Settings::load(invocation.config.as_deref()).map_err(|e| {
            eprintln!("rockscope: {e}");
            ExitCode::from(2)
        })
    };
    match invocation.command.clone() {
        cli::Command::ParseMetrics {
            file,
            lenient,
            families,
            ..
        } => {
            let output = if families {
                parse_metrics::Output::Families
            } else {
                parse_metrics::Output::Samples
            };
            parse_metrics::run(cli::Command::metrics_file(file).as_deref(), lenient, output)
        }
        cli::Command::CheckConfig => match settings() {
            Ok(settings) => check_config(invocation.config.as_deref(), &settings),
            Err(code) => code,
        },
        cli::Command::Alerts {
            command: cli::AlertsCommand::ExportRules { output },
        } => match settings() {
            Ok(settings) => export_rules::run(&settings, output.as_deref()),
            Err(code) => code,
        },
        cli::Command::RotateKey => match settings() {
            Ok(settings) => service::rotate_key(&settings),
            Err(code) => code,
        },
        cli::Command::Serve | cli::Command::CollectOnce | cli::Command::Demo => {
            let settings = match settings() {
                Ok(settings) => settings,
                Err(code) => return code,
            };
            logging::init();
            let command = invocation.command.clone();
            let result = service::block_on(async move {
                match command {
                    cli::Command::Demo => demo::run(settings).await,
                    cli::Command::CollectOnce => {
                        let store = service::open_store(&settings).await?;
                        service::collect_once(settings, store).await
                    }
                    _ => {
                        let store = service::open_store(&settings).await?;
                        service::serve(settings, store).await
                    }
                }
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("rockscope: {message}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `check-config`: where the settings came from (on stderr), then the settings as JSON with
/// secrets masked (on stdout).
fn check_config(path: Option<&std::path::Path>, settings: &Settings) -> ExitCode {
    eprintln!("rockscope: {}", config::describe_sources(path));
    match serde_json::to_string_pretty(settings) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rockscope: cannot print the configuration: {e}");
            ExitCode::FAILURE
        }
    }
}

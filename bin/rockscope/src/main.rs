//! `rockscope`: the thin binary that wires rockscope's layers together.
//!
//! Each subcommand lives in its own module and only calls into the library crates; this file
//! parses the command line, sets up logging and maps results to exit codes.

mod cli;
mod config;
mod demo;
mod logging;
mod parse_metrics;
mod service;
mod tester;

use std::process::ExitCode;

use config::Settings;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let invocation = match cli::parse(&args) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("rockscope: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let settings = || {
        Settings::load(invocation.config.as_deref()).map_err(|e| {
            eprintln!("rockscope: {e}");
            ExitCode::from(2)
        })
    };
    match invocation.command {
        cli::Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        cli::Command::ParseMetrics { path, lenient } => {
            parse_metrics::run(path.as_deref(), lenient)
        }
        cli::Command::CheckConfig => match settings() {
            Ok(settings) => match serde_json::to_string_pretty(&settings) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("rockscope: cannot print the configuration: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(code) => code,
        },
        cli::Command::Serve | cli::Command::CollectOnce | cli::Command::Demo => {
            let settings = match settings() {
                Ok(settings) => settings,
                Err(code) => return code,
            };
            logging::init();
            let command = invocation.command;
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

//! The command line: subcommands and their options, parsed by hand (a handful of flags does not
//! need an argument-parsing crate).

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
}

/// The usage text.
pub const USAGE: &str = "\
usage: rockscope <command> [options]

commands:
  parse-metrics [--lenient] [FILE]   print each sample of a Prometheus text body (FILE, or
                                     standard input when FILE is absent or -) as one JSON
                                     object per line; strict by default (exit 1 on the first
                                     invalid line), --lenient skips and reports bad lines
  help                               print this text";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut rest = args.iter().map(String::as_str);
    let Some(command) = rest.next() else {
        return Err("no command given".to_owned());
    };
    match command {
        "help" | "--help" | "-h" => Ok(Command::Help),
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
            Ok(Command::ParseMetrics { path, lenient })
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parse_metrics_arguments() {
        assert_eq!(
            parse(&args("parse-metrics")),
            Ok(Command::ParseMetrics {
                path: None,
                lenient: false
            })
        );
        assert_eq!(
            parse(&args("parse-metrics --lenient body.txt")),
            Ok(Command::ParseMetrics {
                path: Some("body.txt".into()),
                lenient: true
            })
        );
        assert_eq!(
            parse(&args("parse-metrics -")),
            Ok(Command::ParseMetrics {
                path: None,
                lenient: false
            })
        );
        assert!(parse(&args("parse-metrics a b")).is_err());
        assert!(parse(&args("parse-metrics --bogus")).is_err());
        assert!(parse(&args("frobnicate")).is_err());
        assert!(parse(&[]).is_err());
    }
}

//! The `air-demand` binary: parse flags, set up logging, run one command,
//! and turn any error into one plain line and an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use air_demand::cli::{self, Cli, LogFormat};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The scheduler is a daemon: its info lines (next-fire times, run
    // summaries) are its output.
    let daemon = matches!(cli.command, cli::Command::Run);
    init_logging(cli.log_format, cli.verbose + u8::from(daemon));
    match cli::run(cli) {
        Ok(code) => code,
        // A closed pipe (`air-demand roles | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Warnings only on a terminal by default (the command prints its own
/// summary); info for journald's JSON; `RUST_LOG` overrides both.
fn init_logging(format: LogFormat, verbose: u8) {
    let default = match (format, verbose) {
        (_, 2..) => "air_demand=debug",
        (LogFormat::Json, _) | (_, 1) => "air_demand=info",
        _ => "air_demand=warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.without_time().with_target(false).init(),
    }
}

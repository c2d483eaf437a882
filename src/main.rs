//! The `air-demand` binary: parse flags, set up logging, run one command,
//! and turn any error into one plain line and an exit code.

use std::process::ExitCode;

use air_demand::cli::{self, Cli, UsageError};
use air_demand::logs::{self, Level};
use clap::Parser;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    // The scheduler is a daemon: its info lines (next-fire times, run
    // summaries) are its output.
    let daemon = matches!(cli.command, cli::Command::Run);
    logs::init(cli.log_format, cli.verbose.saturating_add(u8::from(daemon)));
    match cli::run(cli) {
        Ok(code) => code,
        // A closed pipe (`air-demand roles | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        // A value clap could not check (a `--since` span, a tier's name): a
        // command-line mistake like clap's own, exit 2.
        Err(err) if err.chain().any(|cause| cause.is::<UsageError>()) => {
            let args: Vec<String> = std::env::args().skip(1).collect();
            logs::line(Level::Error, &cli::usage_mistake_line(&err, &args));
            ExitCode::from(2)
        }
        Err(err) => {
            logs::line(Level::Error, &format!("{err:#}{}", what_to_do(&err)));
            ExitCode::FAILURE
        }
    }
}

/// What to do about failures whose cause is the machine, not the input.
fn what_to_do(err: &anyhow::Error) -> &'static str {
    air_demand::store::Problem::of(err).map_or("", air_demand::store::Problem::advice)
}

/// `--help` and `--version` print as clap renders them; a mistake on the
/// command line becomes one line (clap's sentence, its tip, and where to
/// read more) with clap's exit code 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // A closed stdout while printing help is not worth a word.
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    logs::init(logs::format_in_args(&args), 0);
    let line = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        cli::missing_command_line(&args)
    } else {
        cli::usage_error_line(&err.render().to_string(), &args)
    };
    logs::line(Level::Error, &line);
    ExitCode::from(2)
}

/// Whether the error is a write to a closed stdout, as an `io::Error` or
/// inside serde_json's (which does not expose it as a source).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|json| json.io_error_kind() == Some(BrokenPipe))
    })
}

/// The commands write through `cli::say` and `writeln!`, which report a
/// closed stdout as an error that ends the program quietly. This hook is the
/// net under any `println!` left elsewhere (the demo's narration): its panic
/// on a closed stdout ends the program quietly too, with status 0. Every
/// other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

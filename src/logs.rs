//! What air-demand writes to stderr, one format for every line: tracing's
//! events and the lines the binary writes itself (a fatal error, a scrape's
//! warnings) are plain text for people, or JSON lines of one shape with
//! `--log-format json`. Under systemd (stderr is the stream `JOURNAL_STREAM`
//! names) each line starts with its journald priority (`<3>` error, `<4>`
//! warning, `<6>` info, `<7>` debug), so `journalctl -p warning` finds them.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use chrono::{SecondsFormat, Utc};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Plain lines for people.
    #[default]
    Text,
    /// JSON lines for journald and log collectors.
    Json,
}

/// How bad a line the binary writes itself is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

impl Level {
    /// tracing's name for it, as JSON lines carry it.
    fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
        }
    }

    /// What a text line starts with: `error: `, `warning: `, or nothing.
    fn text_prefix(self) -> &'static str {
        match self {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info => "",
        }
    }

    fn priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
        }
    }
}

/// The journald priority of a tracing level (sd-daemon(3)'s `<N>` prefixes).
pub fn priority(level: &tracing::Level) -> u8 {
    match *level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        _ => 7,
    }
}

/// How stderr lines look in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Style {
    format: LogFormat,
    /// stderr is journald's stream: lines carry their priority.
    journal: bool,
}

static STYLE: OnceLock<Style> = OnceLock::new();

fn style() -> Style {
    STYLE.get().copied().unwrap_or_default()
}

/// Sets the format of every stderr line and installs tracing's subscriber:
/// warnings only on a terminal by default (commands print their own
/// summary), info with JSON (journald's), `-v` info, `-vv` debug;
/// `RUST_LOG` overrides them. Called once, by `main`.
pub fn init(format: LogFormat, verbose: u8) {
    let journal = stderr_is_journal();
    let _ = STYLE.set(Style { format, journal });
    let default = match (format, verbose) {
        (_, 2..) => "air_demand=debug",
        (LogFormat::Json, _) | (_, 1) => "air_demand=info",
        _ => "air_demand=warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!journal && std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .event_format(Prioritised {
                inner: tracing_subscriber::fmt::format().json(),
                journal,
            })
            .try_init(),
        LogFormat::Text => builder
            .event_format(Prioritised {
                inner: tracing_subscriber::fmt::format()
                    .without_time()
                    .with_target(false),
                journal,
            })
            .try_init(),
    };
}

/// Writes one line to stderr in this process's format: `error: text` for
/// people, or a JSON line shaped as tracing's (`timestamp`, `level`,
/// `fields.message`, `target`), with its journald priority under systemd.
/// Never filtered: these are the lines a command owes its reader.
pub fn line(level: Level, text: &str) {
    let style = style();
    let mut out = String::new();
    if style.journal {
        out.push_str(&format!("<{}>", level.priority()));
    }
    match style.format {
        LogFormat::Text => {
            out.push_str(level.text_prefix());
            out.push_str(text);
        }
        LogFormat::Json => out.push_str(&json_line(level, text)),
    }
    out.push('\n');
    // Nothing is left to tell about a stderr that cannot be written.
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

/// The JSON form of a line, as tracing-subscriber's JSON formatter writes
/// an event.
fn json_line(level: Level, text: &str) -> String {
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    // Written in tracing's order of keys, so both kinds of line read alike.
    format!(
        r#"{{"timestamp":{},"level":{},"fields":{{"message":{}}},"target":"air_demand"}}"#,
        quoted(&Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)),
        quoted(level.name()),
        quoted(text)
    )
}

/// The format a command line asks for, read from the raw arguments when
/// clap could not parse them (so that a usage error is a JSON line too).
pub fn format_in_args(args: &[String]) -> LogFormat {
    let json = args.iter().enumerate().any(|(at, arg)| {
        arg == "--log-format=json"
            || (arg == "--log-format" && args.get(at + 1).is_some_and(|next| next == "json"))
    });
    if json {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// Whether stderr is the journal's stream: systemd sets `JOURNAL_STREAM` to
/// its `device:inode`, and a child whose stderr was redirected elsewhere
/// inherits the variable, so the two are compared (as systemd.exec(5) says).
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let (Ok(device), Ok(inode)) = (device.parse::<u64>(), inode.parse::<u64>()) else {
        return false;
    };
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|file| file.metadata())
        .is_ok_and(|meta| meta.dev() == device && meta.ino() == inode)
}

/// tracing's event format with the journald priority in front when stderr
/// is the journal.
struct Prioritised<F> {
    inner: F,
    journal: bool,
}

impl<S, N, F> FormatEvent<S, N> for Prioritised<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        if self.journal {
            write!(writer, "<{}>", priority(event.metadata().level()))?;
        }
        self.inner.format_event(ctx, writer.by_ref(), event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_found_in_arguments_clap_refused() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(
            format_in_args(&args(&["--log-format", "json", "roles", "--limt"])),
            LogFormat::Json
        );
        assert_eq!(
            format_in_args(&args(&["roles", "--log-format=json"])),
            LogFormat::Json
        );
        assert_eq!(
            format_in_args(&args(&["--log-format", "xml", "roles"])),
            LogFormat::Text
        );
        assert_eq!(format_in_args(&args(&["json"])), LogFormat::Text);
    }

    #[test]
    fn a_json_line_is_shaped_as_tracing_writes_one() {
        let line: serde_json::Value =
            serde_json::from_str(&json_line(Level::Warn, "a \"quoted\"\nthing")).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["fields"]["message"], "a \"quoted\"\nthing");
        assert_eq!(line["target"], "air_demand");
        let at = line["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(&tracing::Level::ERROR), 3);
        assert_eq!(priority(&tracing::Level::WARN), 4);
        assert_eq!(priority(&tracing::Level::INFO), 6);
        assert_eq!(priority(&tracing::Level::DEBUG), 7);
        assert_eq!(priority(&tracing::Level::TRACE), 7);
        assert_eq!(
            [Level::Error, Level::Warn, Level::Info].map(Level::priority),
            [3, 4, 6]
        );
    }
}

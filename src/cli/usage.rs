//! Mistakes on the command line said in one line: clap's own, and those
//! clap cannot see (`UsageError`: `--since`, `--tier`, `--timeout`, …),
//! each with the `--help` of the command they were aimed at; exit 2.

use chrono::{DateTime, NaiveDate, Utc};

use super::args::Cli;

/// A mistake on the command line that clap cannot see (a `--since` span, a
/// tier's name, a `--timeout`): `main` says it as it says clap's own, with
/// where to read more, and exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// An argument's parser's error (one sentence, with what to give) as a
    /// usage mistake.
    pub fn of(err: &anyhow::Error) -> UsageError {
        UsageError(format!("{err:#}"))
    }
}

/// A [`UsageError`] as one line: the sentence, and the `--help` of the
/// command `args` were aimed at.
pub fn usage_mistake_line(err: &anyhow::Error, args: &[String]) -> String {
    format!(
        "{err:#}; `{} --help` lists what it takes",
        command_path(args)
    )
}

/// A command-line mistake as clap renders it (sentence, indented details,
/// tips, usage) folded into one line: the sentence with its details, the
/// tip, and the `--help` that describes the command `args` were aimed at.
pub fn usage_error_line(rendered: &str, args: &[String]) -> String {
    let mut paragraphs = rendered.trim().split("\n\n");
    let sentence = paragraphs
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = sentence.strip_prefix("error: ").unwrap_or(&sentence);
    let tips: Vec<&str> = paragraphs
        .flat_map(str::lines)
        .filter_map(|line| line.trim().strip_prefix("tip: "))
        .collect();
    let tips = if tips.is_empty() {
        String::new()
    } else {
        format!(" ({})", tips.join("; "))
    };
    format!(
        "{sentence}{tips}; `{} --help` lists what it takes",
        command_path(args)
    )
}

/// `air-demand session import`: the subcommands named in `args`.
fn command_path(args: &[String]) -> String {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut path = vec!["air-demand".to_string()];
    for arg in args {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        command = sub;
    }
    path.join(" ")
}

/// A command that needs a subcommand and got none (`air-demand session`), as one line.
pub fn missing_command_line(args: &[String]) -> String {
    use clap::CommandFactory;
    let mut command = Cli::command();
    for arg in args {
        if let Some(sub) = command.find_subcommand(arg).cloned() {
            command = sub;
        }
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|name| *name != "help")
        .collect();
    format!(
        "`{}` needs a command, one of: {}; `{} --help` describes them",
        command_path(args),
        names.join(", "),
        command_path(args)
    )
}

/// `24h`, `7d`, `2w`, `90m`, `2025-12-19`, or RFC 3339. A span too long to
/// count back from `now` is an error, never an overflow; any error is a
/// command-line mistake.
pub fn parse_since(
    text: &str,
    now: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, UsageError> {
    let text = text.trim();
    let unit_at = text.char_indices().last().map(|(at, _)| at).unwrap_or(0);
    let (number, unit) = text.split_at(unit_at);
    let digits = number.strip_prefix(['-', '+']).unwrap_or(number);
    if matches!(unit, "m" | "h" | "d" | "w")
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        if number.starts_with('-') {
            return Err(UsageError(format!(
                "--since {text:?} is a negative span: give how far back to look, like 24h or 7d"
            )));
        }
        let span = digits.parse::<i64>().ok().and_then(|n| match unit {
            "m" => chrono::Duration::try_minutes(n),
            "h" => chrono::Duration::try_hours(n),
            "d" => chrono::Duration::try_days(n),
            _ => chrono::Duration::try_weeks(n),
        });
        return span
            .and_then(|span| now.checked_sub_signed(span))
            .ok_or_else(|| {
                UsageError(format!("--since {text:?} reaches back further than a date can: give a shorter span or a date like 2025-12-19"))
            });
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    Err(UsageError(format!(
        "--since {text:?} is not a span like 24h or 7d, a date like 2025-12-19, or an RFC 3339 time"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = DateTime::parse_from_rfc3339("2025-12-19T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let check = |text: &str, expected: &str| {
            assert_eq!(
                crate::role::timestamp(parse_since(text, now).unwrap()),
                expected,
                "{text}"
            );
        };
        check("24h", "2025-12-18T12:00:00Z");
        check("7d", "2025-12-12T12:00:00Z");
        check("2w", "2025-12-05T12:00:00Z");
        check("90m", "2025-12-19T10:30:00Z");
        check("2025-12-01", "2025-12-01T00:00:00Z");
        check("2025-12-01T08:00:00+01:00", "2025-12-01T07:00:00Z");
        check("0d", "2025-12-19T12:00:00Z");
        assert!(
            parse_since("-1d", now)
                .unwrap_err()
                .to_string()
                .contains("negative span")
        );
        for huge in [
            "99999999d",
            "9223372036854775807w",
            "99999999999999999999h",
            "+99999999d",
        ] {
            let err = parse_since(huge, now).unwrap_err().to_string();
            assert!(err.contains("shorter span"), "{huge}: {err}");
        }
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("", now).is_err());
        assert!(parse_since("é", now).is_err());
    }

    #[test]
    fn usage_errors_fold_into_one_line() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let rendered = "error: the following required arguments were not provided:\n  --format <FORMAT>\n\nUsage: air-demand export --format <FORMAT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(rendered, &args(&["export"])),
            "the following required arguments were not provided: --format <FORMAT>; `air-demand export --help` lists what it takes"
        );
        let rendered = "error: unrecognized subcommand 'rols'\n\n  tip: a similar subcommand exists: 'roles'\n\nUsage: air-demand [OPTIONS] <COMMAND>\n";
        assert_eq!(
            usage_error_line(rendered, &args(&["rols"])),
            "unrecognized subcommand 'rols' (a similar subcommand exists: 'roles'); `air-demand --help` lists what it takes"
        );
        assert_eq!(
            missing_command_line(&args(&["--config", "x.toml", "session"])),
            "`air-demand session` needs a command, one of: import, login, export, status; `air-demand session --help` describes them"
        );
    }
}

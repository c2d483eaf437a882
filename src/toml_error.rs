//! TOML errors for people: one line naming the file, the line, the key and
//! what was expected. Used for the config file and the lists file.

use std::path::Path;

/// A TOML error as one line naming the file, the line and the problem
/// (`air-demand.toml line 3: unknown field `delay`, expected one of ...`); a
/// value of the wrong type names its key and the type wanted
/// (`a.toml line 2: [paraform] request_delay_ms must be a whole number ...`).
pub fn describe(origin: &Path, text: &str, err: &toml::de::Error) -> anyhow::Error {
    let message = err.message().trim().replace('\n', " ");
    let message = match (key_path(err), wrong_value(&message)) {
        (Some(key), Some((found, expected))) => {
            format!("{key} must be {expected}, not {found}")
        }
        // A value the type refused (a time zone, a cron line, an enum): name the key.
        (Some(key), None) if !message.contains(&key) && !message.starts_with("unknown field") => {
            format!("{key}: {message}")
        }
        _ => message,
    };
    match err.span() {
        Some(span) => anyhow::anyhow!(
            "{} line {}: {message}",
            origin.display(),
            line_of(text, span.start)
        ),
        None => anyhow::anyhow!("{}: {message}", origin.display()),
    }
}

/// The key an error is about, as the file spells it: `[paraform] request_delay_ms`,
/// or a bare `name` at the top level. toml keeps the path private and shows
/// it (as "in `a.b`") only when it has no source text to quote.
fn key_path(err: &toml::de::Error) -> Option<String> {
    let mut bare = err.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let dotted = shown
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("in `")?.strip_suffix('`'))?;
    Some(match dotted.rsplit_once('.') {
        Some((table, key)) => format!("[{table}] {key}"),
        None => dotted.to_string(),
    })
}

/// serde's "invalid type: string \"fast\", expected u64" as
/// (`the string "fast"`, `a whole number (u64)`); `None` for other messages.
fn wrong_value(message: &str) -> Option<(String, String)> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => {
            format!("a whole number of 0 or more ({expected})")
        }
        "i8" | "i16" | "i32" | "i64" | "isize" => format!("a whole number ({expected})"),
        "f32" | "f64" => "a number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" => "a string in double quotes".to_string(),
        "a sequence" => "a list in square brackets".to_string(),
        other => other.to_string(),
    };
    let found = match found.split_once(' ') {
        Some(("string" | "integer" | "float" | "boolean", value)) => {
            format!("the {} {value}", &found[..found.len() - value.len() - 1])
        }
        _ => found.to_string(),
    };
    Some((found, expected))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

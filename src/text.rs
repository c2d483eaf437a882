//! People's text: the one policy for what scraped or model-written text may
//! carry into a terminal, an email, a feed or a page. Control characters
//! (escape sequences) and invisible characters that reorder or hide text
//! (bidi overrides, zero-width marks) are removed; newlines survive only
//! where a caller keeps lines; long text is cut with an ellipsis. HTML and
//! XML escaping come after this, at the format's edge (`intel::escape_html`,
//! askama's auto-escaping).

use crate::store::ChangeRow;

/// Bidi controls and zero-width characters: invisible, but they reorder or
/// hide what is around them ("Trojan Source").
fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

/// The text without control or hidden characters; newlines are kept.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| c == '\n' || !(c.is_control() || is_hidden(c)))
        .collect()
}

/// [`clean`], on one line: any run of whitespace becomes one space.
pub fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    clean(&spaced)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `width` characters; a cut text ends in `…`.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Scraped text for a terminal or a log line: one clean line, at most `width`.
pub fn terminal(text: &str, width: usize) -> String {
    cut(&one_line(text), width)
}

/// ` field: old -> new` of a change, terminal-safe; empty for NEW and the like.
pub fn change_values(change: &ChangeRow) -> String {
    match (&change.old_value, &change.new_value) {
        (None, None) => String::new(),
        (old, new) => format!(
            " {}: {} -> {}",
            terminal(change.field.as_deref().unwrap_or(""), 40),
            terminal(old.as_deref().unwrap_or("none"), 40),
            terminal(new.as_deref().unwrap_or("none"), 40)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_policy_for_hostile_text() {
        let hostile = "Acme\u{1b}[31m \u{202e}evil\u{202c}\u{200b} Co\r\n\tLtd";
        assert_eq!(one_line(hostile), "Acme[31m evil Co Ltd");
        assert_eq!(clean("a\u{7}b\nc\u{2066}d"), "ab\ncd");
        assert_eq!(terminal(hostile, 8), "Acme[31…");
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 0), "…");
    }
}

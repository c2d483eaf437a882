//! People's text: the one policy for what scraped or model-written text may
//! carry into a terminal, an email, a feed or a page. Control characters
//! (escape sequences) and invisible characters that reorder or hide text
//! (bidi overrides, zero-width marks) are removed; newlines survive only
//! where a caller keeps lines; long text is cut with an ellipsis. HTML and
//! XML escaping come after this, at the format's edge (`intel::escape_html`,
//! askama's auto-escaping).
//!
//! What is published passes here at a few choke points: every value a
//! template prints goes through [`PageEscaper`] or [`TextEscaper`]
//! (`askama.toml`), so no page, feed or email part can forget;
//! `intel::sanitize_html` cleans what it lets through; the views that
//! `roles.json`, `roles.csv` and `export` write are built clean
//! (`views`); JSON for people (`health.json`, `--json`) goes through
//! [`json_pretty`].

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Bidi controls and zero-width characters: invisible, but they reorder or
/// hide what is around them ("Trojan Source").
fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

/// A character [`clean`] removes: a control character other than a
/// newline, or a hidden one.
fn is_removed(c: char) -> bool {
    (c.is_control() && c != '\n') || is_hidden(c)
}

/// The text without control or hidden characters; newlines are kept.
pub fn clean(text: &str) -> String {
    text.chars().filter(|&c| !is_removed(c)).collect()
}

/// Printable ASCII or a newline: what almost every text is (no character
/// [`is_removed`] is among them). Checked a block of bytes at a time, with
/// no exit inside a block, so the compiler checks many bytes at once: every
/// value a page prints passes here.
fn is_plain(text: &str) -> bool {
    text.as_bytes().chunks(32).all(|block| {
        block.iter().fold(true, |plain, &b| {
            plain & ((0x20..0x7f).contains(&b) | (b == b'\n'))
        })
    })
}

/// [`clean`] without a copy when there is nothing to remove.
pub fn clean_cow(text: &str) -> std::borrow::Cow<'_, str> {
    if !is_plain(text) && text.chars().any(is_removed) {
        std::borrow::Cow::Owned(clean(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// askama's HTML escaper after [`clean`]: `askama.toml` makes it the escaper
/// of every `.html` template (the pages and the HTML email), so each value
/// printed is clean whatever the template. `|safe` values bypass it: the
/// sanitised HTML is cleaned by `intel::sanitize_html`, and the charts are
/// our own SVG.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageEscaper;

impl askama::filters::Escaper for PageEscaper {
    fn write_escaped_str<W: fmt::Write>(&self, dest: W, string: &str) -> fmt::Result {
        askama::filters::Html.write_escaped_str(dest, &clean_cow(string))
    }
}

/// [`clean`] for the `.txt` templates (the email's text part), which are
/// not escaped otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextEscaper;

impl askama::filters::Escaper for TextEscaper {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        dest.write_str(&clean_cow(string))
    }
}

/// Every string in `value` [`clean`]ed; keys (field names) are kept as they
/// are. Walked with a stack: stored JSON may be deep.
pub fn clean_json(value: &mut Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) => {
                if let std::borrow::Cow::Owned(cleaned) = clean_cow(text) {
                    *text = cleaned;
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => stack.extend(map.values_mut()),
            _ => {}
        }
    }
}

/// `value` as pretty JSON for people or a published file: field names as
/// they are, every text value [`clean`]ed.
pub fn json_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(value)?;
    clean_json(&mut value);
    serde_json::to_string_pretty(&value)
}

/// A list as [`json_pretty`] writes it (the same text), one item at a time:
/// `roles --json` may list 100,000 roles.
pub fn write_json_list<T: Serialize>(
    out: &mut dyn std::io::Write,
    items: &[T],
) -> std::io::Result<()> {
    if items.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    for (i, item) in items.iter().enumerate() {
        let text = json_pretty(item).map_err(std::io::Error::other)?;
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        // Strings hold no raw newline, so each line is indented as a whole.
        for (j, line) in text.lines().enumerate() {
            if j > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(b"  ")?;
            out.write_all(line.as_bytes())?;
        }
    }
    out.write_all(b"\n]")
}

/// [`clean`], on one line: any run of whitespace becomes one space.
pub fn one_line(text: &str) -> String {
    // Printable ASCII with single spaces inside, the usual case, is its own
    // line: checked a byte at a time.
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && bytes.iter().all(|b| (0x20..0x7f).contains(b))
        && !bytes.windows(2).any(|pair| pair == b"  ")
    {
        return text.to_string();
    }
    one_line_by_char(text)
}

/// [`one_line`], a character at a time: one pass, one allocation.
fn one_line_by_char(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !is_removed(c) {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
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

/// The text with every number of more than 15 digits (a salary of 1e30
/// printed in full) written short, as `1.0e30`: no one reads 31 digits.
pub fn short_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    const MAX_DIGITS: usize = 15;
    let mut digits = 0;
    if !text.chars().any(|c| {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        digits > MAX_DIGITS
    }) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..start]);
        let number = &rest[start..];
        let end = number
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(number.len());
        let (run, after) = number.split_at(end);
        match run.parse::<f64>() {
            Ok(n) if run.len() > MAX_DIGITS => out.push_str(&format!("{n:.1e}")),
            _ => out.push_str(run),
        }
        rest = after;
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte-at-a-time shortcuts give what the character-by-character
        /// definitions give, whatever the text (ASCII controls, spaces,
        /// C1 controls, bidi and zero-width characters among it).
        #[test]
        fn the_shortcuts_agree_with_the_definitions(
            text in "[ a-z\t\n\r\u{0}\u{7f}\u{85}\u{a0}\u{200b}\u{202e}é]{0,12}"
        ) {
            let (fast, slow) = (clean_cow(&text).into_owned(), clean(&text));
            proptest::prop_assert_eq!(fast, slow);
            let (fast, slow) = (one_line(&text), one_line_by_char(&text));
            proptest::prop_assert_eq!(fast, slow);
        }
    }

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

    #[test]
    fn long_numbers_are_written_short() {
        let check = |text: &str, expected: &str| assert_eq!(short_numbers(text), expected);
        check(
            "salary up to $1000000000000000000000000000000 a year",
            "salary up to $1.0e30 a year",
        );
        check("$260000 and 123456789012345", "$260000 and 123456789012345");
        check("9223372036854775807", "9.2e18");
        check("", "");
        assert!(matches!(
            short_numbers("12 34"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    /// Every template value goes through these escapers (`askama.toml`).
    #[test]
    fn escapers_clean_then_escape() {
        use askama::filters::Escaper;
        let hostile = "<b>\u{202e}x\u{0}\u{7}\u{1b}[1m\u{200b}\u{2066}y\u{2069}</b>\nz\t";
        let mut page = String::new();
        PageEscaper.write_escaped_str(&mut page, hostile).unwrap();
        assert_eq!(page, "&#60;b&#62;x[1my&#60;/b&#62;\nz");
        let mut text = String::new();
        TextEscaper.write_escaped_str(&mut text, hostile).unwrap();
        assert_eq!(text, "<b>x[1my</b>\nz");
        assert!(matches!(
            clean_cow("plain\ntext"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_keeps_names_and_cleans_values() {
        let mut value = serde_json::json!({
            "na\u{202e}me": ["a\u{1b}b", {"deep": "c\u{200b}d\ne"}, 1, null],
        });
        clean_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"na\u{202e}me": ["ab", {"deep": "cd\ne"}, 1, null]})
        );
        let text = json_pretty(&serde_json::json!({"x": "\u{7}y\u{2066}"})).unwrap();
        assert_eq!(text, "{\n  \"x\": \"y\"\n}");
        for items in [
            vec![],
            vec![serde_json::json!({"a": ["b\u{202e}", {"c": 1}]})],
            vec![
                serde_json::json!(1),
                serde_json::json!({"d": {}}),
                serde_json::json!([]),
            ],
        ] {
            let mut written = Vec::new();
            write_json_list(&mut written, &items).unwrap();
            let whole = json_pretty(&items).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), whole);
        }
    }
}

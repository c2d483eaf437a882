//! A role's fields as its page lists them: every field of its JSON,
//! flattened to a path and a text (`company.name`, `Examplar Labs`), keys
//! in order at each level, arrays of plain values joined, and the volatile
//! fields left out (they move on every run; `roles.json` and the database
//! have them).
//!
//! Read straight from the text into a small tree that borrows its strings,
//! not into `serde_json::Value`: a page written after a churn run spent
//! more on building and walking the `Value` than on rendering itself.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose strings borrow from the text unless they had escapes.
enum Node<'a> {
    /// Sorted by key; of a repeated key, the last value (as a JSON object
    /// read into a map keeps it).
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
    Array(Vec<Node<'a>>),
    Text(Cow<'a, str>),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

/// A role's fields, each a path and a text, in one buffer: a page lists
/// some hundred, and a full build makes 100,000 pages.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    text: String,
    /// Where each field's path and then its text end in `text`.
    ends: Vec<(u32, u32)>,
}

impl Fields {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each field's path and text, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(path, text)| {
            let (path, text) = (path as usize, text as usize);
            let field = (
                self.text.get(start..path).unwrap_or_default(),
                self.text.get(path..text).unwrap_or_default(),
            );
            start = text;
            field
        })
    }

    /// These fields, for tests.
    #[cfg(test)]
    pub fn of(fields: &[(&str, &str)]) -> Fields {
        let mut out = Fields::default();
        for (path, text) in fields {
            out.push(path, |out| out.push_str(text));
        }
        out
    }

    /// Adds a field of `path` and the text `write` appends.
    fn push(&mut self, path: &str, write: impl FnOnce(&mut String)) {
        self.text.push_str(path);
        let path_end = self.text.len();
        write(&mut self.text);
        // A role's JSON is bounded far below 4 GB when it is read.
        let end = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        self.ends.push((end(path_end), end(self.text.len())));
    }
}

/// `raw`'s fields, path and text; one empty field when `raw` is not JSON.
pub fn fields(raw: &str) -> Fields {
    let node = serde_json::from_str(raw).unwrap_or(Node::Null);
    let mut out = Fields {
        text: String::with_capacity(raw.len()),
        ends: Vec::new(),
    };
    let mut path = String::new();
    flatten(&node, &mut path, &mut out);
    out
}

fn flatten(node: &Node<'_>, path: &mut String, out: &mut Fields) {
    // Whatever is under a volatile field is volatile too.
    if is_volatile(path) {
        return;
    }
    let at = path.len();
    match node {
        Node::Object(entries) => {
            for (key, child) in entries {
                if at > 0 {
                    path.push('.');
                }
                path.push_str(key);
                flatten(child, path, out);
                path.truncate(at);
            }
        }
        Node::Array(items) if items.iter().all(Node::is_plain) => out.push(path, |text| {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                item.write_text(text);
            }
        }),
        Node::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                flatten(child, path, out);
                path.truncate(at);
            }
        }
        plain => out.push(path, |text| plain.write_text(text)),
    }
}

/// Whether a flattened field path (`company.logoUrl`, `priority`) is one of
/// [`crate::track::VOLATILE_FIELDS`] or under one.
pub fn is_volatile(path: &str) -> bool {
    // The byte after the field first: one compare rules out nearly every
    // field before its name is compared.
    crate::track::VOLATILE_FIELDS.iter().any(|v| {
        let bounded = match path.as_bytes().get(v.len()) {
            Some(next) => matches!(next, b'.' | b'['),
            None => path.len() == v.len(),
        };
        bounded && path.starts_with(v)
    })
}

impl Node<'_> {
    /// Neither an object nor an array.
    fn is_plain(&self) -> bool {
        !matches!(self, Node::Object(_) | Node::Array(_))
    }

    /// A plain value's text: a string as it is, null as nothing, the rest
    /// as JSON writes it.
    fn write_text(&self, out: &mut String) {
        match self {
            Node::Text(text) => out.push_str(text),
            Node::Number(number) => {
                let _ = write!(out, "{number}");
            }
            Node::Bool(value) => {
                let _ = write!(out, "{value}");
            }
            Node::Null | Node::Object(_) | Node::Array(_) => {}
        }
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// A key, borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NodeVisitor).map(|node| match node {
            Node::Text(text) => Key(text),
            _ => Key(Cow::Borrowed("")),
        })
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Text(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        // In key order; of equal keys the last: reversed, the first of a
        // run is the last given, and `dedup_by` keeps the first.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.reverse();
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        entries.reverse();
        Ok(Node::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The fields of `raw`, owned.
    fn listed(raw: &str) -> Vec<(String, String)> {
        fields(raw)
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect()
    }

    /// What the page listed before: the JSON read into a `Value`,
    /// flattened, the volatile fields taken out after.
    fn through_value(raw: &str) -> Vec<(String, String)> {
        fn text(value: &Value) -> String {
            match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }
        }
        fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        let path = if prefix.is_empty() {
                            key.clone()
                        } else {
                            format!("{prefix}.{key}")
                        };
                        walk(&path, child, out);
                    }
                }
                Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                    let texts: Vec<String> = items.iter().map(text).collect();
                    out.push((prefix.to_string(), texts.join(", ")));
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(&format!("{prefix}[{i}]"), child, out);
                    }
                }
                plain => out.push((prefix.to_string(), text(plain))),
            }
        }
        let value: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let mut out = Vec::new();
        walk("", &value, &mut out);
        out.retain(|(path, _)| !is_volatile(path));
        out
    }

    #[cfg(feature = "simulator")]
    #[test]
    fn every_simulated_role_lists_the_fields_a_value_would() {
        use crate::sim::market::{DetailKind, Market};
        let now = chrono::Utc::now();
        let mut checked = 0;
        for hostile in [false, true] {
            let market = Market::generate(7, 200, now, hostile);
            for role in market.listed() {
                let id = role["id"].as_str().unwrap_or_default();
                let detail = market.detail(id, DetailKind::Detailed);
                for raw in std::iter::once(role).chain(detail.as_ref()) {
                    let raw = raw.to_string();
                    assert_eq!(listed(&raw), through_value(&raw), "{raw}");
                    checked += 1;
                }
            }
        }
        assert!(checked >= 400, "{checked}");
    }

    #[test]
    fn awkward_json_lists_the_fields_a_value_would() {
        for raw in [
            "",
            "not json",
            "{\"a\": 1} trailing",
            "null",
            "[1, \"two\", null, true, 1.5e300]",
            "[{\"a\": 1}, 2, [3, [4]]]",
            "{\"b\": 1, \"a\": {\"y\": [], \"x\": {}}, \"b\": 2}",
            "{\"\": {\"priority\": 1, \"x\": 2}, \"a-c\": 1, \"a\": {\"b\": 2}}",
            "{\"priority\": {\"a\": 1}, \"priority.x\": 2, \"priorityx\": 3, \"manager_last_active\": [1]}",
            "{\"esc\\u0061ped\": \"tab\\there \\\"quoted\\\" \\ud83d\\ude00\", \"n\": -0, \"f\": 1.0, \"big\": 18446744073709551615, \"neg\": -9223372036854775808}",
        ] {
            assert_eq!(listed(raw), through_value(raw), "{raw}");
        }
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-c.\\[\\] \\\\\"é\t]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            "[a-c.\\[ ]{0,3}",
                            Just("priority".to_string()),
                            Just("role_timer".to_string())
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_lists_the_fields_a_value_would(value in json()) {
            let raw = value.to_string();
            prop_assert_eq!(listed(&raw), through_value(&raw));
        }
    }
}

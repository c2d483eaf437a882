//! Reading parts of a large JSON answer in one pass, without building it.
//!
//! serde_json skips values iteratively, with no recursion limit, so these
//! readers check a whole body's syntax and find the few members wanted
//! while every other member is skipped, unbuilt. A listing of 100,000 roles
//! is walked once for its envelope and once for its items, not once per key.

use serde::Deserializer as _;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The values at `paths` (object keys, outermost first) in one pass over
/// `text`, which must be one well-formed JSON value: an error is its syntax
/// error. A path that is absent, or crosses something other than an object,
/// is `None`. As for a map, the last of duplicate keys wins. No path may be a
/// prefix of another (the shorter one wins).
pub fn members<'a, const N: usize>(
    text: &'a str,
    paths: [&[&str]; N],
) -> Result<[Option<&'a RawValue>; N], serde_json::Error> {
    const { assert!(0 < N && N <= 64, "from 1 to 64 paths") };
    let mut out = [None; N];
    let mut de = serde_json::Deserializer::from_str(text);
    Paths {
        paths: &paths,
        active: u64::MAX >> (64 - N),
        depth: 0,
        out: &mut out,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// A page of a list call, read in one pass: the elements of its `items`
/// (`None` when absent or not a list) and its raw `nextCursor`.
#[derive(Debug, Default)]
pub struct Page<'a> {
    pub items: Option<Vec<&'a RawValue>>,
    pub next_cursor: Option<&'a RawValue>,
}

/// Reads `text`, a JSON object, as a [`Page`]; anything but an object reads
/// as a page with neither member.
pub fn page(text: &str) -> Result<Page<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let page = de.deserialize_any(PageVisitor)?;
    de.end()?;
    Ok(page)
}

/// The paths of [`members`] still wanted at this depth, as a bit set.
struct Paths<'p, 'o, 'de> {
    paths: &'p [&'p [&'p str]],
    active: u64,
    depth: usize,
    out: &'o mut [Option<&'de RawValue>],
}

impl<'p> Paths<'p, '_, '_> {
    fn ending_here(&self) -> impl Iterator<Item = usize> + 'p {
        let (paths, active, depth) = (self.paths, self.active, self.depth);
        (0..paths.len()).filter(move |&i| active & (1 << i) != 0 && paths[i].len() == depth)
    }
}

impl<'de> DeserializeSeed<'de> for Paths<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.ending_here().next().is_some() {
            let raw = <&'de RawValue as serde::Deserialize>::deserialize(d)?;
            for i in self.ending_here() {
                self.out[i] = Some(raw);
            }
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Paths<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Paths {
            paths,
            active,
            depth,
            out,
        } = self;
        while let Some(matched) = map.next_key_seed(KeyMatches {
            paths,
            active,
            depth,
        })? {
            if matched == 0 {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // A later duplicate key replaces the earlier value whole.
            for (i, slot) in out.iter_mut().enumerate() {
                if matched & (1 << i) != 0 {
                    *slot = None;
                }
            }
            map.next_value_seed(Paths {
                paths,
                active: matched,
                depth: depth + 1,
                out: &mut *out,
            })?;
        }
        Ok(())
    }

    // Anything but an object on the way: the paths are not there.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Reads a map key only to say which of the active paths go through it.
struct KeyMatches<'p> {
    paths: &'p [&'p [&'p str]],
    active: u64,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for KeyMatches<'_> {
    type Value = u64;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyMatches<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<u64, E> {
        let mut matched = 0;
        for (i, path) in self.paths.iter().enumerate() {
            if self.active & (1 << i) != 0 && path.get(self.depth) == Some(&key) {
                matched |= 1 << i;
            }
        }
        Ok(matched)
    }
}

struct PageVisitor;

impl<'de> Visitor<'de> for PageVisitor {
    type Value = Page<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<'de>, A::Error> {
        let mut page = Page::default();
        while let Some(key) = map.next_key_seed(KeyIn(&["items", "nextCursor"]))? {
            match key {
                Some(0) => page.items = map.next_value_seed(Elements)?,
                Some(_) => page.next_cursor = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Page<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Page::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<Page<'de>, E> {
        Ok(Page::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Page<'de>, E> {
        Ok(Page::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Page<'de>, E> {
        Ok(Page::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Page<'de>, E> {
        Ok(Page::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Page<'de>, E> {
        Ok(Page::default())
    }

    fn visit_unit<E>(self) -> Result<Page<'de>, E> {
        Ok(Page::default())
    }
}

/// Which of the keys a map key is, if any.
struct KeyIn<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for KeyIn<'_> {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIn<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == key))
    }
}

/// The elements of a list, each unparsed; anything else is `None`.
struct Elements;

impl<'de> DeserializeSeed<'de> for Elements {
    type Value = Option<Vec<&'de RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Elements {
    type Value = Option<Vec<&'de RawValue>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            items.push(item);
        }
        Ok(Some(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(found: Option<&RawValue>) -> Option<&str> {
        found.map(RawValue::get)
    }

    #[test]
    fn finds_several_paths_in_one_pass() {
        let text = r#"{"a": {"b": [1, {"x": 2}], "c": "d"}, "error": null, "z": 3}"#;
        let [b, c, error, missing, through_list] = members(
            text,
            [
                &["a", "b"],
                &["a", "c"],
                &["error"],
                &["q"],
                &["a", "b", "x"],
            ],
        )
        .unwrap();
        assert_eq!(get(b), Some(r#"[1, {"x": 2}]"#));
        assert_eq!(get(c), Some(r#""d""#));
        assert_eq!(get(error), Some("null"));
        assert_eq!(get(missing), None);
        // `a.b` ends first, so `a.b.x` is not looked for inside it.
        assert_eq!(get(through_list), None);
    }

    #[test]
    fn the_last_duplicate_wins_whole() {
        let text = r#"{"r": {"d": 1}, "r": {"e": 2}}"#;
        let [d, e] = members(text, [&["r", "d"], &["r", "e"]]).unwrap();
        assert_eq!((get(d), get(e)), (None, Some("2")));
    }

    #[test]
    fn checks_the_whole_text() {
        assert!(members(r#"{"a": 1} x"#, [&["a"]]).is_err());
        assert!(members(r#"{"a": 1, "b": [}"#, [&["a"]]).is_err());
        assert!(members(r#"{"a": "#, [&["a"]]).unwrap_err().is_eof());
        // Not an object: nothing found, but well-formed.
        assert_eq!(get(members("[1, 2]", [&["a"]]).unwrap()[0]), None);
    }

    #[test]
    fn reads_escaped_keys() {
        let [a] = members(r#"{"\u0061": 7}"#, [&["a"]]).unwrap();
        assert_eq!(get(a), Some("7"));
    }

    #[test]
    fn skips_deep_values_without_recursing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!(r#"{{"deep": {deep}, "a": 1}}"#);
        assert_eq!(get(members(&text, [&["a"]]).unwrap()[0]), Some("1"));
        let text = format!(r#"{{"items": [{deep}, 2], "nextCursor": "c"}}"#);
        let page = page(&text).unwrap();
        let items: Vec<&str> = page.items.unwrap().iter().map(|i| i.get()).collect();
        assert_eq!(items, [deep.as_str(), "2"]);
        assert_eq!(get(page.next_cursor), Some(r#""c""#));
    }

    #[test]
    fn a_page_without_a_list_of_items_says_so() {
        assert!(page(r#"{"items": {"a": 1}}"#).unwrap().items.is_none());
        assert!(page(r#"{"nextCursor": null}"#).unwrap().items.is_none());
        assert!(page("[]").unwrap().items.is_none());
        assert!(page(r#"{"items": [1"#).unwrap_err().is_eof());
    }
}

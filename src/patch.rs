//! JSON merge patches (RFC 7386, restated as RFC 7396): `diff` makes the
//! patch that turns one role version into the next, `apply` replays it.
//!
//! The store keeps most versions as these patches (a typical change touches
//! two fields of a 2.6 KB document), and SQLite rebuilds them with its own
//! `json_patch()` in the `role_versions` view, so `apply` must agree with
//! SQLite exactly; the tests check it against SQLite on an in-memory database.
//!
//! Pure: no I/O, cannot fail, no panics. The values come from parsed text
//! (serde_json's depth limit), so recursion over them is bounded.

use serde_json::{Map, Value};

/// `target` with `patch` merged in, as RFC 7396 §2 (and SQLite's `json_patch`):
/// a patch that is not an object replaces the target whole; an object patch
/// applies to the target's members (a target that is not an object counts
/// as `{}`); a `null` member removes, any other merges recursively; arrays
/// are values like any other, replaced whole.
pub fn apply(target: Value, patch: &Value) -> Value {
    let Value::Object(members) = patch else {
        return patch.clone();
    };
    let mut object = match target {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    for (name, value) in members {
        if value.is_null() {
            object.remove(name);
        } else {
            let merged = apply(object.remove(name).unwrap_or(Value::Null), value);
            object.insert(name.clone(), merged);
        }
    }
    Value::Object(object)
}

/// The smallest merge patch with `apply(old.clone(), &patch) == *new`, or
/// `None` when no merge patch can express the change: a merge patch cannot
/// set a member to `null` (null means "remove"), so a member that becomes
/// null, or an object added or put in place of a non-object with a null
/// member somewhere in its objects, needs a full copy instead. (A null
/// inside an array is fine: arrays are copied whole.)
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    let (Value::Object(before), Value::Object(after)) = (old, new) else {
        // A non-object replaces the target whole; an object lands on `{}`.
        return expressible(new).then(|| new.clone());
    };
    let mut patch = Map::new();
    for name in before.keys() {
        if !after.contains_key(name) {
            patch.insert(name.clone(), Value::Null);
        }
    }
    for (name, value) in after {
        let previous = before.get(name);
        if previous == Some(value) {
            continue;
        }
        if value.is_null() {
            return None;
        }
        let member = match previous {
            Some(previous @ Value::Object(_)) if value.is_object() => diff(previous, value)?,
            _ if expressible(value) => value.clone(),
            _ => return None,
        };
        patch.insert(name.clone(), member);
    }
    Some(Value::Object(patch))
}

/// Whether `value`, written into a patch as it is, arrives unchanged on a
/// target that lacks it: true unless one of its objects (reached through
/// objects, not arrays) has a null member, which `apply` would drop.
pub fn expressible(value: &Value) -> bool {
    match value {
        Value::Object(members) => members
            .values()
            .all(|member| !member.is_null() && expressible(member)),
        _ => true,
    }
}

/// The top-level members whose values differ between two versions (added,
/// removed or changed), sorted: the fields a version's patch touches, as
/// `roles --history` shows them. Empty when either is not an object.
pub fn touched_fields(old: &Value, new: &Value) -> Vec<String> {
    let (Value::Object(before), Value::Object(after)) = (old, new) else {
        return Vec::new();
    };
    let mut names: Vec<String> = before
        .iter()
        .filter(|(name, value)| after.get(*name) != Some(*value))
        .map(|(name, _)| name.clone())
        .chain(
            after
                .keys()
                .filter(|name| !before.contains_key(*name))
                .cloned(),
        )
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::{apply, diff, expressible, touched_fields};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// SQLite's `json_patch(target, patch)`, read back as a value.
    fn sqlite_patch(conn: &rusqlite::Connection, target: &Value, patch: &Value) -> Value {
        let text: String = conn
            .query_row(
                "SELECT json_patch(?1, ?2) AS patched",
                [target.to_string(), patch.to_string()],
                |r| r.get("patched"),
            )
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The examples of RFC 7396 Appendix A, each checked here and in SQLite.
    #[test]
    fn the_rfc_examples_hold_here_and_in_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
            (
                json!({}),
                json!({"a":[{"x":null}]}),
                json!({"a":[{"x":null}]}),
            ),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(
                apply(target.clone(), &patch),
                expected,
                "{target} + {patch}"
            );
            assert_eq!(
                sqlite_patch(&conn, &target, &patch),
                expected,
                "{target} + {patch}"
            );
        }
    }

    #[test]
    fn a_typical_change_is_a_small_patch() {
        let old = json!({"id":"r1","salaryUpperBound":200000,"locations":["NYC","SF"],
            "company":{"name":"Acme","size":50},"status":"OPEN"});
        let new = json!({"id":"r1","salaryUpperBound":210000,"locations":["NYC"],
            "company":{"name":"Acme","size":60},"status":"OPEN","new":true});
        let patch = diff(&old, &new).unwrap();
        assert_eq!(
            patch,
            json!({"salaryUpperBound":210000,"locations":["NYC"],"company":{"size":60},"new":true})
        );
        assert_eq!(apply(old.clone(), &patch), new);
        assert_eq!(diff(&old, &old), Some(json!({})));
        assert_eq!(
            touched_fields(&old, &new),
            ["company", "locations", "new", "salaryUpperBound"]
        );
        let removed = json!({"id":"r1"});
        assert_eq!(
            diff(&old, &removed).unwrap(),
            json!({"salaryUpperBound":null,"locations":null,"company":null,"status":null})
        );
    }

    /// Everything a merge patch cannot say, and what it can.
    #[test]
    fn nulls_that_a_patch_would_lose_need_a_full_copy() {
        let old = json!({"a":1,"o":{"x":1},"n":null,"s":"text"});
        // A member becomes null, directly or inside an object.
        assert_eq!(
            diff(&old, &json!({"a":null,"o":{"x":1},"n":null,"s":"text"})),
            None
        );
        assert_eq!(
            diff(&old, &json!({"a":1,"o":{"x":null},"n":null,"s":"text"})),
            None
        );
        // An added member is null, or an added object holds a null somewhere.
        assert_eq!(diff(&json!({}), &json!({"b":null})), None);
        assert_eq!(
            diff(
                &old,
                &json!({"a":1,"o":{"x":1},"n":null,"s":{"deep":{"z":null}}})
            ),
            None
        );
        assert_eq!(diff(&json!(5), &json!({"a":null})), None);
        // Unchanged nulls, nulls in arrays and a member gone are all fine.
        let fine = json!({"a":[null,{"y":null}],"o":{"x":1},"n":null});
        let patch = diff(&old, &fine).unwrap();
        assert_eq!(apply(old.clone(), &patch), fine);
        assert!(expressible(&json!({"a":[{"b":null}]})));
        assert!(!expressible(&json!({"a":{"b":null}})));
        assert!(expressible(&json!(null)));
        // Whole-document replacements.
        assert_eq!(diff(&old, &json!([1])), Some(json!([1])));
        assert_eq!(diff(&old, &json!(null)), Some(json!(null)));
        assert_eq!(touched_fields(&old, &json!([1])), Vec::<String>::new());
    }

    /// JSON with few, repeated keys, so that objects overlap and nest.
    /// Floats have few digits: serde_json (without `float_roundtrip`) may
    /// read a 17-digit float it printed one ulp off, which would make the
    /// comparisons through SQLite's text fail for serde_json's reasons.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-100_000_000i64..100_000_000).prop_map(|n| json!(n as f64 / 100.0)),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-e]", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Two values where the second is often a small edit of the first.
    fn related_pair() -> impl Strategy<Value = (Value, Value)> {
        (json_value(), json_value(), any::<bool>()).prop_map(|(old, other, merge)| {
            if merge {
                let new = apply(old.clone(), &other);
                (old, new)
            } else {
                (old, other)
            }
        })
    }

    proptest! {
        #[test]
        fn diff_then_apply_gives_the_new_version((old, new) in related_pair()) {
            match diff(&old, &new) {
                Some(patch) => prop_assert_eq!(apply(old.clone(), &patch), new),
                // Only a null a patch cannot carry makes a change inexpressible.
                None => prop_assert!(new.to_string().contains("null")),
            }
        }

        #[test]
        fn apply_agrees_with_sqlite(target in json_value(), patch in json_value()) {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            let ours = apply(target.clone(), &patch);
            prop_assert_eq!(sqlite_patch(&conn, &target, &patch), ours);
        }

        #[test]
        fn our_patches_replay_in_sqlite((old, new) in related_pair()) {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            if let Some(patch) = diff(&old, &new) {
                prop_assert_eq!(sqlite_patch(&conn, &old, &patch), new);
            }
        }
    }
}

//! Role history stored as merge patches (issue 14): `roles --history` and
//! the public `role_versions` view give every version's full JSON, equal to
//! what was observed, while `role_version_data` holds mostly small patches.

mod common;

use common::Sandbox;
use serde_json::{Value, json};

/// Every version of a role as the view rebuilds it in SQL, oldest first.
fn view_versions(s: &Sandbox, id: &str) -> Vec<Value> {
    s.strings(&format!(
        "select raw from role_versions where role_id = '{id}' order by id"
    ))
    .iter()
    .map(|raw| serde_json::from_str(raw).unwrap())
    .collect()
}

/// Every version of a role as `roles --history ID --json` prints it.
fn printed_versions(s: &Sandbox, id: &str) -> Vec<Value> {
    let out = s
        .run(&["roles", "--history", id, "--json"])
        .expect(0)
        .stdout();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn history_lists_each_version_and_its_full_json() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let external = s.sim.active_ids().remove(0);
    let id = format!("paraform:{external}");
    let mut observed = vec![s.sim.role(&external).unwrap()];
    for round in 1..=3u64 {
        s.sim.edit_role(&external, |role| {
            role["salaryUpperBound"] = json!(300_000 + round * 10_000);
            role["total_interviewing"] = json!(round);
            if round == 2 {
                // A member set to null cannot be a merge patch: stored whole.
                role["percent_fee"] = Value::Null;
            }
        });
        observed.push(s.sim.role(&external).unwrap());
        s.scrape().expect(0).stdout_has("1 changed");
    }

    let run = s.run(&["roles", "--history", &id]).expect(0);
    let out = run.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].contains("(4 versions)"), "{out}");
    assert!(lines[2].contains("first seen"), "{out}");
    assert!(
        lines[3].contains("salaryUpperBound") && lines[3].contains("total_interviewing"),
        "{out}"
    );
    assert!(lines[4].contains("percent_fee"), "{out}");
    assert_eq!(lines.len(), 6, "{out}");

    // The full JSON of each version, as observed, in Rust and in SQL alike.
    let printed = printed_versions(&s, &id);
    let raws: Vec<Value> = printed.iter().map(|v| v["raw"].clone()).collect();
    assert_eq!(raws, observed);
    assert_eq!(view_versions(&s, &id), observed);
    assert_eq!(printed[1]["changed"][0], "salaryUpperBound");
    assert!(printed[0]["run_id"].is_i64() && printed[0]["observed_at"].is_string());

    // First whole, a patch, whole again for the null, then a patch.
    assert_eq!(
        s.strings(&format!(
            "select cast(keyframe as text) from role_version_data where role_id = '{id}' order by id"
        )),
        ["1", "0", "1", "0"]
    );
    // The source's own id works too; an unknown one is one line.
    assert_eq!(printed_versions(&s, &external).len(), 4);
    let run = s.run(&["roles", "--history", "paraform:nope"]).expect(1);
    assert!(run.stderr().contains("no role with id"), "{}", run.stderr());
    assert_eq!(run.stderr().trim().lines().count(), 1, "{}", run.stderr());
}

#[test]
fn rounds_of_change_store_patches_that_rebuild_exactly() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    for _ in 0..6 {
        s.sim.advance(chrono::Duration::hours(6));
        s.scrape().expect(0);
    }
    let changed = s.strings(
        "select role_id from role_version_data group by role_id having count(*) > 1 order by role_id",
    );
    assert!(!changed.is_empty(), "the rounds changed some roles");
    for id in &changed {
        let printed: Vec<Value> = printed_versions(&s, id)
            .iter()
            .map(|v| v["raw"].clone())
            .collect();
        assert_eq!(printed, view_versions(&s, id), "{id}: Rust and SQL agree");
    }
    // A role changed in the last run: its latest version is its current JSON.
    let last_changed = s.strings(
        "select v.role_id from role_version_data v
         where v.run_id = (select max(id) from runs)
           and v.id = (select max(id) from role_version_data l where l.role_id = v.role_id)",
    );
    for id in &last_changed {
        let current: Value = serde_json::from_str(
            &s.strings(&format!("select raw from roles where id = '{id}'"))[0],
        )
        .unwrap();
        assert_eq!(view_versions(&s, id).last(), Some(&current), "{id}");
    }
    let patches = s.count("select count(*) from role_version_data where keyframe = 0");
    let later = s.count(
        "select count(*) from role_version_data v
         where exists (select 1 from role_version_data p where p.role_id = v.role_id and p.id < v.id)",
    );
    assert!(
        patches * 2 > later,
        "{patches} patches of {later} later versions"
    );
    let (patch_bytes, copy_bytes) = (
        s.count("select coalesce(sum(length(body)), 0) from role_version_data where keyframe = 0"),
        s.count("select coalesce(sum(length(raw)), 0) from role_versions where id in (select id from role_version_data where keyframe = 0)"),
    );
    assert!(
        patch_bytes * 5 < copy_bytes,
        "{patch_bytes} vs {copy_bytes}"
    );
}

use super::formats::{self, Format};
use super::*;

const SAMPLE: &str = include_str!("../../tests/fixtures/storage_state.sample.json");
const BASE: &str = "https://www.paraform.com";
/// A cookie value that no message, log or Debug may show.
const SECRET: &str = "SEKRIT-VALUE-42";

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

/// 2025-12-01: before the sample's session cookie expires (2026-01-01).
fn before() -> DateTime<Utc> {
    at(1_764_547_200)
}

fn cookie(name: &str, value: &str, domain: &str, expires: Option<f64>) -> CookieRecord {
    CookieRecord {
        name: name.into(),
        value: value.into(),
        domain: domain.into(),
        path: "/".into(),
        expires,
        http_only: true,
        secure: true,
        same_site: None,
    }
}

/// Parses `text` as an export and checks its format and (name, domain,
/// expires, http_only) per cookie.
fn check(text: &str, format: Format, expected: &[(&str, &str, Option<f64>, bool)]) {
    let export = formats::parse_export(text, "export").unwrap();
    assert_eq!(export.format, format, "{text}");
    let got: Vec<(&str, &str, Option<f64>, bool)> = export
        .cookies
        .iter()
        .map(|c| (c.name.as_str(), c.domain.as_str(), c.expires, c.http_only))
        .collect();
    assert_eq!(got, expected, "{text}");
}

fn error_of<T>(result: Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => format!("{err:#}"),
    }
}

#[test]
fn sample_parses_with_expiry() {
    let session = Session::parse(SAMPLE, "sample").unwrap();
    assert_eq!(
        session.expires_at().unwrap().to_rfc3339(),
        "2026-01-01T00:00:00+00:00"
    );
    assert!(session.is_expired(at(1_767_225_600)));
    assert!(!session.is_expired(before()));
    assert!(!format!("{session:?}").contains("SYNTHETIC"));
    assert!(!session.is_from_env());
    assert_eq!(session.cookie_count(), 2);
    let cookies = session.cookies();
    assert_eq!(cookies[0].name, SESSION_COOKIES[0]);
    assert_eq!(cookies[0].expires, Some(1_767_225_600.0));
    assert_eq!(cookies[1].expires, None);
    assert_eq!(cookies[0].same_site.as_deref(), Some("Lax"));
    assert!(cookies[0].secure && cookies[0].http_only);
    assert!(!format!("{cookies:?}").contains("SYNTHETIC"));
}

#[test]
fn cookies_only_for_matching_hosts() {
    let session = Session::parse(SAMPLE, "sample").unwrap();
    let header = session.cookie_header("www.paraform.com").unwrap();
    assert!(header.contains("__Secure-next-auth.session-token=SYNTHETIC-TOKEN-NOT-REAL"));
    assert!(header.contains("__Host-next-auth.csrf-token=SYNTHETIC-CSRF"));
    assert_eq!(session.cookie_header("paraform.com"), None);
    assert_eq!(session.cookie_header("evilparaform.com"), None);
    assert!(domain_matches(".paraform.com", "www.paraform.com"));
    assert!(domain_matches("WWW.Paraform.com", "www.paraform.com"));
    assert!(!domain_matches("paraform.com", "www.evil-paraform.com"));
    assert!(!domain_matches("", "www.paraform.com"));
    // An address has no parent domain.
    assert!(domain_matches("127.0.0.1", "127.0.0.1"));
    assert!(!domain_matches(".0.0.1", "127.0.0.1"));
    assert!(!domain_matches("0.1", "127.0.0.1"));
}

#[test]
fn host_mismatch_names_both_domains() {
    let session = Session::parse(SAMPLE, "sample").unwrap();
    assert_eq!(session.host_mismatch("https://www.paraform.com"), None);
    assert_eq!(
        session.host_mismatch("https://WWW.paraform.com/x?y=1"),
        None
    );
    let message = session.host_mismatch("http://127.0.0.1:8077").unwrap();
    assert!(message.contains("is for www.paraform.com"), "{message}");
    assert!(message.contains("base_url is on 127.0.0.1"), "{message}");
    let dotted = Session::parse(
        &SAMPLE.replace("\"www.paraform.com\"", "\".paraform.com\""),
        "s",
    )
    .unwrap();
    assert_eq!(dotted.host_mismatch("https://app.paraform.com"), None);
}

#[test]
fn import_refuses_expired_and_foreign_sessions_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("export.json");
    let dest = dir.path().join("session.json");
    std::fs::write(&dest, "the installed session").unwrap();
    std::fs::write(&source, SAMPLE).unwrap();
    let after = at(1_767_225_601);
    let err = error_of(import_file(&source, &dest, BASE, after));
    assert!(err.contains("expired on 2026-01-01 00:00 UTC"), "{err}");
    assert!(err.contains("the installed session was kept"), "{err}");
    let err = error_of(import_file(&source, &dest, "http://127.0.0.1:9", before()));
    assert!(
        err.contains("is for www.paraform.com") && err.contains("base_url is on 127.0.0.1"),
        "{err}"
    );
    let err = error_of(import_file(&source, &dest, "not a url", before()));
    assert!(err.contains("names no host"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&dest).unwrap(),
        "the installed session"
    );
    let (session, format) = import_file(&source, &dest, BASE, before()).unwrap();
    assert_eq!(format, Format::StorageState);
    assert_eq!(session.origin, dest.display().to_string());
    let installed = std::fs::read_to_string(&dest).unwrap();
    let reread = Session::parse(&installed, "installed").unwrap();
    assert_eq!(
        reread.cookies(),
        Session::parse(SAMPLE, "s").unwrap().cookies()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn installed_state_is_playwright_shaped_and_holds_only_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("s/session.json");
    let mut lax = cookie("prefs", "p", ".paraform.com", Some(1_800_000_000.5));
    lax.same_site = Some("no_restriction".into());
    lax.secure = false;
    let cookies = vec![
        cookie(SESSION_COOKIES[0], SECRET, "www.paraform.com", None),
        cookie(SESSION_COOKIES[0], "other", "www.paraform.com", None),
        cookie("tracker", "t", "ads.example.com", Some(1_800_000_000.0)),
        cookie("gone", "g", "www.paraform.com", Some(1_000.0)),
        cookie("bad", "a;b", "www.paraform.com", None),
        lax,
    ];
    let origins = vec![
        OriginStorage {
            origin: "https://www.paraform.com".into(),
            local_storage: vec![("k".into(), "v".into())],
        },
        OriginStorage {
            origin: "https://ads.example.com".into(),
            local_storage: vec![("x".into(), "y".into())],
        },
    ];
    let session = install_cookies(cookies, origins, &dest, BASE, before(), "login").unwrap();
    let text = std::fs::read_to_string(&dest).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    let expected = json!({
        "cookies": [
            {"name": SESSION_COOKIES[0], "value": SECRET, "domain": "www.paraform.com", "path": "/",
             "expires": -1, "httpOnly": true, "secure": true, "sameSite": "Lax"},
            {"name": "prefs", "value": "p", "domain": ".paraform.com", "path": "/",
             "expires": 1_800_000_000.5, "httpOnly": true, "secure": false, "sameSite": "Lax"},
        ],
        "origins": [{"origin": "https://www.paraform.com", "localStorage": [{"name": "k", "value": "v"}]}],
    });
    assert_eq!(state, expected);
    assert_eq!(session.origins().len(), 1);
    assert_eq!(session.cookie_count(), 2);
    assert!(!format!("{:?} {:?}", session.cookies(), session.origins()).contains(SECRET));
}

#[test]
fn install_refuses_what_cannot_log_in_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("session.json");
    std::fs::write(&dest, "old").unwrap();
    let install = |cookies: Vec<CookieRecord>| {
        let err = error_of(install_cookies(
            cookies,
            Vec::new(),
            &dest,
            BASE,
            before(),
            "the export",
        ));
        assert!(!err.contains(SECRET), "{err}");
        err
    };
    let err = install(vec![cookie("other", SECRET, "www.paraform.com", None)]);
    assert!(err.contains("no Paraform session cookie"), "{err}");
    let err = install(vec![cookie(
        SESSION_COOKIES[0],
        SECRET,
        "www.paraform.com",
        Some(1e9),
    )]);
    assert!(err.contains("expired on 2001-09-09 01:46 UTC"), "{err}");
    let err = install(vec![cookie(
        SESSION_COOKIES[0],
        "a\nb",
        "www.paraform.com",
        None,
    )]);
    assert!(err.contains("cannot carry"), "{err}");
    let err = install(vec![cookie(
        SESSION_COOKIES[0],
        &"x".repeat(MAX_COOKIE_BYTES),
        "www.paraform.com",
        None,
    )]);
    assert!(err.contains("longer than 16 KiB"), "{err}");
    let mut many: Vec<CookieRecord> = (0..=MAX_COOKIES)
        .map(|n| cookie(&format!("c{n}"), "v", "www.paraform.com", None))
        .collect();
    many.push(cookie(SESSION_COOKIES[0], SECRET, "www.paraform.com", None));
    let err = install(many);
    assert!(err.contains("more than the 1000"), "{err}");
    // An expired session cookie beside a foreign one: the expiry is the news.
    let err = install(vec![
        cookie(SESSION_COOKIES[0], SECRET, "127.0.0.1", None),
        cookie(SESSION_COOKIES[0], SECRET, ".paraform.com", Some(1e9)),
    ]);
    assert!(err.contains("expired on"), "{err}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
}

#[test]
fn rejects_what_is_not_a_session() {
    let err = error_of(Session::parse("{\"cookies\": []}", "f.json"));
    assert!(err.contains("no Paraform session cookie"), "{err}");
    let err = error_of(Session::parse("<html>", "f.json"));
    assert!(err.contains("not a Playwright storage_state"), "{err}");
    let err = error_of(Session::parse("{\"origins\": []}", "f.json"));
    assert!(err.contains("no \"cookies\" list"), "{err}");
}

#[test]
fn env_value_is_base64() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(SAMPLE);
    let session = Session::load(Path::new("/nonexistent"), Some(encoded))
        .unwrap()
        .unwrap();
    assert_eq!(session.origin, SESSION_ENV);
    assert!(session.is_from_env());
    let err = error_of(Session::load(Path::new("/x/s.json"), Some("%%%".into())));
    assert!(err.contains("not valid base64"), "{err}");
    assert!(err.contains("or unset it to use /x/s.json"), "{err}");
    assert!(
        Session::load(Path::new("/nonexistent"), None)
            .unwrap()
            .is_none()
    );
}

#[test]
fn browser_session_cookie_has_no_expiry() {
    let text = SAMPLE.replace("1767225600", "-1");
    let session = Session::parse(&text, "s").unwrap();
    assert_eq!(session.expires_at(), None);
    assert!(!session.is_expired(Utc::now()));
}

#[test]
fn formats_are_told_apart_by_content() {
    assert_eq!(formats::detect(SAMPLE), Some(Format::StorageState));
    assert_eq!(formats::detect(" \n[]"), Some(Format::CookieEditor));
    assert_eq!(
        formats::detect("# Netscape HTTP Cookie File\n"),
        Some(Format::Netscape)
    );
    assert_eq!(
        formats::detect("# HTTP Cookie File\n"),
        Some(Format::Netscape)
    );
    assert_eq!(
        formats::detect("example.com\tFALSE\t/\tFALSE\t0\tn\tv\n"),
        Some(Format::Netscape)
    );
    for other in ["", "hello", "name=value; other=1", "<html>", "a\tb\tc"] {
        assert_eq!(formats::detect(other), None, "{other:?}");
        let err = error_of(formats::parse_export(other, "f"));
        assert!(
            err.contains("a Playwright storage_state JSON, a Cookie-Editor JSON array or a Netscape cookies.txt"),
            "{err}"
        );
    }
}

#[test]
fn netscape_cookies_txt() {
    let text = "# Netscape HTTP Cookie File\r\n\
                # https://curl.se/docs/http-cookies.html\r\n\
                \r\n\
                #HttpOnly_www.paraform.com\tFALSE\t/\tTRUE\t1800000000\t__Secure-next-auth.session-token\tabc\r\n\
                .paraform.com\tTRUE\t/\tFALSE\t0\tprefs\ta\tb c\n\
                paraform.com\tTRUE\t/\tfalse\t1800000000000\tms\tv\n\
                # a comment with\ttabs\tin\tit\tthat\tlooks\tlike\tone\n\
                this line is wrong\n\
                www.paraform.com\tMAYBE\t/\tFALSE\t0\tx\ty\n";
    check(
        text,
        Format::Netscape,
        &[
            (
                SESSION_COOKIES[0],
                "www.paraform.com",
                Some(1_800_000_000.0),
                true,
            ),
            ("prefs", ".paraform.com", None, false),
            ("ms", ".paraform.com", Some(1_800_000_000_000.0), false),
        ],
    );
    let export = formats::parse_export(text, "c").unwrap();
    assert_eq!(export.skipped_lines, 2);
    // The value is the rest of the line, TABs and spaces included.
    assert_eq!(export.cookies[1].value, "a\tb c");
    assert!(export.cookies[0].secure && !export.cookies[1].secure);
    // Installed, the millisecond expiry reads as seconds.
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("s.json");
    let session = install_cookies(export.cookies, Vec::new(), &dest, BASE, before(), "c").unwrap();
    let ms = session
        .cookies()
        .into_iter()
        .find(|c| c.name == "ms")
        .unwrap();
    assert_eq!(ms.expires, Some(1_800_000_000.0));
    // A cookies.txt whose lines are all wrong has no session, and says why.
    let path = dir.path().join("spaces.txt");
    std::fs::write(
        &path,
        "# Netscape HTTP Cookie File\nwww.paraform.com FALSE / TRUE 0 n v\n",
    )
    .unwrap();
    let err = error_of(import_file(&path, &dest, BASE, before()));
    assert!(err.contains("1 line not read"), "{err}");
    assert!(err.contains("no Paraform session cookie"), "{err}");
}

#[test]
fn cookie_editor_json() {
    let text = format!(
        r#"[
        {{"domain": "www.paraform.com", "expirationDate": 1800000000.25, "hostOnly": true,
          "httpOnly": true, "name": "{}", "path": "/", "sameSite": "lax", "secure": true,
          "session": false, "storeId": "0", "value": "{SECRET}", "id": 1}},
        {{"domain": "paraform.com", "hostOnly": false, "httpOnly": false, "name": "a",
          "path": "/", "sameSite": "no_restriction", "secure": true, "session": true,
          "expirationDate": 1800000000, "value": "1"}},
        {{"domain": ".paraform.com", "hostOnly": true, "name": "b", "value": "2",
          "sameSite": "unspecified"}},
        {{"domain": "x.com", "name": "c", "value": "3", "sameSite": "strict"}}
    ]"#,
        SESSION_COOKIES[0]
    );
    check(
        &text,
        Format::CookieEditor,
        &[
            (
                SESSION_COOKIES[0],
                "www.paraform.com",
                Some(1_800_000_000.25),
                true,
            ),
            ("a", ".paraform.com", None, false),
            ("b", "paraform.com", None, false),
            ("c", "x.com", None, false),
        ],
    );
    let export = formats::parse_export(&text, "c").unwrap();
    let same_site: Vec<Option<&str>> = export
        .cookies
        .iter()
        .map(|c| c.same_site.as_deref())
        .collect();
    assert_eq!(same_site, [Some("Lax"), Some("None"), None, Some("Strict")]);
}

#[test]
fn malformed_json_is_named_without_its_content() {
    for (text, expected) in [
        (
            format!("[{{\"name\": 1, \"value\": \"{SECRET}\"}}]"),
            "entry 1",
        ),
        (format!("[\"{SECRET}\"]"), "entry 1"),
        (
            format!("[{{\"name\": \"n\", \"value\": \"{SECRET}\""),
            "ends too early",
        ),
        (
            format!("[{{\"name\": \"n\", \"value\": {SECRET}}}]"),
            "syntax error at line 1",
        ),
        (
            format!("{{\"cookies\": [{{\"name\": \"n\", \"value\": {SECRET}}}]}}"),
            "syntax error",
        ),
        (
            format!("{{\"cookies\": [{{\"name\": \"{SECRET}\"}}]}}"),
            "cookie 1 has no text name and value",
        ),
        (
            format!("{{\"cookies\": \"{SECRET}\"}}"),
            "no \"cookies\" list",
        ),
        ("[".repeat(10_000), "line 1"),
    ] {
        let err = error_of(formats::parse_export(&text, "export.json"));
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains(SECRET), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn reading_is_bounded() {
    let endless = std::io::repeat(b'x');
    let err = error_of(formats::read_bounded(endless, 1024 * 1024, "big.txt"));
    assert!(err.contains("big.txt is larger than 1 MiB"), "{err}");
    let err = error_of(formats::read_bounded(&[0xff, 0xfe][..], 10, "bin"));
    assert!(err.contains("not text"), "{err}");
    assert_eq!(
        formats::read_bounded("\u{feff}[]".as_bytes(), 10, "b").unwrap(),
        "[]"
    );
    let endless = std::io::BufReader::new(std::io::repeat(b'a'));
    let err = error_of(formats::read_cookie_value(endless, false));
    assert!(err.contains("more than 16 KiB"), "{err}");
    let endless = std::io::BufReader::new(std::io::repeat(b'a'));
    let err = error_of(formats::read_cookie_value(endless, true));
    assert!(err.contains("more than 16 KiB"), "{err}");
}

#[test]
fn bare_cookie_values() {
    let read = |text: &str| formats::read_cookie_value(text.as_bytes(), false);
    assert_eq!(read("  abc.def-ghi_\r\n").unwrap(), "abc.def-ghi_");
    assert_eq!(
        read(&format!("{}=tok\n", SESSION_COOKIES[0])).unwrap(),
        "tok"
    );
    assert_eq!(
        formats::read_cookie_value("first\nsecond\n".as_bytes(), true).unwrap(),
        "first"
    );
    let exact = "a".repeat(formats::MAX_COOKIE_VALUE_BYTES);
    assert_eq!(read(&format!("{exact}\r\n")).unwrap(), exact);
    for (text, expected) in [
        ("", "was empty"),
        (" \n\t", "was empty"),
        ("one\ntwo", "more than one line"),
        ("has space", "a space"),
        ("semi;colon", "a ';'"),
        ("bell\u{7}", "control"),
        ("é", "non-ASCII"),
    ] {
        let err = error_of(read(text));
        assert!(err.contains(expected), "{text:?}: {err}");
    }
    let err = error_of(read(&format!("{SECRET} {SECRET}")));
    assert!(!err.contains(SECRET), "{err}");
}

#[test]
fn a_bare_cookie_is_installed_for_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("s.json");
    let expires = Some(at(1_800_000_000));
    let session = import_cookie_value(
        SECRET.into(),
        expires,
        &dest,
        "http://127.0.0.1:8077/",
        before(),
    )
    .unwrap();
    assert_eq!(session.expires_at(), expires);
    let cookies = session.cookies();
    assert_eq!(cookies.len(), 1);
    assert_eq!(cookies[0].name, "__Secure-next-auth.session-token");
    assert_eq!(cookies[0].domain, "127.0.0.1");
    assert!(cookies[0].secure, "a __Secure- cookie");
    assert_eq!(
        session.cookie_header("127.0.0.1").unwrap(),
        format!("__Secure-next-auth.session-token={SECRET}")
    );
    let session = import_cookie_value("t".into(), None, &dest, BASE, before()).unwrap();
    assert_eq!(session.expires_at(), None);
    let reread = Session::load(&dest, None).unwrap().unwrap();
    assert_eq!(reread.cookies(), session.cookies());
}

#[test]
fn expires_forms() {
    let now = DateTime::parse_from_rfc3339("2025-12-19T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let check = |text: &str, expected: &str| {
        assert_eq!(
            crate::role::timestamp(formats::parse_expires(text, now).unwrap()),
            expected,
            "{text}"
        );
    };
    check("30d", "2026-01-18T12:00:00Z");
    check("12h", "2025-12-20T00:00:00Z");
    check("90m", "2025-12-19T13:30:00Z");
    check("2w", "2026-01-02T12:00:00Z");
    check("2026-06-01", "2026-06-01T00:00:00Z");
    check("2026-06-01T08:00:00+02:00", "2026-06-01T06:00:00Z");
    for (text, expected) in [
        ("0d", "not in the future"),
        ("2020-01-01", "not in the future"),
        ("-1d", "not a date"),
        ("soon", "not a date"),
        ("", "not a date"),
        ("é", "not a date"),
        ("99999999999d", "further than a date can"),
        ("9223372036854775807w", "further than a date can"),
        ("99999999999999999999h", "further than a date can"),
    ] {
        let err = error_of(formats::parse_expires(text, now));
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn env_wins_notice_only_when_set() {
    let dest = Path::new("data/paraform_session.json");
    assert_eq!(env_wins_notice(None, dest), None);
    assert_eq!(env_wins_notice(Some("  "), dest), None);
    let notice = env_wins_notice(Some("abc"), dest).unwrap();
    assert!(
        notice.contains("PARAFORM_SESSION_JSON is set and wins over data/paraform_session.json"),
        "{notice}"
    );
    assert!(
        !notice.contains("abc") && !notice.contains('\n'),
        "{notice}"
    );
}

#[test]
fn export_round_trips_and_refuses_an_expired_session() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let err = error_of(export_base64(&file, None, before()));
    assert!(err.contains("no Paraform session at"), "{err}");
    std::fs::write(&file, SAMPLE).unwrap();
    let (encoded, session) = export_base64(&file, None, before()).unwrap();
    assert!(!session.is_from_env());
    assert!(!encoded.contains('\n'));
    let (again, session) = export_base64(&file, Some(encoded.clone()), before()).unwrap();
    assert!(session.is_from_env());
    assert_eq!(again, encoded);
    let loaded = Session::load(Path::new("/nonexistent"), Some(encoded))
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.cookies(),
        Session::parse(SAMPLE, "s").unwrap().cookies()
    );
    let err = error_of(export_base64(&file, None, at(1_767_225_600)));
    assert!(err.contains("expired on 2026-01-01"), "{err}");
}

#[test]
fn expiry_names_the_source_and_what_to_do() {
    let expired = Session::parse(SAMPLE, "data/s.json").unwrap();
    let now = at(1_767_225_600 + 60);
    let line = describe_expiry(&expired, now);
    assert!(
        line.starts_with("Paraform session from data/s.json expired on 2026-01-01"),
        "{line}"
    );
    assert!(line.contains("session import FILE"), "{line}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(SAMPLE);
    let from_env = Session::load(Path::new("/x"), Some(encoded))
        .unwrap()
        .unwrap();
    let line = describe_expiry(&from_env, now);
    assert!(
        line.starts_with("Paraform session from PARAFORM_SESSION_JSON expired"),
        "{line}"
    );
    assert!(line.contains("unset it"), "{line}");
    let line = describe_expiry(&expired, before());
    assert!(
        line.contains("from data/s.json expires on 2026-01-01 00:00 UTC (in 31 days)"),
        "{line}"
    );
}

mod firefox_profiles {
    use super::*;
    use rusqlite::Connection;

    /// A cookies.sqlite with Firefox's own `moz_cookies` columns.
    pub fn firefox_db(path: &Path, rows: &[(&str, &str, &str, i64, i64)]) {
        let db = Connection::open(path).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE moz_cookies (id INTEGER PRIMARY KEY, originAttributes TEXT NOT NULL DEFAULT '',
               name TEXT, value TEXT, host TEXT, path TEXT, expiry INTEGER, lastAccessed INTEGER,
               creationTime INTEGER, isSecure INTEGER, isHttpOnly INTEGER, inBrowserElement INTEGER DEFAULT 0,
               sameSite INTEGER DEFAULT 0, rawSameSite INTEGER DEFAULT 0, schemeMap INTEGER DEFAULT 0,
               isPartitionedAttributeSet INTEGER DEFAULT 0,
               CONSTRAINT moz_uniqueid UNIQUE (name, host, path, originAttributes))",
        )
        .unwrap();
        for (origin, name, host, expiry, same_site) in rows {
            db.execute(
                "INSERT INTO moz_cookies (originAttributes, name, value, host, path, expiry, lastAccessed,
                   creationTime, isSecure, isHttpOnly, sameSite)
                 VALUES (?1, ?2, ?3, ?4, '/', ?5, 0, 0, 1, 1, ?6)",
                rusqlite::params![origin, name, format!("{SECRET}-{name}{origin}"), host, expiry, same_site],
            )
            .unwrap();
        }
        // Left open with its WAL unmerged, as a running Firefox leaves it.
        std::mem::forget(db);
    }

    #[test]
    fn reads_a_profile_from_a_private_copy() {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("abc.default-release");
        std::fs::create_dir(&profile).unwrap();
        firefox_db(
            &profile.join("cookies.sqlite"),
            &[
                (
                    "^userContextId=1",
                    SESSION_COOKIES[0],
                    "www.paraform.com",
                    1_800_000_000_000,
                    1,
                ),
                (
                    "",
                    SESSION_COOKIES[0],
                    "www.paraform.com",
                    1_800_000_000_000,
                    1,
                ),
                ("", "wide", ".paraform.com", 1_800_000_000, 2),
                ("", "other", "example.com", 1_800_000_000, 0),
            ],
        );
        assert!(profile.join("cookies.sqlite-wal").exists());
        let temp = tempfile::tempdir().unwrap();
        let found = firefox::read_profile(Some(&profile), None, temp.path(), |host, name| {
            domain_matches(host, "www.paraform.com") || name == SESSION_COOKIES[0]
        })
        .unwrap();
        assert_eq!(found.profile, profile);
        let names: Vec<(&str, &str)> = found
            .cookies
            .iter()
            .map(|c| (c.name.as_str(), c.domain.as_str()))
            .collect();
        // The default container's cookies first.
        assert_eq!(
            names,
            [
                (SESSION_COOKIES[0], "www.paraform.com"),
                ("wide", ".paraform.com"),
                (SESSION_COOKIES[0], "www.paraform.com"),
            ]
        );
        assert_eq!(
            found.cookies[0].value,
            format!("{SECRET}-{}", SESSION_COOKIES[0])
        );
        assert_eq!(found.cookies[1].same_site.as_deref(), Some("Strict"));
        assert!(found.cookies[0].secure && found.cookies[0].http_only);
        // The copy is gone.
        assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
        // Installed: milliseconds read as seconds, the first of two twins kept.
        let dest = dir.path().join("s.json");
        let session =
            install_cookies(found.cookies, Vec::new(), &dest, BASE, before(), "ff").unwrap();
        assert_eq!(session.expires_at(), Some(at(1_800_000_000)));
        assert_eq!(session.cookie_count(), 2);
        assert_eq!(
            session.cookies()[0].value,
            format!("{SECRET}-{}", SESSION_COOKIES[0])
        );
        // The cookies.sqlite itself may be given, too.
        let direct = firefox::read_profile(
            Some(&profile.join("cookies.sqlite")),
            None,
            temp.path(),
            |_, _| true,
        )
        .unwrap();
        assert_eq!(direct.cookies.len(), 4);
    }

    #[test]
    fn refuses_what_is_not_a_profile() {
        let dir = tempfile::tempdir().unwrap();
        let temp = tempfile::tempdir().unwrap();
        let err = error_of(firefox::read_profile(
            Some(dir.path()),
            None,
            temp.path(),
            |_, _| true,
        ));
        assert!(err.contains("no cookies.sqlite in"), "{err}");
        std::fs::write(
            dir.path().join("cookies.sqlite"),
            "not a database at all, at all",
        )
        .unwrap();
        let err = error_of(firefox::read_profile(
            Some(dir.path()),
            None,
            temp.path(),
            |_, _| true,
        ));
        assert!(err.contains("is not a Firefox cookie database"), "{err}");
        Connection::open(dir.path().join("other.sqlite"))
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let err = error_of(firefox::read_profile(
            Some(&dir.path().join("other.sqlite")),
            None,
            temp.path(),
            |_, _| true,
        ));
        assert!(err.contains("moz_cookies"), "{err}");
        assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
        let err = error_of(firefox::read_profile(None, None, temp.path(), |_, _| true));
        assert!(err.contains("HOME is not set"), "{err}");
    }

    fn profile_in(home: &Path, root: &str, ini: &str, profile: &str) -> PathBuf {
        let root = home.join(root);
        std::fs::create_dir_all(root.join(profile)).unwrap();
        std::fs::write(root.join("profiles.ini"), ini).unwrap();
        firefox_db(&root.join(profile).join("cookies.sqlite"), &[]);
        root.join(profile)
    }

    #[test]
    fn finds_the_default_profile() {
        let check = |root: &str, ini: &str, profile: &str| {
            let home = tempfile::tempdir().unwrap();
            let expected = profile_in(home.path(), root, ini, profile);
            assert_eq!(
                firefox::default_profile(home.path()).unwrap(),
                expected,
                "{ini}"
            );
        };
        let two = "[Profile1]\nName=old\nIsRelative=1\nPath=Profiles/old\n\n\
                   [Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/new\nDefault=1\n";
        check(
            ".mozilla/firefox",
            &format!("[Install4F96D1932A9F858E]\nDefault=Profiles/inst\nLocked=1\n\n{two}"),
            "Profiles/inst",
        );
        check(".mozilla/firefox", two, "Profiles/new");
        check(
            "snap/firefox/common/.mozilla/firefox",
            "; comment\n[General]\nStartWithLastProfile=1\n[Profile0]\nName=x\nIsRelative=1\nPath=only.one\n",
            "only.one",
        );
        check(
            ".var/app/org.mozilla.firefox/.mozilla/firefox",
            "[Profile0]\r\nPath=flat\r\nDefault=1\r\n",
            "flat",
        );
        check(
            "Library/Application Support/Firefox",
            "[Profile0]\nPath=Profiles/mac\n",
            "Profiles/mac",
        );
        // An absolute path is taken as it is.
        let home = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        firefox_db(&elsewhere.path().join("cookies.sqlite"), &[]);
        std::fs::create_dir_all(home.path().join(".mozilla/firefox")).unwrap();
        std::fs::write(
            home.path().join(".mozilla/firefox/profiles.ini"),
            format!(
                "[Profile0]\nIsRelative=0\nPath={}\n",
                elsewhere.path().display()
            ),
        )
        .unwrap();
        assert_eq!(
            firefox::default_profile(home.path()).unwrap(),
            elsewhere.path()
        );
    }

    #[test]
    fn says_where_it_looked() {
        let home = tempfile::tempdir().unwrap();
        let err = error_of(firefox::default_profile(home.path()));
        for root in firefox::PROFILE_ROOTS {
            let ini = home.path().join(root).join("profiles.ini");
            assert!(err.contains(&ini.display().to_string()), "{err}");
        }
        assert!(err.contains("--from-firefox PROFILE_DIR"), "{err}");
        // Two profiles and no default: named as such.
        let root = home.path().join(".mozilla/firefox");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("profiles.ini"),
            "[Profile0]\nPath=a\n[Profile1]\nPath=b\n",
        )
        .unwrap();
        let err = error_of(firefox::default_profile(home.path()));
        assert!(
            err.contains("names no default profile among several"),
            "{err}"
        );
        // A default without cookies.sqlite: the missing file is named.
        std::fs::write(root.join("profiles.ini"), "[Profile0]\nPath=a\nDefault=1\n").unwrap();
        let err = error_of(firefox::default_profile(home.path()));
        assert!(
            err.contains(&root.join("a/cookies.sqlite").display().to_string()),
            "{err}"
        );
    }
}

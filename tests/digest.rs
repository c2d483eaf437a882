//! The digest through a real SMTP server (aiosmtpd), exactly once per day,
//! and never lost when the server refuses it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use air_demand::sim::SimOptions;
use common::{Sandbox, Tool, require, run_in, sim_options};

/// A real SMTP server on a loopback port, storing what it accepts in a Maildir.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

/// aiosmtpd on a port the kernel picks (bound before it is announced, so
/// nothing can take it first), printed as the first line once it listens.
/// `refuse` answers DATA with 554; `accept MAILDIR` stores in a Maildir.
const SMTP_LAUNCHER: &str = r#"
import asyncio, socket, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP

class Refuse:
    async def handle_DATA(self, server, session, envelope):
        return '554 5.7.1 Message refused by policy'

handler = Refuse() if sys.argv[1] == 'refuse' else Mailbox(sys.argv[2])
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(('127.0.0.1', 0))
listener.listen()
loop.run_until_complete(loop.create_server(
    lambda: SMTP(handler, hostname='localhost', loop=loop), sock=listener))
print(listener.getsockname()[1], flush=True)
loop.run_forever()
"#;

impl Smtp {
    /// `refuse`: answer DATA with 554 instead of accepting.
    fn start(dir: &Path, refuse: bool) -> Smtp {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let python = require(Tool::Aiosmtpd);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let maildir = dir.join(format!("maildir-{n}"));
        let stderr = dir.join(format!("smtp-{n}.stderr"));
        let mut command = Command::new(python);
        command.args(["-c", SMTP_LAUNCHER]);
        if refuse {
            command.arg("refuse");
        } else {
            command.arg("accept").arg(&maildir);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {python} (aiosmtpd): {e}"));
        // The first line is the port, once it listens; EOF means it died.
        let stdout = child.stdout.take().unwrap();
        let (sender, announced) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        // A hang guard, not a speed requirement.
        let line = announced.recv_timeout(Duration::from_secs(120));
        let port = line.as_deref().ok().and_then(|l| l.trim().parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "aiosmtpd did not start ({line:?})\n--- stderr\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        Smtp {
            child,
            port,
            maildir,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, parsed by Python's `email` package.
    fn messages(&self) -> Vec<serde_json::Value> {
        let new = self.maildir.join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|f| parse_message(f)).collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_message(path: &Path) -> serde_json::Value {
    let script = r#"
import email, json, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
parts = [{"type": p.get_content_type(), "content": p.get_content()} for p in m.walk() if not p.is_multipart()]
print(json.dumps({"subject": m["subject"], "from": m["from"], "to": m["to"], "date": m["date"],
  "message_id": m["message-id"], "auto_submitted": m["auto-submitted"], "list_id": m["list-id"],
  "type": m.get_content_type(), "parts": parts}))
"#;
    let output = Command::new(require(Tool::Python3))
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn configure(s: &Sandbox, transport: &str) {
    s.write_config("");
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    let config = config.replace(
        "[site]\ndir = \"site\"\n",
        "[site]\ndir = \"site\"\nbase_url = \"https://demand.example.com\"\n",
    );
    s.write_file(
        "air-demand.toml",
        &format!(
            "{config}\n[digest]\nto = [\"head@hunter.example\"]\nfrom = \"Air Demand <digest@demand.example.com>\"\ntransport = \"{transport}\"\noutbox = \"outbox\"\n"
        ),
    );
}

fn digest(s: &Sandbox, smtp: &Smtp, args: &[&str]) -> common::Run {
    let mut all = vec!["digest"];
    all.extend_from_slice(args);
    run_in(s.path(), &all, &[("SMTP_URL", &smtp.url())])
}

fn part<'a>(message: &'a serde_json::Value, kind: &str) -> &'a str {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == kind)
        .unwrap()["content"]
        .as_str()
        .unwrap()
}

#[test]
fn the_digest_arrives_by_smtp_with_both_parts_links_and_escaped_text() {
    let s = Sandbox::with(SimOptions {
        hostile: true,
        ..sim_options()
    });
    configure(&s, "smtp");
    s.scrape().expect(0);
    let smtp = Smtp::start(s.path(), false);
    digest(&s, &smtp, &[]).expect(0).stdout_has("sent via smtp");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    let subject = m["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("Air Demand: ") && subject.contains("new qualified"),
        "{subject}"
    );
    assert_eq!(m["from"], "Air Demand <digest@demand.example.com>");
    assert_eq!(m["to"], "head@hunter.example");
    assert!(m["date"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(
        m["message_id"]
            .as_str()
            .unwrap()
            .contains("@demand.example.com>")
    );
    // A machine's message to a list: no vacation replies, one filter.
    assert_eq!(m["auto_submitted"], "auto-generated");
    assert_eq!(
        m["list_id"],
        "Air Demand digest <digest.demand.example.com>"
    );
    assert_eq!(m["type"], "multipart/alternative");
    let html = part(m, "text/html");
    let text = part(m, "text/plain");
    for heading in ["New qualified", "Top qualified"] {
        assert!(
            html.contains(heading) && text.contains(heading),
            "{heading} missing"
        );
    }
    assert!(
        html.contains("https://demand.example.com/roles/"),
        "no site links"
    );
    assert!(html.contains("/company/"), "no Paraform links");
    assert!(text.contains("https://demand.example.com/roles/"));
    // The simulator planted <script> and onerror payloads in titles and names.
    assert!(!html.contains("<script"), "raw script tag in the HTML part");
    assert!(
        !html.to_lowercase().contains("<img"),
        "raw img tag in the HTML part"
    );
    let escaped = ["&lt;script&gt;", "&#60;script&#62;", "&lt;img", "&#60;img"];
    assert!(
        escaped.iter().any(|e| html.contains(e)),
        "hostile text not shown escaped"
    );
    assert!(
        !text.contains("&lt;") && !text.contains("&#60;"),
        "HTML entities in the text part"
    );
    let recorded = s.strings("select status || ' ' || transport || ' ' || recipients from digests");
    assert_eq!(recorded, vec!["sent smtp [\"head@hunter.example\"]"]);
}

#[test]
fn one_digest_per_day_unless_forced() {
    let s = Sandbox::new();
    configure(&s, "smtp");
    s.scrape().expect(0);
    let smtp = Smtp::start(s.path(), false);
    digest(&s, &smtp, &[]).expect(0);
    digest(&s, &smtp, &[]).expect(0).stdout_has("already sent");
    assert_eq!(smtp.messages().len(), 1);
    digest(&s, &smtp, &["--force"])
        .expect(0)
        .stdout_has("sent via smtp");
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!(
        s.count("select count(*) from digests where status = 'sent'"),
        2
    );
    // The forced one covers what changed since the first: nothing. (Maildir
    // file names do not keep the order of arrival within a second.)
    let subjects: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains(" 0 new qualified"))
            .count(),
        1,
        "{subjects:?}"
    );
}

#[test]
fn a_refused_digest_is_recorded_and_sent_by_the_next_run() {
    let s = Sandbox::new();
    configure(&s, "smtp");
    s.scrape().expect(0);
    let refusing = Smtp::start(s.path(), true);
    let run = digest(&s, &refusing, &[])
        .expect(1)
        .stderr_has("refused the message");
    assert_eq!(run.stderr().lines().count(), 1, "{}", run.stderr());
    assert_eq!(s.strings("select status from digests"), vec!["failed"]);
    assert!(
        s.strings("select error from digests")
            .remove(0)
            .contains("554")
    );
    s.run(&["status"])
        .expect(1)
        .stdout_has("the last digest failed");
    drop(refusing);
    let smtp = Smtp::start(s.path(), false);
    digest(&s, &smtp, &[]).expect(0).stdout_has("sent via smtp");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        s.strings("select status from digests order by id"),
        vec!["failed", "sent"]
    );
    // A server that is not there at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    run_in(
        s.path(),
        &["digest", "--force"],
        &[("SMTP_URL", &format!("smtp://127.0.0.1:{closed}"))],
    )
    .expect(1)
    .stderr_has("127.0.0.1");
    // Credentials never reach the output or the database.
    let run = run_in(
        s.path(),
        &["digest", "--force"],
        &[(
            "SMTP_URL",
            &format!("smtp://user:s3cret-pass@127.0.0.1:{closed}"),
        )],
    );
    assert!(!run.stderr().contains("s3cret-pass"), "{}", run.stderr());
    assert_eq!(
        s.count("select count(*) from digests where error like '%s3cret%'"),
        0
    );
}

#[test]
fn dry_run_out_file_and_other_transports() {
    let s = Sandbox::new();
    configure(&s, "file");
    s.scrape().expect(0);
    let run = s
        .run(&["digest", "--dry-run"])
        .expect(0)
        .stdout_has("Subject: Air Demand:")
        .stdout_has("multipart/alternative");
    assert!(run.stdout().contains("text/plain") && run.stdout().contains("text/html"));
    s.run(&["digest", "--out", "preview.eml"])
        .expect(0)
        .stdout_has("wrote preview.eml");
    assert!(
        std::fs::read_to_string(s.path().join("preview.eml"))
            .unwrap()
            .contains("Message-ID:")
    );
    s.run(&["digest", "--out", "preview.eml"])
        .expect(1)
        .stderr_has("must not exist");
    assert_eq!(
        s.count("select count(*) from digests"),
        0,
        "dry runs are not recorded"
    );
    s.run(&["digest"])
        .expect(0)
        .stdout_has("written to outbox/");
    assert_eq!(
        std::fs::read_dir(s.path().join("outbox")).unwrap().count(),
        1
    );
    // SMTP without SMTP_URL says what to set.
    configure(&s, "smtp");
    s.run(&["digest", "--force"])
        .expect(1)
        .stderr_has("SMTP_URL is not set");
}

#[test]
fn an_empty_digest_is_brief_or_skipped() {
    let s = Sandbox::new();
    configure(&s, "file");
    s.scrape().expect(0);
    s.run(&["digest"]).expect(0);
    // Nothing happened since: a forced digest says so briefly.
    let run = s.run(&["digest", "--dry-run"]).expect(0);
    assert!(run.stdout().contains("Nothing new"), "{}", run.stdout());
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &config.replace(
            "outbox = \"outbox\"",
            "outbox = \"outbox\"\nsend_empty = false",
        ),
    );
    s.run(&["digest", "--force"])
        .expect(0)
        .stdout_has("nothing new since the last digest");
    assert_eq!(s.count("select count(*) from digests"), 1);
}

#[test]
fn new_qualified_roles_carry_the_models_short_briefing_escaped() {
    let s = Sandbox::with(SimOptions {
        hostile: true,
        ..sim_options()
    });
    configure(&s, "file");
    s.enable_llm("briefing_min_score = 0.5");
    s.scrape().expect(0);
    assert!(s.count("select count(*) from roles where briefing_key is not null") > 0);
    s.run(&["digest", "--out", "briefed.eml"]).expect(0);
    let message = parse_message(&s.path().join("briefed.eml"));
    let html = part(&message, "text/html");
    let text = part(&message, "text/plain");
    for body in [html, text] {
        assert!(body.contains("Briefing (model)"), "{body}");
    }
    // The simulated model echoes markup; it arrives as text, never as markup.
    assert!(html.contains("&lt;script&gt;alert(") || html.contains("&#60;script&#62;alert("));
    assert!(!html.contains("<script>alert(\"model\")"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
}

/// The site's two health files, as a reader of the site gets them.
fn site_health(s: &Sandbox) -> (serde_json::Value, String) {
    let json = std::fs::read_to_string(s.path().join("site/health.json")).unwrap();
    let html = std::fs::read_to_string(s.path().join("site/health.html")).unwrap();
    (serde_json::from_str(&json).unwrap(), html)
}

/// Every file name in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_digest_run_by_hand_reads_the_services_env_file_and_the_site_says_it_was_sent() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    configure(&s, "smtp");
    let smtp = Smtp::start(s.path(), false);
    // SMTP_URL only in the service's env file, as on a server.
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!("{config}\n[secrets]\nenv_file = \"service.env\"\n"),
    );
    s.write_file("service.env", &format!("SMTP_URL={}\n", smtp.url()));
    let env_file = s.path().join("service.env");
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    s.run(&["scrape"]).expect(0);
    let (health, html) = site_health(&s);
    assert!(health["last_digest"].is_null(), "{health}");
    assert!(html.contains("No digest yet"));
    let site = s.path().join("site");
    let files = names_in(&site);
    let mode = |name: &str| {
        std::fs::metadata(site.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    let modes = (mode("health.json"), mode("health.html"));

    run_in(s.path(), &["digest"], &[])
        .expect(0)
        .stdout_has("sent via smtp");
    assert_eq!(smtp.messages().len(), 1);
    let (health, html) = site_health(&s);
    assert_eq!(health["last_digest"]["status"], "sent", "{health}");
    assert!(!html.contains("No digest yet"), "{html}");
    assert!(html.contains("status-sent"), "{html}");
    // Only those two files changed, in place, as readable as before.
    assert_eq!(names_in(&site), files, "a file was left in the site");
    assert_eq!((mode("health.json"), mode("health.html")), modes);

    // A failed send is told too.
    configure(&s, "smtp");
    let refusing = Smtp::start(s.path(), true);
    digest(&s, &refusing, &["--force"]).expect(1);
    let (health, _) = site_health(&s);
    assert_eq!(health["last_digest"]["status"], "failed", "{health}");
    assert_eq!(health["status"], "degraded", "{health}");

    // Without a published site, a digest creates none.
    std::fs::remove_dir_all(&site).unwrap();
    digest(&s, &smtp, &["--force"]).expect(0);
    assert!(!site.exists(), "the digest created a site");
}

//! The daily digest: choose what is worth reading (`content`), render it
//! (`render`), and send it exactly once per period through SMTP, an outbox
//! file or stdout, recording every attempt in `digests`.

pub mod content;
pub mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, Mailboxes, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, Env, Transport};
use crate::lock::WriterLock;
use crate::store::{Db, DigestWrite};
use crate::views::change_views;

/// The environment variable holding the SMTP URL (with credentials).
pub const SMTP_ENV: &str = "SMTP_URL";
/// Without an earlier digest, the first one looks back this far.
const FIRST_WINDOW_HOURS: i64 = 24;

/// How `digest` was asked to run.
#[derive(Debug, Clone, Default)]
pub struct DigestOptions {
    /// Print the message instead of sending it; records nothing.
    pub dry_run: bool,
    /// Write the message as an .eml file instead of sending it; records nothing.
    pub out: Option<PathBuf>,
    /// Send even if this period's digest was already sent.
    pub force: bool,
}

/// What `digest` did.
#[derive(Debug)]
pub enum DigestOutcome {
    Sent {
        id: i64,
        subject: String,
        transport: String,
        detail: String,
    },
    AlreadySent {
        sent_at: String,
        subject: String,
    },
    SkippedEmpty,
    /// Another process is sending right now; it sends this period's digest.
    Busy,
    Printed,
    Written(PathBuf),
}

/// The period a digest covers: the day in the schedule's time zone.
pub fn period_of(now: DateTime<Utc>, config: &Config) -> String {
    now.with_timezone(&config.schedule.timezone)
        .format("%Y-%m-%d")
        .to_string()
}

/// Builds and sends (or prints, or writes) the digest.
pub async fn run(
    config: &Config,
    env: &Env,
    options: &DigestOptions,
    now: DateTime<Utc>,
) -> Result<DigestOutcome> {
    let db_path = config.database_path();
    if !db_path.exists() {
        bail!(
            "no database at {}: run `air-demand scrape` first",
            db_path.display()
        );
    }
    let db = Db::open(&db_path)?;
    let recording = !options.dry_run && options.out.is_none();
    // One sender at a time: a second `digest` (or `run` and a manual
    // `digest`) finds the lock held and leaves the period to the first.
    let _sending = if recording {
        match WriterLock::acquire_digest(&db_path)? {
            Some(lock) => Some(lock),
            None => return Ok(DigestOutcome::Busy),
        }
    } else {
        None
    };
    if recording {
        // Under the lock, a row still `sending` is a stopped process's.
        db.fail_interrupted_digests()?;
    }
    let period = period_of(now, config);
    let sent = db.sent_digest(&period)?;
    if recording
        && !options.force
        && let Some(sent) = sent.clone()
    {
        return Ok(DigestOutcome::AlreadySent {
            sent_at: sent.sent_at.unwrap_or(sent.created_at),
            subject: sent.subject,
        });
    }
    // The window starts after the last sent digest's newest change (by id:
    // exact even when a scrape and a digest share a second).
    let last_sent = db.last_sent_digest()?;
    let since = last_sent
        .as_ref()
        .and_then(|d| DateTime::parse_from_rfc3339(&d.created_at).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now - chrono::Duration::hours(FIRST_WINDOW_HOURS));
    let window = match last_sent.and_then(|d| d.last_change_id) {
        Some(id) => Window::AfterChange(id),
        None => Window::Since(since),
    };
    let (digest, last_change_id) = compose(config, env, &db, &window, since, now)?;
    if recording && digest.is_empty() && !config.digest.send_empty {
        return Ok(DigestOutcome::SkippedEmpty);
    }
    let links = render::Links {
        site_base_url: &config.site.base_url,
    };
    let html = render::html(&digest, &links).context("rendering the digest's HTML")?;
    let text = render::text(&digest, &links).context("rendering the digest's text")?;
    // The same Message-ID for every attempt at a period's digest, so a resend
    // after a crash is the same message to mail clients; --force after a
    // sent one is a new message (numbered by how many went before).
    let resend = match sent {
        Some(_) if options.force => Some(db.sent_digest_count(&period)?),
        _ => None,
    };
    let message_id = message_id(config, &period, resend);
    // A dry run shows what a reader would see, not the wire format
    // (quoted-printable, MIME boundaries); building the message first still
    // checks the addresses.
    let readable = options
        .dry_run
        .then(|| readable_message(config, &digest.subject, &text));
    let message = build_message(config, &digest.subject, &message_id, text, html, now)?;

    if let Some(readable) = readable {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(readable.as_bytes())?;
        return Ok(DigestOutcome::Printed);
    }
    if let Some(path) = &options.out {
        write_new(path, &message.formatted())?;
        return Ok(DigestOutcome::Written(path.clone()));
    }

    let recipients = serde_json::to_string(&config.digest.to)?;
    let row = DigestWrite {
        period: &period,
        transport: config.digest.transport.as_str(),
        recipients: &recipients,
        subject: &digest.subject,
        role_count: digest.role_count() as i64,
        message_id: &message_id,
        since,
        last_change_id,
    };
    let id = db.insert_digest(&row, now).with_context(|| {
        format!("another digest for {period} is being sent; nothing was sent twice")
    })?;
    match deliver(config, env, &message, &format!("digest-{period}-{id}")).await {
        Ok(detail) => {
            db.finish_digest(id, Ok(Utc::now()))?;
            Ok(DigestOutcome::Sent {
                id,
                subject: digest.subject,
                transport: config.digest.transport.as_str().to_string(),
                detail,
            })
        }
        Err(err) => {
            let error = format!("{err:#}");
            db.finish_digest(id, Err(&error))?;
            Err(err.context(format!(
                "sending digest {id} failed (recorded; the next `digest` run retries it)"
            )))
        }
    }
}

/// Which changes a digest covers.
pub enum Window {
    /// Every change after this one (the last sent digest's newest).
    AfterChange(i64),
    /// Every change detected since this time (the first digest).
    Since(DateTime<Utc>),
}

/// Reads the database and chooses the sections; also returns the newest
/// change id covered.
pub fn compose(
    config: &Config,
    env: &Env,
    db: &Db,
    window: &Window,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(content::Digest, Option<i64>)> {
    let rules = config.rules()?;
    let (roles, board_roles): (Vec<_>, Vec<_>) = crate::views::role_views(db, &rules.lists, now)?
        .into_iter()
        // Board roles are company signals, not placements to pitch.
        .partition(|role| role.is_paraform());
    let board_locations: std::collections::HashMap<String, String> = board_roles
        .into_iter()
        .map(|role| {
            let locations = role.locations().to_string();
            (role.id, locations)
        })
        .collect();
    let rows = match window {
        Window::AfterChange(id) => db.changes_after(*id)?,
        Window::Since(at) => db.list_changes(*at)?,
    };
    let last_change_id = rows.last().map(|c| c.id).or(match window {
        Window::AfterChange(id) => Some(*id),
        Window::Since(_) => None,
    });
    let (paraform_rows, board_rows): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|row| row.role_id.starts_with("paraform:"));
    let changes = change_views(&paraform_rows, &roles, &rules.lists);
    let board_changes = change_views(&board_rows, &[], &rules.lists);
    let session = crate::health::session_health(config, env, now);
    // A broken session file warns too: the next scrapes will fail.
    let session_warning = session.state.needs_attention().then_some(session.message);
    let digest = content::select(&content::Inputs {
        roles: &roles,
        changes: &changes,
        board_changes: &board_changes,
        board_locations: &board_locations,
        since,
        now,
        session_warning,
    })
    .with_briefings(&crate::views::load_briefings(db)?);
    Ok((digest, last_change_id))
}

/// The domain of `[digest] from` (`example.com`), or `air-demand.local`.
fn mail_domain(config: &Config) -> String {
    config
        .digest
        .from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim().to_string())
        .filter(|d| {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        })
        .unwrap_or_else(|| "air-demand.local".into())
}

/// `<digest-2025-12-19@example.com>`; the n-th forced resend adds `-n`.
fn message_id(config: &Config, period: &str, resend: Option<i64>) -> String {
    let domain = mail_domain(config);
    match resend {
        None => format!("<digest-{period}@{domain}>"),
        Some(at) => format!("<digest-{period}-{at}@{domain}>"),
    }
}

fn build_message(
    config: &Config,
    subject: &str,
    message_id: &str,
    text: String,
    html: String,
    now: DateTime<Utc>,
) -> Result<Message> {
    message_builder(config, subject, message_id, now)?
        .multipart(MultiPart::alternative_plain_html(text, html))
        .context("assembling the digest message")
}

/// Headers every message to the digest's recipients carries.
fn message_builder(
    config: &Config,
    subject: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<lettre::message::MessageBuilder> {
    let from: Mailbox = config.digest.from.parse().with_context(|| {
        format!(
            "[digest] from {:?} is not an email address",
            config.digest.from
        )
    })?;
    if config.digest.to.is_empty() {
        bail!("[digest] to is empty: name at least one recipient");
    }
    let mut to = Mailboxes::new();
    for address in &config.digest.to {
        to.push(
            address
                .parse()
                .with_context(|| format!("[digest] to {address:?} is not an email address"))?,
        );
    }
    Ok(Message::builder()
        .from(from)
        .mailbox(header::To::from(to))
        .subject(subject)
        .date(now.into())
        .message_id(Some(message_id.to_string()))
        // A machine wrote it: no vacation auto-replies (RFC 3834), and
        // mail clients can file and filter it as one list (RFC 2919).
        .header(Plain::<AutoSubmitted>::new("auto-generated"))
        .header(Plain::<ListId>::new(&format!(
            "Air Demand digest <digest.{}>",
            mail_domain(config)
        ))))
}

/// A header with a plain ASCII value, named by `N`.
#[derive(Debug, Clone)]
struct Plain<N> {
    value: String,
    name: std::marker::PhantomData<N>,
}

impl<N> Plain<N> {
    fn new(value: &str) -> Self {
        Plain {
            value: value.to_string(),
            name: std::marker::PhantomData,
        }
    }
}

trait HeaderNamed: Clone {
    const NAME: &'static str;
}

#[derive(Debug, Clone)]
struct AutoSubmitted;
impl HeaderNamed for AutoSubmitted {
    const NAME: &'static str = "Auto-Submitted";
}

#[derive(Debug, Clone)]
struct ListId;
impl HeaderNamed for ListId {
    const NAME: &'static str = "List-Id";
}

impl<N: HeaderNamed> header::Header for Plain<N> {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str(N::NAME)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Plain::new(s))
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.value.clone())
    }
}

/// The message as a person reads it: Subject, From and To, the text part,
/// and a last line saying where the HTML part is.
fn readable_message(config: &Config, subject: &str, text: &str) -> String {
    format!(
        "Subject: {subject}\nFrom: {}\nTo: {}\n\n{}\n\n-- dry run: the text/plain part of a multipart/alternative message that also carries a text/html part; `air-demand digest --out FILE` writes the whole .eml\n",
        config.digest.from,
        config.digest.to.join(", "),
        text.trim_end()
    )
    // Scraped text reaches a terminal here: no escape sequences.
    .chars()
    .map(|c| {
        if c.is_control() && c != '\n' && c != '\t' {
            ' '
        } else {
            c
        }
    })
    .collect()
}

/// A short plain-text message (alerts) through the digest's transport.
pub async fn send_notice(
    config: &Config,
    env: &Env,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = message_id(config, "alert", Some(now.timestamp_millis()));
    let message = message_builder(config, subject, &id, now)?
        .header(header::ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .context("assembling the alert message")?;
    let stem = format!("alert-{}", now.format("%Y%m%dT%H%M%S%3f"));
    deliver(config, env, &message, &stem).await.map(|_| ())
}

/// Sends through the configured transport; returns a line saying where it went.
async fn deliver(config: &Config, env: &Env, message: &Message, file_stem: &str) -> Result<String> {
    match config.digest.transport {
        Transport::Stdout => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&message.formatted())?;
            writeln!(out)?;
            Ok("printed to stdout".into())
        }
        Transport::File => {
            let outbox = config.outbox();
            std::fs::create_dir_all(&outbox)
                .with_context(|| format!("creating the outbox {}", outbox.display()))?;
            let path = outbox.join(format!("{file_stem}.eml"));
            write_new(&path, &message.formatted())?;
            Ok(format!("written to {}", path.display()))
        }
        Transport::Smtp => send_smtp(env, message).await,
    }
}

async fn send_smtp(env: &Env, message: &Message) -> Result<String> {
    let Some(url) = env.var(SMTP_ENV) else {
        bail!(
            "{SMTP_ENV} is not set: set it in the environment, the [secrets] env_file or .env, e.g. smtps://user:pass@smtp.mailgun.org:465 (or use [digest] transport = \"file\")"
        );
    };
    let server = describe_server(&url);
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|_| anyhow::anyhow!("{SMTP_ENV} is not a valid SMTP URL (smtps://user:pass@host:465 or smtp://user:pass@host:587?tls=required)"))?
        .timeout(Some(Duration::from_secs(30)))
        .build();
    match transport.send(message.clone()).await {
        Ok(response) => Ok(format!("accepted by {server} ({})", response.code())),
        Err(err) => {
            let kind = if err.is_permanent() {
                "refused the message"
            } else if err.is_transient() {
                "deferred the message"
            } else if err.is_timeout() {
                "timed out"
            } else {
                "could not be reached or the login failed"
            };
            // lettre's error text has no credentials; the URL does, so name the server only.
            bail!(
                "the SMTP server {server} {kind}: {}",
                crate::text::one_line(&err.to_string())
            )
        }
    }
}

/// `host:port` of an SMTP URL, never its credentials.
fn describe_server(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            Some(format!(
                "{}:{}",
                u.host_str()?,
                u.port()
                    .unwrap_or(if u.scheme() == "smtps" { 465 } else { 587 })
            ))
        })
        .unwrap_or_else(|| "(unparsable URL)".into())
}

/// Writes a file that must not already exist (`--out`, the outbox).
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("writing {} (it must not exist already)", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_says_a_machine_sent_it_to_a_list() {
        let config = Config::parse(
            "[digest]\nfrom = \"Air Demand <digest@example.com>\"\nto = [\"me@example.com\"]\n",
            Path::new("/tmp/air-demand.toml"),
        )
        .unwrap();
        let now = Utc::now();
        let message = build_message(
            &config,
            "s",
            "<id@example.com>",
            "t".into(),
            "h".into(),
            now,
        )
        .unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(
            text.contains("Auto-Submitted: auto-generated\r\n"),
            "{text}"
        );
        assert!(
            text.contains("List-Id: Air Demand digest <digest.example.com>\r\n"),
            "{text}"
        );
    }
}

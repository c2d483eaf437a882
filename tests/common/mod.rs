//! Shared harness for the integration tests: a fresh directory per test, the
//! real `air-demand` binary run in it with an isolated environment, and the
//! project's own simulated marketplace on 127.0.0.1.

#![allow(dead_code)]

pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use air_demand::sim::{SimOptions, Simulator};
use rusqlite::Connection;

/// A system tool a test drives. `bash tests/run` installs all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Sqlite3,
    Nginx,
    Chromium,
    /// `/usr/bin/python3` itself (the email and CSV parsers).
    Python3,
    /// `/usr/bin/python3 -m aiosmtpd`, the SMTP server.
    Aiosmtpd,
    /// Python's `feedparser`, the Atom reader.
    Feedparser,
    /// `openssl`: self-signed certificates, password hashes, a TLS client.
    Openssl,
    /// `systemd-analyze`: `verify` and `security --offline` on the units.
    SystemdAnalyze,
    /// DuckDB and its sqlite extension for `/usr/bin/python3`, pinned in
    /// `tests/duckdb-requirements.txt` and installed by pip into
    /// [`DUCKDB_PYTHONPATH`] (PyPI's, not Debian's: Debian has no DuckDB).
    DuckDb,
}

/// Where `tests/run` installs the DuckDB packages (`pip install --target`):
/// cargo's temporary directory for tests, `target/tmp/duckdb-python`.
pub const DUCKDB_PYTHONPATH: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/duckdb-python");

impl Tool {
    const ALL: [Tool; 9] = [
        Tool::Sqlite3,
        Tool::Nginx,
        Tool::Chromium,
        Tool::Python3,
        Tool::Aiosmtpd,
        Tool::Feedparser,
        Tool::Openssl,
        Tool::SystemdAnalyze,
        Tool::DuckDb,
    ];

    /// What the tests execute for it.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Sqlite3 => "sqlite3",
            Tool::Nginx => "/usr/sbin/nginx",
            Tool::Chromium => "/usr/bin/chromium",
            Tool::Python3 | Tool::Aiosmtpd | Tool::Feedparser | Tool::DuckDb => "/usr/bin/python3",
            Tool::Openssl => "/usr/bin/openssl",
            Tool::SystemdAnalyze => "/usr/bin/systemd-analyze",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tool::Sqlite3 => "sqlite3",
            Tool::Nginx => "nginx",
            Tool::Chromium => "chromium",
            Tool::Python3 => "python3",
            Tool::Aiosmtpd => "aiosmtpd (Python)",
            Tool::Feedparser => "feedparser (Python)",
            Tool::Openssl => "openssl",
            Tool::SystemdAnalyze => "systemd-analyze",
            Tool::DuckDb => "DuckDB with its sqlite extension (Python)",
        }
    }

    /// The command that installs it.
    fn install(self) -> String {
        let package = match self {
            Tool::Sqlite3 => "sqlite3",
            Tool::Nginx => "nginx",
            Tool::Chromium => "chromium",
            Tool::Python3 => "python3",
            Tool::Aiosmtpd => "python3-aiosmtpd",
            Tool::Feedparser => "python3-feedparser",
            Tool::Openssl => "openssl",
            Tool::SystemdAnalyze => "systemd",
            Tool::DuckDb => {
                return format!(
                    "/usr/bin/python3 -m pip install --target {DUCKDB_PYTHONPATH} -r tests/duckdb-requirements.txt"
                );
            }
        };
        format!("apt-get install -y {package}")
    }

    /// Whether it is there: the program runs (and imports from the module:
    /// a bare `import` would accept any empty directory of that name).
    fn present(self) -> bool {
        let mut command = Command::new(self.program());
        match self {
            Tool::Sqlite3 => command.arg("-version"),
            Tool::Nginx => command.arg("-v"),
            Tool::Chromium => command.arg("--version"),
            Tool::Python3 => command.args(["-c", "pass"]),
            Tool::Aiosmtpd => command.args(["-c", "from aiosmtpd.smtp import SMTP"]),
            Tool::Feedparser => command.args(["-c", "from feedparser import parse"]),
            Tool::Openssl => command.arg("version"),
            Tool::SystemdAnalyze => command.arg("--version"),
            // The extension file is the one for this DuckDB's version.
            Tool::DuckDb => command.env("PYTHONPATH", DUCKDB_PYTHONPATH).args([
                "-c",
                "import duckdb, duckdb_extension_sqlite_scanner as e, pathlib; assert (pathlib.Path(e.__file__).parent / 'extensions' / f'v{duckdb.__version__}' / 'sqlite_scanner.duckdb_extension').is_file()",
            ]),
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }
}

/// Fails the calling test with one line naming `tool` and the command that
/// installs it when it is missing, instead of a bare "No such file" from
/// deep inside a helper; returns the program to run. Checked once per tool
/// and test binary. Never a skip: a test that needs a tool fails without it.
#[track_caller]
pub fn require(tool: Tool) -> &'static str {
    static PRESENT: [OnceLock<bool>; Tool::ALL.len()] =
        [const { OnceLock::new() }; Tool::ALL.len()];
    let index = Tool::ALL.iter().position(|t| *t == tool).unwrap_or(0);
    if !*PRESENT[index].get_or_init(|| tool.present()) {
        panic!(
            "{} is not installed: run `{}` or `bash tests/run`",
            tool.name(),
            tool.install()
        );
    }
    tool.program()
}

/// `/usr/bin/python3` with the pinned DuckDB packages on its path (fails the
/// test when they are missing, as [`require`] does).
#[track_caller]
pub fn duckdb_python() -> Command {
    let mut command = Command::new(require(Tool::DuckDb));
    command.env("PYTHONPATH", DUCKDB_PYTHONPATH);
    command
}

/// A temp dir with a config pointing at a simulator.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub sim: Simulator,
}

/// What a finished command printed, with helpers that show everything on failure.
pub struct Run {
    pub args: Vec<String>,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn describe(&self) -> String {
        format!(
            "air-demand {}\nexit: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }
    /// Asserts the exit code, printing the command and its output otherwise.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n{}",
            self.describe()
        );
        assert!(
            !self.stderr().contains("panicked"),
            "a panic\n{}",
            self.describe()
        );
        assert!(
            !self.stderr().contains("RUST_BACKTRACE"),
            "a backtrace hint\n{}",
            self.describe()
        );
        self
    }
    pub fn stdout_has(self, text: &str) -> Run {
        assert!(
            self.stdout().contains(text),
            "stdout lacks {text:?}\n{}",
            self.describe()
        );
        self
    }
    pub fn stderr_has(self, text: &str) -> Run {
        assert!(
            self.stderr().contains(text),
            "stderr lacks {text:?}\n{}",
            self.describe()
        );
        self
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_air-demand"))
}

/// The binary in `dir` with nothing from the caller's environment but PATH
/// (and `dir` as HOME), for tests that spawn and steer it themselves.
pub fn command_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir);
    command
}

/// Runs the binary in `dir` with nothing from the caller's environment but PATH.
pub fn run_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut command = command_in(dir, args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().expect("running air-demand");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        output,
    }
}

pub fn sim_options() -> SimOptions {
    SimOptions {
        seed: 7,
        roles: 40,
        ..SimOptions::default()
    }
}

impl Sandbox {
    /// A simulator with default test data, a config, and an installed session.
    pub fn new() -> Sandbox {
        Sandbox::with(sim_options())
    }

    pub fn with(options: SimOptions) -> Sandbox {
        let sim = Simulator::start_in_thread(options).expect("starting the simulator");
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox { dir, sim };
        sandbox.write_config("");
        let expires = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
        sandbox.write_file("export.json", &sandbox.sim.storage_state_json(expires));
        sandbox.run(&["session", "import", "export.json"]).expect(0);
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The test config: the simulator, no politeness delay, fast retries; `extra`
    /// is appended inside `[paraform]`.
    pub fn write_config(&self, extra: &str) {
        let paraform = [
            format!("base_url = \"{}\"", self.sim.base_url()),
            "session_file = \"data/paraform_session.json\"".to_string(),
            "request_delay_ms = 0".to_string(),
            "retry_base_ms = 10".to_string(),
            "max_retries = 2".to_string(),
            "timeout_secs = 5".to_string(),
        ];
        // A key given in `extra` replaces the default line.
        let overridden = |line: &String| {
            let key = line.split('=').next().unwrap_or("").trim();
            extra
                .lines()
                .any(|l| l.split('=').next().unwrap_or("").trim() == key)
        };
        let paraform: Vec<String> = paraform.into_iter().filter(|l| !overridden(l)).collect();
        let text = format!(
            "[database]\npath = \"data/test.sqlite\"\n\n[site]\ndir = \"site\"\n\n[paraform]\n{}\n{extra}\n",
            paraform.join("\n")
        );
        self.write_file("air-demand.toml", &text);
    }

    /// Appends an `[llm]` section pointing at the simulator's model, with
    /// quick timeouts; `extra` lines go inside it (and win over these).
    pub fn enable_llm(&self, extra: &str) {
        let path = self.path().join("air-demand.toml");
        let config = std::fs::read_to_string(&path).expect("reading the test config");
        let defaults = [
            "enabled = true".to_string(),
            format!("base_url = \"{}/v1\"", self.sim.base_url()),
            "timeout_secs = 5".to_string(),
            "max_retries = 1".to_string(),
            "retry_base_ms = 10".to_string(),
        ];
        let given = |line: &String| {
            let key = line.split('=').next().unwrap_or("").trim();
            extra
                .lines()
                .any(|l| l.split('=').next().unwrap_or("").trim() == key)
        };
        let lines: Vec<String> = defaults.into_iter().filter(|l| !given(l)).collect();
        self.write_file(
            "air-demand.toml",
            &format!("{config}\n[llm]\n{}\n{extra}\n", lines.join("\n")),
        );
    }

    /// Appends a `[boards]` section aiming every board API at the
    /// simulator (no politeness delay, quick retries) and `companies`, the
    /// `[[companies]]` entries as TOML.
    pub fn follow(&self, companies: &str) {
        let path = self.path().join("air-demand.toml");
        let config = std::fs::read_to_string(&path).expect("reading the test config");
        let urls = self.sim.board_urls_toml();
        self.write_file(
            "air-demand.toml",
            &format!(
                "{config}\n[boards]\n{urls}\
                 request_delay_ms = 0\nretry_base_ms = 10\nmax_retries = 1\ntimeout_secs = 5\n\n{companies}\n"
            ),
        );
    }

    pub fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("writing a test file");
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), args, &[])
    }

    pub fn scrape(&self) -> Run {
        self.run(&["scrape", "--no-site"])
    }

    pub fn db_path(&self) -> PathBuf {
        self.path().join("data/test.sqlite")
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).expect("opening the test database")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn strings(&self, sql: &str) -> Vec<String> {
        let db = self.db();
        let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Every file under the sandbox, as bytes, for secret scans.
    pub fn all_file_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out
    }
}

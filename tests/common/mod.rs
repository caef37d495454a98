//! Shared test harness: a throwaway real Dovecot IMAP server and the MIME corpus.
//!
//! Include from an integration test with `mod common;`. Standard library only.
//!
//! - [`dovecot()`] starts one Dovecot per test process (first call), under a fresh
//!   temporary directory, through `tests/server/dovecot.sh start`; it is stopped
//!   (and the directory removed) when the process exits. It panics with the
//!   script's output when the server cannot start: tests are never skipped.
//! - Set `IMAPMAIL_DOVECOT_DIR=/some/dir` to use an instance that is already
//!   running there (started with `dovecot.sh start /some/dir`); it is then
//!   neither started nor stopped by the tests.
//! - Set `IMAPMAIL_KEEP_DOVECOT=1` to keep the temporary directory (logs, mail)
//!   after the run; its path is printed on stderr at start. Otherwise the
//!   instance is stopped in the background at exit and its directory deleted.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

#[path = "spool.rs"]
mod spool;

/// A running Dovecot test instance (127.0.0.1 only).
pub struct Dovecot {
    /// The instance directory (dovecot.conf, dovecot.log, mail/, users/, ...).
    pub dir: PathBuf,
    /// Plain IMAP port (STARTTLS offered, plaintext LOGIN allowed).
    pub imap_port: u16,
    /// Implicit-TLS IMAP port.
    pub imaps_port: u16,
    /// PEM of the throwaway CA that signed the server certificate
    /// (SAN: IP 127.0.0.1 and DNS localhost).
    pub ca_file: PathBuf,
}

/// An IMAP account on the test server.
pub struct User {
    pub name: String,
    pub password: String,
}

/// The instance, or why it could not start (one attempt per process: every
/// test then fails with the same message instead of retrying).
static DOVECOT: OnceLock<Result<Dovecot, String>> = OnceLock::new();
/// Directory of the instance this process started (and must stop at exit).
static OWNED_DIR: OnceLock<PathBuf> = OnceLock::new();
static USER_COUNTER: AtomicUsize = AtomicUsize::new(0);
static SPOOL_COUNTER: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    fn atexit(cb: extern "C" fn()) -> i32;
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Path of `tests/server/dovecot.sh`.
pub fn script() -> PathBuf {
    manifest_dir().join("tests/server/dovecot.sh")
}

fn describe(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `bash tests/server/dovecot.sh ARGS...`, panicking with its output on failure.
fn run_script<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    if !out.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        panic!("dovecot.sh {} failed\n{}", shown.join(" "), describe(&out));
    }
    out
}

fn keep_dir() -> bool {
    std::env::var_os("IMAPMAIL_KEEP_DOVECOT").is_some_and(|v| !v.is_empty() && v != "0")
}

extern "C" fn stop_at_exit() {
    use std::os::unix::process::CommandExt;
    let Some(dir) = OWNED_DIR.get() else { return };
    // Best effort, never panic inside atexit.
    let mut cmd = Command::new("bash");
    cmd.arg(script()).arg("stop").arg(dir);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if keep_dir() {
        let _ = cmd.status();
    } else {
        // Stopping takes about a second: do it in the background, in its own
        // process group, so the test process (one per test under nextest)
        // exits at once; `--purge` then deletes the directory.
        let _ = cmd.arg("--purge").process_group(0).spawn();
    }
}

/// Parses the `KEY=VALUE` lines of `DIR/env` written by `dovecot.sh start`.
fn read_env(dir: &Path) -> Dovecot {
    let path = dir.join("env");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let get = |key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or_else(|| panic!("{} has no {key}=\n{text}", path.display()))
            .trim()
            .to_string()
    };
    Dovecot {
        dir: PathBuf::from(get("DOVECOT_DIR")),
        imap_port: get("IMAP_PORT").parse().expect("IMAP_PORT"),
        imaps_port: get("IMAPS_PORT").parse().expect("IMAPS_PORT"),
        ca_file: PathBuf::from(get("CA_FILE")),
    }
}

fn start() -> Dovecot {
    if let Some(dir) = std::env::var_os("IMAPMAIL_DOVECOT_DIR") {
        let dir = PathBuf::from(dir);
        run_script(&[std::ffi::OsStr::new("status"), dir.as_os_str()]);
        return read_env(&dir);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // Below /tmp, whatever TMPDIR says: the path stays short (dovecot's unix sockets live
    // below it, 108-byte limit), and the mail user the server runs as can reach it (a TMPDIR
    // in root's home or another private directory would not be).
    let dir = Path::new("/tmp").join(format!("imapmail-dc-{}-{:08x}", std::process::id(), nanos));
    let _ = OWNED_DIR.set(dir.clone());
    // Registered before starting, so a half-started instance is cleaned up too.
    // SAFETY: `stop_at_exit` is a plain extern "C" fn with no arguments.
    unsafe {
        atexit(stop_at_exit);
    }
    let out = Command::new("bash")
        .arg(script())
        .arg("start")
        .arg(&dir)
        // The script's watchdog stops the instance if this process dies
        // without running its atexit handlers (SIGKILL, abort).
        .env("DOVECOT_OWNER_PID", std::process::id().to_string())
        .env("DOVECOT_WATCHDOG_PURGE", if keep_dir() { "0" } else { "1" })
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    if !out.status.success() {
        panic!(
            "could not start the test Dovecot in {} (tests need a real server; they are not skipped)\n{}",
            dir.display(),
            describe(&out)
        );
    }
    eprintln!(
        "test dovecot: {} ({})",
        dir.display(),
        String::from_utf8_lossy(&out.stdout).replace('\n', " ")
    );
    read_env(&dir)
}

/// The Dovecot instance of this test process, started on first use.
/// Panics (with the script's output) if it cannot start.
pub fn dovecot() -> &'static Dovecot {
    let started = DOVECOT.get_or_init(|| {
        std::panic::catch_unwind(start).map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "test dovecot failed to start".to_string())
        })
    });
    match started {
        Ok(dovecot) => dovecot,
        Err(message) => panic!("{message}"),
    }
}

impl Dovecot {
    /// Creates a new user with a unique name (`{prefix}-{counter}-{pid}`, prefix
    /// reduced to `[A-Za-z0-9._-]`) and a password containing a space, a double
    /// quote and a backslash: `pw "{counter}\x` (clients must quote it in LOGIN).
    /// The user can log in immediately.
    pub fn new_user(&self, prefix: &str) -> User {
        let n = USER_COUNTER.fetch_add(1, Ordering::SeqCst) + 1;
        let clean: String = prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = if clean.is_empty() {
            "user".to_string()
        } else {
            clean
        };
        let name = format!("{}-{}-{}", clean, n, std::process::id());
        let password = format!("pw \"{}\\x", n);
        run_script(&[
            std::ffi::OsStr::new("add-user"),
            self.dir.as_os_str(),
            std::ffi::OsStr::new(&name),
            std::ffi::OsStr::new(&password),
        ]);
        User { name, password }
    }

    /// Stores one raw RFC 5322 message in `folder` of `user` (`"INBOX"`, `"Sent"`,
    /// `"Archive/2024"`: `/` separates levels, the folder and its parents are
    /// created when missing). Messages get ascending UIDs in call order.
    /// INTERNALDATE is taken from the message's Date header when it parses.
    pub fn add_message(&self, user: &User, folder: &str, raw: &[u8], seen: bool) {
        self.add_messages(user, folder, &[raw.to_vec()], &|_| seen);
    }

    /// Stores many messages at once (one script call per 500), in slice order:
    /// UIDs ascend in that order; `seen(i)` gives the \Seen flag of `raws[i]`.
    pub fn add_messages(
        &self,
        user: &User,
        folder: &str,
        raws: &[Vec<u8>],
        seen: &dyn Fn(usize) -> bool,
    ) {
        let spool = self.dir.join("spool").join(format!(
            "{}-{}",
            std::process::id(),
            SPOOL_COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        spool::add_messages(
            &spool,
            500,
            &self.dir,
            &user.name,
            folder,
            raws,
            seen,
            |args| {
                run_script(args);
            },
        );
    }

    /// Last `lines` lines of the server log (handy in assertion messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Bytes of `tests/corpus/<name>`.
pub fn corpus(name: &str) -> Vec<u8> {
    let path = manifest_dir().join("tests/corpus").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read corpus file {}: {e}", path.display()))
}

/// Names of all `tests/corpus/*.eml` files, sorted.
pub fn corpus_names() -> Vec<String> {
    let dir = manifest_dir().join("tests/corpus");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

/// Contents of `tests/corpus/expected.json` (an object keyed by file name;
/// the format is described at the top of `tests/corpus/gen.py`).
pub fn corpus_expected() -> String {
    String::from_utf8(corpus("expected.json")).expect("expected.json is UTF-8")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// RFC 5322 date of `secs` seconds after the Unix epoch, in +0000.
pub fn rfc5322_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Deterministic plain-text message number `i` (CRLF):
/// `Subject: Message {i:04}`, `From: Sender {i} <sender{i}@example.com>`,
/// `Date` = 2024-01-01 00:00:00 +0000 plus `i` minutes, Message-ID
/// `<gen-{i:04}@imapmail.test>`, and a body containing `gen-body-{i:04}`.
pub fn generated_message(i: usize) -> Vec<u8> {
    const JAN_1_2024: i64 = 1_704_067_200;
    let date = rfc5322_date(JAN_1_2024 + 60 * i as i64);
    format!(
        "Date: {date}\r\n\
         From: Sender {i} <sender{i}@example.com>\r\n\
         To: Test Recipient <recipient@example.org>\r\n\
         Subject: Message {i:04}\r\n\
         Message-ID: <gen-{i:04}@imapmail.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         This is generated message number {i}.\r\n\
         Body marker: gen-body-{i:04}\r\n"
    )
    .into_bytes()
}

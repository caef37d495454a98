//! The four real servers of the matrix: Dovecot, Cyrus, Courier and GNU Mailutils imap4d, each
//! started once per test process (on first use) by its script in tests/server/ (same interface
//! for all four: start DIR / stop DIR / add-user / add-messages), and stopped when the process
//! exits (atexit, plus the scripts' owner-PID watchdog for a process that is killed).
//!
//! [`Kind`] also says what each server offers where they differ (folder prefix and separator,
//! special-use folders, MOVE, UIDPLUS), so one test body can state the expected result for
//! every server.
//!
//! A server that cannot start fails the tests that need it, with the script's output: the
//! matrix is never skipped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

// Also loaded by tests/common in test crates that include both harnesses (mailbox.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../common/spool.rs"]
mod spool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Dovecot,
    Cyrus,
    Courier,
    Imap4d,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dovecot => "dovecot",
            Kind::Cyrus => "cyrus",
            Kind::Courier => "courier",
            Kind::Imap4d => "imap4d",
        }
    }

    /// Courier keeps every folder below "INBOX." with "." as separator; the others use "/"
    /// without prefix.
    pub fn delimiter(self) -> &'static str {
        match self {
            Kind::Courier => ".",
            _ => "/",
        }
    }

    /// Dovecot and Cyrus flag Sent, Trash and Drafts (SPECIAL-USE); Courier and imap4d have
    /// the folders (made by the fixtures) but no attributes.
    pub fn special_use(self) -> bool {
        matches!(self, Kind::Dovecot | Kind::Cyrus)
    }

    /// MOVE (RFC 6851): Dovecot and Cyrus. Without it imapmail copies, marks \Deleted and
    /// expunges that UID (UID EXPUNGE, with UIDPLUS) or, without UIDPLUS either, expunges only
    /// when no other message of the folder is marked \Deleted.
    pub fn has_move(self) -> bool {
        matches!(self, Kind::Dovecot | Kind::Cyrus)
    }

    /// Keywords (PERMANENTFLAGS with `\\*`): all but imap4d, which answers STORE of a keyword
    /// with BAD "Unrecognized flag".
    pub fn has_keywords(self) -> bool {
        !matches!(self, Kind::Imap4d)
    }

    /// UIDPLUS (RFC 4315: COPYUID, APPENDUID, UID EXPUNGE): all but imap4d.
    pub fn has_uidplus(self) -> bool {
        !matches!(self, Kind::Imap4d)
    }

    fn owner_var(self) -> &'static str {
        match self {
            Kind::Dovecot => "DOVECOT_OWNER_PID",
            Kind::Cyrus => "CYRUS_OWNER_PID",
            Kind::Courier => "COURIER_OWNER_PID",
            Kind::Imap4d => "IMAP4D_OWNER_PID",
        }
    }

    pub fn script(self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/server")
            .join(format!("{}.sh", self.name()))
    }
}

/// A running server instance (127.0.0.1 only).
pub struct Server {
    pub kind: Kind,
    pub dir: PathBuf,
    /// Plain port (STARTTLS offered, plaintext login allowed).
    pub imap_port: u16,
    /// Implicit-TLS port.
    pub imaps_port: u16,
    /// The throwaway CA that signed the server certificate (IP 127.0.0.1, DNS localhost).
    pub ca_file: PathBuf,
    /// How long the start took (installation included), for the report.
    pub started_in: std::time::Duration,
}

pub struct User {
    pub name: String,
    pub password: String,
}

static DOVECOT: OnceLock<Server> = OnceLock::new();
static CYRUS: OnceLock<Server> = OnceLock::new();
static COURIER: OnceLock<Server> = OnceLock::new();
static IMAP4D: OnceLock<Server> = OnceLock::new();
static OWNED: Mutex<Vec<(Kind, PathBuf)>> = Mutex::new(Vec::new());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    fn atexit(cb: extern "C" fn()) -> i32;
}

extern "C" fn stop_all() {
    let owned = match OWNED.lock() {
        Ok(o) => o.clone(),
        Err(e) => e.into_inner().clone(),
    };
    for (kind, dir) in owned {
        let _ = Command::new("bash")
            .arg(kind.script())
            .arg("stop")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if std::env::var_os("IMAPMAIL_KEEP_SERVERS").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
            if let Some(base) = dir.parent() {
                // Empty once every instance of this process is gone.
                let _ = std::fs::remove_dir(base);
            }
        }
    }
}

fn describe(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(kind: Kind, args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new("bash")
        .arg(kind.script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", kind.script().display()));
    if !out.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        panic!(
            "{}.sh {} failed\n{}",
            kind.name(),
            shown.join(" "),
            describe(&out)
        );
    }
    out
}

fn read_env(kind: Kind, dir: &Path, started_in: std::time::Duration) -> Server {
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
    Server {
        kind,
        dir: dir.to_path_buf(),
        imap_port: get("IMAP_PORT").parse().expect("IMAP_PORT"),
        imaps_port: get("IMAPS_PORT").parse().expect("IMAPS_PORT"),
        ca_file: PathBuf::from(get("CA_FILE")),
        started_in,
    }
}

fn start(kind: Kind) -> Server {
    // Cyrus runs as the user "cyrus": the directory and its parents must be reachable, so the
    // instances live in a fresh mode-0755 directory under /tmp (short: socket paths).
    let base = PathBuf::from("/tmp").join(format!("imapmail-mx-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("mkdir {}: {e}", base.display()));
    let _ = std::fs::set_permissions(&base, std::os::unix::fs::PermissionsExt::from_mode(0o755));
    let dir = base.join(kind.name());
    {
        let mut owned = OWNED.lock().unwrap_or_else(|e| e.into_inner());
        if owned.is_empty() {
            // SAFETY: a plain extern "C" fn without arguments.
            unsafe {
                atexit(stop_all);
            }
        }
        owned.push((kind, dir.clone()));
    }
    let t = Instant::now();
    let out = Command::new("bash")
        .arg(kind.script())
        .arg("start")
        .arg(&dir)
        .env(kind.owner_var(), std::process::id().to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", kind.script().display()));
    if !out.status.success() {
        panic!(
            "could not start the test {} in {} (the matrix needs every server; it is not skipped)\n{}",
            kind.name(),
            dir.display(),
            describe(&out)
        );
    }
    let took = t.elapsed();
    eprintln!(
        "matrix: {} started in {:.1} s ({})",
        kind.name(),
        took.as_secs_f64(),
        dir.display()
    );
    read_env(kind, &dir, took)
}

/// The server of that kind for this test process, started on first use.
pub fn server(kind: Kind) -> &'static Server {
    let cell = match kind {
        Kind::Dovecot => &DOVECOT,
        Kind::Cyrus => &CYRUS,
        Kind::Courier => &COURIER,
        Kind::Imap4d => &IMAP4D,
    };
    cell.get_or_init(|| start(kind))
}

impl Server {
    /// A new user with a unique name and a password that needs quoting (space, `"`, `\`).
    /// imap4d's users are virtual-domain users: their login names end in "@imapmail.test".
    pub fn new_user(&self, prefix: &str) -> User {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst) + 1;
        let mut name = format!("{prefix}-{n}-{}", std::process::id());
        if self.kind == Kind::Imap4d {
            name.push_str("@imapmail.test");
        }
        let password = format!("pw \"{n}\\x");
        run(
            self.kind,
            &[
                std::ffi::OsStr::new("add-user"),
                self.dir.as_os_str(),
                name.as_ref(),
                password.as_ref(),
            ],
        );
        User { name, password }
    }

    /// Stores one message in `folder` (see [`Server::add_messages`]).
    pub fn add_message(&self, user: &User, folder: &str, raw: &[u8], seen: bool) {
        self.add_messages(user, folder, &[raw.to_vec()], &|_| seen);
    }

    /// Stores messages in `folder` ("INBOX", "Archive/2024": "/"-separated, created when
    /// missing), in slice order (UIDs ascend in that order); `seen(i)` flags `raws[i]`.
    /// INTERNALDATE is the Date header of each message. One script call per 1,000 messages.
    pub fn add_messages(
        &self,
        user: &User,
        folder: &str,
        raws: &[Vec<u8>],
        seen: &dyn Fn(usize) -> bool,
    ) {
        let spool = self.dir.join(format!(
            "spool-in-{}",
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        spool::add_messages(
            &spool,
            1000,
            &self.dir,
            &user.name,
            folder,
            raws,
            seen,
            |args| {
                let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
                run(self.kind, &refs);
            },
        );
    }

    /// The server's own name of a "/"-separated folder (Courier keeps folders below "INBOX."
    /// with "." as separator).
    pub fn folder_name(&self, folder: &str) -> String {
        match self.kind {
            Kind::Courier if !folder.eq_ignore_ascii_case("INBOX") => {
                format!("INBOX.{}", folder.replace('/', "."))
            }
            _ => folder.to_string(),
        }
    }

    /// Session options trusting the test CA.
    pub fn options(&self) -> String {
        format!("ca_file={};timeout_ms=20000", self.ca_file.display())
    }
}

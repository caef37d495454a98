//! A scripted IMAP server on 127.0.0.1 for the quirk, transcript and broken-mail tests.
//!
//! It keeps one folder of messages in memory and answers what imapmail sends (CAPABILITY,
//! AUTHENTICATE PLAIN, LOGIN, ID, ENABLE, NAMESPACE, SELECT/EXAMINE, UID FETCH with UID, FLAGS,
//! RFC822.SIZE, BODY[]/BODY.PEEK[] and BODY[HEADER], STORE, NOOP, LOGOUT) the way a plain
//! server would. A test changes that per command with a hook, which sees the parsed command
//! and the answer the server would give, and returns what is really sent: recorded answers
//! from tests/data/imap-transcripts (tag placeholder `A########` replaced, LF made CRLF), extra
//! untagged lines, a BYE and a closed connection, ...
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One stored message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub uid: u32,
    /// Flags as written in FLAGS, e.g. `\Seen` or `$Forwarded`.
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

/// A command from the client.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub tag: String,
    /// Upper-case command name; "UID FETCH", "UID STORE", ... for UID commands.
    pub name: String,
    /// The rest of the line (literals included, with their announcement).
    pub args: String,
    /// Which command of the connection this is (0 = first).
    pub index: usize,
}

/// What the server does with an answer.
pub enum Action {
    /// Send these bytes, then read the next command.
    Send(Vec<u8>),
    /// Send these bytes, then close the connection.
    SendClose(Vec<u8>),
}

pub type Hook = dyn Fn(&Cmd, &Conn, Vec<u8>) -> Action + Send + Sync;

/// State shared by the connections of one server.
pub struct Shared {
    pub mails: Mutex<Vec<Mail>>,
    /// Every command line received, in order, over all connections (AUTHENTICATE data lines
    /// excluded).
    pub log: Mutex<Vec<String>>,
    /// Number of connections accepted.
    pub connections: Mutex<usize>,
}

/// A connection as a hook sees it.
pub struct Conn {
    pub shared: Arc<Shared>,
    /// The connection's number (0 = first).
    pub number: usize,
    /// Commands already answered on this connection, upper-case names.
    pub history: Vec<String>,
}

impl Conn {
    /// True when the client sent that command (upper case) earlier on this connection.
    pub fn sent(&self, name: &str) -> bool {
        self.history.iter().any(|h| h == name)
    }
}

/// The server's configuration; `start` runs it.
pub struct Config {
    pub greeting: String,
    /// Capabilities before login (without `* CAPABILITY `).
    pub capabilities: String,
    /// Capabilities after login.
    pub capabilities_after_login: String,
    pub user: String,
    pub password: String,
    pub mails: Vec<Mail>,
    pub hook: Option<Arc<Hook>>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            greeting: "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] quirk server ready\r\n".into(),
            capabilities: "IMAP4rev1 AUTH=PLAIN ID ENABLE".into(),
            capabilities_after_login: "IMAP4rev1 ID ENABLE UIDPLUS MOVE NAMESPACE IDLE".into(),
            user: "user".into(),
            password: "pass".into(),
            mails: Vec::new(),
            hook: None,
        }
    }
}

impl Config {
    /// The same configuration with a hook.
    pub fn with_hook(
        mut self,
        hook: impl Fn(&Cmd, &Conn, Vec<u8>) -> Action + Send + Sync + 'static,
    ) -> Config {
        self.hook = Some(Arc::new(hook));
        self
    }
}

/// A running server.
pub struct Server {
    pub port: u16,
    pub shared: Arc<Shared>,
}

impl Server {
    /// The command lines received so far.
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }
}

/// Starts the server on a free loopback port; it serves connections until the process ends.
pub fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local addr").port();
    let shared = Arc::new(Shared {
        mails: Mutex::new(config.mails.clone()),
        log: Mutex::new(Vec::new()),
        connections: Mutex::new(0),
    });
    let config = Arc::new(config);
    let s = Arc::clone(&shared);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let number = {
                let mut n = s.connections.lock().unwrap();
                *n += 1;
                *n - 1
            };
            let (config, shared) = (Arc::clone(&config), Arc::clone(&s));
            std::thread::spawn(move || {
                let _ = serve(
                    stream,
                    &config,
                    Conn {
                        shared,
                        number,
                        history: Vec::new(),
                    },
                );
            });
        }
    });
    Server { port, shared }
}

/// Reads one command: a line, plus the literals it announces (answering `+` to synchronizing
/// ones). None at the end of the stream.
fn read_command(
    reader: &mut BufReader<TcpStream>,
    out: &mut TcpStream,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut all = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        all.extend_from_slice(&line);
        let trimmed = String::from_utf8_lossy(&line).trim_end().to_string();
        let Some(open) = trimmed
            .strip_suffix('}')
            .and_then(|t| t.rfind('{').map(|i| (i, t)))
        else {
            return Ok(Some(all));
        };
        let (i, t) = open;
        let spec = &t[i + 1..];
        let (digits, plus) = match spec.strip_suffix('+') {
            Some(d) => (d, true),
            None => (spec, false),
        };
        let Ok(n) = digits.parse::<usize>() else {
            return Ok(Some(all));
        };
        if !plus {
            out.write_all(b"+ go ahead\r\n")?;
        }
        let mut lit = vec![0u8; n];
        reader.read_exact(&mut lit)?;
        all.extend_from_slice(&lit);
    }
}

fn serve(stream: TcpStream, config: &Config, mut conn: Conn) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let greeting_cmd = Cmd {
        tag: String::new(),
        name: "GREETING".into(),
        args: String::new(),
        index: 0,
    };
    let mut index = 0;
    let first = answer_with_hook(
        config,
        &greeting_cmd,
        &conn,
        config.greeting.clone().into_bytes(),
    );
    if !send(&mut out, first)? {
        return Ok(());
    }
    loop {
        let Some(raw) = read_command(&mut reader, &mut out)? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&raw).to_string();
        let first_line = line.lines().next().unwrap_or("").trim_end().to_string();
        conn.shared.log.lock().unwrap().push(first_line.clone());
        let full = line.trim_end_matches(['\r', '\n']);
        let (tag, rest) = full.split_once(' ').unwrap_or((full, ""));
        let (word, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let mut name = word.to_ascii_uppercase();
        if name == "UID" {
            let (word, r) = rest.split_once(' ').unwrap_or((rest, ""));
            name = format!("UID {}", word.to_ascii_uppercase());
            rest = r;
        }
        let (tag, args) = (tag.to_string(), rest.to_string());
        let cmd = Cmd {
            tag,
            name,
            args,
            index,
        };
        index += 1;
        let default = if cmd.name == "AUTHENTICATE" {
            // With an initial response (SASL-IR, RFC 4959) the credentials are on the line.
            let mut data = match cmd.args.split_once(' ') {
                Some((_, "=")) => String::new(),
                Some((_, initial)) => initial.to_string(),
                None => {
                    out.write_all(b"+ \r\n")?;
                    String::new()
                }
            };
            if !cmd.args.contains(' ') && reader.read_line(&mut data)? == 0 {
                return Ok(());
            }
            authenticate_answer(config, &cmd, data.trim_end())
        } else {
            default_answer(config, &cmd, &conn)
        };
        let action = answer_with_hook(config, &cmd, &conn, default);
        conn.history.push(cmd.name.clone());
        if !send(&mut out, action)? {
            return Ok(());
        }
    }
}

fn answer_with_hook(config: &Config, cmd: &Cmd, conn: &Conn, default: Vec<u8>) -> Action {
    match &config.hook {
        Some(h) => h(cmd, conn, default),
        None if cmd.name == "LOGOUT" => Action::SendClose(default),
        None => Action::Send(default),
    }
}

/// Sends; false when the connection is to be closed.
fn send(out: &mut TcpStream, action: Action) -> std::io::Result<bool> {
    match action {
        Action::Send(b) => {
            out.write_all(&b)?;
            Ok(true)
        }
        Action::SendClose(b) => {
            out.write_all(&b)?;
            out.flush()?;
            let _ = out.shutdown(std::net::Shutdown::Both);
            Ok(false)
        }
    }
}

fn b64decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = A.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn authenticate_answer(config: &Config, cmd: &Cmd, data: &str) -> Vec<u8> {
    let decoded = b64decode(data);
    let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
    let ok = cmd.args.to_ascii_uppercase().starts_with("PLAIN")
        && parts.len() == 3
        && parts[1] == config.user.as_bytes()
        && parts[2] == config.password.as_bytes();
    if ok {
        format!(
            "{} OK [CAPABILITY {}] Logged in\r\n",
            cmd.tag, config.capabilities_after_login
        )
        .into_bytes()
    } else {
        format!(
            "{} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
            cmd.tag
        )
        .into_bytes()
    }
}

/// Unquotes an IMAP quoted string or atom at the start of `s`; returns it and the rest.
fn astring(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => return (out, &rest[i + 1..]),
                c => out.push(c),
            }
        }
        (out, "")
    } else {
        let end = s.find(' ').unwrap_or(s.len());
        (s[..end].to_string(), &s[end..])
    }
}

/// The UIDs of a sequence set (`1:*`, `3,5:7`) that exist.
pub fn uids_in_set(set: &str, mails: &[Mail]) -> Vec<u32> {
    let max = mails.iter().map(|m| m.uid).max().unwrap_or(0);
    let num = |s: &str| {
        if s == "*" {
            Some(max)
        } else {
            s.parse::<u32>().ok()
        }
    };
    let mut ranges = Vec::new();
    for part in set.split(',') {
        let (a, b) = match part.split_once(':') {
            Some((a, b)) => (num(a), num(b)),
            None => (num(part), num(part)),
        };
        if let (Some(a), Some(b)) = (a, b) {
            ranges.push((a.min(b), a.max(b)));
        }
    }
    mails
        .iter()
        .map(|m| m.uid)
        .filter(|u| ranges.iter().any(|(a, b)| (a..=b).contains(&u)))
        .collect()
}

/// The header block of a message (up to and including the empty line).
pub fn header_block(raw: &[u8]) -> &[u8] {
    if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        return &raw[..p + 4];
    }
    if let Some(p) = raw.windows(2).position(|w| w == b"\n\n") {
        return &raw[..p + 2];
    }
    raw
}

/// `* SEQ FETCH (...)` for a message and the requested items.
pub fn fetch_response(seq: usize, m: &Mail, items: &str) -> Vec<u8> {
    let up = items.to_ascii_uppercase();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    parts.push(format!("UID {}", m.uid).into_bytes());
    if up.contains("FLAGS") {
        parts.push(format!("FLAGS ({})", m.flags.join(" ")).into_bytes());
    }
    if up.contains("RFC822.SIZE") {
        parts.push(format!("RFC822.SIZE {}", m.raw.len()).into_bytes());
    }
    let literal = |name: &str, data: &[u8]| {
        let mut v = format!("{name} {{{}}}\r\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v
    };
    if up.contains("BODY[]") || up.contains("BODY.PEEK[]") {
        parts.push(literal("BODY[]", &m.raw));
    } else if up.contains("BODY[HEADER]") || up.contains("BODY.PEEK[HEADER]") {
        parts.push(literal("BODY[HEADER]", header_block(&m.raw)));
    }
    let mut out = format!("* {seq} FETCH (").into_bytes();
    out.extend_from_slice(&parts.join(&b" "[..]));
    out.extend_from_slice(b")\r\n");
    out
}

fn default_answer(config: &Config, cmd: &Cmd, conn: &Conn) -> Vec<u8> {
    let tag = &cmd.tag;
    let ok = |text: &str| format!("{tag} OK {text}\r\n").into_bytes();
    match cmd.name.as_str() {
        "CAPABILITY" => {
            let caps = if conn.sent("AUTHENTICATE") || conn.sent("LOGIN") {
                &config.capabilities_after_login
            } else {
                &config.capabilities
            };
            format!("* CAPABILITY {caps}\r\n{tag} OK CAPABILITY completed.\r\n").into_bytes()
        }
        "LOGIN" => {
            let (user, rest) = astring(&cmd.args);
            let (pass, _) = astring(rest);
            if user == config.user && pass == config.password {
                ok("Logged in")
            } else {
                format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n").into_bytes()
            }
        }
        "ID" => format!("* ID (\"name\" \"quirk\")\r\n{tag} OK ID completed.\r\n").into_bytes(),
        "ENABLE" => format!("* ENABLED\r\n{tag} OK ENABLE completed.\r\n").into_bytes(),
        "NAMESPACE" => {
            format!("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n{tag} OK NAMESPACE completed.\r\n")
                .into_bytes()
        }
        "SELECT" | "EXAMINE" => {
            let mails = conn.shared.mails.lock().unwrap();
            let next = mails.iter().map(|m| m.uid).max().unwrap_or(0) + 1;
            let rw = if cmd.name == "SELECT" {
                "READ-WRITE"
            } else {
                "READ-ONLY"
            };
            format!(
                "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
                 * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n\
                 * {} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n\
                 * OK [UIDNEXT {next}] Predicted next UID\r\n{tag} OK [{rw}] {} completed.\r\n",
                mails.len(),
                cmd.name
            )
            .into_bytes()
        }
        "UID FETCH" | "FETCH" => {
            let (set, items) = cmd.args.split_once(' ').unwrap_or((cmd.args.as_str(), ""));
            let mut mails = conn.shared.mails.lock().unwrap();
            let uids = if cmd.name == "UID FETCH" {
                uids_in_set(set, &mails)
            } else {
                let seqs: Vec<Mail> = mails
                    .iter()
                    .enumerate()
                    .map(|(i, m)| Mail {
                        uid: i as u32 + 1,
                        ..m.clone()
                    })
                    .collect();
                uids_in_set(set, &seqs)
                    .into_iter()
                    .map(|s| mails[s as usize - 1].uid)
                    .collect()
            };
            let marks_seen = items.to_ascii_uppercase().contains("BODY[");
            let mut out = Vec::new();
            for (i, m) in mails.iter_mut().enumerate() {
                if !uids.contains(&m.uid) {
                    continue;
                }
                if marks_seen && !m.flags.iter().any(|f| f == "\\Seen") {
                    m.flags.push("\\Seen".into());
                }
                out.extend_from_slice(&fetch_response(i + 1, m, items));
            }
            out.extend_from_slice(&ok("Fetch completed."));
            out
        }
        "NOOP" | "CHECK" | "SUBSCRIBE" | "CLOSE" | "UNSELECT" => ok("Completed."),
        "LOGOUT" => format!("* BYE Logging out\r\n{tag} OK Logout completed.\r\n").into_bytes(),
        "LIST" | "LSUB" => format!(
            "* {} (\\HasNoChildren) \"/\" INBOX\r\n{tag} OK {} completed.\r\n",
            cmd.name, cmd.name
        )
        .into_bytes(),
        _ => format!("{tag} BAD Unknown command {}\r\n", cmd.name).into_bytes(),
    }
}

/// Where the recorded server answers are: `$CARGO_MANIFEST_DIR/tests/data/imap-transcripts`.
/// Panics (the test fails) when the folder is missing: these tests are never skipped.
pub fn transcripts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/imap-transcripts");
    let servers = dir.join("servers");
    assert!(
        servers.is_dir(),
        "the recorded IMAP transcripts are missing: expected {} (they are part of the repository)",
        servers.display()
    );
    dir
}

/// A recorded answer with LF made CRLF (the files are stored with LF, literal sizes count CRLF).
pub fn transcript(rel: &str) -> Vec<u8> {
    let path = transcripts_dir().join("servers").join(rel);
    let data =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    crlf(&data)
}

/// LF → CRLF (bare LF only).
pub fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 20);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// A recorded answer with the client's tag in place of `A########`.
pub fn replay(rel: &str, tag: &str) -> Vec<u8> {
    with_tag(&transcript(rel), tag)
}

/// Replaces the `A########` placeholder with `tag`.
pub fn with_tag(data: &[u8], tag: &str) -> Vec<u8> {
    let from = b"A########";
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(tag.as_bytes());
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Inserts `lines` just before the tagged completion line of `answer` (its last line).
pub fn before_tagged(answer: &[u8], lines: &[u8]) -> Vec<u8> {
    let body = &answer[..answer.len().saturating_sub(2)];
    let cut = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let mut out = answer[..cut].to_vec();
    out.extend_from_slice(lines);
    out.extend_from_slice(&answer[cut..]);
    out
}

/// A simple message with a subject and a text body.
pub fn simple_mail(uid: u32, subject: &str, seen: bool) -> Mail {
    Mail {
        uid,
        flags: if seen { vec!["\\Seen".into()] } else { Vec::new() },
        raw: format!(
            "From: Quirk Sender <sender@example.com>\r\nTo: reader@example.org\r\nSubject: {subject}\r\n\
             Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <quirk-{uid}@imapmail.test>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nBody of {subject}.\r\n"
        )
        .into_bytes(),
    }
}

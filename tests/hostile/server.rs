//! A scripted hostile or faulty IMAP server for tests: one TCP listener on 127.0.0.1 per case,
//! plain or TLS (a throwaway certificate made with the `openssl` command at test time), whose
//! behaviour is a Rust closure that can send arbitrary bytes, read the client's lines, start
//! TLS, stall or drop the connection at any point. Everything the client sent is recorded, with
//! whether it travelled in plaintext.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use native_tls::{Identity, TlsAcceptor, TlsStream};

/// The throwaway certificate (for 127.0.0.1) and its key, made once per test process.
pub struct Cert {
    pub dir: PathBuf,
    pub cert_pem: PathBuf,
    pub acceptor: Arc<TlsAcceptor>,
}

pub fn cert() -> &'static Cert {
    static CERT: OnceLock<Cert> = OnceLock::new();
    CERT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("imapmail-hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (cert_pem, key_pem) = (dir.join("cert.pem"), dir.join("key.pem"));
        let status = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key_pem)
            .arg("-out")
            .arg(&cert_pem)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the openssl command is needed to make a test certificate");
        assert!(status.success(), "openssl failed");
        let identity = Identity::from_pkcs8(
            &std::fs::read(&cert_pem).unwrap(),
            &std::fs::read(&key_pem).unwrap(),
        )
        .expect("identity");
        let acceptor = Arc::new(TlsAcceptor::new(identity).expect("acceptor"));
        Cert {
            dir,
            cert_pem,
            acceptor,
        }
    })
}

/// What the client sent, in order, and whether each piece came in plaintext.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub pieces: Vec<(bool, Vec<u8>)>,
}

impl Received {
    /// Everything received in plaintext (before TLS, or without TLS).
    pub fn plaintext(&self) -> Vec<u8> {
        self.pieces
            .iter()
            .filter(|(tls, _)| !tls)
            .flat_map(|(_, b)| b.clone())
            .collect()
    }
    pub fn all(&self) -> Vec<u8> {
        self.pieces.iter().flat_map(|(_, b)| b.clone()).collect()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.all()).into_owned()
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

/// The server's side of one connection.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    log: Arc<Mutex<Received>>,
}

impl Conn {
    fn tcp(&self) -> Option<&TcpStream> {
        match &self.stream {
            Stream::Plain(s) => Some(s),
            Stream::Tls(t) => Some(t.get_ref()),
            Stream::Gone => None,
        }
    }

    /// How long a read waits for the client before giving up (None: for ever).
    #[allow(unused)]
    pub fn set_read_timeout(&self, ms: Option<u64>) {
        if let Some(t) = self.tcp() {
            let _ = t.set_read_timeout(ms.map(Duration::from_millis));
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Sends bytes as they are; false when the client is gone.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> bool {
        let bytes = bytes.as_ref();
        let r = match &mut self.stream {
            Stream::Plain(s) => s.write_all(bytes).and_then(|_| s.flush()),
            Stream::Tls(t) => t.write_all(bytes).and_then(|_| t.flush()),
            Stream::Gone => return false,
        };
        r.is_ok()
    }

    /// Sends a large answer in pieces (so that a client that gives up does not block us).
    pub fn send_big(&mut self, bytes: &[u8]) -> bool {
        bytes.chunks(64 * 1024).all(|c| self.send(c))
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        let tls = self.is_tls();
        let r = match &mut self.stream {
            Stream::Plain(s) => s.read(&mut chunk),
            Stream::Tls(t) => t.read(&mut chunk),
            Stream::Gone => return false,
        };
        match r {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.log
                    .lock()
                    .unwrap()
                    .pieces
                    .push((tls, chunk[..n].to_vec()));
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads one line the client sent (with its CRLF); None when the client is gone.
    pub fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return Some(self.buf.drain(..=i).collect());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads `n` bytes (a literal the client sends).
    pub fn bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// Reads one command: (tag, rest without CRLF). None when the client is gone.
    pub fn command(&mut self) -> Option<(String, String)> {
        let line = self.line()?;
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        let (tag, rest) = text.split_once(' ').unwrap_or((&text, ""));
        Some((tag.to_string(), rest.to_string()))
    }

    /// Runs the TLS handshake as the server (after answering STARTTLS).
    pub fn start_tls(&mut self) -> bool {
        let stream = std::mem::replace(&mut self.stream, Stream::Gone);
        let Stream::Plain(tcp) = stream else {
            return false;
        };
        match cert().acceptor.accept(tcp) {
            Ok(tls) => {
                self.stream = Stream::Tls(Box::new(tls));
                true
            }
            Err(_) => false,
        }
    }

    /// Waits until the client closes the connection (or `ms` pass without a byte from it),
    /// ignoring what it sends.
    pub fn drain(&mut self, ms: u64) {
        self.await_hang_up(ms);
    }

    /// [`Conn::drain`], telling whether the client hung up (true) or the wait ran out (false).
    pub fn await_hang_up(&mut self, ms: u64) -> bool {
        if let Some(t) = self.tcp() {
            let _ = t.set_read_timeout(Some(Duration::from_millis(ms)));
        }
        loop {
            let mut chunk = [0u8; 8192];
            let r = match &mut self.stream {
                Stream::Plain(s) => s.read(&mut chunk),
                Stream::Tls(t) => t.read(&mut chunk),
                Stream::Gone => return true,
            };
            match r {
                Ok(0) => return true,
                Ok(n) => {
                    let tls = self.is_tls();
                    self.log
                        .lock()
                        .unwrap()
                        .pieces
                        .push((tls, chunk[..n].to_vec()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return !matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    )
                }
            }
        }
    }

    /// Drops the connection at once (RST-free close of both directions).
    pub fn close(&mut self) {
        if let Some(t) = self.tcp() {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
        self.stream = Stream::Gone;
    }
}

/// A running scripted server (one connection).
pub struct Server {
    pub port: u16,
    log: Arc<Mutex<Received>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server whose one connection is handled by `script`. With `tls`, the connection
    /// is TLS from the first byte.
    pub fn start(tls: bool, script: impl FnOnce(&mut Conn) + Send + 'static) -> Server {
        let mut script = Some(script);
        Server::start_many(tls, 1, move |c, _| {
            if let Some(s) = script.take() {
                s(c)
            }
        })
    }

    /// Starts a server accepting `connections` connections, each handled by `script(conn, i)`.
    pub fn start_many(
        tls: bool,
        connections: usize,
        mut script: impl FnMut(&mut Conn, usize) + Send + 'static,
    ) -> Server {
        if tls {
            cert();
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Received::default()));
        let l = Arc::clone(&log);
        let thread = std::thread::spawn(move || {
            for i in 0..connections {
                let Ok((tcp, _)) = listener.accept() else {
                    return;
                };
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
                let _ = tcp.set_nodelay(true);
                let stream = if tls {
                    match cert().acceptor.accept(tcp) {
                        Ok(t) => Stream::Tls(Box::new(t)),
                        Err(_) => continue,
                    }
                } else {
                    Stream::Plain(tcp)
                };
                let mut conn = Conn {
                    stream,
                    buf: Vec::new(),
                    log: Arc::clone(&l),
                };
                script(&mut conn, i);
                conn.close();
            }
        });
        Server {
            port,
            log,
            thread: Some(thread),
        }
    }

    /// What the client sent so far.
    pub fn received(&self) -> Received {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the script to end (bounded by its own read timeouts).
    pub fn finish(mut self) -> Received {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.received()
    }
}

/// A message of the scripted mailbox.
#[derive(Clone)]
pub struct Mail {
    pub uid: u32,
    pub seen: bool,
    pub raw: Vec<u8>,
}

pub fn mail(uid: u32, subject: &str) -> Mail {
    Mail {
        uid,
        seen: false,
        raw: format!("From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nBody of {subject}\r\n").into_bytes(),
    }
}

/// What a hook does with a command.
pub enum Hook {
    /// Answer it as a well-behaved server would.
    Default,
    /// The hook answered (or deliberately did not); read the next command.
    Handled,
    /// End the script (the connection is closed).
    Stop,
}

/// The capabilities a well-behaved server announces.
pub const CAPS: &str = "IMAP4rev1 AUTH=PLAIN IDLE";

/// The FETCH answer for one message with the given items (BODY[] or BODY[HEADER]).
pub fn fetch_line(seq: usize, m: &Mail, headers_only: bool) -> Vec<u8> {
    let (item, data) = if headers_only {
        let end = m
            .raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(m.raw.len(), |p| p + 4);
        ("BODY[HEADER]", &m.raw[..end])
    } else {
        ("BODY[]", &m.raw[..])
    };
    let flags = if m.seen { "\\Seen" } else { "" };
    let mut out = format!(
        "* {seq} FETCH (UID {} FLAGS ({flags}) RFC822.SIZE {} {item} {{{}}}\r\n",
        m.uid,
        m.raw.len(),
        data.len()
    )
    .into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b")\r\n");
    out
}

/// The FETCH answer lines (without the tagged OK) for the UIDs a `UID FETCH <set> ...` command
/// asks for, numbered by their place in `mails`.
#[allow(unused)]
pub fn fetch_lines(cmd: &str, mails: &[Mail], headers_only: bool) -> Vec<u8> {
    let wanted = uid_set(cmd.split(' ').nth(2).unwrap_or(""));
    let mut out = Vec::new();
    for (i, m) in mails.iter().enumerate() {
        if wanted.contains(&m.uid) {
            out.extend(fetch_line(i + 1, m, headers_only));
        }
    }
    out
}

/// The UIDs of a sequence set like "1:3,7".
pub fn uid_set(set: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in set.split(',') {
        match part.split_once(':') {
            Some((a, b)) => {
                let a: u32 = a.parse().unwrap_or(0);
                let b: u32 = if b == "*" {
                    u32::MAX
                } else {
                    b.parse().unwrap_or(0)
                };
                if b - a < 1_000_000 {
                    out.extend(a..=b);
                } else {
                    out.push(a);
                    out.push(b);
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

/// Serves a mailbox like a well-behaved server, after the greeting (which the caller sends),
/// letting `hook(conn, tag, command, index)` take over any command.
pub fn serve(
    c: &mut Conn,
    caps: &str,
    mails: &[Mail],
    mut hook: impl FnMut(&mut Conn, &str, &str, usize) -> Hook,
) {
    let mut index = 0;
    while let Some((tag, cmd)) = c.command() {
        index += 1;
        match hook(c, &tag, &cmd, index) {
            Hook::Handled => continue,
            Hook::Stop => return,
            Hook::Default => {}
        }
        if !default_answer(c, caps, mails, &tag, &cmd) {
            return;
        }
    }
}

/// The well-behaved answer to one command; false when the session is over.
pub fn default_answer(c: &mut Conn, caps: &str, mails: &[Mail], tag: &str, cmd: &str) -> bool {
    let upper = cmd.to_ascii_uppercase();
    let verb = upper.split(' ').next().unwrap_or("");
    match verb {
        "CAPABILITY" => c.send(format!("* CAPABILITY {caps}\r\n{tag} OK CAPABILITY done\r\n")),
        "LOGIN" => c.send(format!("{tag} OK [CAPABILITY {caps}] logged in\r\n")),
        "AUTHENTICATE" => {
            if !c.send("+ \r\n") {
                return false;
            }
            if c.line().is_none() {
                return false;
            }
            c.send(format!("{tag} OK logged in\r\n"))
        }
        "SELECT" | "EXAMINE" => c.send(format!(
            "* {} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] ok\r\n* FLAGS (\\Seen \\Answered)\r\n{tag} OK [READ-WRITE] selected\r\n",
            mails.len()
        )),
        "UID" if upper.starts_with("UID FETCH ") => {
            let set = cmd.split(' ').nth(2).unwrap_or("");
            let mut out = Vec::new();
            if upper.contains("BODY") {
                let headers_only = upper.contains("BODY.PEEK[HEADER]") || upper.contains("BODY[HEADER]");
                let wanted = uid_set(set);
                for (i, m) in mails.iter().enumerate() {
                    if wanted.contains(&m.uid) || (set.ends_with(":*") && m.uid >= wanted[0]) {
                        out.extend(fetch_line(i + 1, m, headers_only));
                    }
                }
            } else {
                for (i, m) in mails.iter().enumerate() {
                    let flags = if m.seen { "\\Seen" } else { "" };
                    out.extend(format!("* {} FETCH (UID {} FLAGS ({flags}) RFC822.SIZE {})\r\n", i + 1, m.uid, m.raw.len()).into_bytes());
                }
            }
            out.extend(format!("{tag} OK FETCH done\r\n").into_bytes());
            c.send_big(&out)
        }
        "NOOP" => c.send(format!("{tag} OK NOOP\r\n")),
        "LOGOUT" => {
            c.send(format!("* BYE bye\r\n{tag} OK LOGOUT\r\n"));
            false
        }
        _ => c.send(format!("{tag} BAD unknown command\r\n")),
    }
}

/// The usual start: greeting, then serving with the hook.
pub fn greet_and_serve(
    c: &mut Conn,
    mails: &[Mail],
    hook: impl FnMut(&mut Conn, &str, &str, usize) -> Hook,
) {
    if c.send("* OK IMAP4rev1 hostile server ready\r\n") {
        serve(c, CAPS, mails, hook);
    }
}

/// True for the command that lists the folder (UID FETCH 1:* without a body).
pub fn is_listing(cmd: &str) -> bool {
    let u = cmd.to_ascii_uppercase();
    u.starts_with("UID FETCH 1:*") && !u.contains("BODY")
}

/// True for a command fetching message bodies or headers.
pub fn is_body_fetch(cmd: &str) -> bool {
    let u = cmd.to_ascii_uppercase();
    u.starts_with("UID FETCH") && u.contains("BODY")
}

/// Reads the rest of the stream for a moment so that the client's last bytes are recorded.
pub fn linger(c: &mut Conn) {
    c.drain(300);
}

#[allow(unused)]
pub fn io_ok<T>(r: io::Result<T>) -> bool {
    r.is_ok()
}

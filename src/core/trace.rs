//! The protocol trace: every line sent and received, taken at the transport (so it sees
//! everything, the pre-TLS STARTTLS exchange included), to a file (`trace_file` option), a queue
//! the host reads (`trace_queue` option, [`super::trace_queue`]) and/or a callback, with
//! credentials replaced by [`REDACTED`].
//!
//! What is redacted, on the sending side, which recognises commands as they are written:
//! - a `LOGIN` command: everything after the verb, literal-form arguments included;
//! - an `AUTHENTICATE` command: anything after the mechanism name (an initial response), and
//!   every continuation answer sent until the next command (PLAIN and XOAUTH2 payloads);
//!
//! Literal data (message bodies, literal-form strings) is never written to the trace: a line
//! `[literal: N bytes]` stands for it. Lines are written without their CRLF, prefixed with
//! `C: ` (sent) or `S: ` (received) in the file. The buffer that assembles a sent line is wiped
//! after each line, and nothing of a credential command is kept past its verb.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use zeroize::{Zeroize, Zeroizing};

use super::error::{Error, Result};
use super::guard::Sink;
use super::trace_queue::TraceQueue;

/// Stands for a credential in the trace.
pub const REDACTED: &str = "<redacted>";
/// Longest part of a line kept in the trace; the rest is replaced by "...".
pub const TRACE_LINE_MAX: usize = 16 * 1024;

/// Direction of a traced line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by imapmail to the server.
    Sent,
    /// Received from the server.
    Received,
}

/// Receives each traced line (without CRLF).
pub type TraceCallback = Box<dyn FnMut(Direction, &[u8]) + Send>;

#[derive(Default)]
struct Sinks {
    file: Option<File>,
    callback: Option<TraceCallback>,
    queue: Option<Arc<TraceQueue>>,
}

#[derive(Default)]
struct Shared {
    active: AtomicBool,
    sinks: Mutex<Sinks>,
}

/// Where a session's trace goes. Cheap to clone: the session and its transport share it, so a
/// callback set later applies to the connection at once.
#[derive(Clone, Default)]
pub struct Tracer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("active", &self.is_active())
            .finish()
    }
}

impl Tracer {
    /// A tracer writing to `file` (appending), when given.
    pub fn new(file: Option<&Path>) -> Result<Tracer> {
        let tracer = Tracer::default();
        if let Some(path) = file {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    Error::Io(format!("cannot open trace_file {}: {e}", path.display()))
                })?;
            tracer.sinks().file = Some(f);
            tracer.update();
        }
        Ok(tracer)
    }

    /// The tracer of a session: its `trace_file` and `trace_queue` options (the queue is
    /// shared with the session's options, where the host takes lines from it).
    pub fn with_sinks(
        trace_file: Option<&std::path::Path>,
        queue: Option<&Arc<TraceQueue>>,
    ) -> Result<Tracer> {
        let tracer = Tracer::new(trace_file)?;
        if let Some(queue) = queue {
            tracer.sinks().queue = Some(Arc::clone(queue));
            tracer.update();
        }
        Ok(tracer)
    }

    fn sinks(&self) -> std::sync::MutexGuard<'_, Sinks> {
        self.shared.sinks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self) {
        let active = {
            let s = self.sinks();
            s.file.is_some() || s.callback.is_some() || s.queue.is_some()
        };
        self.shared.active.store(active, Ordering::Release);
    }

    /// Sets (or removes) the callback.
    pub fn set_callback(&self, callback: Option<TraceCallback>) {
        self.sinks().callback = callback;
        self.update();
    }

    /// True when lines go somewhere.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::Acquire)
    }

    /// Writes one line to the file and the callback.
    pub fn emit(&self, direction: Direction, line: &[u8]) {
        let mut sinks = self.sinks();
        if let Some(file) = sinks.file.as_mut() {
            let prefix: &[u8] = match direction {
                Direction::Sent => b"C: ",
                Direction::Received => b"S: ",
            };
            let mut record = Zeroizing::new(Vec::with_capacity(prefix.len() + line.len() + 1));
            record.extend_from_slice(prefix);
            record.extend_from_slice(line);
            record.push(b'\n');
            // A trace is best effort: a full disk must not break the session.
            let _ = file.write_all(&record);
        }
        if let Some(queue) = sinks.queue.as_ref() {
            queue.push(direction, line);
        }
        if let Some(cb) = sinks.callback.as_mut() {
            cb(direction, line);
        }
    }
}

/// Assembles lines of one connection in both directions and redacts credentials.
#[derive(Debug)]
pub struct TraceIo {
    tracer: Tracer,
    received: Received,
    sent: Sent,
}

impl TraceIo {
    pub fn new(tracer: Tracer) -> TraceIo {
        TraceIo {
            tracer,
            received: Received::default(),
            sent: Sent::new(),
        }
    }

    /// The tracer.
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
    }

    /// True when lines go somewhere.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.tracer.is_active()
    }

    /// The sink that follows received bytes (fed by the guard).
    pub fn received(&mut self) -> ReceivedSink<'_> {
        ReceivedSink {
            tracer: &self.tracer,
            state: &mut self.received,
        }
    }

    /// Follows bytes just written. Always called (also when not tracing) so that redaction knows
    /// where credential commands are when a trace starts later.
    pub fn sent(&mut self, bytes: &[u8]) {
        let active = self.tracer.is_active();
        self.sent.feed(bytes, active, &self.tracer);
    }
}

#[derive(Debug, Default)]
struct Received {
    line: Vec<u8>,
    cut: bool,
    literal: usize,
}

/// [`Sink`] of received bytes.
pub struct ReceivedSink<'a> {
    tracer: &'a Tracer,
    state: &'a mut Received,
}

impl ReceivedSink<'_> {
    fn flush_literal(&mut self) {
        if self.state.literal > 0 {
            let text = format!("[literal: {} bytes]", self.state.literal);
            self.state.literal = 0;
            self.tracer.emit(Direction::Received, text.as_bytes());
        }
    }
}

impl Sink for ReceivedSink<'_> {
    fn text(&mut self, bytes: &[u8]) {
        self.flush_literal();
        let room = TRACE_LINE_MAX.saturating_sub(self.state.line.len());
        if bytes.len() > room {
            self.state.cut = true;
        }
        self.state
            .line
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn literal(&mut self, n: usize) {
        self.state.literal += n;
    }

    fn line_end(&mut self, _literal_follows: bool) {
        self.flush_literal();
        let mut line = std::mem::take(&mut self.state.line);
        strip_line_end(&mut line);
        if std::mem::take(&mut self.state.cut) {
            line.extend_from_slice(b"...");
        }
        self.tracer.emit(Direction::Received, &line);
        line.clear();
        self.state.line = line;
    }
}

fn strip_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
}

/// What kind of command the line being written belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// Not known yet (start of a command line).
    Unknown,
    Plain,
    Login,
    Authenticate,
}

/// Literal announcement at the end of a sent line: `{n}` or `{n+}` then CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lit {
    None,
    Digits(u64),
    Plus(u64),
    Closed(u64),
    ClosedCr(u64),
}

#[derive(Debug)]
struct Sent {
    /// The line being assembled (only while tracing, never past a credential command's verb).
    line: Zeroizing<Vec<u8>>,
    cut: bool,
    cmd: Cmd,
    /// This line continues a command after a literal.
    continuation: bool,
    /// After AUTHENTICATE: lines without a space are SASL answers.
    in_auth: bool,
    /// Spaces seen in this line.
    spaces: u8,
    /// Letters of the second word (the verb).
    verb: [u8; 12],
    verb_len: u8,
    /// The line held a space (a SASL answer never does).
    has_space: bool,
    /// Bytes of this line are no longer stored (credential).
    redacting: bool,
    lit: Lit,
    literal_left: u64,
    literal_total: u64,
}

impl Sent {
    fn new() -> Sent {
        Sent {
            line: Zeroizing::new(Vec::new()),
            cut: false,
            cmd: Cmd::Unknown,
            continuation: false,
            in_auth: false,
            spaces: 0,
            verb: [0; 12],
            verb_len: 0,
            has_space: false,
            redacting: false,
            lit: Lit::None,
            literal_left: 0,
            literal_total: 0,
        }
    }

    fn feed(&mut self, mut bytes: &[u8], active: bool, tracer: &Tracer) {
        while !bytes.is_empty() {
            if self.literal_left > 0 {
                let n = self.literal_left.min(bytes.len() as u64);
                self.literal_left -= n;
                bytes = &bytes[n as usize..];
                if self.literal_left == 0 && active {
                    let text = if self.cmd == Cmd::Login || self.cmd == Cmd::Authenticate {
                        "[literal: <redacted>]".to_string()
                    } else {
                        format!("[literal: {} bytes]", self.literal_total)
                    };
                    tracer.emit(Direction::Sent, text.as_bytes());
                }
                continue;
            }
            let b = bytes[0];
            bytes = &bytes[1..];
            self.byte(b, active, tracer);
        }
    }

    fn byte(&mut self, b: u8, active: bool, tracer: &Tracer) {
        if active && !self.redacting {
            if self.line.len() < TRACE_LINE_MAX {
                if self.line.capacity() == 0 {
                    // Allocated once: the buffer never moves, so no stray copy is left behind.
                    self.line.reserve_exact(TRACE_LINE_MAX);
                }
                self.line.push(b);
            } else {
                self.cut = true;
            }
        }
        if b == b'\n' {
            self.end_line(active, tracer);
            return;
        }
        self.lit = match (self.lit, b) {
            (_, b'{') => Lit::Digits(0),
            (Lit::Digits(n), b'0'..=b'9') => {
                Lit::Digits(n.saturating_mul(10).saturating_add(u64::from(b - b'0')))
            }
            (Lit::Digits(n), b'+') => Lit::Plus(n),
            (Lit::Digits(n) | Lit::Plus(n), b'}') => Lit::Closed(n),
            (Lit::Closed(n), b'\r') => Lit::ClosedCr(n),
            _ => Lit::None,
        };
        if b == b' ' {
            self.has_space = true;
            if !self.continuation {
                self.spaces = self.spaces.saturating_add(1);
                if self.spaces == 2 && self.cmd == Cmd::Unknown {
                    self.classify();
                }
                self.check_redaction();
            }
        } else if !self.continuation && self.spaces == 1 && self.cmd == Cmd::Unknown {
            if b.is_ascii_alphabetic() && (self.verb_len as usize) < self.verb.len() {
                self.verb[self.verb_len as usize] = b.to_ascii_uppercase();
                self.verb_len += 1;
            } else if b != b'\r' {
                self.verb_len = u8::MAX;
            }
        }
    }

    fn classify(&mut self) {
        let verb = if (self.verb_len as usize) <= self.verb.len() {
            &self.verb[..self.verb_len as usize]
        } else {
            &[][..]
        };
        self.cmd = match verb {
            b"LOGIN" => Cmd::Login,
            b"AUTHENTICATE" => Cmd::Authenticate,
            _ => Cmd::Plain,
        };
        // A line with a space is a new command: any SASL exchange is over.
        self.in_auth = false;
    }

    /// Stops storing the line once its public part is over.
    fn check_redaction(&mut self) {
        let keep = match self.cmd {
            Cmd::Login => 2,
            Cmd::Authenticate => 3,
            _ => return,
        };
        if self.spaces >= keep && !self.redacting {
            self.redacting = true;
            if let Some(pos) = self.line.iter().rposition(|&c| c == b' ') {
                self.line.truncate(pos);
            }
        }
    }

    fn end_line(&mut self, active: bool, tracer: &Tracer) {
        let literal = match self.lit {
            Lit::ClosedCr(n) => Some(n),
            _ => None,
        };
        if self.cmd == Cmd::Unknown && !self.continuation {
            // A command line without arguments, or a SASL answer.
            if self.in_auth && !self.has_space {
                self.redacting = true;
                self.line.zeroize();
            } else {
                self.classify();
            }
        }
        if active {
            let credential = matches!(self.cmd, Cmd::Login | Cmd::Authenticate);
            let mut out: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
            if self.continuation && credential {
                out.extend_from_slice(REDACTED.as_bytes());
            } else if self.redacting {
                out.extend_from_slice(&self.line);
                strip_line_end(&mut out);
                if !out.is_empty() {
                    out.push(b' ');
                }
                out.extend_from_slice(REDACTED.as_bytes());
            } else {
                out.extend_from_slice(&self.line);
                strip_line_end(&mut out);
                if self.cut {
                    out.extend_from_slice(b"...");
                }
            }
            tracer.emit(Direction::Sent, &out);
        }
        self.line.zeroize();
        self.verb.zeroize();
        self.cut = false;
        self.redacting = false;
        self.has_space = false;
        self.lit = Lit::None;
        match literal {
            Some(n) => {
                self.literal_left = n;
                self.literal_total = n;
                self.continuation = true;
                if matches!(self.cmd, Cmd::Login | Cmd::Authenticate) {
                    self.redacting = true;
                }
            }
            None => {
                if self.cmd == Cmd::Authenticate {
                    self.in_auth = true;
                }
                self.cmd = Cmd::Unknown;
                self.continuation = false;
                self.spaces = 0;
                self.verb_len = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(writes: &[&[u8]]) -> Vec<String> {
        let tracer = Tracer::default();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&lines);
        tracer.set_callback(Some(Box::new(move |d, line: &[u8]| {
            assert_eq!(d, Direction::Sent);
            l.lock()
                .unwrap()
                .push(String::from_utf8_lossy(line).into_owned());
        })));
        let mut io = TraceIo::new(tracer);
        for w in writes {
            // Every chunking must give the same trace.
            io.sent(w);
        }
        let out = lines.lock().unwrap().clone();
        out
    }

    fn run_bytewise(all: &[u8]) -> Vec<String> {
        let chunks: Vec<&[u8]> = all.chunks(1).collect();
        run(&chunks)
    }

    #[test]
    fn login_is_redacted() {
        for t in [
            run(&[b"a1 LOGIN \"joe\" \"s3cr\\\"et\"\r\n"]),
            run_bytewise(b"a1 LOGIN \"joe\" \"s3cr\\\"et\"\r\n"),
        ] {
            assert_eq!(t, vec!["a1 LOGIN <redacted>"]);
        }
        let t = run_bytewise(b"a2 login {3}\r\njoe {6}\r\nsecret\r\na3 SELECT INBOX\r\n");
        assert_eq!(
            t,
            vec![
                "a2 login <redacted>",
                "[literal: <redacted>]",
                "<redacted>",
                "[literal: <redacted>]",
                "<redacted>",
                "a3 SELECT INBOX"
            ]
        );
    }

    #[test]
    fn authenticate_payloads_are_redacted() {
        let t = run_bytewise(b"a1 AUTHENTICATE PLAIN\r\nAGpvZQBzZWNyZXQ=\r\na2 CAPABILITY\r\n");
        assert_eq!(
            t,
            vec!["a1 AUTHENTICATE PLAIN", "<redacted>", "a2 CAPABILITY"]
        );
        let t = run(&[
            b"a1 AUTHENTICATE XOAUTH2 dXNlcj1qb2UBYXV0aD1CZWFyZXIgdG9rAQE=\r\n",
            b"\r\n",
            b"a2 NOOP\r\n",
        ]);
        assert_eq!(
            t,
            vec![
                "a1 AUTHENTICATE XOAUTH2 <redacted>",
                "<redacted>",
                "a2 NOOP"
            ]
        );
    }

    #[test]
    fn other_commands_are_shown_and_literals_summarised() {
        let t = run_bytewise(b"a5 SELECT \"INBOX\"\r\na6 APPEND x {5+}\r\nhello)\r\na7 LOGOUT\r\n");
        assert_eq!(
            t,
            vec![
                "a5 SELECT \"INBOX\"",
                "a6 APPEND x {5+}",
                "[literal: 5 bytes]",
                ")",
                "a7 LOGOUT"
            ]
        );
    }
}

//! Hostile and faulty servers, through the exported C functions: resource bombs, protocol
//! violations, connections dropped or stalled at every phase, and the NO STARTTLS attacks.
//!
//! Every case runs its client on a thread with a 1 MiB stack (the stack of a Windows host
//! thread), against its own scripted server (tests/hostile/server.rs), and asserts the
//! documented status code, that the client gave up within its timeout, and (for TLS and
//! STARTTLS) that no credential ever travelled in plaintext. The cases run in parallel.

#[path = "hostile/server.rs"]
mod server;

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::*;

use server::{
    default_answer, greet_and_serve, is_body_fetch, is_listing, mail, serve, Conn, Hook, Mail,
    Server, CAPS,
};

const USER: &str = "victim@example.com";
const PASSWORD: &str = "Pa55-w0rd-S3cret!";
const TIMEOUT_MS: u64 = 2000;

/// Client stack: what a Windows host thread has.
const CLIENT_STACK: usize = 1 << 20;

fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Which kind of connection the client asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Tls,
    StartTls,
    Plain,
}

/// What the client does.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// Only start (and close) the session.
    Start,
    /// Start, read every message with read_first/read_next (decoding each), close.
    ReadAll(u32),
    /// Start, get_all, close.
    GetAll,
}

/// What happened on the client side.
#[derive(Debug, Default)]
struct Outcome {
    /// Status of the start, or of the first failing read (EMAIL_OUT when all went well).
    code: isize,
    message: String,
    /// Messages handed out before the end.
    messages: usize,
    /// Subjects of the messages handed out.
    subjects: Vec<String>,
    /// Status of the call after the failure (the session should be broken: DISCONNECTED).
    after: Option<isize>,
    close: isize,
    took: Duration,
}

type Script = Box<dyn FnOnce(&mut Conn) + Send>;
type Check = Box<dyn FnOnce(&Outcome, &server::Received) + Send>;

struct Case {
    name: &'static str,
    mode: Mode,
    options: String,
    action: Action,
    script: Script,
    /// Acceptable final codes.
    expect: Vec<isize>,
    /// Text the error message must contain.
    says: Option<&'static str>,
    /// Messages that must have been handed out (when known).
    messages: Option<usize>,
    /// Longest acceptable run time of the client.
    budget_ms: u64,
    /// The server uses TLS from the first byte.
    server_tls: bool,
    /// Extra check of the outcome.
    check: Option<Check>,
}

fn case(
    name: &'static str,
    mode: Mode,
    action: Action,
    expect: &[isize],
    script: impl FnOnce(&mut Conn) + Send + 'static,
) -> Case {
    Case {
        name,
        mode,
        options: String::new(),
        action,
        script: Box::new(script),
        expect: expect.to_vec(),
        says: None,
        messages: None,
        budget_ms: TIMEOUT_MS + 4000,
        server_tls: mode == Mode::Tls,
        check: None,
    }
}

impl Case {
    fn says(mut self, s: &'static str) -> Case {
        self.says = Some(s);
        self
    }
    fn messages(mut self, n: usize) -> Case {
        self.messages = Some(n);
        self
    }
    fn options(mut self, o: &str) -> Case {
        self.options = o.to_string();
        self
    }
    fn budget(mut self, ms: u64) -> Case {
        self.budget_ms = ms;
        self
    }
    fn plain_server(mut self) -> Case {
        self.server_tls = false;
        self
    }
    fn check(mut self, f: impl FnOnce(&Outcome, &server::Received) + Send + 'static) -> Case {
        self.check = Some(Box::new(f));
        self
    }
}

fn flags(mode: Mode) -> u32 {
    match mode {
        Mode::Tls => EMAIL_SECURITY_TLS,
        Mode::StartTls => EMAIL_SECURITY_STARTTLS,
        Mode::Plain => EMAIL_SECURITY_NONE,
    }
}

/// Runs the client side of a case (on the calling thread).
fn run_client(port: u16, mode: Mode, options: &str, action: Action) -> Outcome {
    let t = Instant::now();
    let opts = format!(
        "timeout_ms={TIMEOUT_MS};ca_file={};{options}",
        server::cert().cert_pem.display()
    );
    let (h, u, p, o) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(USER).unwrap(),
        CString::new(PASSWORD).unwrap(),
        CString::new(opts).unwrap(),
    );
    let s = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            port,
            u.as_ptr(),
            p.as_ptr(),
            flags(mode),
            o.as_ptr(),
        )
    };
    let mut out = Outcome::default();
    if s.is_null() {
        out.code = email_last_error();
        out.message = text(email_last_error_message());
        out.took = t.elapsed();
        return out;
    }
    match action {
        Action::Start => out.code = EMAIL_OK,
        Action::ReadAll(read_flags) => {
            let mut m: *mut EmailMessage = ptr::null_mut();
            let mut rc = unsafe { email_read_first(s, read_flags, &mut m) };
            let mut kept = Vec::new();
            while rc == EMAIL_OK {
                out.messages += 1;
                // Decode everything on this (small-stack) thread.
                out.subjects.push(text(email_message_subject(m)));
                let _ = text(email_message_text(m));
                let _ = text(email_message_html(m));
                let n = email_message_attachment_count(m);
                let _ = text(email_attachment_name(m, n.saturating_sub(1)));
                kept.push(m);
                rc = unsafe { email_read_next(s, &mut m) };
            }
            out.code = rc;
            out.message = text(email_session_error_message(s));
            if rc != EMAIL_OUT {
                let mut again: *mut EmailMessage = ptr::null_mut();
                out.after = Some(unsafe { email_read_first(s, read_flags, &mut again) });
                if !again.is_null() {
                    email_message_free(again);
                }
            }
            // Messages handed out stay valid whatever happened to the connection.
            for (i, m) in kept.iter().enumerate() {
                assert_eq!(
                    text(email_message_subject(*m)),
                    out.subjects[i],
                    "message {i} changed"
                );
                email_message_free(*m);
            }
        }
        Action::GetAll => {
            let mut list = ptr::null_mut();
            out.code = unsafe { email_get_all(s, 0, &mut list) };
            out.message = text(email_session_error_message(s));
            if !list.is_null() {
                out.messages = imapmail::ffi::list::email_list_count(list);
                imapmail::ffi::list::email_list_free(list);
            }
        }
    }
    out.close = email_close_session(s);
    out.took = t.elapsed();
    out
}

/// The forms a credential could take on the wire.
fn secret_forms() -> Vec<Vec<u8>> {
    use base64_lite as b64;
    let plain_blob = format!("\0{USER}\0{PASSWORD}");
    let xoauth = format!("user={USER}\x01auth=Bearer {PASSWORD}\x01\x01");
    vec![
        PASSWORD.as_bytes().to_vec(),
        b64(PASSWORD.as_bytes()).into_bytes(),
        b64(plain_blob.as_bytes()).into_bytes(),
        b64(xoauth.as_bytes()).into_bytes(),
    ]
}

/// Standard base64 (enough for tests; avoids a dependency).
#[allow(non_snake_case)]
fn base64_lite(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Runs the cases in parallel (each client on a 1 MiB-stack thread) and reports every failure.
fn run_cases(cases: Vec<Case>) {
    let total = cases.len();
    let (tx, rx) = mpsc::channel::<(String, Result<(), String>)>();
    let mut pending = cases.into_iter();
    let mut running = 0;
    let max_parallel = 12;
    let mut failures = Vec::new();
    let mut done = 0;
    loop {
        while running < max_parallel {
            let Some(c) = pending.next() else { break };
            running += 1;
            let tx = tx.clone();
            std::thread::spawn(move || {
                let name = c.name.to_string();
                let result = run_case(c);
                let _ = tx.send((name, result));
            });
        }
        if running == 0 {
            break;
        }
        let (name, result) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a case hung for 60 s");
        running -= 1;
        done += 1;
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert_eq!(done, total);
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_case(c: Case) -> Result<(), String> {
    let server = Server::start(c.server_tls, c.script);
    let (mode, options, action) = (c.mode, c.options.clone(), c.action);
    let port = server.port;
    let client = std::thread::Builder::new()
        .name(format!("client-{}", c.name))
        .stack_size(CLIENT_STACK)
        .spawn(move || run_client(port, mode, &options, action))
        .map_err(|e| format!("cannot start the client thread: {e}"))?;
    let out = client
        .join()
        .map_err(|_| "the client thread panicked".to_string())?;
    let received = server.finish();
    let mut problems = Vec::new();
    if !c.expect.contains(&out.code) {
        problems.push(format!(
            "status {} ({}), expected {:?}",
            out.code,
            text(email_status_name(out.code)),
            c.expect
                .iter()
                .map(|&e| text(email_status_name(e)))
                .collect::<Vec<_>>()
        ));
    }
    if let Some(s) = c.says {
        if !out.message.contains(s) {
            problems.push(format!("message does not say {s:?}"));
        }
    }
    if let Some(n) = c.messages {
        if out.messages != n {
            problems.push(format!(
                "{} messages handed out, expected {n}",
                out.messages
            ));
        }
    }
    if out.took > Duration::from_millis(c.budget_ms) {
        problems.push(format!("took {:?} (budget {} ms)", out.took, c.budget_ms));
    }
    if out.close != EMAIL_OK && out.close != 0 {
        problems.push(format!("close returned {}", out.close));
    }
    if let Some(after) = out.after {
        if out.code != EMAIL_ERR_CANCELLED
            && after == EMAIL_OK
            && ![EMAIL_ERR_SERVER, EMAIL_ERR_NOT_FOUND].contains(&out.code)
        {
            problems.push(format!(
                "the session still works after {}",
                text(email_status_name(out.code))
            ));
        }
    }
    if c.mode != Mode::Plain {
        let plain = received.plaintext();
        for form in secret_forms() {
            if contains(&plain, &form) {
                problems.push(format!(
                    "credential sent in plaintext: {:?}",
                    String::from_utf8_lossy(&plain)
                ));
            }
        }
        let upper = String::from_utf8_lossy(&plain).to_ascii_uppercase();
        if upper.contains(" LOGIN ")
            || upper.contains(" AUTHENTICATE ")
            || upper.contains(&USER.to_ascii_uppercase())
        {
            problems.push(format!("login attempted in plaintext: {upper:?}"));
        }
    }
    if let Some(check) = c.check {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&out, &received)));
        if let Err(p) = r {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            problems.push(format!("check failed: {}", msg.unwrap_or_default()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} [outcome: {:?}]",
            problems.join("; "),
            (out.code, &out.message, out.messages, out.took)
        ))
    }
}

// ----- building blocks of hostile answers -----

fn mails(n: u32) -> Vec<Mail> {
    (1..=n).map(|i| mail(i, &format!("Message {i}"))).collect()
}

/// A FETCH line whose BODYSTRUCTURE nests `depth` multiparts.
fn bodystructure_bomb(seq: u32, uid: u32, depth: usize) -> Vec<u8> {
    let mut s = format!("* {seq} FETCH (UID {uid} RFC822.SIZE 10 BODYSTRUCTURE ").into_bytes();
    s.extend(std::iter::repeat_n(b'(', depth));
    s.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)");
    s.extend(b" \"MIXED\")".repeat(depth));
    s.extend_from_slice(b")\r\n");
    s
}

/// A message whose MIME structure nests `depth` multiparts.
fn nested_mime(depth: usize) -> Vec<u8> {
    let mut raw = String::from("From: a@example.com\r\nSubject: deep MIME\r\n");
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
    raw.into_bytes()
}

/// A message with `n` attachments.
fn many_parts(n: usize) -> Vec<u8> {
    let mut raw = String::from("From: a@example.com\r\nSubject: many parts\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n");
    for i in 0..n {
        raw.push_str(&format!(
            "--xx\r\nContent-Type: application/octet-stream; name=\"f{i}\"\r\n\r\nx\r\n"
        ));
    }
    raw.push_str("--xx--\r\n");
    raw.into_bytes()
}

/// Serves normally, but answers the first command for which `when` holds with `bytes` (and
/// then, with `then_close`, drops the connection).
fn inject(
    mails: Vec<Mail>,
    when: fn(&str) -> bool,
    bytes: Vec<u8>,
    then_close: bool,
) -> impl FnOnce(&mut Conn) + Send {
    // `TAG` stands for the tag of the command answered; split once here, not while answering
    // (big answers hold no tag).
    let mut parts = Vec::new();
    let mut rest = &bytes[..];
    while let Some(p) = (bytes.len() < 1 << 20)
        .then(|| rest.windows(3).position(|w| w == b"TAG"))
        .flatten()
    {
        parts.push(rest[..p].to_vec());
        rest = &rest[p + 3..];
    }
    parts.push(rest.to_vec());
    move |c: &mut Conn| {
        let mut done = false;
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            if !done && when(cmd) {
                done = true;
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        c.send(tag);
                    }
                    c.send_big(part);
                }
                if then_close {
                    c.close();
                    return Hook::Stop;
                }
                return Hook::Handled;
            }
            Hook::Default
        })
    }
}

fn on_select(cmd: &str) -> bool {
    cmd.to_ascii_uppercase().starts_with("SELECT")
}
fn on_capability(cmd: &str) -> bool {
    cmd.eq_ignore_ascii_case("CAPABILITY")
}
fn on_login(cmd: &str) -> bool {
    let u = cmd.to_ascii_uppercase();
    u.starts_with("LOGIN") || u.starts_with("AUTHENTICATE")
}

/// Serves normally; the body fetch of the batch number `batch` (1-based) gets `f` instead.
fn on_batch(
    mails: Vec<Mail>,
    batch: usize,
    f: impl Fn(&mut Conn, &str, &str, &[Mail]) + Send + 'static,
) -> impl FnOnce(&mut Conn) + Send {
    move |c: &mut Conn| {
        let mut n = 0;
        let all = mails.clone();
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            if is_body_fetch(cmd) {
                n += 1;
                if n == batch {
                    f(c, tag, cmd, &all);
                    return Hook::Stop;
                }
            }
            Hook::Default
        })
    }
}

const OK: isize = EMAIL_OK;
const OUT: isize = EMAIL_OUT;
const PROTO: isize = EMAIL_ERR_PROTOCOL;
const DISC: isize = EMAIL_ERR_DISCONNECTED;
const TLS: isize = EMAIL_ERR_TLS;
const TIMEOUT: isize = EMAIL_ERR_TIMEOUT;
const BIG: isize = EMAIL_ERR_TOO_LARGE;
const AUTH: isize = EMAIL_ERR_AUTH;

fn read_all() -> Action {
    Action::ReadAll(0)
}

// ----- the cases -----

fn bomb_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, depth) in [
        ("bodystructure nested 200 in the listing", 200usize),
        ("bodystructure nested 2,000 in the listing", 2000),
        ("bodystructure nested 100,000 in the listing", 100_000),
    ] {
        let mut bomb = bodystructure_bomb(1, 1, depth);
        bomb.extend_from_slice(b"TAG OK done\r\n");
        v.push(
            case(
                name,
                Mode::Tls,
                read_all(),
                &[PROTO],
                inject(mails(3), is_listing, bomb, false),
            )
            .says("nests parentheses more than 64 levels"),
        );
    }
    // Just under the limit: parsed, on a 1 MiB stack.
    let mut ok_depth = bodystructure_bomb(1, 1, 61);
    ok_depth.extend(server::fetch_line(1, &mail(1, "Message 1"), false));
    ok_depth.extend_from_slice(b"* 2 FETCH (UID 2 FLAGS () RFC822.SIZE 5)\r\nTAG OK done\r\n");
    v.push(
        case(
            "bodystructure nested 61 (under the limit) is parsed",
            Mode::Tls,
            read_all(),
            &[OUT],
            inject(mails(2), is_listing, ok_depth, false),
        )
        .messages(2),
    );
    let mut sel = bodystructure_bomb(1, 1, 5000);
    sel.extend_from_slice(b"TAG OK [READ-WRITE] done\r\n");
    v.push(case(
        "bodystructure bomb unsolicited during SELECT",
        Mode::Tls,
        Action::Start,
        &[PROTO],
        inject(mails(1), on_select, sel, false),
    ));
    v.push(case(
        "bodystructure bomb in the CAPABILITY answer",
        Mode::Tls,
        Action::Start,
        &[PROTO],
        inject(
            mails(1),
            on_capability,
            {
                let mut b = bodystructure_bomb(1, 1, 300);
                b.extend_from_slice(b"TAG OK\r\n");
                b
            },
            false,
        ),
    ));
    // In the first batch (host thread) and in a batch fetched ahead (library thread).
    v.push(
        case(
            "bodystructure bomb in the first batch",
            Mode::Tls,
            read_all(),
            &[PROTO],
            on_batch(mails(3), 1, |c, tag, _, _| {
                let mut b = bodystructure_bomb(1, 1, 1000);
                b.extend(format!("{tag} OK\r\n").into_bytes());
                c.send(b);
                c.drain(3000);
            }),
        )
        .messages(0),
    );
    v.push(
        case(
            "bodystructure bomb in a batch fetched ahead",
            Mode::Tls,
            read_all(),
            &[PROTO],
            on_batch(mails(10), 2, |c, tag, cmd, all| {
                let mut b = server::fetch_lines(cmd, &all[..5], false);
                b.extend(bodystructure_bomb(9, 9, 1000));
                b.extend(format!("{tag} OK\r\n").into_bytes());
                c.send(b);
                c.drain(3000);
            }),
        )
        .messages(4),
    );
    v.push(case(
        "deep nesting after a literal in the same response",
        Mode::Tls,
        read_all(),
        &[PROTO],
        on_batch(mails(1), 1, |c, tag, _, _| {
            let mut b = b"* 1 FETCH (UID 1 BODY[] {5}\r\nhello BODYSTRUCTURE ".to_vec();
            b.extend(std::iter::repeat_n(b'(', 100));
            b.extend(format!("\r\n{tag} OK\r\n").into_bytes());
            c.send(b);
            c.drain(3000);
        }),
    ));
    v.push(
        case(
            "parentheses inside quoted strings and status text do not count",
            Mode::Tls,
            read_all(),
            &[OUT],
            inject(
                mails(1),
                is_listing,
                {
                    let mut b = format!("* OK [ALERT] {}\r\n", "(".repeat(500)).into_bytes();
                    b.extend(
                        format!(
                            "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 5 BODY[1] \"{}\\\"(\")\r\n",
                            "(".repeat(500)
                        )
                        .into_bytes(),
                    );
                    b.extend_from_slice(b"TAG OK\r\n");
                    b
                },
                false,
            ),
        )
        .messages(1),
    );
    // Lines and literals.
    v.push(
        case(
            "10 MB line without LF",
            Mode::Tls,
            read_all(),
            &[PROTO],
            inject(mails(1), is_listing, vec![b'A'; 10 << 20], false),
        )
        .says("line longer than 1048576")
        .budget(8000),
    );
    v.push(
        case(
            "10 MB of CR without LF",
            Mode::Tls,
            Action::Start,
            &[PROTO],
            inject(mails(1), on_select, vec![b'\r'; 10 << 20], false),
        )
        .budget(8000),
    );
    v.push(
        case(
            "2 MB status text line",
            Mode::Tls,
            Action::Start,
            &[PROTO],
            inject(
                mails(1),
                on_select,
                {
                    let mut b = b"* OK ".to_vec();
                    b.extend(vec![b'x'; 2 << 20]);
                    b.extend_from_slice(b"\r\n");
                    b
                },
                false,
            ),
        )
        .budget(6000),
    );
    v.push(
        case(
            "literal of 4294967295 bytes announced",
            Mode::Tls,
            read_all(),
            &[BIG],
            on_batch(mails(1), 1, |c, _, _, _| {
                c.send("* 1 FETCH (UID 1 BODY[] {4294967295}\r\nonly a few bytes");
                c.drain(3000);
            }),
        )
        .says("literal of 4294967295 bytes"),
    );
    v.push(case(
        "binary literal ~{4294967295} announced",
        Mode::Tls,
        Action::Start,
        &[BIG],
        inject(
            mails(1),
            on_select,
            b"* 1 FETCH (BINARY[] ~{4294967295}\r\nxx".to_vec(),
            false,
        ),
    ));
    v.push(case(
        "literal of 20 digits",
        Mode::Tls,
        Action::Start,
        &[BIG],
        inject(
            mails(1),
            on_select,
            b"* 1 FETCH (BODY[] {99999999999999999999}\r\nxx".to_vec(),
            false,
        ),
    ));
    v.push(
        case(
            "literal over max_message_bytes",
            Mode::Tls,
            read_all(),
            &[BIG],
            on_batch(mails(1), 1, |c, _, _, _| {
                c.send("* 1 FETCH (UID 1 BODY[] {2000000}\r\nabc");
                c.drain(3000);
            }),
        )
        .options("max_message_bytes=1048576")
        .says("max_message_bytes"),
    );
    let big = Mail {
        uid: 1,
        seen: false,
        raw: [b"Subject: big\r\n\r\n".as_slice(), &vec![b'z'; 1_048_000]].concat(),
    };
    v.push(
        case(
            "literal just under max_message_bytes is read",
            Mode::Tls,
            read_all(),
            &[OUT],
            move |c: &mut Conn| greet_and_serve(c, &[big], |_, _, _, _| Hook::Default),
        )
        .options("max_message_bytes=1048576")
        .messages(1)
        .budget(6000),
    );
    v.push(
        case(
            "answer to one command over the response limit",
            Mode::Tls,
            Action::Start,
            &[BIG],
            inject(
                mails(1),
                on_select,
                [b"* OK ".as_slice(), &[b'x'; 1_000_000], b"\r\n"]
                    .concat()
                    .repeat(70),
                false,
            ),
        )
        .options("max_message_bytes=1024")
        .says("in answer to one command")
        .budget(12000),
    );
    v.push(
        case(
            "MIME nested 10,000 levels",
            Mode::Tls,
            read_all(),
            &[OUT],
            move |c: &mut Conn| {
                let m = Mail {
                    uid: 1,
                    seen: false,
                    raw: nested_mime(10_000),
                };
                greet_and_serve(c, &[m], |_, _, _, _| Hook::Default)
            },
        )
        .messages(1)
        .budget(8000),
    );
    v.push(
        case(
            "100,000 MIME parts",
            Mode::Tls,
            read_all(),
            &[OUT],
            move |c: &mut Conn| {
                let m = Mail {
                    uid: 1,
                    seen: false,
                    raw: many_parts(100_000),
                };
                greet_and_serve(c, &[m], |_, _, _, _| Hook::Default)
            },
        )
        .messages(1)
        .budget(30000),
    );
    v.push(case("{0} literals", Mode::Tls, read_all(), &[OUT], on_batch(mails(2), 1, |c, tag, _, _| {
        c.send(format!("* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 0 BODY[] {{0}}\r\n)\r\n* 2 FETCH (UID 2 BODY[] {{0}}\r\n FLAGS (\\Seen))\r\n{tag} OK\r\n"));
        c.drain(500);
    })).messages(2));
    v.push(
        case(
            "NUL bytes in a message",
            Mode::Tls,
            read_all(),
            &[OUT],
            move |c: &mut Conn| {
                let m = Mail {
                    uid: 1,
                    seen: false,
                    raw: b"Subject: a\0b\r\nFrom: \0@\0\r\n\r\n\0\0\0body\0\r\n".to_vec(),
                };
                greet_and_serve(c, &[m], |_, _, _, _| Hook::Default)
            },
        )
        .messages(1),
    );
    v.push(case(
        "NUL bytes in a response line",
        Mode::Tls,
        Action::Start,
        &[PROTO, DISC],
        inject(
            mails(1),
            on_select,
            b"* 1 EXISTS\0\0\r\n* FLAGS (\\Seen\0)\r\nTAG OK\r\n".to_vec(),
            false,
        ),
    ));
    v
}

fn protocol_cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.push(case(
        "BYE in the middle of the listing",
        Mode::Tls,
        read_all(),
        &[DISC],
        inject(
            mails(2),
            is_listing,
            b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 5)\r\n* BYE going down\r\n".to_vec(),
            true,
        ),
    ));
    v.push(case(
        "BYE instead of the SELECT answer",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(
            mails(1),
            on_select,
            b"* BYE shutting down\r\n".to_vec(),
            true,
        ),
    ));
    v.push(
        case(
            "wrong tag on the SELECT answer",
            Mode::Tls,
            Action::Start,
            &[PROTO],
            inject(
                mails(1),
                on_select,
                b"zz99 OK [READ-WRITE] done\r\n".to_vec(),
                false,
            ),
        )
        .says("wrong tag"),
    );
    v.push(case(
        "wrong tag on a fetch",
        Mode::Tls,
        read_all(),
        &[PROTO],
        on_batch(mails(2), 1, |c, _, _, _| {
            c.send("* 1 FETCH (UID 1 FLAGS ())\r\na999 OK done\r\n");
            c.drain(3000);
        }),
    ));
    v.push(
        case(
            "unsolicited EXISTS, EXPUNGE and FETCH in the middle of a fetch",
            Mode::Tls,
            read_all(),
            &[OUT],
            on_batch(mails(3), 1, |c, tag, cmd, all| {
                let lines = server::fetch_lines(cmd, all, false);
                let mut b = b"* 7 EXISTS\r\n* 2 EXPUNGE\r\n* 3 FETCH (FLAGS (\\Seen))\r\n".to_vec();
                b.extend(lines);
                b.extend(format!("* 9 EXISTS\r\n{tag} OK\r\n").into_bytes());
                c.send(b);
                serve(c, CAPS, all, |_, _, _, _| Hook::Default);
            }),
        )
        .messages(3),
    );
    v.push(
        case(
            "* OK [ALERT] in the middle of commands",
            Mode::Tls,
            read_all(),
            &[OUT],
            move |c: &mut Conn| {
                let m = mails(2);
                greet_and_serve(c, &m.clone(), |c, tag, cmd, _| {
                    c.send("* OK [ALERT] System going down for maintenance {5}\r\n");
                    default_answer(c, CAPS, &m, tag, cmd);
                    Hook::Handled
                })
            },
        )
        .messages(2),
    );
    v.push(case(
        "continuation request out of place",
        Mode::Tls,
        Action::Start,
        &[OK, PROTO, DISC],
        inject(
            mails(1),
            on_select,
            b"+ go ahead\r\n* 1 EXISTS\r\nTAG OK [READ-WRITE] done\r\n".to_vec(),
            false,
        ),
    ));
    v.push(case(
        "untagged NO, BAD and BYE warnings in the answer to SELECT",
        Mode::Tls,
        read_all(),
        &[OUT],
        inject(
            mails(2),
            on_select,
            b"* 2 EXISTS\r\n* NO [ALERT] Mailbox is over quota\r\n* BAD odd\r\n* BYE soon\r\n* OK [UIDVALIDITY 7] ok\r\nTAG OK [READ-WRITE] done\r\n".to_vec(),
            false,
        ),
    ));
    v.push(case(
        "untagged PREAUTH in the answer to SELECT (found by fuzzing)",
        Mode::Tls,
        Action::Start,
        &[PROTO],
        inject(
            mails(1),
            on_select,
            b"* 1 EXISTS\r\n* PREAUTH again\r\nTAG OK [READ-WRITE] done\r\n".to_vec(),
            false,
        ),
    ));
    v.push(case(
        "garbage answer to SELECT",
        Mode::Tls,
        Action::Start,
        &[PROTO],
        inject(
            mails(1),
            on_select,
            b"\x01\x02garbage (((\r\nTAG OK\r\n".to_vec(),
            false,
        ),
    ));
    v.push(
        case(
            "fetch returns UIDs that were not asked for",
            Mode::Tls,
            read_all(),
            &[OUT],
            on_batch(mails(2), 1, |c, tag, _, _| {
                let other = [mail(77, "intruder"), mail(78, "intruder")];
                let mut b = server::fetch_line(1, &other[0], false);
                b.extend(server::fetch_line(2, &other[1], false));
                b.extend(format!("{tag} OK\r\n").into_bytes());
                c.send(b);
                c.drain(1000);
            }),
        )
        .messages(0),
    );
    v.push(case("listing with duplicated and missing UIDs", Mode::Tls, read_all(), &[OUT], inject(mails(3), is_listing, b"* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 1 FLAGS ())\r\n* 3 FETCH (FLAGS ())\r\n* 4 FETCH (UID 3 FLAGS ())\r\nTAG OK\r\n".to_vec(), false)).messages(2));
    v.push(case("body sent as a quoted string", Mode::Tls, read_all(), &[OUT], on_batch(mails(1), 1, |c, tag, _, _| {
        c.send(format!("* 1 FETCH (UID 1 BODY[] \"Subject: quoted\\\\ \\\"x\\\"\" FLAGS ())\r\n{tag} OK\r\n"));
        c.drain(500);
    })).messages(1));
    v.push(case(
        "SELECT refused",
        Mode::Tls,
        Action::Start,
        &[EMAIL_ERR_SERVER, EMAIL_ERR_NOT_FOUND],
        inject(
            mails(1),
            on_select,
            b"TAG NO [NONEXISTENT] no such folder\r\n".to_vec(),
            false,
        ),
    ));
    v.push(
        case(
            "LOGIN refused",
            Mode::Tls,
            Action::Start,
            &[AUTH],
            inject(
                mails(1),
                on_login,
                b"TAG NO [AUTHENTICATIONFAILED] wrong\r\n".to_vec(),
                false,
            ),
        )
        .says("AUTHENTICATIONFAILED"),
    );
    v.push(case(
        "AUTHENTICATE answered with an undecodable challenge",
        Mode::Tls,
        Action::Start,
        &[AUTH, PROTO, DISC],
        inject(
            mails(1),
            on_login,
            b"+ %%%not-base64%%%\r\n".to_vec(),
            false,
        ),
    ));
    v.push(case(
        "LOGINDISABLED without AUTH=PLAIN",
        Mode::Tls,
        Action::Start,
        &[AUTH],
        |c: &mut Conn| {
            if c.send("* OK ready\r\n") {
                serve(c, "IMAP4rev1 LOGINDISABLED", &[], |_, _, _, _| {
                    Hook::Default
                });
            }
        },
    ));
    v.push(case(
        "greeting BYE",
        Mode::Tls,
        Action::Start,
        &[EMAIL_ERR_CONNECT],
        |c: &mut Conn| {
            c.send("* BYE too many connections\r\n");
        },
    ));
    v.push(case(
        "garbage greeting",
        Mode::Tls,
        Action::Start,
        &[PROTO],
        |c: &mut Conn| {
            c.send("HTTP/1.1 400 Bad Request\r\n\r\n");
            c.drain(2000);
        },
    ));
    v.push(case(
        "PREAUTH greeting over TLS",
        Mode::Tls,
        Action::Start,
        &[AUTH],
        |c: &mut Conn| {
            c.send("* PREAUTH logged in already\r\n");
            c.drain(2000);
        },
    ));
    v.push(case(
        "CAPABILITY refused",
        Mode::Tls,
        Action::Start,
        &[EMAIL_ERR_SERVER, PROTO],
        inject(mails(1), on_capability, b"TAG BAD no\r\n".to_vec(), false),
    ));
    v.push(case(
        "server closes after LOGIN OK",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(mails(1), on_login, b"TAG OK welcome\r\n".to_vec(), true),
    ));
    v.push(
        case(
            "LOGOUT never answered",
            Mode::Tls,
            Action::Start,
            &[OK],
            move |c: &mut Conn| {
                greet_and_serve(c, &mails(1), |c, _, cmd, _| {
                    if cmd.eq_ignore_ascii_case("LOGOUT") {
                        c.stall(TIMEOUT_MS + 500);
                        return Hook::Stop;
                    }
                    Hook::Default
                })
            },
        )
        .budget(TIMEOUT_MS + 2500),
    );
    v
}

/// Drops and stalls at every phase.
fn fault_cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.push(case(
        "drop before the greeting",
        Mode::Tls,
        Action::Start,
        &[DISC],
        |c: &mut Conn| c.close(),
    ));
    v.push(case(
        "drop before the greeting (plain)",
        Mode::Plain,
        Action::Start,
        &[DISC],
        |c: &mut Conn| c.close(),
    ));
    v.push(case(
        "drop in the middle of the greeting",
        Mode::Tls,
        Action::Start,
        &[DISC, PROTO],
        |c: &mut Conn| {
            c.send("* OK IMAP4rev1 rea");
            c.close();
        },
    ));
    v.push(case(
        "drop after CAPABILITY is asked",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(mails(1), on_capability, vec![], true),
    ));
    v.push(case(
        "drop in the middle of the CAPABILITY answer",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(
            mails(1),
            on_capability,
            b"* CAPABILITY IMAP4rev1 AU".to_vec(),
            true,
        ),
    ));
    v.push(case(
        "drop during login",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(mails(1), on_login, vec![], true),
    ));
    v.push(case(
        "drop after the AUTHENTICATE continuation",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(mails(1), on_login, b"+ \r\n".to_vec(), true),
    ));
    v.push(case(
        "drop during SELECT",
        Mode::Tls,
        Action::Start,
        &[DISC],
        inject(mails(1), on_select, b"* 3 EXISTS\r\n".to_vec(), true),
    ));
    v.push(
        case(
            "drop in the middle of the listing",
            Mode::Tls,
            read_all(),
            &[DISC],
            inject(
                mails(3),
                is_listing,
                b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 5)\r\n* 2 FETCH (UID".to_vec(),
                true,
            ),
        )
        .messages(0),
    );
    for (name, cut) in [
        ("drop right after a literal is announced", 0usize),
        ("drop in the middle of a literal", 20),
        ("drop just before the end of a literal", 60),
    ] {
        v.push(
            case(
                name,
                Mode::Tls,
                read_all(),
                &[DISC],
                on_batch(mails(1), 1, move |c, _, _, all| {
                    let line = server::fetch_line(1, &all[0], false);
                    let head = line.iter().position(|&b| b == b'\n').unwrap() + 1;
                    c.send(&line[..(head + cut).min(line.len() - 3)]);
                    c.close();
                }),
            )
            .messages(0),
        );
    }
    v.push(
        case(
            "drop in the middle of the first batch",
            Mode::Tls,
            read_all(),
            &[DISC],
            on_batch(mails(4), 1, |c, _, cmd, all| {
                let lines = server::fetch_lines(cmd, all, false);
                c.send(&lines[..lines.len() / 2]);
                c.close();
            }),
        )
        .messages(0),
    );
    v.push(
        case(
            "drop in the middle of a batch fetched ahead: earlier messages first",
            Mode::Tls,
            read_all(),
            &[DISC],
            on_batch(mails(12), 2, |c, _, cmd, all| {
                let lines = server::fetch_lines(cmd, all, false);
                c.send(&lines[..lines.len() / 2]);
                c.close();
            }),
        )
        .messages(4)
        .check(|o, _| {
            assert_eq!(
                o.after,
                Some(DISC),
                "the call after the loss: {:?}",
                o.after
            )
        }),
    );
    v.push(
        case(
            "drop in the middle of get_all",
            Mode::Tls,
            Action::GetAll,
            &[DISC],
            on_batch(mails(12), 2, |c, _, _, _| c.close()),
        )
        .messages(0),
    );
    v.push(
        case(
            "drop between batches",
            Mode::Tls,
            read_all(),
            &[DISC],
            on_batch(mails(12), 2, |c, _, _, _| c.close()),
        )
        .messages(4),
    );
    // Stalls: the client must give up within its timeout.
    v.push(case(
        "stall before the greeting",
        Mode::Tls,
        Action::Start,
        &[TIMEOUT],
        |c: &mut Conn| c.stall(TIMEOUT_MS + 1000),
    ));
    v.push(case(
        "stall in the middle of the greeting",
        Mode::Plain,
        Action::Start,
        &[TIMEOUT],
        |c: &mut Conn| {
            c.send("* OK hel");
            c.stall(TIMEOUT_MS + 1000);
        },
    ));
    v.push(
        case(
            "stall after login",
            Mode::Tls,
            Action::Start,
            &[TIMEOUT],
            inject(mails(1), on_login, vec![], false),
        )
        .check(|o, _| {
            assert!(
                o.took >= Duration::from_millis(TIMEOUT_MS - 100),
                "gave up early: {:?}",
                o.took
            )
        }),
    );
    v.push(
        case(
            "stall in the middle of a literal",
            Mode::Tls,
            read_all(),
            &[TIMEOUT],
            on_batch(mails(1), 1, |c, _, _, _| {
                c.send("* 1 FETCH (UID 1 BODY[] {100}\r\nSubject: x\r\n");
                c.stall(TIMEOUT_MS + 1000);
            }),
        )
        .messages(0)
        .check(|o, _| assert_eq!(o.after, Some(DISC))),
    );
    v.push(
        case(
            "stall in a batch fetched ahead",
            Mode::Tls,
            read_all(),
            &[TIMEOUT],
            on_batch(mails(12), 2, |c, _, _, _| c.stall(TIMEOUT_MS + 1000)),
        )
        .messages(4),
    );
    v.push(
        case(
            "TLS expected, plaintext server",
            Mode::Tls,
            Action::Start,
            &[TLS],
            |c: &mut Conn| {
                c.send("* OK plaintext IMAP server\r\n");
                c.drain(2000);
            },
        )
        .plain_server(),
    );
    v.push(
        case(
            "TLS expected, server says nothing",
            Mode::Tls,
            Action::Start,
            &[TLS, TIMEOUT],
            |c: &mut Conn| c.stall(TIMEOUT_MS + 1000),
        )
        .plain_server(),
    );
    v
}

/// The NO STARTTLS attacks (Poddebniak et al., USENIX Security 2021) and other STARTTLS faults.
fn starttls_cases() -> Vec<Case> {
    fn pre_tls(
        greeting: &'static str,
        caps: &'static str,
        starttls_answer: &'static str,
    ) -> impl FnOnce(&mut Conn) + Send {
        move |c: &mut Conn| {
            if !c.send(greeting) {
                return;
            }
            while let Some((tag, cmd)) = c.command() {
                let u = cmd.to_ascii_uppercase();
                if u == "CAPABILITY" {
                    c.send(caps.replace("TAG", &tag));
                } else if u == "STARTTLS" {
                    c.send(starttls_answer.replace("TAG", &tag));
                    c.drain(1500);
                    return;
                } else {
                    c.send(format!("{tag} OK whatever\r\n"));
                }
            }
        }
    }
    /// A full STARTTLS server: `before` is sent in plaintext with the STARTTLS OK, then TLS and
    /// normal service with `caps_after`.
    fn full(
        pre_caps: &'static str,
        extra_with_ok: &'static str,
        caps_after: &'static str,
    ) -> impl FnOnce(&mut Conn) + Send {
        move |c: &mut Conn| {
            if !c.send("* OK ready\r\n") {
                return;
            }
            while let Some((tag, cmd)) = c.command() {
                let u = cmd.to_ascii_uppercase();
                if u == "CAPABILITY" {
                    c.send(format!("* CAPABILITY {pre_caps}\r\n{tag} OK\r\n"));
                } else if u == "STARTTLS" {
                    c.send(format!("{tag} OK begin TLS\r\n{extra_with_ok}"));
                    if !c.start_tls() {
                        return;
                    }
                    serve(c, caps_after, &mails(2), |_, _, _, _| Hook::Default);
                    return;
                } else {
                    c.send(format!("{tag} BAD not now\r\n"));
                }
            }
        }
    }
    let caps_ok = "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\nTAG OK\r\n";
    let mut v = vec![
        case(
            "STARTTLS: no STARTTLS capability",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls(
                "* OK ready\r\n",
                "* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN\r\nTAG OK\r\n",
                "TAG OK\r\n",
            ),
        )
        .says("does not offer STARTTLS"),
        case(
            "STARTTLS: PREAUTH greeting",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* PREAUTH hello\r\n", caps_ok, "TAG OK\r\n"),
        )
        .says("PREAUTH"),
        case(
            "STARTTLS: garbage greeting",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("SSH-2.0-OpenSSH\r\n", caps_ok, "TAG OK\r\n"),
        ),
        case(
            "STARTTLS: BYE greeting",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* BYE go away\r\n", caps_ok, "TAG OK\r\n"),
        ),
        case(
            "STARTTLS: CAPABILITY fails",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* OK ready\r\n", "TAG NO not now\r\n", "TAG OK\r\n"),
        ),
        case(
            "STARTTLS: CAPABILITY answered BAD",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* OK ready\r\n", "TAG BAD what\r\n", "TAG OK\r\n"),
        ),
        case(
            "STARTTLS: STARTTLS answered NO",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* OK ready\r\n", caps_ok, "TAG NO TLS unavailable\r\n"),
        ),
        case(
            "STARTTLS: STARTTLS answered BAD",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* OK ready\r\n", caps_ok, "TAG BAD no\r\n"),
        ),
        case(
            "STARTTLS: STARTTLS answered with a wrong tag",
            Mode::StartTls,
            Action::Start,
            &[TLS, TIMEOUT, DISC],
            pre_tls("* OK ready\r\n", caps_ok, "zz OK go\r\n"),
        )
        .budget(4000),
        case(
            "STARTTLS: connection dropped after STARTTLS OK",
            Mode::StartTls,
            Action::Start,
            &[TLS, DISC],
            |c: &mut Conn| {
                c.send("* OK ready\r\n");
                while let Some((tag, cmd)) = c.command() {
                    if cmd.eq_ignore_ascii_case("CAPABILITY") {
                        c.send(format!("* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK\r\n"));
                    } else {
                        c.send(format!("{tag} OK go\r\n"));
                        c.close();
                        return;
                    }
                }
            },
        ),
        case(
            "STARTTLS: OK then plaintext instead of TLS",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            pre_tls("* OK ready\r\n", caps_ok, "TAG OK go\r\n"),
        ),
        case(
            "STARTTLS: BYE instead of the CAPABILITY answer",
            Mode::StartTls,
            Action::Start,
            &[DISC, TLS],
            pre_tls("* OK ready\r\n", "* BYE no\r\n", "TAG OK\r\n"),
        ),
        case(
            "STARTTLS: drop before the greeting",
            Mode::StartTls,
            Action::Start,
            &[DISC],
            |c: &mut Conn| c.close(),
        ),
        case(
            "STARTTLS: stall before the greeting",
            Mode::StartTls,
            Action::Start,
            &[TIMEOUT],
            |c: &mut Conn| c.stall(TIMEOUT_MS + 1000),
        ),
        case(
            "STARTTLS: pre-TLS line too long",
            Mode::StartTls,
            Action::Start,
            &[PROTO, TLS],
            |c: &mut Conn| {
                c.send_big(&[b"* OK ".as_slice(), &vec![b'x'; 200_000]].concat());
                c.drain(2000);
            },
        ),
        // Injection: lines sent in the same segment as the STARTTLS OK must never be trusted.
        case(
            "STARTTLS: injected CAPABILITY in the same segment as the OK",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            full(
                "IMAP4rev1 STARTTLS",
                "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
                CAPS,
            ),
        )
        .says("after its OK"),
        case(
            "STARTTLS: injected tagged OK for the next command",
            Mode::StartTls,
            Action::Start,
            &[TLS],
            full("IMAP4rev1 STARTTLS", "a1 OK LOGIN completed\r\n", CAPS),
        ),
        // Pre-TLS data does not survive the upgrade: the capabilities are asked again, and
        // the client logs in as the TLS-protected capabilities say (LOGIN, not AUTH=PLAIN).
        case(
            "STARTTLS: capabilities before TLS are not kept",
            Mode::StartTls,
            read_all(),
            &[OUT],
            full(
                "IMAP4rev1 STARTTLS AUTH=PLAIN LOGINDISABLED",
                "",
                "IMAP4rev1 IDLE",
            ),
        )
        .messages(2)
        .check(|_, r| {
            let all = r.text();
            assert!(all.contains(" LOGIN "), "LOGIN not used after TLS: {all:?}");
            assert!(
                !all.contains("AUTHENTICATE"),
                "used pre-TLS capabilities: {all:?}"
            );
        }),
        case(
            "STARTTLS: a correct upgrade reads mail",
            Mode::StartTls,
            read_all(),
            &[OUT],
            full("IMAP4rev1 STARTTLS LOGINDISABLED", "", CAPS),
        )
        .messages(2),
    ];
    // Untrusted certificate after a valid STARTTLS exchange.
    let mut untrusted = case(
        "STARTTLS: untrusted certificate",
        Mode::StartTls,
        Action::Start,
        &[TLS],
        full("IMAP4rev1 STARTTLS", "", CAPS),
    );
    untrusted.options = "ca_file=/dev/null".into();
    untrusted.expect = vec![TLS, EMAIL_ERR_ARGUMENT];
    v.push(untrusted);
    v
}

#[test]
fn hostile_servers() {
    let mut cases = bomb_cases();
    cases.extend(protocol_cases());
    cases.extend(fault_cases());
    cases.extend(starttls_cases());
    let n = cases.len();
    assert!(n >= 60, "only {n} cases");
    let names: std::collections::HashSet<_> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), n, "duplicate case names");
    let t = Instant::now();
    run_cases(cases);
    eprintln!("{n} hostile-server cases passed in {:?}", t.elapsed());
}

/// After a limit violation, the session is broken for good (DISCONNECTED), messages read
/// before stay valid, and closing is clean.
#[test]
fn after_a_limit_the_session_is_broken_and_closes_cleanly() {
    // The server tells when the client hung up: that must happen on the failing call itself,
    // not later (the rest of the refused answer must never be read as the next one).
    let (hung_up_tx, hung_up) = mpsc::channel();
    let server = Server::start(
        true,
        on_batch(mails(12), 2, move |c, _, _, _| {
            c.send("* 5 FETCH (UID 5 BODY[] {4294967295}\r\n");
            c.drain(3000);
            let _ = hung_up_tx.send(());
        }),
    );
    let port = server.port;
    let t = std::thread::Builder::new()
        .stack_size(CLIENT_STACK)
        .spawn(move || {
            let opts = CString::new(format!(
                "timeout_ms={TIMEOUT_MS};ca_file={}",
                server::cert().cert_pem.display()
            ))
            .unwrap();
            let (h, u, p) = (
                CString::new("127.0.0.1").unwrap(),
                CString::new(USER).unwrap(),
                CString::new(PASSWORD).unwrap(),
            );
            let s = unsafe {
                email_start_session_ex(
                    h.as_ptr(),
                    port,
                    u.as_ptr(),
                    p.as_ptr(),
                    EMAIL_SECURITY_TLS,
                    opts.as_ptr(),
                )
            };
            assert!(!s.is_null(), "{}", text(email_last_error_message()));
            let mut got = Vec::new();
            let mut m: *mut EmailMessage = ptr::null_mut();
            let mut rc = unsafe { email_read_first(s, 0, &mut m) };
            while rc == EMAIL_OK {
                got.push(m);
                rc = unsafe { email_read_next(s, &mut m) };
            }
            assert_eq!(rc, BIG, "{}", text(email_session_error_message(s)));
            assert!(
                hung_up.recv_timeout(Duration::from_millis(2000)).is_ok(),
                "the connection is still open after the limit was reached"
            );
            assert_eq!(got.len(), 4);
            assert!(m.is_null());
            // Every later call: DISCONNECTED, at once.
            let t = Instant::now();
            for _ in 0..3 {
                assert_eq!(unsafe { email_read_first(s, 0, &mut m) }, DISC);
            }
            let mut list = ptr::null_mut();
            assert_eq!(unsafe { email_get_all(s, 0, &mut list) }, DISC);
            assert!(t.elapsed() < Duration::from_millis(500));
            for (i, m) in got.iter().enumerate() {
                assert_eq!(
                    text(email_message_subject(*m)),
                    format!("Message {}", i + 1)
                );
                assert!(text(email_message_text(*m)).contains("Body of"));
            }
            assert_eq!(email_close_session(s), EMAIL_OK);
            for (i, m) in got.iter().enumerate() {
                assert_eq!(
                    text(email_message_subject(*m)),
                    format!("Message {}", i + 1)
                );
                email_message_free(*m);
            }
        })
        .unwrap();
    t.join().expect("client");
    server.finish();
}

// ----- protocol trace -----

extern "C" fn collect_trace(
    direction: i32,
    line: *const u8,
    len: usize,
    user_data: *mut std::ffi::c_void,
) {
    let lines = unsafe { &*(user_data as *const std::sync::Mutex<Vec<(i32, Vec<u8>)>>) };
    let bytes = unsafe { std::slice::from_raw_parts(line, len) }.to_vec();
    lines.lock().unwrap().push((direction, bytes));
}

/// Runs a whole session (login, read all, close) with a trace file and a trace callback, and
/// returns (trace file, callback lines).
fn traced_session(
    mode: Mode,
    caps: &'static str,
    extra_flags: u32,
) -> (Vec<u8>, Vec<(i32, Vec<u8>)>) {
    let script = move |c: &mut Conn| {
        if mode == Mode::StartTls {
            c.send("* OK ready\r\n");
            while let Some((tag, cmd)) = c.command() {
                if cmd.eq_ignore_ascii_case("CAPABILITY") {
                    c.send(format!(
                        "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n{tag} OK\r\n"
                    ));
                } else {
                    c.send(format!("{tag} OK begin TLS\r\n"));
                    if c.start_tls() {
                        serve(c, caps, &mails(3), |_, _, _, _| Hook::Default);
                    }
                    return;
                }
            }
        } else if c.send("* OK ready\r\n") {
            serve(c, caps, &mails(3), |_, _, _, _| Hook::Default);
        }
    };
    let server = Server::start(mode == Mode::Tls, script);
    let trace_path =
        server::cert()
            .dir
            .join(format!("trace-{:?}-{}-{extra_flags}.log", mode, caps.len()));
    let _ = std::fs::remove_file(&trace_path);
    let opts = CString::new(format!(
        "timeout_ms={TIMEOUT_MS};ca_file={};trace_file={}",
        server::cert().cert_pem.display(),
        trace_path.display()
    ))
    .unwrap();
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(USER).unwrap(),
        CString::new(PASSWORD).unwrap(),
    );
    let s = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            server.port,
            u.as_ptr(),
            p.as_ptr(),
            flags(mode) | extra_flags,
            opts.as_ptr(),
        )
    };
    assert!(!s.is_null(), "{}", text(email_last_error_message()));
    let lines = Box::new(std::sync::Mutex::new(Vec::new()));
    let data = &*lines as *const _ as *mut std::ffi::c_void;
    assert_eq!(
        imapmail::ffi::session::trace::email_set_trace_callback(s, Some(collect_trace), data),
        EMAIL_OK
    );
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(s, 0, &mut m) };
    let mut n = 0;
    while rc == EMAIL_OK {
        n += 1;
        email_message_free(m);
        rc = unsafe { email_read_next(s, &mut m) };
    }
    assert_eq!((rc, n), (EMAIL_OUT, 3));
    assert_eq!(email_close_session(s), EMAIL_OK);
    server.finish();
    let file = std::fs::read(&trace_path).expect("trace file");
    let got = lines.lock().unwrap().clone();
    (file, got)
}

#[test]
fn trace_shows_the_protocol_but_never_a_credential() {
    let cases = [
        (
            "AUTHENTICATE PLAIN over TLS",
            Mode::Tls,
            CAPS,
            0,
            "C: a2 AUTHENTICATE PLAIN",
        ),
        (
            "LOGIN over TLS",
            Mode::Tls,
            "IMAP4rev1",
            0,
            "C: a2 LOGIN <redacted>",
        ),
        (
            "XOAUTH2 over TLS",
            Mode::Tls,
            "IMAP4rev1 AUTH=XOAUTH2",
            EMAIL_AUTH_XOAUTH2,
            "C: a2 AUTHENTICATE XOAUTH2",
        ),
        (
            "LOGIN after STARTTLS",
            Mode::StartTls,
            "IMAP4rev1",
            0,
            "C: a2 LOGIN <redacted>",
        ),
        (
            "LOGIN in plaintext",
            Mode::Plain,
            "IMAP4rev1",
            0,
            "C: a2 LOGIN <redacted>",
        ),
    ];
    for (name, mode, caps, extra, login_line) in cases {
        let (file, callback) = traced_session(mode, caps, extra);
        let text_file = String::from_utf8_lossy(&file).to_string();
        for form in secret_forms() {
            assert!(
                !contains(&file, &form),
                "{name}: secret in the trace file: {text_file}"
            );
            for (_, line) in &callback {
                assert!(
                    !contains(line, &form),
                    "{name}: secret in the trace callback"
                );
            }
        }
        assert!(
            !text_file.contains(USER),
            "{name}: user name in the trace: {text_file}"
        );
        assert!(text_file.contains(login_line), "{name}: {text_file}");
        assert!(text_file.contains("S: * OK ready"), "{name}: {text_file}");
        assert!(
            text_file.contains("C: a1 CAPABILITY") || text_file.contains("C: a0 CAPABILITY"),
            "{name}: {text_file}"
        );
        assert!(
            text_file.contains("SELECT \"INBOX\""),
            "{name}: {text_file}"
        );
        assert!(
            text_file.contains("[literal: "),
            "{name}: literal data not summarised: {text_file}"
        );
        assert!(
            !text_file.contains("Body of Message"),
            "{name}: message data in the trace"
        );
        if mode == Mode::StartTls {
            assert!(
                text_file.contains("C: a1 STARTTLS"),
                "{name}: pre-TLS exchange not traced: {text_file}"
            );
        }
        if mode != Mode::Plain && caps.contains("AUTH=") {
            assert!(
                text_file.contains("C: <redacted>"),
                "{name}: no redacted SASL answer: {text_file}"
            );
        }
        // The callback, set after login, sees the reading and the logout, in both directions.
        let sent: Vec<String> = callback
            .iter()
            .filter(|(d, _)| *d == 0)
            .map(|(_, l)| String::from_utf8_lossy(l).into_owned())
            .collect();
        assert!(
            sent.iter().any(|l| l.contains("UID FETCH")),
            "{name}: {sent:?}"
        );
        assert!(
            sent.iter().any(|l| l.ends_with("LOGOUT")),
            "{name}: {sent:?}"
        );
        assert!(
            callback
                .iter()
                .any(|(d, l)| *d == 1 && l.ends_with(b"OK FETCH done")),
            "{name}"
        );
        assert!(
            callback.iter().all(|(_, l)| !l.ends_with(b"\r\n")),
            "{name}: CRLF in callback lines"
        );
    }
}

// ----- regressions found by fuzzing (fuzz/regressions/) -----

/// Replays one session input as the `session` fuzz target does.
fn replay_session(data: &[u8]) {
    use imapmail::core::session::testing::{open_over_stream, ScriptedServer};
    use imapmail::core::{Credentials, Error, ReadOptions, Security, SessionOptions};
    // A panic on a library thread (parsing, reading ahead) is turned into Error::Internal by
    // the library: here it must count as the regression it is.
    fn no_panic<T>(r: &Result<T, Error>) {
        if let Err(Error::Internal(m)) = r {
            assert!(!m.contains("panicked"), "{m}");
        }
    }
    let touch = |m: &imapmail::core::Message| {
        let h = m.header();
        let _ = (h.subject.len(), h.from.display(), h.to.len(), h.timestamp);
        let b = m.body();
        let _ = (b.text.len(), b.html.len(), b.attachments.len());
    };
    let answers: Vec<Vec<u8>> = data.split(|&b| b == 0xff).map(<[u8]>::to_vec).collect();
    let mut server = ScriptedServer::new(answers);
    server.chunk = if data.len().is_multiple_of(3) { 7 } else { 0 };
    let mut opts = SessionOptions::new("fuzz.invalid", 143, Security::None);
    opts.max_message_bytes = 1 << 20;
    let opened = open_over_stream(server, opts, &Credentials::new("user", "pass"));
    no_panic(&opened);
    let Ok(mut s) = opened else {
        return;
    };
    let mut next = s.read_first(ReadOptions::default());
    no_panic(&next);
    while let Ok(Some(m)) = next {
        touch(&m);
        next = s.read_next();
        no_panic(&next);
    }
    let all = s.get_all(ReadOptions {
        headers_only: true,
        ..ReadOptions::default()
    });
    no_panic(&all);
    if let Ok(all) = all {
        all.iter().for_each(touch);
    }
    s.close();
}

/// Replays one input as the `guard` fuzz target does: whole and chunked, same verdict.
fn replay_guard(data: &[u8]) {
    use imapmail::core::guard::{Guard, Limits, NoSink};
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let chunk = (first as usize % 17) + 1;
    let limits = Limits {
        max_depth: 8,
        max_line: 200,
        max_literal: 300,
        max_response: 1 << 20,
    };
    let mut whole = Guard::new(limits);
    let a = whole.feed(data, &mut NoSink);
    let mut parts = Guard::new(limits);
    let b = data
        .chunks(chunk)
        .try_for_each(|c| parts.feed(c, &mut NoSink));
    assert_eq!(a, b);
}

/// Every input saved in fuzz/regressions/ (crashes found by fuzzing) now runs cleanly, on a
/// 1 MiB stack.
#[test]
fn fuzz_regressions_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let t = std::thread::Builder::new()
            .stack_size(CLIENT_STACK)
            .spawn(move || {
                if name.starts_with("session-") {
                    replay_session(&data);
                } else if name.starts_with("message-") {
                    imapmail::ffi::session::testing::exercise_message_accessors(data);
                } else if name.starts_with("guard-") {
                    replay_guard(&data);
                }
            });
        t.unwrap()
            .join()
            .unwrap_or_else(|_| panic!("{} panics again", path.display()));
        n += 1;
    }
    assert!(n > 0);
}

/// Found by the `session` fuzzer: a Date header whose weekday holds a non-ASCII character
/// (`Thõ,`) made the date parser slice a string inside a character, so the header of the
/// message could not be decoded at all (every header accessor panicked).
#[test]
fn date_with_a_non_ascii_weekday_or_month() {
    for date in [
        "Th\u{f5}, 13 Jun 1996 23:25:49 -07L0",
        "Th\u{f5} 13 Jun 1996",
        "Thu J\u{f5}n 13 23:25:49 1996",
        "\u{f5}\u{f5} J\u{fc}n 1 2000",
        "\u{1F600} x",
    ] {
        let raw = format!("Date: {date}\r\nSubject: still readable\r\n\r\nbody\r\n");
        let latin1: Vec<u8> = raw
            .chars()
            .map(|c| {
                if (c as u32) < 256 {
                    c as u32 as u8
                } else {
                    b'?'
                }
            })
            .collect();
        for bytes in [raw.clone().into_bytes(), latin1] {
            let m = imapmail::core::Message::from_raw(bytes);
            assert_eq!(m.header().subject, "still readable", "{date:?}");
        }
    }
}

//! Command injection: every string argument that reaches the wire is tried with CR, LF, CRLF,
//! NUL, `"`, `\`, `{5}`, 8-bit UTF-8 and the empty string. Each either is rejected before
//! anything is sent, or is sent as exactly one valid IMAP string (quoted with `\` and `"`
//! escaped, or a literal) that decodes to the value given: never as extra command text.
//!
//! The C API (user, password, the folder and other keys of the options string) is driven over
//! TCP against a recording server; the folder, keyword and search arguments of the mailbox API
//! are driven both through the core over an in-memory server that records the bytes, and through
//! their C exports over TCP (there without NUL, which a C string cannot hold).

use std::ffi::CString;

#[path = "client/mod.rs"]
mod client;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imapmail::core::session::testing::open_over_stream;
use imapmail::core::{Credentials, Error, Security, SessionOptions};
use imapmail::ffi::error::*;
use imapmail::ffi::session::*;

/// The hostile values.
const VALUES: &[(&str, &str)] = &[
    ("CR", "a\rb"),
    ("LF", "a\nb"),
    ("CRLF", "x\r\na9 DELETE INBOX"),
    ("NUL", "a\0b"),
    ("quote", "a\"b"),
    ("backslash", "a\\b"),
    ("literal", "{5}"),
    ("literal-crlf-like", "x {5}"),
    ("8-bit", "pässwörd✓"),
    ("empty", ""),
    ("specials", "(%*)[]"),
];

fn has_forbidden(v: &str) -> bool {
    v.contains(['\r', '\n', '\0'])
}

// ----- a decoder of IMAP strings, to check what was sent -----

/// Splits one command (from its tag to its final CRLF, literals included) into its arguments:
/// atoms, quoted strings (unescaped) and literals. Parentheses are skipped. Fails on anything
/// malformed: a bare CR or LF outside a literal, a bad escape, an unterminated string.
fn decode_command(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, usize), String> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        match bytes.get(i) {
            None => return Err("no CRLF at the end".into()),
            Some(b' ') | Some(b'(') | Some(b')') => i += 1,
            Some(b'\r') => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    return Ok((args, i + 2));
                }
                return Err(format!("bare CR at {i}"));
            }
            Some(b'\n') => return Err(format!("bare LF at {i}")),
            Some(b'"') => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => match bytes.get(i + 1) {
                            Some(&c @ (b'\\' | b'"')) => {
                                s.push(c);
                                i += 2;
                            }
                            other => return Err(format!("bad escape {other:?}")),
                        },
                        Some(b'\r') | Some(b'\n') | Some(0) => {
                            return Err("CR, LF or NUL in a quoted string".into())
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                args.push(s);
            }
            Some(b'{') => {
                let close = bytes[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("unterminated literal")?
                    + i;
                let digits =
                    std::str::from_utf8(&bytes[i + 1..close]).map_err(|e| e.to_string())?;
                let n: usize = digits
                    .trim_end_matches('+')
                    .parse()
                    .map_err(|_| format!("bad literal {digits:?}"))?;
                if &bytes[close + 1..close + 3] != b"\r\n" {
                    return Err("literal without CRLF".into());
                }
                let start = close + 3;
                let data = bytes.get(start..start + n).ok_or("literal cut short")?;
                if data.contains(&0) {
                    return Err("NUL in a literal".into());
                }
                args.push(data.to_vec());
                i = start + n;
            }
            Some(_) => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n' | b'"' | b'{'))
                    .map_or(bytes.len(), |p| p + i);
                args.push(bytes[i..end].to_vec());
                i = end;
            }
        }
    }
}

/// The commands (decoded arguments) in `bytes`.
fn decode_commands(bytes: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (args, used) = decode_command(rest)?;
        out.push(args);
        rest = &rest[used..];
    }
    Ok(out)
}

// ----- the C API over TCP -----

/// A server that records everything and answers like a simple well-behaved server (no
/// AUTH=PLAIN unless `plain`, so that LOGIN is used); LITERAL+ is not offered, so a literal
/// gets a continuation request.
fn recording_server(caps: &'static str) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&log);
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        if s.write_all(b"* OK ready\r\n").is_err() {
            return;
        }
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut in_auth = None;
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                return;
            }
            l.lock().unwrap().extend_from_slice(&line);
            if line.ends_with(b"}\r\n") && !line.ends_with(b"+}\r\n") {
                let _ = s.write_all(b"+ go on\r\n");
                continue;
            }
            let text = String::from_utf8_lossy(&line).to_string();
            if let Some(tag) = in_auth.take() {
                let _ = s.write_all(format!("{tag} OK authenticated\r\n").as_bytes());
                continue;
            }
            let (tag, cmd) = text
                .trim_end()
                .split_once(' ')
                .unwrap_or((text.trim_end(), ""));
            let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let answer = match verb.as_str() {
                "CAPABILITY" => format!("* CAPABILITY {caps}\r\n{tag} OK\r\n"),
                "AUTHENTICATE" => {
                    in_auth = Some(tag.to_string());
                    "+ \r\n".to_string()
                }
                "SELECT" | "EXAMINE" => format!("* 0 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
                "LOGOUT" => format!("* BYE\r\n{tag} OK\r\n"),
                _ => format!("{tag} OK done\r\n"),
            };
            if s.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    });
    (port, log)
}

/// Starts (and closes) a session over the C API; returns the status and what the server got.
fn start_c(
    caps: &'static str,
    user: &str,
    password: &str,
    flags: u32,
    options: &str,
) -> (isize, Vec<u8>) {
    let (port, log) = recording_server(caps);
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(user).unwrap(),
        CString::new(password).unwrap(),
    );
    let o = CString::new(format!("timeout_ms=3000;{options}")).unwrap();
    let s = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            port,
            u.as_ptr(),
            p.as_ptr(),
            flags | EMAIL_SECURITY_NONE,
            o.as_ptr(),
        )
    };
    let code = if s.is_null() {
        email_last_error()
    } else {
        EMAIL_OK
    };
    if !s.is_null() {
        email_close_session(s);
    }
    std::thread::sleep(Duration::from_millis(50));
    let got = log.lock().unwrap().clone();
    (code, got)
}

fn b64decode(s: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = T.iter().position(|&t| t == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The arguments of the first command whose verb is `verb`.
fn command_args(sent: &[u8], verb: &str) -> Vec<Vec<u8>> {
    let cmds = decode_commands(sent).unwrap_or_else(|e| {
        panic!(
            "malformed bytes sent ({e}): {:?}",
            String::from_utf8_lossy(sent)
        )
    });
    cmds.into_iter()
        .find(|a| {
            a.get(1)
                .is_some_and(|v| v.eq_ignore_ascii_case(verb.as_bytes()))
        })
        .unwrap_or_else(|| panic!("no {verb} sent: {:?}", String::from_utf8_lossy(sent)))
}

#[test]
fn user_and_password_with_login() {
    for (name, v) in VALUES {
        // C strings cannot hold NUL: the core check is tested below.
        if v.contains('\0') {
            continue;
        }
        for (what, user, password) in [("user", *v, "pw"), ("password", "joe", *v)] {
            let (code, sent) = start_c("IMAP4rev1", user, password, 0, "");
            if has_forbidden(v) {
                assert_eq!(code, EMAIL_ERR_ARGUMENT, "{what} {name}");
                assert!(
                    sent.is_empty(),
                    "{what} {name}: sent {:?}",
                    String::from_utf8_lossy(&sent)
                );
                continue;
            }
            assert_eq!(code, EMAIL_OK, "{what} {name}");
            let args = command_args(&sent, "LOGIN");
            assert_eq!(args.len(), 4, "{what} {name}: {args:?}");
            assert_eq!(args[2], user.as_bytes(), "{what} {name}");
            assert_eq!(args[3], password.as_bytes(), "{what} {name}");
            // Exactly: a1 CAPABILITY, a2 LOGIN, then the session's own commands.
            let text = String::from_utf8_lossy(&sent);
            assert!(
                text.starts_with("a1 CAPABILITY\r\na2 LOGIN "),
                "{what} {name}: {text:?}"
            );
        }
    }
}

#[test]
fn user_and_password_with_authenticate_plain_and_xoauth2() {
    for (name, v) in VALUES {
        if v.contains('\0') {
            continue;
        }
        for (mech, flags) in [("PLAIN", 0), ("XOAUTH2", EMAIL_AUTH_XOAUTH2)] {
            for (what, user, password) in [("user", *v, "pw"), ("password", "joe", *v)] {
                let (code, sent) = start_c(
                    "IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2",
                    user,
                    password,
                    flags,
                    "",
                );
                if has_forbidden(v) {
                    assert_eq!(code, EMAIL_ERR_ARGUMENT, "{mech} {what} {name}");
                    assert!(sent.is_empty(), "{mech} {what} {name}");
                    continue;
                }
                assert_eq!(code, EMAIL_OK, "{mech} {what} {name}");
                let text = String::from_utf8_lossy(&sent).to_string();
                let mut lines = text.split("\r\n");
                assert_eq!(lines.next(), Some("a1 CAPABILITY"));
                assert_eq!(
                    lines.next(),
                    Some(format!("a2 AUTHENTICATE {mech}").as_str()),
                    "{text:?}"
                );
                let blob = b64decode(lines.next().unwrap());
                let expect = if mech == "PLAIN" {
                    format!("\0{user}\0{password}")
                } else {
                    format!("user={user}\x01auth=Bearer {password}\x01\x01")
                };
                assert_eq!(blob, expect.as_bytes(), "{mech} {what} {name}");
            }
        }
    }
}

#[test]
fn folder_option_and_other_options() {
    for (name, v) in VALUES {
        if v.contains('\0') {
            continue;
        }
        // ';', '=' and '\' are escaped in an options string.
        let escaped = v
            .replace('\\', "\\\\")
            .replace(';', "\\;")
            .replace('=', "\\=");
        let (code, sent) = start_c("IMAP4rev1", "joe", "pw", 0, &format!("folder={escaped}"));
        if has_forbidden(v) || v.is_empty() {
            assert_eq!(code, EMAIL_ERR_ARGUMENT, "folder {name}");
            assert!(
                sent.is_empty(),
                "folder {name}: sent {:?}",
                String::from_utf8_lossy(&sent)
            );
            continue;
        }
        assert_eq!(code, EMAIL_OK, "folder {name}");
        let args = command_args(&sent, "SELECT");
        assert_eq!(args.len(), 3, "folder {name}: {args:?}");
        assert_eq!(
            args[2],
            imapmail::core::mutf7::encode(v).as_bytes(),
            "folder {name}"
        );
        // Other keys never reach the server: bad values are rejected before connecting.
        for key in [
            "timeout_ms",
            "max_message_bytes",
            "ca_file",
            "trace_file",
            "nonsense",
        ] {
            let (code, sent) = start_c("IMAP4rev1", "joe", "pw", 0, &format!("{key}={escaped}/x"));
            assert!(
                sent.is_empty() || code != EMAIL_ERR_ARGUMENT,
                "{key} {name}"
            );
            if key == "nonsense" || key == "timeout_ms" || key == "max_message_bytes" {
                assert_eq!(code, EMAIL_ERR_ARGUMENT, "{key} {name}");
            }
        }
    }
    // A key with CR/LF is just an unknown key.
    let (code, sent) = start_c("IMAP4rev1", "joe", "pw", 0, "fol\r\nder=INBOX");
    assert_eq!(code, EMAIL_ERR_ARGUMENT);
    assert!(sent.is_empty());
}

// ----- the core (mailbox API) over an in-memory server -----

/// An in-memory server that answers every command OK (and every literal with a continuation
/// request), recording what the client wrote.
#[derive(Clone, Default)]
struct AutoServer {
    inner: Arc<Mutex<AutoState>>,
}

#[derive(Default)]
struct AutoState {
    out: Vec<u8>,
    line: Vec<u8>,
    written: Vec<u8>,
    literal_left: usize,
}

impl AutoServer {
    fn new() -> AutoServer {
        let s = AutoServer::default();
        s.inner
            .lock()
            .unwrap()
            .out
            .extend_from_slice(b"* OK ready\r\n");
        s
    }
    fn written(&self) -> Vec<u8> {
        self.inner.lock().unwrap().written.clone()
    }
}

impl Read for AutoServer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = self.inner.lock().unwrap();
        let n = buf.len().min(st.out.len());
        buf[..n].copy_from_slice(&st.out[..n]);
        st.out.drain(..n);
        Ok(n)
    }
}

impl Write for AutoServer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut st = self.inner.lock().unwrap();
        st.written.extend_from_slice(buf);
        for &b in buf {
            if st.literal_left > 0 {
                st.literal_left -= 1;
                continue;
            }
            st.line.push(b);
            if b != b'\n' {
                continue;
            }
            let line = std::mem::take(&mut st.line);
            let text = String::from_utf8_lossy(&line).to_string();
            if let Some(open) = text
                .trim_end()
                .strip_suffix('}')
                .and_then(|t| t.rfind('{').map(|i| &t[i + 1..]))
            {
                if let Ok(n) = open.trim_end_matches('+').parse::<usize>() {
                    st.literal_left = n;
                    if !open.ends_with('+') {
                        st.out.extend_from_slice(b"+ go on\r\n");
                    }
                    continue;
                }
            }
            // The tag is on the first line of a command; after a literal, keep the last one.
            let tag = text.split(' ').next().unwrap_or("").to_string();
            let upper = text.to_ascii_uppercase();
            let answer = if upper.contains(" CAPABILITY") && !upper.contains("STORE") {
                format!("* CAPABILITY IMAP4rev1 MOVE UIDPLUS\r\n{tag} OK\r\n")
            } else if upper.contains(" SELECT ") || upper.contains(" EXAMINE ") {
                format!("* 3 EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n{tag} OK [READ-WRITE] done\r\n")
            } else {
                format!("{tag} OK done\r\n")
            };
            st.out.extend_from_slice(answer.as_bytes());
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn core_session() -> (imapmail::core::Session, AutoServer) {
    let server = AutoServer::new();
    let opts = SessionOptions::new("test.invalid", 143, Security::None);
    let s =
        open_over_stream(server.clone(), opts, &Credentials::new("joe", "pw")).expect("session");
    (s, server)
}

/// Runs `op` with a hostile value; it must be rejected (nothing sent) or send commands that
/// decode, one of whose arguments is `expect(value)`.
fn check_core(
    what: &str,
    op: impl Fn(&mut imapmail::core::Session, &str) -> imapmail::core::Result<()>,
    expect: impl Fn(&str) -> Vec<u8>,
) {
    check_core_accepting(
        what,
        &[
            "quote",
            "backslash",
            "literal",
            "literal-crlf-like",
            "8-bit",
            "specials",
        ],
        op,
        expect,
    )
}

/// The verdict on what a call with a hostile value sent: either it was refused (`refused`)
/// and nothing was sent, or the commands sent decode, one of them carries `want` as one
/// argument, and every command's tag is the client's (nothing smuggled).
fn assert_refused_or_sent_whole(
    label: &str,
    refused: bool,
    may_refuse: bool,
    sent: &[u8],
    want: &[u8],
) {
    if refused {
        assert!(may_refuse, "{label}: rejected");
        assert!(
            sent.is_empty(),
            "{label}: rejected but sent {:?}",
            String::from_utf8_lossy(sent)
        );
        return;
    }
    let cmds = decode_commands(sent).unwrap_or_else(|e| {
        panic!(
            "{label}: malformed ({e}): {:?}",
            String::from_utf8_lossy(sent)
        )
    });
    assert!(
        cmds.iter()
            .any(|args| args.iter().skip(2).any(|a| a == want)),
        "{label}: {:?} not sent as one string in {:?}",
        String::from_utf8_lossy(want),
        String::from_utf8_lossy(sent)
    );
    for args in &cmds {
        let tag = String::from_utf8_lossy(&args[0]);
        assert!(
            tag.starts_with('a') && tag[1..].chars().all(|c| c.is_ascii_digit()),
            "{label}: command {args:?}"
        );
    }
}

/// As [`check_core`]; the values named in `accept` must be sent (not rejected).
fn check_core_accepting(
    what: &str,
    accept: &[&str],
    op: impl Fn(&mut imapmail::core::Session, &str) -> imapmail::core::Result<()>,
    expect: impl Fn(&str) -> Vec<u8>,
) {
    for (name, v) in VALUES {
        let (mut s, server) = core_session();
        let before = server.written().len();
        let r = op(&mut s, v);
        let sent = server.written()[before..].to_vec();
        let refused = matches!(r, Err(Error::Argument(_)));
        if !refused {
            assert!(!v.contains('\0'), "{what} {name}: NUL accepted");
        }
        let label = format!("{what} {name}");
        assert_refused_or_sent_whole(&label, refused, !accept.contains(name), &sent, &expect(v));
        s.close();
    }
}

fn mutf7(v: &str) -> Vec<u8> {
    imapmail::core::mutf7::encode(v).into_bytes()
}

#[test]
fn folder_names_of_the_mailbox_api() {
    check_core("select", |s, v| s.select(v, false), mutf7);
    check_core("examine", |s, v| s.select(v, true), mutf7);
    check_core("create", |s, v| s.create_folder(v), mutf7);
    check_core("delete", |s, v| s.delete_folder(v), mutf7);
    check_core("rename from", |s, v| s.rename_folder(v, "Other"), mutf7);
    check_core("rename to", |s, v| s.rename_folder("Other", v), mutf7);
    check_core("subscribe", |s, v| s.subscribe_folder(v, true), mutf7);
    check_core("unsubscribe", |s, v| s.subscribe_folder(v, false), mutf7);
    check_core("status", |s, v| s.folder_status(v).map(|_| ()), mutf7);
    check_core("copy", |s, v| s.copy_message(1, v).map(|_| ()), mutf7);
    check_core("move", |s, v| s.move_message(1, v).map(|_| ()), mutf7);
    check_core(
        "append",
        |s, v| {
            s.append(v, b"Subject: x\r\n\r\nbody\r\n", 0, None)
                .map(|_| ())
        },
        mutf7,
    );
}

#[test]
fn keywords_of_the_mailbox_api() {
    // Keywords are atoms: anything else is rejected, never quoted into the command.
    check_core_accepting(
        "store keyword",
        &[],
        |s, v| s.store_flags(1, 0, &[v], true),
        |v| v.as_bytes().to_vec(),
    );
    check_core_accepting(
        "remove keyword",
        &[],
        |s, v| s.store_flags(1, 0, &["ok", v], false),
        |v| v.as_bytes().to_vec(),
    );
}

#[test]
fn search_values_of_the_mailbox_api() {
    use imapmail::core::search::{Criterion, SearchQuery, TextField};
    let query = |c: Criterion| -> imapmail::core::Result<SearchQuery> {
        let mut q = SearchQuery::new();
        q.push(c)?;
        Ok(q)
    };
    let all = &[
        "quote",
        "backslash",
        "literal",
        "literal-crlf-like",
        "8-bit",
        "specials",
    ];
    for field in [
        TextField::Subject,
        TextField::From,
        TextField::Body,
        TextField::Text,
    ] {
        check_core_accepting(
            "search text",
            all,
            |s, v| {
                s.search(&query(Criterion::Text {
                    field,
                    value: v.to_string(),
                })?)
                .map(|_| ())
            },
            |v| v.as_bytes().to_vec(),
        );
    }
    check_core_accepting(
        "search header value",
        all,
        |s, v| {
            s.search(&query(Criterion::Header {
                name: "X-Tag".into(),
                value: v.to_string(),
            })?)
            .map(|_| ())
        },
        |v| v.as_bytes().to_vec(),
    );
    check_core_accepting(
        "search header name",
        &[],
        |s, v| {
            s.search(&query(Criterion::Header {
                name: v.to_string(),
                value: "x".into(),
            })?)
            .map(|_| ())
        },
        |v| v.as_bytes().to_vec(),
    );
    check_core_accepting(
        "search keyword",
        &[],
        |s, v| {
            s.search(&query(Criterion::Keyword {
                keyword: v.to_string(),
                set: true,
            })?)
            .map(|_| ())
        },
        |v| v.as_bytes().to_vec(),
    );
}

// ----- the C exports of the mailbox API, over TCP -----

/// The in-memory server behind a TCP port: a C session can be started against it.
fn auto_server_on_tcp() -> (u16, AutoServer) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = AutoServer::new();
    let mut auto = server.clone();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        s.set_read_timeout(Some(Duration::from_millis(20))).ok();
        let mut buf = [0u8; 4096];
        loop {
            let mut out = Vec::new();
            let _ = auto.read_to_end(&mut out);
            if !out.is_empty() && s.write_all(&out).is_err() {
                return;
            }
            match s.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    let _ = auto.write(&buf[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    });
    (port, server)
}

/// Runs a C export with each hostile value (NUL aside) on a fresh session: it must return
/// `EMAIL_ERR_ARGUMENT` with nothing sent, or send commands that decode, one of whose arguments
/// is `expect(value)`. The values named in `accept` must be sent.
fn check_c(
    what: &str,
    accept: &[&str],
    op: impl Fn(*mut EmailSession, &CString) -> isize,
    expect: impl Fn(&str) -> Vec<u8>,
) {
    for (name, v) in VALUES.iter().filter(|(_, v)| !v.contains('\0')) {
        let (port, server) = auto_server_on_tcp();
        let s = client::start_plain(port, "");
        let before = server.written().len();
        let value = CString::new(*v).unwrap();
        let rc = op(s, &value);
        let sent = server.written()[before..].to_vec();
        let label = format!("{what} {name} (status {rc})");
        let refused = rc == EMAIL_ERR_ARGUMENT;
        assert_refused_or_sent_whole(&label, refused, !accept.contains(name), &sent, &expect(v));
        assert_eq!(email_close_session(s), EMAIL_OK);
    }
}

const SENT_AS_STRINGS: &[&str] = &[
    "quote",
    "backslash",
    "literal",
    "literal-crlf-like",
    "8-bit",
    "specials",
];

#[test]
fn folder_names_of_the_c_mailbox_exports() {
    use imapmail::ffi::session::mailbox::*;
    let a = SENT_AS_STRINGS;
    check_c(
        "email_select_folder",
        a,
        |s, v| unsafe { email_select_folder(s, v.as_ptr(), 0) },
        mutf7,
    );
    check_c(
        "email_select_folder read-only",
        a,
        |s, v| unsafe { email_select_folder(s, v.as_ptr(), 1) },
        mutf7,
    );
    check_c(
        "email_create_folder",
        a,
        |s, v| unsafe { email_create_folder(s, v.as_ptr()) },
        mutf7,
    );
    check_c(
        "email_delete_folder",
        a,
        |s, v| unsafe { email_delete_folder(s, v.as_ptr()) },
        mutf7,
    );
    let other = CString::new("Other").unwrap();
    check_c(
        "email_rename_folder from",
        a,
        |s, v| unsafe { email_rename_folder(s, v.as_ptr(), other.as_ptr()) },
        mutf7,
    );
    check_c(
        "email_rename_folder to",
        a,
        |s, v| unsafe { email_rename_folder(s, other.as_ptr(), v.as_ptr()) },
        mutf7,
    );
    check_c(
        "email_subscribe_folder",
        a,
        |s, v| unsafe { email_subscribe_folder(s, v.as_ptr()) },
        mutf7,
    );
    check_c(
        "email_unsubscribe_folder",
        a,
        |s, v| unsafe { email_unsubscribe_folder(s, v.as_ptr()) },
        mutf7,
    );
    check_c(
        "email_folder_status",
        a,
        |s, v| unsafe {
            let (mut m, mut un, mut next, mut val) = (0, 0, 0, 0);
            email_folder_status(s, v.as_ptr(), &mut m, &mut un, &mut next, &mut val)
        },
        mutf7,
    );
    check_c(
        "email_copy_message",
        a,
        |s, v| unsafe { email_copy_message(s, 1, v.as_ptr(), std::ptr::null_mut()) },
        mutf7,
    );
    check_c(
        "email_move_message",
        a,
        |s, v| unsafe { email_move_message(s, 1, v.as_ptr(), std::ptr::null_mut()) },
        mutf7,
    );
    let raw = b"Subject: x\r\n\r\nbody\r\n";
    check_c(
        "email_append",
        a,
        |s, v| unsafe {
            email_append(
                s,
                v.as_ptr(),
                raw.as_ptr(),
                raw.len(),
                0,
                0,
                std::ptr::null_mut(),
            )
        },
        mutf7,
    );
}

#[test]
fn keywords_of_the_c_mailbox_exports() {
    use imapmail::ffi::session::mailbox::*;
    // Keywords are atoms: anything else is rejected, never quoted into the command.
    check_c(
        "email_add_keyword",
        &[],
        |s, v| unsafe { email_add_keyword(s, 1, v.as_ptr()) },
        |v| v.as_bytes().to_vec(),
    );
    check_c(
        "email_remove_keyword",
        &[],
        |s, v| unsafe { email_remove_keyword(s, 1, v.as_ptr()) },
        |v| v.as_bytes().to_vec(),
    );
}

#[test]
fn search_values_of_the_c_search_exports() {
    use imapmail::ffi::search::*;
    use imapmail::ffi::session::mailbox::email_search;
    type Add = unsafe extern "C" fn(*mut EmailSearch, *const std::ffi::c_char) -> isize;
    let fields: [(&str, Add); 7] = [
        ("email_search_from", email_search_from),
        ("email_search_to", email_search_to),
        ("email_search_cc", email_search_cc),
        ("email_search_bcc", email_search_bcc),
        ("email_search_subject", email_search_subject),
        ("email_search_body", email_search_body),
        ("email_search_text", email_search_text),
    ];
    // A criterion refused when it is added is refused before anything can be sent.
    let search = |s: *mut EmailSession, add: &dyn Fn(*mut EmailSearch) -> isize| -> isize {
        let q = email_search_new();
        let rc = add(q);
        let rc = if rc != EMAIL_OK {
            rc
        } else {
            let mut uids = std::ptr::null_mut();
            let rc = unsafe { email_search(s, q, &mut uids) };
            email_uids_free(uids);
            rc
        };
        email_search_free(q);
        rc
    };
    for (what, add) in fields {
        check_c(
            what,
            SENT_AS_STRINGS,
            |s, v| search(s, &|q| unsafe { add(q, v.as_ptr()) }),
            |v| v.as_bytes().to_vec(),
        );
    }
    let name = CString::new("X-Tag").unwrap();
    check_c(
        "email_search_header value",
        SENT_AS_STRINGS,
        |s, v| {
            search(s, &|q| unsafe {
                email_search_header(q, name.as_ptr(), v.as_ptr())
            })
        },
        |v| v.as_bytes().to_vec(),
    );
    let x = CString::new("x").unwrap();
    check_c(
        "email_search_header name",
        &[],
        |s, v| {
            search(s, &|q| unsafe {
                email_search_header(q, v.as_ptr(), x.as_ptr())
            })
        },
        |v| v.as_bytes().to_vec(),
    );
    check_c(
        "email_search_keyword",
        &[],
        |s, v| search(s, &|q| unsafe { email_search_keyword(q, v.as_ptr(), 1) }),
        |v| v.as_bytes().to_vec(),
    );
}

//! The tolerance policy (docs/reliability.md, "Tolerance"), rule by rule, against a scripted
//! server (the I/O of tests/hostile/server.rs, with answers of its own): a bare LF ends a line
//! wherever CRLF does; an untagged response that does not parse but is framed is skipped and
//! noted in the trace, unless it is the very answer the command needs (then that command fails
//! with EMAIL_ERR_PROTOCOL and the session stays usable); a broken frame still ends the
//! session. The bent answers are those of GNU Mailutils imap4d 3.15 where it bends them so.

#[path = "client/mod.rs"]
mod client;
#[path = "hostile/server.rs"]
mod server;

use std::ffi::{c_void, CString};
use std::ptr;
use std::sync::{Arc, Mutex};

use imapmail::ffi::error::*;
use imapmail::ffi::list::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::mailbox::*;
use imapmail::ffi::session::trace::email_set_trace_callback;
use imapmail::ffi::session::*;

use client::{numbered, read_subjects, text};
use server::{fetch_line, mail, uid_set, Conn, Mail, Server};

const USER: &str = "joe";
const PASSWORD: &str = "secret";

fn mails(n: u32) -> Vec<Mail> {
    (1..=n).map(|i| mail(i, &format!("Message {i}"))).collect()
}

/// CRLF -> bare LF at the end of every protocol line; literal data (announced `{n}` CRLF) is
/// copied as it is, so that its announced length stays true.
fn bare_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(b"\r\n") {
            out.push(b'\n');
            i += 2;
            if let Some(n) = announced(&out) {
                out.extend_from_slice(&data[i..i + n]);
                i += n;
            }
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The literal length announced at the end of `line` (`{n}` LF), if any.
fn announced(line: &[u8]) -> Option<usize> {
    let head = line.strip_suffix(b"}\n")?;
    let open = head.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&head[open + 1..]).ok()?.parse().ok()
}

/// Gets the upper-case command and its plain answer (CRLF); returns what is sent.
type Bend = dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync;

/// What a scripted server does besides answering plainly.
#[derive(Clone)]
struct Script {
    greeting: Vec<u8>,
    /// Capabilities before login (LOGIN is used when AUTH=PLAIN is missing).
    caps: &'static str,
    /// Capabilities after login.
    caps_after: &'static str,
    mails: Vec<Mail>,
    bend: Arc<Bend>,
    /// The AUTHENTICATE continuation request.
    continuation: &'static [u8],
    /// When set, the first body fetch is held until the next one arrives (pipelined), and the
    /// two answers are sent together; records whether that happened.
    pipelined: Option<Arc<Mutex<bool>>>,
    /// Sent after the continuation request of IDLE (which then waits for DONE).
    idle: &'static [u8],
}

impl Default for Script {
    fn default() -> Script {
        Script {
            greeting: b"* OK IMAP4rev1 scripted server ready\r\n".to_vec(),
            caps: "IMAP4rev1 AUTH=PLAIN",
            caps_after: "IMAP4rev1 IDLE",
            mails: mails(3),
            bend: Arc::new(|_, answer| answer),
            continuation: b"+ \r\n",
            pipelined: None,
            idle: b"",
        }
    }
}

impl Script {
    fn bend(mut self, f: impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static) -> Script {
        self.bend = Arc::new(f);
        self
    }

    /// Serves connections (a reconnect would get a second one) until the test ends; `log` gets
    /// every command line.
    fn start(self, log: Arc<Mutex<Vec<String>>>) -> Server {
        Server::start_many(false, 4, move |c: &mut Conn, _| {
            let script = self.clone();
            serve(c, &script, &log);
        })
    }
}

fn serve(c: &mut Conn, s: &Script, log: &Mutex<Vec<String>>) {
    if !c.send(&s.greeting) {
        return;
    }
    let mut logged_in = false;
    let mut held: Option<(String, String)> = None;
    while let Some((tag, cmd)) = held.take().or_else(|| c.command()) {
        log.lock().unwrap().push(cmd.clone());
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("AUTHENTICATE") {
            if !c.send(s.continuation) || c.line().is_none() {
                return;
            }
            logged_in = true;
        }
        logged_in |= upper.starts_with("LOGIN");
        if upper == "IDLE" {
            let idling = [&b"+ idling\r\n"[..], s.idle].concat();
            if !c.send(idling) || c.line().is_none() {
                return;
            }
        }
        let mut out = answer(&tag, &upper, s, logged_in);
        if let (Some(flag), true) = (
            &s.pipelined,
            upper.starts_with("UID FETCH") && upper.contains("BODY"),
        ) {
            if !*flag.lock().unwrap() {
                // Wait for the next command: when it is the next batch, answer both at once.
                c.set_read_timeout(Some(3000));
                let next = c.command();
                c.set_read_timeout(Some(10_000));
                match next {
                    Some((tag2, cmd2)) if cmd2.to_ascii_uppercase().starts_with("UID FETCH") => {
                        *flag.lock().unwrap() = true;
                        log.lock().unwrap().push(cmd2.clone());
                        out.extend(answer(&tag2, &cmd2.to_ascii_uppercase(), s, true));
                    }
                    other => held = other,
                }
            }
        }
        let out = (s.bend)(&upper, out);
        if !c.send_big(&out) || upper == "LOGOUT" {
            return;
        }
    }
}

/// The plain answer to a command (CRLF everywhere).
fn answer(tag: &str, upper: &str, s: &Script, logged_in: bool) -> Vec<u8> {
    let verb = upper.split(' ').next().unwrap_or("");
    let done = |text: &str| format!("{tag} OK {text}\r\n").into_bytes();
    match verb {
        "CAPABILITY" => {
            let caps = if logged_in { s.caps_after } else { s.caps };
            format!("* CAPABILITY {caps}\r\n{tag} OK CAPABILITY done\r\n").into_bytes()
        }
        "LOGIN" => done("LOGIN completed"),
        "AUTHENTICATE" => done("AUTHENTICATE PLAIN authentication successful"),
        "SELECT" | "EXAMINE" => format!(
            "* {} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] ok\r\n* FLAGS (\\Seen \\Deleted)\r\n{tag} OK [READ-WRITE] selected\r\n",
            s.mails.len()
        )
        .into_bytes(),
        "UID" if upper.starts_with("UID FETCH ") => {
            let set = upper.split(' ').nth(2).unwrap_or("");
            let wanted = uid_set(set);
            let mut out = Vec::new();
            for (i, m) in s.mails.iter().enumerate() {
                let listed = (set.ends_with(":*") && wanted.first().is_some_and(|&f| m.uid >= f))
                    || (set == "*" && i + 1 == s.mails.len());
                if !(wanted.contains(&m.uid) || listed) {
                    continue;
                }
                if upper.contains("BODY") {
                    out.extend(fetch_line(i + 1, m, upper.contains("HEADER")));
                } else {
                    out.extend(
                        format!("* {} FETCH (UID {} FLAGS () RFC822.SIZE {})\r\n", i + 1, m.uid, m.raw.len())
                            .into_bytes(),
                    );
                }
            }
            out.extend(done("FETCH completed"));
            out
        }
        // Every search finds nothing (imapmail checks that a UID exists with UID FETCH).
        "UID" if upper.starts_with("UID SEARCH") => {
            format!("* SEARCH\r\n{tag} OK SEARCH completed\r\n").into_bytes()
        }
        "LOGOUT" => format!("* BYE bye\r\n{tag} OK LOGOUT completed\r\n").into_bytes(),
        _ => done("completed"),
    }
}

/// Starts a session; Err((status, message)) when it fails.
fn try_start(port: u16, options: &str) -> Result<*mut EmailSession, (isize, String)> {
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(USER).unwrap(),
        CString::new(PASSWORD).unwrap(),
    );
    let o = CString::new(format!("timeout_ms=10000;{options}")).unwrap();
    let s = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            port,
            u.as_ptr(),
            p.as_ptr(),
            EMAIL_SECURITY_NONE,
            o.as_ptr(),
        )
    };
    if s.is_null() {
        Err((email_last_error(), text(email_last_error_message())))
    } else {
        Ok(s)
    }
}

fn start(port: u16, options: &str) -> *mut EmailSession {
    try_start(port, options).unwrap_or_else(|(rc, m)| panic!("session failed ({rc}): {m}"))
}

fn error_of(s: *mut EmailSession) -> String {
    text(email_session_error_message(s))
}

/// Reads the folder, checks every message came, in order, and closes the session.
fn reads_all_and_closes(s: *mut EmailSession, n: u32) {
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", error_of(s));
    assert_eq!(got, numbered(n));
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn log() -> Arc<Mutex<Vec<String>>> {
    Arc::new(Mutex::new(Vec::new()))
}

// ----- a bare LF ends a line wherever CRLF does -----

#[test]
fn a_greeting_ending_in_a_bare_lf_gives_its_capabilities() {
    let commands = log();
    let server = Script {
        greeting: b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] imap4d ready\n".to_vec(),
        ..Script::default()
    }
    .start(Arc::clone(&commands));
    reads_all_and_closes(start(server.port, ""), 3);
    // The capabilities came from the greeting: none asked for before the login.
    let commands = commands.lock().unwrap();
    let login = commands
        .iter()
        .position(|c| c.to_ascii_uppercase().starts_with("AUTHENTICATE"))
        .expect("AUTHENTICATE");
    assert!(
        !commands[..login]
            .iter()
            .any(|c| c.eq_ignore_ascii_case("CAPABILITY")),
        "{commands:?}"
    );
}

#[test]
fn the_tagged_ok_of_authenticate_plain_may_end_in_a_bare_lf() {
    // GNU Mailutils imap4d 3.15: `a3 OK AUTHENTICATE PLAIN authentication successful` LF.
    let commands = log();
    let server = Script::default()
        .bend(|cmd, answer| {
            if cmd.starts_with("AUTHENTICATE") {
                bare_lf(&answer)
            } else {
                answer
            }
        })
        .start(Arc::clone(&commands));
    reads_all_and_closes(start(server.port, ""), 3);
    assert!(commands
        .lock()
        .unwrap()
        .iter()
        .any(|c| c == "AUTHENTICATE PLAIN"));
    // And with a bare `+` LF as the continuation request.
    let server = Script {
        continuation: b"+\n",
        ..Script::default()
    }
    .bend(|_, answer| bare_lf(&answer))
    .start(log());
    reads_all_and_closes(start(server.port, ""), 3);
}

#[test]
fn the_tagged_ok_of_login_may_end_in_a_bare_lf() {
    let commands = log();
    let server = Script {
        caps: "IMAP4rev1",
        ..Script::default()
    }
    .bend(|cmd, answer| {
        if cmd.starts_with("LOGIN") {
            bare_lf(&answer)
        } else {
            answer
        }
    })
    .start(Arc::clone(&commands));
    reads_all_and_closes(start(server.port, ""), 3);
    assert!(commands
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.starts_with("LOGIN")));
}

#[test]
fn untagged_and_tagged_lines_may_end_in_a_bare_lf() {
    // Every answer after the login, SELECT and the listing included.
    let server = Script::default()
        .bend(|cmd, answer| {
            if cmd.starts_with("AUTHENTICATE") {
                answer
            } else {
                bare_lf(&answer)
            }
        })
        .start(log());
    let s = start(server.port, "");
    assert_eq!(email_count(s, EMAIL_READ_ALL), 3, "{}", error_of(s));
    reads_all_and_closes(s, 3);
}

#[test]
fn a_literal_announcement_and_the_line_after_it_may_end_in_a_bare_lf() {
    let server = Script::default()
        .bend(|cmd, answer| {
            if cmd.contains("BODY") {
                bare_lf(&answer)
            } else {
                answer
            }
        })
        .start(log());
    let s = start(server.port, "");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", error_of(s));
    assert_eq!(got, numbered(3));
    // The message bytes are the literal's, CRLF and all.
    let mut list: *mut EmailList = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_ALL, &mut list) },
        EMAIL_OK
    );
    let m = email_list_get(list, 0);
    let mut len = 0usize;
    let source = unsafe { email_message_source(m, &mut len) };
    let bytes = unsafe { std::slice::from_raw_parts(source, len) };
    assert_eq!(bytes, &mail(1, "Message 1").raw[..]);
    email_list_free(list);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn a_pipelined_read_may_end_its_lines_in_a_bare_lf() {
    let pipelined = Arc::new(Mutex::new(false));
    let server = Script {
        mails: mails(40),
        pipelined: Some(Arc::clone(&pipelined)),
        ..Script::default()
    }
    .bend(|_, answer| bare_lf(&answer))
    .start(log());
    reads_all_and_closes(start(server.port, ""), 40);
    assert!(*pipelined.lock().unwrap(), "the read was not pipelined");
}

// ----- an untagged response that does not parse but is framed is skipped -----

/// Inserts `extra` before the tagged completion that ends `answer`.
fn before_completion(answer: Vec<u8>, extra: &[u8]) -> Vec<u8> {
    let body = &answer[..answer.len() - 2];
    let cut = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    [&answer[..cut], extra, &answer[cut..]].concat()
}

/// Inserts `extra` after the first response of `answer` that ends with `)` CRLF (a FETCH).
fn after_first_fetch(answer: Vec<u8>, extra: &[u8]) -> Vec<u8> {
    match answer.windows(3).position(|w| w == b")\r\n") {
        Some(p) => [&answer[..p + 3], extra, &answer[p + 3..]].concat(),
        None => answer,
    }
}

#[test]
fn a_misspelt_expunge_response_does_not_end_the_session() {
    // GNU Mailutils imap4d 3.15 answers EXPUNGE with `* 2 EXPUNGED`; it has no UIDPLUS, so
    // imapmail expunges with UID SEARCH DELETED, EXPUNGE.
    let commands = log();
    let server = Script::default()
        .bend(|cmd, answer| {
            if cmd == "EXPUNGE" {
                before_completion(answer, b"* 2 EXPUNGED\r\n")
            } else {
                answer
            }
        })
        .start(Arc::clone(&commands));
    let s = start(server.port, "");
    assert_eq!(email_delete_message(s, 2), EMAIL_OK, "{}", error_of(s));
    // The misspelt response is not counted: nothing the client can trust was reported gone.
    assert_eq!(email_expunge(s), EMAIL_OK, "{}", error_of(s));
    assert!(commands.lock().unwrap().iter().any(|c| c == "EXPUNGE"));
    // Later calls work on the same connection.
    assert_eq!(email_count(s, EMAIL_READ_ALL), 3, "{}", error_of(s));
    reads_all_and_closes(s, 3);
}

#[test]
fn unknown_untagged_responses_with_and_without_literals_are_skipped() {
    let server = Script::default()
        .bend(|cmd, answer| {
            if cmd.starts_with("SELECT") || cmd.starts_with("UID FETCH") {
                let extra: &[u8] = b"* FOO {5}\r\nhello\r\n* 3 XYZZY (1 {2}\r\n() \"x\")\r\n\
                                     * NOTIFY bar\r\n* 2 EXPUNGED\n";
                before_completion(answer, extra)
            } else {
                answer
            }
        })
        .start(log());
    reads_all_and_closes(start(server.port, ""), 3);
}

#[test]
fn a_misspelt_response_between_the_fetch_answers_of_a_pipelined_read() {
    let pipelined = Arc::new(Mutex::new(false));
    let server = Script {
        mails: mails(40),
        pipelined: Some(Arc::clone(&pipelined)),
        ..Script::default()
    }
    .bend(|cmd, answer| {
        if cmd.contains("BODY") {
            after_first_fetch(answer, b"* 1 EXPUNGED\r\n* FOO {3}\r\n)))\r\n")
        } else {
            answer
        }
    })
    .start(log());
    reads_all_and_closes(start(server.port, ""), 40);
    assert!(*pipelined.lock().unwrap(), "the read was not pipelined");
}

extern "C" fn collect_trace(_direction: i32, line: *const u8, len: usize, user_data: *mut c_void) {
    let lines = unsafe { &*(user_data as *const Mutex<Vec<String>>) };
    let bytes = unsafe { std::slice::from_raw_parts(line, len) };
    lines
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(bytes).into_owned());
}

#[test]
fn a_command_whose_own_answer_does_not_parse_fails_and_the_session_goes_on() {
    // The first body fetch gets a FETCH response that does not parse (framed: its literal is
    // whole); later ones are answered properly.
    let broken = Arc::new(Mutex::new(false));
    let b = Arc::clone(&broken);
    let server = Script::default()
        .bend(move |cmd, answer| {
            if cmd.contains("BODY") && !std::mem::replace(&mut *b.lock().unwrap(), true) {
                let text = String::from_utf8_lossy(&answer).replacen(")\r\n", ") GARBAGE(\r\n", 1);
                text.into_bytes()
            } else {
                answer
            }
        })
        .start(log());
    let s = start(server.port, "pipelining=0");
    let trace: Box<Mutex<Vec<String>>> = Box::default();
    let user_data = &*trace as *const Mutex<Vec<String>> as *mut c_void;
    assert_eq!(
        email_set_trace_callback(s, Some(collect_trace), user_data),
        EMAIL_OK
    );
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_ERR_PROTOCOL, "{got:?}");
    assert!(error_of(s).contains("unparseable"), "{}", error_of(s));
    assert!(*broken.lock().unwrap());
    // The connection is still in step: the next calls work on it.
    assert_eq!(email_count(s, EMAIL_READ_ALL), 3, "{}", error_of(s));
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", error_of(s));
    assert_eq!(got, numbered(3));
    assert_eq!(email_set_trace_callback(s, None, ptr::null_mut()), EMAIL_OK);
    assert_eq!(email_close_session(s), EMAIL_OK);
    let trace = trace.lock().unwrap();
    assert!(
        trace
            .iter()
            .any(|l| l.starts_with("[skipped: a response that does not parse, \"* 1 FETCH")),
        "{trace:#?}"
    );
}

/// `email_folder_status`: Ok((messages, unseen, uidnext, uidvalidity)) or Err(status).
fn folder_status(s: *mut EmailSession, name: &str) -> Result<(u32, u32, u32, u32), isize> {
    let name = CString::new(name).unwrap();
    let mut v = [0u32; 4];
    let [m, u, n, uv] = &mut v;
    let rc = unsafe { email_folder_status(s, name.as_ptr(), m, u, n, uv) };
    if rc == EMAIL_OK {
        Ok((v[0], v[1], v[2], v[3]))
    } else {
        Err(rc)
    }
}

#[test]
fn a_status_answer_with_an_unquoted_folder_name_gives_its_counts() {
    // GNU Mailutils imap4d 3.15 writes the folder name of a STATUS answer unquoted, spaces and
    // parentheses included: the line does not parse, but its last parenthesised group is the
    // attributes of the one folder asked about. A garbled attribute list still fails.
    let server = Script::default()
        .bend(|cmd, answer| {
            let extra: &[u8] = if cmd.starts_with("STATUS \"OLD (RENAMED)\"") {
                b"* STATUS Old (renamed) (MESSAGES 4 UNSEEN 2 UIDNEXT 9 UIDVALIDITY 7)\r\n"
            } else if cmd.starts_with("STATUS \"GARBLED (X)\"") {
                b"* STATUS Garbled (x) (MESSAGES four UNSEEN 2 UIDNEXT 9 UIDVALIDITY 7)\r\n"
            } else {
                return answer;
            };
            before_completion(answer, extra)
        })
        .start(log());
    let s = start(server.port, "");
    let trace: Box<Mutex<Vec<String>>> = Box::default();
    let user_data = &*trace as *const Mutex<Vec<String>> as *mut c_void;
    assert_eq!(
        email_set_trace_callback(s, Some(collect_trace), user_data),
        EMAIL_OK
    );
    assert_eq!(
        folder_status(s, "Old (renamed)"),
        Ok((4, 2, 9, 7)),
        "{}",
        error_of(s)
    );
    assert_eq!(folder_status(s, "Garbled (x)"), Err(EMAIL_ERR_PROTOCOL));
    assert!(error_of(s).contains("unparseable"), "{}", error_of(s));
    assert!(error_of(s).contains("MESSAGES four"), "{}", error_of(s));
    // The session goes on, on the same connection.
    assert_eq!(
        folder_status(s, "Old (renamed)"),
        Ok((4, 2, 9, 7)),
        "{}",
        error_of(s)
    );
    assert_eq!(email_count(s, EMAIL_READ_ALL), 3, "{}", error_of(s));
    assert_eq!(email_set_trace_callback(s, None, ptr::null_mut()), EMAIL_OK);
    reads_all_and_closes(s, 3);
    let trace = trace.lock().unwrap();
    assert!(
        trace.iter().any(|l| l.starts_with(
            "[read as the STATUS asked for: a response whose folder name does not parse, \"* STATUS Old (renamed)"
        )),
        "{trace:#?}"
    );
    assert!(
        trace
            .iter()
            .any(|l| l
                .starts_with("[skipped: a response that does not parse, \"* STATUS Garbled (x)")),
        "{trace:#?}"
    );
}

#[test]
fn a_misspelt_response_during_idle_is_skipped() {
    let server = Script {
        idle: b"* 2 EXPUNGED\r\n* FOO {3}\r\nabc\r\n* 4 EXISTS\r\n",
        ..Script::default()
    }
    .start(log());
    let s = start(server.port, "");
    let mut exists = 0u32;
    assert_eq!(
        unsafe { email_idle(s, 10_000, &mut exists) },
        EMAIL_OK,
        "{}",
        error_of(s)
    );
    // The EXISTS after the skipped responses was seen (the server still lists 3 messages when
    // asked afterwards, which is what `exists` then says). The session goes on.
    assert_eq!(exists, 3);
    reads_all_and_closes(s, 3);
}

// ----- what still ends a session -----

/// Runs a session whose first body fetch is answered with `bad` (then the server waits);
/// returns the status of the read and of the next call.
fn after_a_bad_answer(bad: &'static [u8], close: bool) -> (isize, isize, String) {
    let server = Server::start(false, move |c: &mut Conn| {
        let s = Script::default();
        if !c.send(&s.greeting) {
            return;
        }
        while let Some((tag, cmd)) = c.command() {
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("AUTHENTICATE") && (!c.send(b"+ \r\n") || c.line().is_none()) {
                return;
            }
            if upper.starts_with("UID FETCH") && upper.contains("BODY") {
                c.send_big(bad);
                if close {
                    return;
                }
                c.drain(3000);
                return;
            }
            if !c.send(answer(&tag, &upper, &s, true)) {
                return;
            }
        }
    });
    let s = start(server.port, "pipelining=0;reconnect=0");
    let (rc, _) = read_subjects(s, EMAIL_READ_ALL);
    let message = error_of(s);
    let next = email_count(s, EMAIL_READ_ALL);
    let next = if next < 0 { next } else { EMAIL_OK };
    email_close_session(s);
    (rc, next, message)
}

#[test]
fn a_broken_frame_still_ends_the_session() {
    // A literal shorter than announced: the connection closes inside it.
    let (rc, next, m) = after_a_bad_answer(b"* 1 FETCH (UID 1 BODY[] {500}\r\nshort", true);
    assert_eq!(rc, EMAIL_ERR_DISCONNECTED, "{m}");
    assert_eq!(next, EMAIL_ERR_DISCONNECTED);
    // The same inside a response that does not parse.
    let (rc, next, m) = after_a_bad_answer(b"* FOO {500}\r\nshort", true);
    assert_eq!(rc, EMAIL_ERR_DISCONNECTED, "{m}");
    assert_eq!(next, EMAIL_ERR_DISCONNECTED);
    // Nesting over the limit, in an unknown response.
    let mut deep = b"* FOO ".to_vec();
    deep.extend_from_slice(&[b'('; 100]);
    deep.extend_from_slice(b"\r\n");
    let (rc, next, m) = after_a_bad_answer(Box::leak(deep.into_boxed_slice()), false);
    assert_eq!(rc, EMAIL_ERR_PROTOCOL, "{m}");
    assert!(m.contains("nests"), "{m}");
    assert_eq!(next, EMAIL_ERR_DISCONNECTED);
    // A line over the limit (1 MiB), in an unknown response.
    let mut long = b"* FOO ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 1 << 20));
    long.extend_from_slice(b"\r\n");
    let (rc, next, m) = after_a_bad_answer(Box::leak(long.into_boxed_slice()), false);
    assert_eq!(rc, EMAIL_ERR_PROTOCOL, "{m}");
    assert!(m.contains("longer than"), "{m}");
    assert_eq!(next, EMAIL_ERR_DISCONNECTED);
}

#[test]
fn a_line_that_is_neither_tagged_nor_untagged_still_ends_the_session() {
    // Not IMAP at all, and a tagged completion that does not parse: the command cannot be
    // told complete, so nothing after it can be trusted.
    for bad in [&b"\x01\x02garbage (((\r\n"[..], b"a5 DONE fine\r\n"] {
        let (rc, next, m) = after_a_bad_answer(bad, false);
        assert_eq!(rc, EMAIL_ERR_PROTOCOL, "{m}");
        assert_eq!(next, EMAIL_ERR_DISCONNECTED, "{m}");
    }
}

//! Integration tests of the core contract, through the exported C functions, against a real
//! throwaway Dovecot (tests/server/dovecot.sh) and small scripted servers for what Dovecot
//! will not do.

mod common;

use std::ffi::{c_char, CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imapmail::ffi::error::*;
use imapmail::ffi::list::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::*;

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    }
}

fn last_message() -> String {
    text(email_last_error_message()).unwrap()
}

/// Starts a session; Err((status, message)) on failure.
fn start(
    port: u16,
    user: &str,
    password: &str,
    flags: u32,
    options: &str,
) -> Result<*mut EmailSession, (isize, String)> {
    let (h, u, p, o) = (cstr("127.0.0.1"), cstr(user), cstr(password), cstr(options));
    let s = unsafe {
        email_start_session_ex(h.as_ptr(), port, u.as_ptr(), p.as_ptr(), flags, o.as_ptr())
    };
    if s.is_null() {
        Err((email_last_error(), last_message()))
    } else {
        assert_eq!(email_last_error(), EMAIL_OK);
        Ok(s)
    }
}

fn tls_options() -> String {
    format!(
        "ca_file={};timeout_ms=20000",
        common::dovecot().ca_file.display()
    )
}

/// A session over implicit TLS for a user.
fn open(user: &common::User) -> *mut EmailSession {
    let d = common::dovecot();
    start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        &tls_options(),
    )
    .expect("session")
}

/// Reads the whole folder with read_first/read_next: (uid, subject, flags) per message.
fn read_all(s: *mut EmailSession, flags: u32) -> Vec<(u32, String, u32)> {
    let mut out = Vec::new();
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(s, flags, &mut m) };
    while rc == EMAIL_OK {
        assert!(!m.is_null());
        out.push((
            email_message_uid(m),
            text(email_message_subject(m)).unwrap(),
            email_message_flags(m),
        ));
        email_message_free(m);
        rc = unsafe { email_read_next(s, &mut m) };
    }
    assert_eq!(
        rc,
        EMAIL_OUT,
        "iteration ended with {rc}: {}",
        last_message()
    );
    assert!(m.is_null());
    out
}

fn user_with_generated(n: usize, seen: impl Fn(usize) -> bool) -> common::User {
    let d = common::dovecot();
    let user = d.new_user("gen");
    let raws: Vec<Vec<u8>> = (1..=n).map(common::generated_message).collect();
    // `seen` takes the 1-based message number; add_messages gives 0-based indexes.
    d.add_messages(&user, "INBOX", &raws, &|i| seen(i + 1));
    user
}

#[test]
fn each_security_mode_logs_in_and_reads() {
    let d = common::dovecot();
    let user = user_with_generated(3, |_| false);
    let cases = [
        ("tls", d.imaps_port, EMAIL_SECURITY_TLS),
        ("starttls", d.imap_port, EMAIL_SECURITY_STARTTLS),
        ("none", d.imap_port, EMAIL_SECURITY_NONE),
    ];
    for (name, port, flags) in cases {
        let s = start(port, &user.name, &user.password, flags, &tls_options())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let got = read_all(s, EMAIL_READ_ALL);
        assert_eq!(got.len(), 3, "{name}");
        assert_eq!(got[0].1, "Message 0001", "{name}");
        assert_eq!(email_close_session(s), EMAIL_OK, "{name}");
    }
}

#[test]
fn wrong_password_is_an_auth_error_without_the_password() {
    let d = common::dovecot();
    let user = user_with_generated(1, |_| false);
    let wrong = "Wr0ng-Secret-\"x\\y";
    let (code, msg) = start(
        d.imaps_port,
        &user.name,
        wrong,
        EMAIL_SECURITY_TLS,
        &tls_options(),
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_AUTH, "{msg}");
    assert!(msg.contains("server refused"), "{msg}");
    assert!(!msg.contains("Wr0ng-Secret"), "password leaked: {msg}");
    assert!(!msg.contains(&user.password), "password leaked: {msg}");
}

#[test]
fn untrusted_certificate_is_rejected_unless_trusted_or_accepted() {
    let d = common::dovecot();
    let user = user_with_generated(1, |_| false);
    let (code, msg) = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        "timeout_ms=20000",
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_TLS, "{msg}");
    assert!(
        msg.contains("TLS: certificate for 127.0.0.1 is not trusted"),
        "{msg}"
    );
    let (code, msg) = start(
        d.imap_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_STARTTLS,
        "",
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_TLS, "{msg}");

    let s = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        &tls_options(),
    )
    .unwrap();
    assert_eq!(email_close_session(s), EMAIL_OK);
    let s = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS | EMAIL_ACCEPT_INVALID_CERTS,
        "",
    )
    .unwrap();
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn reads_200_messages_in_uid_order() {
    let user = user_with_generated(200, |i| i % 3 == 0);
    let s = open(&user);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(got.len(), 200);
    for (i, (uid, subject, flags)) in got.iter().enumerate() {
        assert_eq!(*subject, format!("Message {:04}", i + 1));
        if i > 0 {
            assert!(*uid > got[i - 1].0, "UIDs not ascending at {i}");
        }
        assert_eq!(
            flags & EMAIL_FLAG_SEEN != 0,
            (i + 1) % 3 == 0,
            "seen flag of message {}",
            i + 1
        );
    }
    // Restarting the iteration starts over.
    let again = read_all(s, EMAIL_READ_ALL);
    assert_eq!(again, got);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn a_large_folder_is_read_whole() {
    // 4,321 messages: the listing (one UID FETCH) is read in parts, the first batches are
    // asked for while it comes, and the reads ask several batches ahead.
    let n = 4321;
    let user = user_with_generated(n, |i| i % 7 == 0);
    let s = open(&user);
    let got = read_all(s, EMAIL_READ_HEADERS);
    assert_eq!(got.len(), n);
    for (i, (uid, subject, _)) in got.iter().enumerate() {
        assert_eq!(*subject, format!("Message {:04}", i + 1));
        if i > 0 {
            assert!(*uid > got[i - 1].0, "UIDs not ascending at {i}");
        }
    }
    // Whole messages: the first batches are asked for while the listing is read, and Dovecot
    // sends their answers among the listing's (it holds completions back).
    let full = read_all(s, EMAIL_READ_ALL);
    assert_eq!(full, got);
    let unread = read_all(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS);
    assert_eq!(unread.len(), n - n / 7);
    assert!(unread.iter().all(|(_, _, f)| f & EMAIL_FLAG_SEEN == 0));
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn unread_only_and_headers_only() {
    let user = user_with_generated(30, |i| i % 2 == 0);
    let s = open(&user);
    let unread = read_all(s, EMAIL_READ_UNREAD);
    assert_eq!(unread.len(), 15);
    assert!(unread.iter().all(|(_, _, f)| f & EMAIL_FLAG_SEEN == 0));

    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_HEADERS, &mut m) },
        EMAIL_OK
    );
    assert_eq!(text(email_message_subject(m)).unwrap(), "Message 0001");
    assert_eq!(text(email_message_text(m)).unwrap(), "");
    assert!(email_message_size(m) > 100);
    let mut len = 0usize;
    let src = unsafe { email_message_source(m, &mut len) };
    assert!(!src.is_null());
    let header = unsafe { std::slice::from_raw_parts(src, len) };
    assert!(
        !String::from_utf8_lossy(header).contains("gen-body"),
        "headers only fetched the body"
    );
    assert!((len as u64) < email_message_size(m));
    email_message_free(m);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn peek_leaves_seen_and_mark_seen_sets_it() {
    let user = user_with_generated(5, |_| false);
    let s = open(&user);
    let first = read_all(s, EMAIL_READ_ALL);
    assert!(first.iter().all(|(_, _, f)| f & EMAIL_FLAG_SEEN == 0));
    let second = read_all(s, EMAIL_READ_ALL);
    assert!(
        second.iter().all(|(_, _, f)| f & EMAIL_FLAG_SEEN == 0),
        "peek changed \\Seen"
    );
    assert_eq!(read_all(s, EMAIL_READ_UNREAD).len(), 5);

    // Mark the first two as seen while reading.
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_MARK_SEEN, &mut m) },
        EMAIL_OK
    );
    assert_eq!(email_message_is_read(m), 1);
    email_message_free(m);
    assert_eq!(unsafe { email_read_next(s, &mut m) }, EMAIL_OK);
    email_message_free(m);
    assert_eq!(email_close_session(s), EMAIL_OK);

    // A new session sees the change on the server.
    let s = open(&user);
    let after = read_all(s, EMAIL_READ_ALL);
    let seen: Vec<bool> = after
        .iter()
        .map(|(_, _, f)| f & EMAIL_FLAG_SEEN != 0)
        .collect();
    assert_eq!(seen, vec![true, true, false, false, false]);
    assert_eq!(read_all(s, EMAIL_READ_UNREAD).len(), 3);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn get_all_returns_every_message_and_does_not_disturb_iteration() {
    let user = user_with_generated(12, |i| i <= 4);
    let s = open(&user);
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OK
    );
    email_message_free(m);

    let mut list: *mut EmailList = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_ALL, &mut list) },
        EMAIL_OK
    );
    assert_eq!(email_list_count(list), 12);
    for i in 0..12 {
        let msg = email_list_get(list, i);
        assert_eq!(
            text(email_message_subject(msg)).unwrap(),
            format!("Message {:04}", i + 1)
        );
    }
    assert!(email_list_get(list, 12).is_null());
    // A borrowed message cannot be freed through email_message_free.
    email_message_free(email_list_get(list, 0) as *mut EmailMessage);
    assert_eq!(
        text(email_message_subject(email_list_get(list, 0))).unwrap(),
        "Message 0001"
    );
    let keep = email_list_get(list, 3);
    email_list_free(list);
    email_list_free(list);
    assert!(
        email_message_subject(keep).is_null(),
        "message of a freed list still answers"
    );
    assert_eq!(email_last_error(), EMAIL_ERR_HANDLE);

    let mut unread: *mut EmailList = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_UNREAD, &mut unread) },
        EMAIL_OK
    );
    assert_eq!(email_list_count(unread), 8);
    email_list_free(unread);

    // The iteration continues where it was.
    assert_eq!(unsafe { email_read_next(s, &mut m) }, EMAIL_OK);
    assert_eq!(text(email_message_subject(m)).unwrap(), "Message 0002");
    email_message_free(m);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn messages_outlive_their_session() {
    let user = user_with_generated(2, |_| false);
    let s = open(&user);
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OK
    );
    assert_eq!(email_close_session(s), EMAIL_OK);
    assert_eq!(text(email_message_subject(m)).unwrap(), "Message 0001");
    assert!(text(email_message_text(m))
        .unwrap()
        .contains("gen-body-0001"));
    email_message_free(m);
    email_message_free(m);
    assert!(email_message_subject(m).is_null());
}

#[test]
fn empty_folder_gives_out() {
    let d = common::dovecot();
    let user = d.new_user("empty");
    let s = open(&user);
    // Not NULL on entry, so the test sees that OUT sets it to NULL.
    let mut m: *mut EmailMessage = std::ptr::NonNull::dangling().as_ptr();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OUT
    );
    assert!(m.is_null());
    let mut list: *mut EmailList = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_UNREAD, &mut list) },
        EMAIL_OK
    );
    assert_eq!(email_list_count(list), 0);
    email_list_free(list);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn unknown_folder_is_not_found() {
    let d = common::dovecot();
    let user = d.new_user("nofolder");
    let (code, msg) = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        &format!("{};folder=Nope", tls_options()),
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_NOT_FOUND, "{msg}");
    assert!(msg.contains("Nope"), "{msg}");
    // Dovecot names a missing non-ASCII folder in raw UTF-8, outside the grammar: still NOT_FOUND.
    let (code, msg) = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        &format!("{};folder=Année", tls_options()),
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_NOT_FOUND, "{msg}");
}

#[test]
fn bad_arguments_and_options_are_rejected_before_connecting() {
    let cases: [(&str, u32, &str); 6] = [
        ("unknown option", EMAIL_SECURITY_TLS, "colour=blue"),
        ("bad timeout", EMAIL_SECURITY_TLS, "timeout_ms=soon"),
        ("bad security", 7, ""),
        ("unknown flag", 0x1000, ""),
        ("CR in folder", EMAIL_SECURITY_TLS, "folder=IN\rBOX"),
        ("missing value", EMAIL_SECURITY_TLS, "timeout_ms"),
    ];
    for (name, flags, options) in cases {
        // Port 9 on loopback: nothing listens, so reaching the network would give CONNECT.
        let (code, msg) = start(9, "u", "p", flags, options).unwrap_err();
        assert_eq!(code, EMAIL_ERR_ARGUMENT, "{name}: {msg}");
    }
    let (code, msg) = start(9, "u", "p", EMAIL_SECURITY_TLS, "colour=blue").unwrap_err();
    assert_eq!(code, EMAIL_ERR_ARGUMENT);
    assert!(msg.contains("colour"), "{msg}");
    let (code, _) = start(9, "u\r\nA1 LOGOUT", "p", EMAIL_SECURITY_NONE, "").unwrap_err();
    assert_eq!(code, EMAIL_ERR_ARGUMENT);
    let (code, _) = start(9, "u", "p", EMAIL_SECURITY_NONE, "timeout_ms=2000").unwrap_err();
    assert_eq!(code, EMAIL_ERR_CONNECT);
}

#[test]
fn null_pointers_and_dead_handles_never_crash() {
    let u = cstr("u");
    unsafe {
        assert!(email_start_session(ptr::null(), 0, u.as_ptr(), u.as_ptr(), 0).is_null());
        assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
        assert!(email_start_session(u.as_ptr(), 0, ptr::null(), u.as_ptr(), 0).is_null());
        assert!(email_start_session(u.as_ptr(), 0, u.as_ptr(), ptr::null(), 0).is_null());
        assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
        assert!(last_message().contains("password is NULL"));
    }
    assert_eq!(email_close_session(ptr::null_mut()), EMAIL_ERR_HANDLE);
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut l: *mut EmailList = ptr::null_mut();
    unsafe {
        assert_eq!(
            email_read_first(ptr::null_mut(), 0, &mut m),
            EMAIL_ERR_HANDLE
        );
        assert_eq!(email_read_next(ptr::null_mut(), &mut m), EMAIL_ERR_HANDLE);
        assert_eq!(email_get_all(ptr::null_mut(), 0, &mut l), EMAIL_ERR_HANDLE);
    }
    // A pointer that was never a handle.
    let mut local = 0u64;
    let bogus = &mut local as *mut u64 as *mut EmailSession;
    assert_eq!(email_close_session(bogus), EMAIL_ERR_HANDLE);
    assert_eq!(
        unsafe { email_read_first(bogus, 0, &mut m) },
        EMAIL_ERR_HANDLE
    );
    assert_eq!(email_session_error(bogus), EMAIL_ERR_HANDLE);
    assert!(email_message_subject(bogus as *const EmailMessage).is_null());
    assert_eq!(email_last_error(), EMAIL_ERR_HANDLE);
    assert_eq!(email_message_uid(ptr::null()), 0);
    assert_eq!(email_list_count(ptr::null()), 0);
    assert!(email_list_get(ptr::null(), 0).is_null());
    email_list_free(ptr::null_mut());
    email_message_free(ptr::null_mut());
    let mut len = 7usize;
    assert!(unsafe { email_message_source(ptr::null(), &mut len) }.is_null());
    assert_eq!(len, 0);
    assert!(unsafe { email_attachment_data(ptr::null(), 0, &mut len) }.is_null());
    assert_eq!(
        unsafe { email_attachment_save(ptr::null(), 0, u.as_ptr()) },
        EMAIL_ERR_HANDLE
    );
    assert!(unsafe { email_message_header(ptr::null(), u.as_ptr()) }.is_null());
    assert!(!email_version().is_null());
    assert_eq!(
        text(email_status_name(EMAIL_ERR_TLS)).unwrap(),
        "EMAIL_ERR_TLS"
    );
}

#[test]
fn closed_session_and_null_out_pointers() {
    let user = user_with_generated(2, |_| false);
    let s = open(&user);
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, ptr::null_mut()) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_ALL, ptr::null_mut()) },
        EMAIL_ERR_ARGUMENT
    );
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, 0x80, &mut m) },
        EMAIL_ERR_ARGUMENT
    );
    assert!(last_message().contains("unknown read flags"));
    assert_eq!(email_close_session(s), EMAIL_OK);
    assert_eq!(email_close_session(s), EMAIL_ERR_HANDLE);
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_ERR_HANDLE
    );
    assert_eq!(unsafe { email_read_next(s, &mut m) }, EMAIL_ERR_HANDLE);
    assert_eq!(email_session_error(s), EMAIL_ERR_HANDLE);
}

/// A one-connection scripted server: sends `greeting`, then answers each line the client sends
/// with `answer(tag, command)` (None: stay silent). Returns the port and everything received.
fn scripted_server(
    greeting: &'static str,
    answer: impl Fn(&str, &str) -> Option<String> + Send + 'static,
) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&received);
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
        if !greeting.is_empty() && stream.write_all(greeting.as_bytes()).is_err() {
            return;
        }
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        loop {
            let mut bytes = Vec::new();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            log.lock().unwrap().extend_from_slice(&bytes);
            let line = String::from_utf8_lossy(&bytes).to_string();
            let (tag, command) = line
                .trim_end()
                .split_once(' ')
                .unwrap_or((line.trim_end(), ""));
            if let Some(reply) = answer(tag, command) {
                if stream.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        }
    });
    (port, received)
}

#[test]
fn starttls_mode_fails_closed_without_starttls() {
    let (port, received) = scripted_server("* OK IMAP4rev1 ready\r\n", |tag, cmd| {
        let cmd = cmd.to_ascii_uppercase();
        if cmd == "CAPABILITY" {
            Some(format!(
                "* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN\r\n{tag} OK done\r\n"
            ))
        } else {
            Some(format!("{tag} OK whatever\r\n"))
        }
    });
    let (code, msg) = start(
        port,
        "victim",
        "s3cret-pw",
        EMAIL_SECURITY_STARTTLS,
        "timeout_ms=5000",
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_TLS, "{msg}");
    assert!(msg.contains("does not offer STARTTLS"), "{msg}");
    std::thread::sleep(Duration::from_millis(100));
    let sent = String::from_utf8_lossy(&received.lock().unwrap()).to_string();
    assert!(
        !sent.contains("s3cret-pw") && !sent.contains("victim"),
        "credentials sent in plaintext: {sent:?}"
    );
    assert!(
        !sent.to_ascii_uppercase().contains("LOGIN")
            && !sent.to_ascii_uppercase().contains("AUTHENTICATE"),
        "{sent:?}"
    );
}

#[test]
fn starttls_mode_refuses_preauth() {
    let (port, received) = scripted_server("* PREAUTH welcome\r\n", |tag, _| {
        Some(format!("{tag} OK\r\n"))
    });
    let (code, msg) = start(
        port,
        "victim",
        "s3cret-pw",
        EMAIL_SECURITY_STARTTLS,
        "timeout_ms=5000",
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_TLS, "{msg}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        received.lock().unwrap().is_empty(),
        "sent something after PREAUTH"
    );
}

#[test]
fn silent_server_times_out_within_the_timeout() {
    for (flags, name) in [
        (EMAIL_SECURITY_NONE, "plain"),
        (EMAIL_SECURITY_TLS, "tls"),
        (EMAIL_SECURITY_STARTTLS, "starttls"),
    ] {
        let (port, _) = scripted_server("", |_, _| None);
        let t = Instant::now();
        let (code, msg) = start(port, "u", "p", flags, "timeout_ms=1500").unwrap_err();
        let took = t.elapsed();
        assert_eq!(code, EMAIL_ERR_TIMEOUT, "{name}: {msg}");
        assert!(
            took < Duration::from_millis(1500 + 1000),
            "{name}: took {took:?}"
        );
        assert!(
            took >= Duration::from_millis(1400),
            "{name}: gave up early after {took:?}"
        );
    }
}

#[test]
fn login_disabled_without_auth_plain_is_refused_locally() {
    let (port, received) = scripted_server("* OK ready\r\n", |tag, cmd| {
        if cmd.eq_ignore_ascii_case("CAPABILITY") {
            Some(format!(
                "* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n{tag} OK\r\n"
            ))
        } else {
            Some(format!("{tag} OK\r\n"))
        }
    });
    let (code, msg) =
        start(port, "u", "pw-123", EMAIL_SECURITY_NONE, "timeout_ms=5000").unwrap_err();
    assert_eq!(code, EMAIL_ERR_AUTH, "{msg}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(!String::from_utf8_lossy(&received.lock().unwrap()).contains("pw-123"));
}

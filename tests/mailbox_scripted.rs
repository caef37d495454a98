//! The exact bytes imapmail sends for folder names, search values, flags, moves and IDLE,
//! checked against a scripted server (a TcpListener thread answering from a script and
//! recording everything it receives), for what a real server would accept either way or
//! cannot be made to do (no MOVE, no UIDPLUS, Exchange-style COPYUID answers).

use std::ffi::{c_char, CStr, CString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::search::*;
use imapmail::ffi::session::mailbox::*;
use imapmail::ffi::session::*;
use imapmail::ffi::strings::*;

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

#[track_caller]
fn ok(rc: isize) {
    assert_eq!(
        rc,
        EMAIL_OK,
        "{}: {}",
        text(email_status_name(rc)).unwrap(),
        last_message()
    );
}

type Handler = dyn Fn(&str, &str) -> Option<String> + Send + Sync;

/// A scripted IMAP server for one connection. Each command (with its literals, synchronizing
/// or not) is recorded without its tag, and answered by the handler or, when it returns None,
/// by a default answer (CAPABILITY with `caps`, LOGIN, SELECT with 3 messages, anything else
/// OK). `@@sleep N@@` in an answer pauses N ms there.
struct Server {
    port: u16,
    commands: Arc<Mutex<Vec<String>>>,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    fn start(
        caps: &'static str,
        handler: impl Fn(&str, &str) -> Option<String> + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (cmds, recv) = (Arc::clone(&commands), Arc::clone(&received));
        let handler: Box<Handler> = Box::new(handler);
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if stream.write_all(b"* OK scripted server ready\r\n").is_err() {
                return;
            }
            loop {
                let mut raw = Vec::new();
                // A command: lines joined by literals.
                loop {
                    let mut line = Vec::new();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    raw.extend_from_slice(&line);
                    let Some((len, sync)) = literal_at_end(&line) else {
                        break;
                    };
                    if sync && stream.write_all(b"+ go ahead\r\n").is_err() {
                        return;
                    }
                    let mut data = vec![0u8; len];
                    if reader.read_exact(&mut data).is_err() {
                        return;
                    }
                    raw.extend_from_slice(&data);
                }
                recv.lock().unwrap().extend_from_slice(&raw);
                let line = String::from_utf8_lossy(&raw).to_string();
                let line = line.strip_suffix("\r\n").unwrap_or(&line).to_string();
                let (tag, command) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                cmds.lock().unwrap().push(command.to_string());
                let reply =
                    handler(tag, command).unwrap_or_else(|| default_answer(caps, tag, command));
                for (i, part) in reply.split("@@").enumerate() {
                    if i % 2 == 1 {
                        let ms: u64 = part.trim_start_matches("sleep ").parse().unwrap();
                        std::thread::sleep(Duration::from_millis(ms));
                    } else if stream.write_all(part.as_bytes()).is_err() {
                        return;
                    }
                }
            }
        });
        Server {
            port,
            commands,
            received,
        }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    /// The commands received after the first `from` ones.
    fn since(&self, from: usize) -> Vec<String> {
        self.commands()[from..].to_vec()
    }

    fn session(&self) -> *mut EmailSession {
        let (h, u, p, o) = (
            cstr("127.0.0.1"),
            cstr("u"),
            cstr("p"),
            cstr("timeout_ms=5000"),
        );
        let s = unsafe {
            email_start_session_ex(
                h.as_ptr(),
                self.port,
                u.as_ptr(),
                p.as_ptr(),
                EMAIL_SECURITY_NONE,
                o.as_ptr(),
            )
        };
        assert!(!s.is_null(), "{}", last_message());
        s
    }
}

/// `{N}` or `{N+}` at the end of a line: (N, synchronizing).
fn literal_at_end(line: &[u8]) -> Option<(usize, bool)> {
    let text = std::str::from_utf8(line).ok()?;
    let head = text.strip_suffix("}\r\n")?;
    let open = head.rfind('{')?;
    let inner = &head[open + 1..];
    let (digits, sync) = match inner.strip_suffix('+') {
        Some(d) => (d, false),
        None => (inner, true),
    };
    Some((digits.parse().ok()?, sync))
}

fn default_answer(caps: &str, tag: &str, command: &str) -> String {
    let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
    match verb.as_str() {
        "CAPABILITY" => format!("* CAPABILITY {caps}\r\n{tag} OK done\r\n"),
        "SELECT" | "EXAMINE" => {
            format!("* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 9] ok\r\n* OK [UIDNEXT 10] ok\r\n{tag} OK [READ-WRITE] done\r\n")
        }
        "LOGOUT" => format!("* BYE bye\r\n{tag} OK done\r\n"),
        _ => format!("{tag} OK done\r\n"),
    }
}

/// The commands of the session's start (CAPABILITY, LOGIN, CAPABILITY, SELECT).
const OPENING: usize = 4;

#[test]
fn folder_names_are_modified_utf7_and_quoted_in_every_command() {
    let server = Server::start("IMAP4rev1 LITERAL+ UIDPLUS MOVE", |tag, cmd| {
        if cmd.starts_with("STATUS") {
            Some(format!("* STATUS \"{{5}}\" (MESSAGES 2 UNSEEN 1 UIDNEXT 5 UIDVALIDITY 9)\r\n{tag} OK done\r\n"))
        } else if cmd.starts_with("APPEND") {
            Some(format!("{tag} OK [APPENDUID 9 12] done\r\n"))
        } else if cmd.starts_with("UID COPY") || cmd.starts_with("UID MOVE") {
            Some(format!("{tag} OK [COPYUID 9 7 30] done\r\n"))
        } else if let Some(pattern) = cmd.strip_prefix("LIST \"\" ").filter(|p| *p != "\"*\"") {
            // A check that a non-ASCII folder exists: it does.
            Some(format!("* LIST () \"/\" {pattern}\r\n{tag} OK done\r\n"))
        } else if cmd.starts_with("LIST") {
            Some(format!(
                "* LIST (\\HasNoChildren) \"/\" \"a\\\"b\"\r\n* LIST () \"/\" Entr&AOk-e\r\n* LIST (\\Noselect) \"/\" {{5}}\r\nx\\y z\r\n{tag} OK done\r\n"
            ))
        } else {
            None
        }
    });
    let s = server.session();
    assert_eq!(
        server.commands()[..OPENING],
        [
            "CAPABILITY",
            "LOGIN \"u\" \"p\"",
            "CAPABILITY",
            "SELECT \"INBOX\""
        ]
    );
    let mark = server.commands().len();
    ok(unsafe { email_create_folder(s, cstr("a\"b").as_ptr()) });
    ok(unsafe { email_create_folder(s, cstr("Entrée").as_ptr()) });
    ok(unsafe { email_delete_folder(s, cstr("x\\y").as_ptr()) });
    ok(unsafe { email_rename_folder(s, cstr("A&B").as_ptr(), cstr("with space").as_ptr()) });
    ok(unsafe { email_subscribe_folder(s, cstr("受信箱").as_ptr()) });
    ok(unsafe { email_unsubscribe_folder(s, cstr("Входящие").as_ptr()) });
    let (mut m, mut u, mut n, mut v) = (0, 0, 0, 0);
    ok(unsafe { email_folder_status(s, cstr("{5}").as_ptr(), &mut m, &mut u, &mut n, &mut v) });
    assert_eq!((m, u, n, v), (2, 1, 5, 9));
    let mut new_uid = 0;
    ok(unsafe { email_copy_message(s, 7, cstr("100% *wild*").as_ptr(), &mut new_uid) });
    assert_eq!(new_uid, 30);
    ok(unsafe { email_move_message(s, 7, cstr("A&B").as_ptr(), &mut new_uid) });
    assert_eq!(new_uid, 30);
    let raw = b"Subject: hi\r\n\r\nhello\r\n";
    ok(unsafe {
        email_append(
            s,
            cstr("a\"b").as_ptr(),
            raw.as_ptr(),
            raw.len(),
            EMAIL_FLAG_SEEN | EMAIL_FLAG_DRAFT,
            1_577_966_400,
            &mut new_uid,
        )
    });
    assert_eq!(new_uid, 12);
    ok(unsafe { email_select_folder(s, cstr("Entrée").as_ptr(), 1) });
    assert_eq!(
        server.since(mark),
        [
            "CREATE \"a\\\"b\"",
            "CREATE \"Entr&AOk-e\"",
            "DELETE \"x\\\\y\"",
            "RENAME \"A&-B\" \"with space\"",
            "LIST \"\" \"&U9dP4Xux-\"",
            "SUBSCRIBE \"&U9dP4Xux-\"",
            "UNSUBSCRIBE \"&BBIERQQ+BDQETwRJBDgENQ-\"",
            "STATUS \"{5}\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)",
            "UID COPY 7 \"100% *wild*\"",
            "UID MOVE 7 \"A&-B\"",
            "APPEND \"a\\\"b\" (\\Seen \\Draft) \"02-Jan-2020 12:00:00 +0000\" {22}\r\nSubject: hi\r\n\r\nhello\r\n",
            "LIST \"\" \"Entr&AOk-e\"",
            "EXAMINE \"Entr&AOk-e\"",
        ]
    );
    // LIST names: quoted ones unescaped, literals and atoms as they are, then decoded.
    let mut list: *mut EmailStrings = ptr::null_mut();
    ok(unsafe { email_list_folders(s, &mut list) });
    let names: Vec<String> = (0..email_strings_count(list))
        .map(|i| text(email_strings_get(list, i)).unwrap())
        .collect();
    assert_eq!(names, ["Entrée", "a\"b", "x\\y z"]);
    assert_eq!(email_strings_attributes(list, 2), EMAIL_FOLDER_NOSELECT);
    email_strings_free(list);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn search_values_are_quoted_or_sent_as_literals() {
    for (caps, utf8) in [
        ("IMAP4rev1 LITERAL+", "CHARSET UTF-8 SUBJECT {7+}\r\nEntrée"),
        ("IMAP4rev1 LITERAL-", "CHARSET UTF-8 SUBJECT {7+}\r\nEntrée"),
        // Without non-synchronizing literals the UTF-8 goes quoted (most servers accept it).
        ("IMAP4rev1", "CHARSET UTF-8 SUBJECT \"Entrée\""),
    ] {
        let server = Server::start(caps, |tag, cmd| {
            cmd.starts_with("UID SEARCH")
                .then(|| format!("* SEARCH 3 1 2\r\n{tag} OK done\r\n"))
        });
        let s = server.session();
        let mark = server.commands().len();
        let run = |build: &dyn Fn(*mut EmailSearch)| {
            let q = email_search_new();
            build(q);
            let mut out: *mut EmailUids = ptr::null_mut();
            ok(unsafe { email_search(s, q, &mut out) });
            assert_eq!(
                (0..email_uids_count(out))
                    .map(|i| email_uids_get(out, i))
                    .collect::<Vec<_>>(),
                [1, 2, 3]
            );
            email_uids_free(out);
            email_search_free(q);
        };
        let c = |v: &str| CString::new(v).unwrap();
        run(&|q| ok(unsafe { email_search_subject(q, c("a\"b").as_ptr()) }));
        run(&|q| ok(unsafe { email_search_subject(q, c("back\\slash").as_ptr()) }));
        run(&|q| ok(unsafe { email_search_subject(q, c("{5}").as_ptr()) }));
        run(&|q| ok(unsafe { email_search_subject(q, c("Entrée").as_ptr()) }));
        run(&|q| ok(unsafe { email_search_from(q, c("100% *").as_ptr()) }));
        run(&|q| {
            ok(email_search_flags(
                q,
                EMAIL_FLAG_SEEN | EMAIL_FLAG_FLAGGED,
                0,
            ));
            ok(unsafe { email_search_header(q, c("X-Tag").as_ptr(), c("").as_ptr()) });
            ok(unsafe { email_search_keyword(q, c("$Work").as_ptr(), 1) });
            ok(email_search_since(q, 1_704_067_200));
            ok(email_search_larger(q, 1000));
            ok(email_search_uid_range(q, 5, 0));
        });
        run(&|q| {
            let a = email_search_new();
            let b = email_search_new();
            ok(unsafe { email_search_from(a, c("bob").as_ptr()) });
            ok(unsafe { email_search_to(a, c("me").as_ptr()) });
            ok(unsafe { email_search_cc(b, c("ö").as_ptr()) });
            ok(email_search_or(q, a, b));
            ok(email_search_not(q, b));
            email_search_free(a);
            email_search_free(b);
        });
        run(&|_| {});
        let expected_oe = if caps == "IMAP4rev1" {
            "\"ö\"".to_string()
        } else {
            "{2+}\r\nö".to_string()
        };
        assert_eq!(
            server.since(mark),
            [
                "UID SEARCH SUBJECT \"a\\\"b\"".to_string(),
                "UID SEARCH SUBJECT \"back\\\\slash\"".to_string(),
                "UID SEARCH SUBJECT \"{5}\"".to_string(),
                format!("UID SEARCH {utf8}"),
                "UID SEARCH FROM \"100% *\"".to_string(),
                "UID SEARCH UNSEEN UNFLAGGED HEADER \"X-Tag\" \"\" KEYWORD $Work SINCE 1-Jan-2024 LARGER 1000 UID 5:*".to_string(),
                format!("UID SEARCH CHARSET UTF-8 OR (FROM \"bob\" TO \"me\") CC {expected_oe} NOT CC {expected_oe}"),
                "UID SEARCH ALL".to_string(),
            ],
            "{caps}"
        );
        assert_eq!(email_close_session(s), EMAIL_OK);
    }
}

#[test]
fn long_utf8_values_need_literal_plus() {
    let server = Server::start("IMAP4rev1 LITERAL-", |tag, cmd| {
        cmd.starts_with("UID SEARCH")
            .then(|| format!("* SEARCH\r\n{tag} OK done\r\n"))
    });
    let s = server.session();
    let mark = server.commands().len();
    let long = "é".repeat(3000);
    let q = email_search_new();
    ok(unsafe { email_search_body(q, cstr(&long).as_ptr()) });
    let mut out: *mut EmailUids = ptr::null_mut();
    ok(unsafe { email_search(s, q, &mut out) });
    assert_eq!(email_uids_count(out), 0);
    email_uids_free(out);
    email_search_free(q);
    // LITERAL- allows at most 4096 bytes: quoted instead.
    assert_eq!(
        server.since(mark),
        [format!("UID SEARCH CHARSET UTF-8 BODY \"{long}\"")]
    );
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn control_characters_are_refused_and_nothing_is_sent() {
    let server = Server::start("IMAP4rev1 LITERAL+ UIDPLUS MOVE IDLE", |_, _| None);
    let s = server.session();
    let before = server.received.lock().unwrap().len();
    let mark = server.commands().len();
    let bad = ["a\rb", "a\nb", "x\r\nA1 DELETE INBOX"];
    let raw = b"Subject: x\r\n\r\ny\r\n";
    for v in bad {
        let c = cstr(v);
        let p = c.as_ptr();
        let mut n = 0u32;
        for rc in [
            unsafe { email_select_folder(s, p, 0) },
            unsafe { email_create_folder(s, p) },
            unsafe { email_delete_folder(s, p) },
            unsafe { email_rename_folder(s, p, cstr("ok").as_ptr()) },
            unsafe { email_rename_folder(s, cstr("ok").as_ptr(), p) },
            unsafe { email_subscribe_folder(s, p) },
            unsafe { email_unsubscribe_folder(s, p) },
            unsafe {
                email_folder_status(
                    s,
                    p,
                    &mut n,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            },
            unsafe { email_copy_message(s, 1, p, &mut n) },
            unsafe { email_move_message(s, 1, p, &mut n) },
            unsafe { email_append(s, p, raw.as_ptr(), raw.len(), 0, 0, &mut n) },
            unsafe { email_add_keyword(s, 1, p) },
            unsafe { email_remove_keyword(s, 1, p) },
        ] {
            assert_eq!(rc, EMAIL_ERR_ARGUMENT, "{v:?}: {}", last_message());
            assert!(
                last_message().contains("control character"),
                "{}",
                last_message()
            );
        }
        let q = email_search_new();
        assert_eq!(unsafe { email_search_subject(q, p) }, EMAIL_ERR_ARGUMENT);
        assert_eq!(
            unsafe { email_search_header(q, p, cstr("v").as_ptr()) },
            EMAIL_ERR_ARGUMENT
        );
        email_search_free(q);
    }
    assert_eq!(email_mark_read(s, 0, 1), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_set_flags(s, 1, 0x20, 1), EMAIL_ERR_ARGUMENT);
    // The server logs a command before answering it, so once LOGOUT is answered the log holds
    // everything the client sent: no waiting on a clock.
    assert_eq!(email_close_session(s), EMAIL_OK);
    assert_eq!(server.since(mark), ["LOGOUT"], "something else was sent");
    let received = server.received.lock().unwrap();
    let after = String::from_utf8_lossy(&received[before..]).to_string();
    assert!(after.ends_with(" LOGOUT\r\n"), "{after:?}");
    assert_eq!(after.matches("\r\n").count(), 1, "{after:?}");
}

#[test]
fn store_on_a_missing_uid_is_not_found() {
    let server = Server::start("IMAP4rev1 UIDPLUS", |tag, cmd| {
        if cmd.starts_with("UID STORE 5 ") {
            Some(format!(
                "* 2 FETCH (UID 5 FLAGS (\\Seen))\r\n{tag} OK done\r\n"
            ))
        } else if cmd.starts_with("UID STORE") || cmd.starts_with("UID COPY") {
            // Like Dovecot: OK without FETCH for a missing UID (or for nothing changed).
            Some(format!("{tag} OK No messages found\r\n"))
        } else if cmd == "UID FETCH 6 (UID)" {
            Some(format!("* 3 FETCH (UID 6)\r\n{tag} OK done\r\n"))
        } else if cmd.starts_with("UID FETCH") {
            Some(format!("{tag} OK done\r\n"))
        } else {
            None
        }
    });
    let s = server.session();
    let mark = server.commands().len();
    ok(email_mark_read(s, 5, 1));
    // 6 exists but was already read: no FETCH, and the check finds it.
    ok(email_mark_read(s, 6, 1));
    assert_eq!(email_mark_read(s, 99, 1), EMAIL_ERR_NOT_FOUND);
    assert!(last_message().contains("UID 99"), "{}", last_message());
    assert_eq!(
        unsafe { email_copy_message(s, 99, cstr("X").as_ptr(), ptr::null_mut()) },
        EMAIL_ERR_NOT_FOUND
    );
    assert_eq!(
        server.since(mark),
        [
            "UID STORE 5 +FLAGS (\\Seen)",
            "UID STORE 6 +FLAGS (\\Seen)",
            "UID FETCH 6 (UID)",
            "UID STORE 99 +FLAGS (\\Seen)",
            "UID FETCH 99 (UID)",
            "UID COPY 99 \"X\"",
            "UID FETCH 99 (UID)",
        ]
    );
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn flags_and_moves_in_a_folder_opened_read_only_are_refused_before_sending() {
    let server = Server::start("IMAP4rev1 UIDPLUS MOVE", |tag, cmd| {
        cmd.starts_with("UID STORE 5 ")
            .then(|| format!("* 2 FETCH (UID 5 FLAGS (\\Seen))\r\n{tag} OK done\r\n"))
    });
    let s = server.session();
    ok(unsafe { email_select_folder(s, cstr("INBOX").as_ptr(), 1) });
    let mark = server.commands().len();
    assert_eq!(email_mark_read(s, 5, 1), EMAIL_ERR_SERVER);
    assert!(last_message().contains("read-only"), "{}", last_message());
    assert_eq!(
        email_set_flags(s, 5, EMAIL_FLAG_FLAGGED, 1),
        EMAIL_ERR_SERVER
    );
    assert_eq!(email_delete_message(s, 5), EMAIL_ERR_SERVER);
    assert_eq!(
        unsafe { email_move_message(s, 5, cstr("X").as_ptr(), ptr::null_mut()) },
        EMAIL_ERR_SERVER
    );
    assert!(server.since(mark).is_empty(), "{:?}", server.since(mark));
    // Opened for writing again, the same calls are sent.
    ok(unsafe { email_select_folder(s, cstr("INBOX").as_ptr(), 0) });
    let mark = server.commands().len();
    ok(email_mark_read(s, 5, 1));
    assert_eq!(server.since(mark), ["UID STORE 5 +FLAGS (\\Seen)"]);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

/// A server without UIDPLUS that, like GNU Mailutils imap4d, takes a UID beyond the last as
/// the last message's (UID 7 here): it answers `UID FETCH 99 (UID)` with UID 7's FETCH.
fn last_for_unknown(tag: &str, cmd: &str) -> Option<String> {
    if cmd.starts_with("UID FETCH ") {
        let uid = cmd.split(' ').nth(2).unwrap_or("");
        let (seq, uid) = if uid == "5" { (2, 5) } else { (3, 7) };
        Some(format!("* {seq} FETCH (UID {uid})\r\n{tag} OK done\r\n"))
    } else {
        None
    }
}

#[test]
fn without_uidplus_a_missing_uid_is_never_sent_to_store_copy_or_move() {
    for caps in ["IMAP4rev1", "IMAP4rev1 MOVE"] {
        let server = Server::start(caps, last_for_unknown);
        let s = server.session();
        let mark = server.commands().len();
        let dest = cstr("Dest");
        assert_eq!(email_mark_read(s, 99, 1), EMAIL_ERR_NOT_FOUND, "{caps}");
        assert!(last_message().contains("UID 99"), "{}", last_message());
        assert_eq!(email_delete_message(s, 99), EMAIL_ERR_NOT_FOUND, "{caps}");
        let mut new_uid = 4;
        assert_eq!(
            unsafe { email_copy_message(s, 99, dest.as_ptr(), &mut new_uid) },
            EMAIL_ERR_NOT_FOUND,
            "{caps}"
        );
        assert_eq!(
            unsafe { email_move_message(s, 99, dest.as_ptr(), &mut new_uid) },
            EMAIL_ERR_NOT_FOUND,
            "{caps}"
        );
        // Each call asked for UID 99 once, got another message's FETCH and went no further.
        assert_eq!(server.since(mark), ["UID FETCH 99 (UID)"; 4], "{caps}");
        // An existing UID: checked once, before the command, and not again after it.
        let mark = server.commands().len();
        ok(email_mark_read(s, 5, 1));
        ok(unsafe { email_copy_message(s, 5, dest.as_ptr(), &mut new_uid) });
        assert_eq!(new_uid, 0, "no COPYUID without UIDPLUS");
        assert_eq!(
            server.since(mark),
            [
                "UID FETCH 5 (UID)",
                "UID STORE 5 +FLAGS (\\Seen)",
                "UID FETCH 5 (UID)",
                "UID COPY 5 \"Dest\"",
            ],
            "{caps}"
        );
        assert_eq!(email_close_session(s), EMAIL_OK);
    }
}

#[test]
fn move_without_move_expunges_only_the_moved_uid() {
    let server = Server::start("IMAP4rev1 UIDPLUS", |tag, cmd| {
        if cmd.starts_with("UID COPY") {
            Some(format!("{tag} OK [COPYUID 9 7 3] done\r\n"))
        } else if cmd.starts_with("UID EXPUNGE") {
            Some(format!("* 2 EXPUNGE\r\n{tag} OK done\r\n"))
        } else {
            None
        }
    });
    let s = server.session();
    let mark = server.commands().len();
    let mut new_uid = 0;
    ok(unsafe { email_move_message(s, 7, cstr("Dest").as_ptr(), &mut new_uid) });
    assert_eq!(new_uid, 3);
    // Nothing else was marked by this session: expunge sends nothing.
    ok(email_expunge(s));
    assert_eq!(
        server.since(mark),
        [
            "UID COPY 7 \"Dest\"",
            "UID STORE 7 +FLAGS.SILENT (\\Deleted)",
            "UID EXPUNGE 7"
        ]
    );
    assert_eq!(email_count(s, 0), 2);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn without_move_and_uidplus_the_original_waits_for_expunge_and_others_are_spared() {
    let server = Server::start("IMAP4rev1", |tag, cmd| {
        if cmd == "UID FETCH 7 (UID)" {
            Some(format!("* 2 FETCH (UID 7)\r\n{tag} OK done\r\n"))
        } else if cmd == "UID FETCH 8 (UID)" {
            Some(format!("* 3 FETCH (UID 8)\r\n{tag} OK done\r\n"))
        } else if cmd == "UID SEARCH DELETED" {
            // 5 was marked \Deleted by someone else.
            Some(format!("* SEARCH 5 7 8\r\n{tag} OK done\r\n"))
        } else if cmd == "EXPUNGE" {
            Some(format!("* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n{tag} OK done\r\n"))
        } else if cmd.starts_with("UID STORE 8 ") {
            Some(format!(
                "* 3 FETCH (UID 8 FLAGS (\\Deleted))\r\n{tag} OK done\r\n"
            ))
        } else {
            None
        }
    });
    let s = server.session();
    let mark = server.commands().len();
    let mut new_uid = 9;
    ok(unsafe { email_move_message(s, 7, cstr("Dest").as_ptr(), &mut new_uid) });
    assert_eq!(new_uid, 0, "no COPYUID without UIDPLUS");
    ok(email_delete_message(s, 8));
    ok(email_expunge(s));
    assert_eq!(
        server.since(mark),
        [
            // Without UIDPLUS the UID is checked before the COPY and the STORE, not after.
            "UID FETCH 7 (UID)",
            "UID COPY 7 \"Dest\"",
            "UID STORE 7 +FLAGS.SILENT (\\Deleted)",
            "UID FETCH 8 (UID)",
            "UID STORE 8 +FLAGS (\\Deleted)",
            "UID SEARCH DELETED",
            "UID STORE 5 -FLAGS.SILENT (\\Deleted)",
            "EXPUNGE",
            "UID STORE 5 +FLAGS.SILENT (\\Deleted)",
        ]
    );
    assert_eq!(email_count(s, 0), 1);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn copyuid_is_found_in_untagged_or_tagged_answers() {
    let answers = [
        // Dovecot / RFC 6851: untagged OK before the EXPUNGE.
        "* OK [COPYUID 5 7 12] Moved\r\n* 1 EXPUNGE\r\n{tag} OK done\r\n",
        // Exchange: a bare untagged OK.
        "* OK [COPYUID 5 7 13]\r\n* 1 EXPUNGE\r\n{tag} OK done\r\n",
        // In the tagged OK.
        "* 1 EXPUNGE\r\n{tag} OK [COPYUID 5 7 14] MOVE completed\r\n",
        // Ranges.
        "{tag} OK [COPYUID 5 3:4,7 20:22] done\r\n",
        // No COPYUID, but the message is gone: moved, UID unknown.
        "* 1 EXPUNGE\r\n{tag} OK done\r\n",
    ];
    let step = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&step);
    let server = Server::start("IMAP4rev1 UIDPLUS MOVE", move |tag, cmd| {
        cmd.starts_with("UID MOVE")
            .then(|| answers[counter.fetch_add(1, Ordering::SeqCst)].replace("{tag}", tag))
    });
    let s = server.session();
    for expected in [12, 13, 14, 22, 0] {
        let mut new_uid = 99;
        ok(unsafe { email_move_message(s, 7, cstr("Dest").as_ptr(), &mut new_uid) });
        assert_eq!(new_uid, expected);
    }
    assert_eq!(step.load(Ordering::SeqCst), 5);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn idle_is_ended_with_done_and_reports_the_new_count() {
    let idle_tag = Arc::new(Mutex::new(String::new()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (tag_keep, fetch_count) = (Arc::clone(&idle_tag), Arc::clone(&fetches));
    let server = Server::start("IMAP4rev1 IDLE UIDPLUS", move |tag, cmd| {
        if cmd == "IDLE" {
            *tag_keep.lock().unwrap() = tag.to_string();
            Some("+ idling\r\n@@sleep 300@@* 4 EXISTS\r\n".to_string())
        } else if tag == "DONE" {
            Some(format!(
                "{} OK Idle completed\r\n",
                tag_keep.lock().unwrap()
            ))
        } else if cmd == "UID FETCH * (UID)" {
            let n = fetch_count.fetch_add(1, Ordering::SeqCst);
            Some(if n == 0 {
                format!("* 3 FETCH (UID 9)\r\n{tag} OK done\r\n")
            } else {
                format!("* 4 FETCH (UID 10)\r\n{tag} OK done\r\n")
            })
        } else {
            None
        }
    });
    let s = server.session();
    let mark = server.commands().len();
    let mut exists = 0;
    let t = Instant::now();
    ok(unsafe { email_idle(s, 120_000, &mut exists) });
    // The bound is the behaviour (IDLE wakes on EXISTS): an IDLE that missed the EXISTS would end
    // only with its 30 s round (the same commands and count follow), and 25 s is over eighty
    // times the 300 ms the server waits before announcing, so a slow machine cannot miss it.
    assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
    assert_eq!(exists, 4);
    assert_eq!(
        server.since(mark),
        [
            "NOOP",
            "UID FETCH * (UID)",
            "IDLE",
            "",
            "NOOP",
            "UID FETCH * (UID)"
        ]
    );
    assert!(String::from_utf8_lossy(&server.received.lock().unwrap()).contains("IDLE\r\nDONE\r\n"));
    // The session goes on normally.
    assert_eq!(email_count(s, 0), 4);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn without_idle_new_mail_is_polled_with_noop() {
    let noops = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&noops);
    let server = Server::start("IMAP4rev1 UIDPLUS", move |tag, cmd| match cmd {
        "NOOP" => {
            let n = count.fetch_add(1, Ordering::SeqCst);
            Some(if n == 1 {
                format!("* 4 EXISTS\r\n{tag} OK done\r\n")
            } else {
                format!("{tag} OK done\r\n")
            })
        }
        "UID FETCH * (UID)" => {
            let n = if count.load(Ordering::SeqCst) >= 2 {
                4
            } else {
                3
            };
            Some(format!("* {n} FETCH (UID {})\r\n{tag} OK done\r\n", n + 6))
        }
        _ => None,
    });
    let s = server.session();
    let mark = server.commands().len();
    let mut exists = 0;
    let t = Instant::now();
    ok(unsafe { email_idle(s, 120_000, &mut exists) });
    let took = t.elapsed();
    // The bound is the behaviour (a NOOP every 5 s, not only at the 120 s timeout): 50 s is ten
    // times the poll interval, and a client that did not poll before its timeout would also
    // meet the server's hang-up after 30 s of silence. The lower bound (it did not hammer the
    // server) cannot be missed by a slow machine.
    assert!(
        took >= Duration::from_millis(4900) && took < Duration::from_secs(50),
        "{took:?}"
    );
    assert!(!server.since(mark).iter().any(|c| c == "IDLE"));
    assert_eq!(
        &server.since(mark)[..3],
        ["NOOP", "UID FETCH * (UID)", "NOOP"]
    );
    assert_eq!(exists, 4);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

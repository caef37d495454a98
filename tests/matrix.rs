//! The live server matrix: the same tests, through the C API, against real Dovecot, Cyrus,
//! Courier and GNU Mailutils imap4d servers (tests/server/{dovecot,cyrus,courier,imap4d}.sh,
//! started once per test process). Each scenario is one function taking the server; the macro
//! at the end makes one test per server (`dovecot::reads_200_messages_in_uid_order`,
//! `cyrus::...`, `courier::...`, `imap4d::...`). The mailbox tests (tests/mailbox.rs) run on the
//! same four servers.
//!
//! Where the servers differ, the difference is spelled out in the scenario (and in
//! docs/providers.md): Courier keeps folders below "INBOX." with "." as separator and has
//! neither MOVE nor SPECIAL-USE; imap4d has neither MOVE, UIDPLUS nor SPECIAL-USE; Cyrus
//! (configured as upstream: altnamespace, "/") and Dovecot use "/" without prefix.

#[path = "matrix/capi.rs"]
mod capi;
#[path = "matrix/servers.rs"]
mod servers;

use std::ptr;

use capi::*;
use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::search::*;
use imapmail::ffi::session::mailbox::*;
use imapmail::ffi::session::*;
use imapmail::ffi::strings::*;
use servers::{Kind, Server, User};

fn generated(i: usize) -> Vec<u8> {
    format!(
        "Date: Mon, 01 Jan 2024 {:02}:{:02}:00 +0000\r\nFrom: Sender {i} <sender{i}@example.com>\r\n\
         To: Test Recipient <recipient@example.org>\r\nSubject: Message {i:04}\r\n\
         Message-ID: <mx-{i:04}@imapmail.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\nThis is generated message number {i}.\r\n",
        i / 60 % 24,
        i % 60
    )
    .into_bytes()
}

fn user_with(d: &Server, n: usize, seen: impl Fn(usize) -> bool) -> User {
    let user = d.new_user("mx");
    let raws: Vec<Vec<u8>> = (1..=n).map(generated).collect();
    d.add_messages(&user, "INBOX", &raws, &|i| seen(i + 1));
    user
}

fn open_opts(d: &Server, user: &User, extra: &str) -> Result<*mut EmailSession, (isize, String)> {
    let opts = if extra.is_empty() {
        d.options()
    } else {
        format!("{};{extra}", d.options())
    };
    start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        &opts,
    )
}

fn open(d: &Server, user: &User) -> *mut EmailSession {
    open_opts(d, user, "").unwrap_or_else(|e| panic!("{}: session: {e:?}", d.kind.name()))
}

fn subjects(got: &[Msg]) -> Vec<String> {
    got.iter().map(|m| m.subject.clone()).collect()
}

fn numbered(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    range
        .into_iter()
        .map(|i| format!("Message {i:04}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading

fn security_modes(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 3, |_| false);
    for (name, port, flags) in [
        ("tls", d.imaps_port, EMAIL_SECURITY_TLS),
        ("starttls", d.imap_port, EMAIL_SECURITY_STARTTLS),
        ("none", d.imap_port, EMAIL_SECURITY_NONE),
    ] {
        let s = start(port, &user.name, &user.password, flags, &d.options())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            subjects(&read_all(s, EMAIL_READ_ALL)),
            numbered(1..=3),
            "{name}"
        );
        close(s);
    }
    // Not trusted without the test CA, in both TLS modes; the password never leaks.
    let (code, msg) = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        "timeout_ms=20000",
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_TLS, "{msg}");
    let (code, msg) = start(
        d.imap_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_STARTTLS,
        "timeout_ms=20000",
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_TLS, "{msg}");
    let (code, msg) = start(
        d.imaps_port,
        &user.name,
        "Wr0ng \"pw\\",
        EMAIL_SECURITY_TLS,
        &d.options(),
    )
    .unwrap_err();
    assert_eq!(code, EMAIL_ERR_AUTH, "{msg}");
    assert!(!msg.contains("Wr0ng"), "{msg}");
}

fn reads_200_messages_in_uid_order(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 200, |i| i % 3 == 0);
    let s = open(d, &user);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(subjects(&got), numbered(1..=200));
    for (i, m) in got.iter().enumerate() {
        if i > 0 {
            assert!(m.uid > got[i - 1].uid, "UIDs not ascending at {i}");
        }
        assert_eq!(m.seen(), (i + 1) % 3 == 0, "\\Seen of message {}", i + 1);
        assert_eq!(m.source, generated(i + 1), "bytes of message {}", i + 1);
        assert_eq!(m.size, m.source.len() as u64);
        assert_eq!(m.message_id, format!("mx-{:04}@imapmail.test", i + 1));
    }
    assert_eq!(
        read_all(s, EMAIL_READ_ALL)
            .iter()
            .map(|m| m.uid)
            .collect::<Vec<_>>(),
        got.iter().map(|m| m.uid).collect::<Vec<_>>()
    );
    close(s);
}

/// A folder large enough (600 messages) that a read asks for its first batches while the
/// rest of the listing is still coming: whatever the server sends in between (its answers
/// interleaved or not, completions held back or not), every message comes once, in order.
fn reads_a_folder_listed_while_it_is_read(k: Kind) {
    let d = servers::server(k);
    let n = 600;
    let user = user_with(d, n, |i| i % 5 == 0);
    let s = open(d, &user);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(subjects(&got), numbered(1..=n));
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.source, generated(i + 1), "bytes of message {}", i + 1);
    }
    let unread = read_all(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS);
    let want: Vec<String> = numbered(1..=n)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % 5 != 0)
        .map(|(_, subject)| subject)
        .collect();
    assert_eq!(subjects(&unread), want);
    close(s);
}

/// 4,321 messages: the listing (one UID FETCH) is read in parts, the first batches are asked
/// for while it comes, and the reads ask several batches ahead; headers only, whole messages
/// (byte for byte) and unread only all give every message once, in UID order.
fn a_large_folder_is_read_whole(k: Kind) {
    let d = servers::server(k);
    let n = 4321;
    let user = user_with(d, n, |i| i % 7 == 0);
    let s = open(d, &user);
    let headers = read_all(s, EMAIL_READ_HEADERS);
    assert_eq!(subjects(&headers), numbered(1..=n));
    for (i, m) in headers.iter().enumerate() {
        if i > 0 {
            assert!(m.uid > headers[i - 1].uid, "UIDs not ascending at {i}");
        }
    }
    let full = read_all(s, EMAIL_READ_ALL);
    assert_eq!(full.len(), n);
    for (i, m) in full.iter().enumerate() {
        assert_eq!(m.uid, headers[i].uid, "UID of message {}", i + 1);
        assert_eq!(m.source, generated(i + 1), "bytes of message {}", i + 1);
    }
    let unread = read_all(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS);
    let want: Vec<String> = (1..=n)
        .filter(|i| i % 7 != 0)
        .map(|i| format!("Message {i:04}"))
        .collect();
    assert_eq!(subjects(&unread), want);
    assert!(unread.iter().all(|m| !m.seen()));
    close(s);
}

fn unread_only_and_headers_only(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 30, |i| i % 2 == 0);
    let s = open(d, &user);
    let unread = read_all(s, EMAIL_READ_UNREAD);
    assert_eq!(subjects(&unread), numbered((1..=30).filter(|i| i % 2 == 1)));
    assert!(unread.iter().all(|m| !m.seen()));
    let headers = read_all(s, EMAIL_READ_HEADERS);
    assert_eq!(headers.len(), 30);
    for (i, m) in headers.iter().enumerate() {
        assert_eq!(m.subject, format!("Message {:04}", i + 1));
        assert_eq!(m.text, "", "headers only fetched the body");
        assert!(!String::from_utf8_lossy(&m.source).contains("generated message number"));
        assert_eq!(
            m.size,
            generated(i + 1).len() as u64,
            "RFC822.SIZE of a headers-only read"
        );
    }
    // Header first, then the whole message on demand (never sets \Seen).
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_HEADERS | EMAIL_READ_UNREAD, &mut m) },
        EMAIL_OK
    );
    assert_eq!(text(email_message_text(m)).unwrap(), "");
    assert_eq!(
        email_message_load_body(s, m),
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(
        text(email_message_text(m)).unwrap(),
        "This is generated message number 1.\r\n"
    );
    email_message_free(m);
    assert_eq!(
        read_all(s, EMAIL_READ_UNREAD).len(),
        15,
        "load_body set \\Seen"
    );
    close(s);
}

fn peek_vs_mark_seen(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 5, |_| false);
    let s = open(d, &user);
    assert!(read_all(s, EMAIL_READ_ALL).iter().all(|m| !m.seen()));
    assert!(
        read_all(s, EMAIL_READ_ALL).iter().all(|m| !m.seen()),
        "reading changed \\Seen"
    );
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_MARK_SEEN, &mut m) },
        EMAIL_OK
    );
    assert_eq!(email_message_is_read(m), 1);
    email_message_free(m);
    assert_eq!(unsafe { email_read_next(s, &mut m) }, EMAIL_OK);
    email_message_free(m);
    close(s);
    // Another session sees exactly the two messages handed out as read.
    let s = open(d, &user);
    let seen: Vec<bool> = read_all(s, EMAIL_READ_ALL).iter().map(Msg::seen).collect();
    assert_eq!(seen, vec![true, true, false, false, false]);
    close(s);
}

fn get_all_and_iteration(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 12, |i| i <= 4);
    let s = open(d, &user);
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OK
    );
    email_message_free(m);
    assert_eq!(subjects(&get_all(s, EMAIL_READ_ALL)), numbered(1..=12));
    assert_eq!(subjects(&get_all(s, EMAIL_READ_UNREAD)), numbered(5..=12));
    assert_eq!(unsafe { email_read_next(s, &mut m) }, EMAIL_OK);
    assert_eq!(
        text(email_message_subject(m)).unwrap(),
        "Message 0002",
        "get_all disturbed the iteration"
    );
    email_message_free(m);
    close(s);
}

fn empty_and_unknown_folders(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("mx");
    let s = open(d, &user);
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OUT
    );
    assert!(get_all(s, EMAIL_READ_UNREAD).is_empty());
    close(s);
    let (code, msg) = open_opts(d, &user, "folder=Nope").unwrap_err();
    assert_eq!(code, EMAIL_ERR_NOT_FOUND, "{msg}");
}

fn folder_option_and_utf8_names(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("mx");
    d.add_messages(
        &user,
        "Archive/2024",
        &[generated(1), generated(2)],
        &|_| true,
    );
    d.add_messages(&user, "Entwürfe", &[generated(3)], &|_| false);
    let archive = d.folder_name("Archive/2024");
    let s = open_opts(d, &user, &format!("folder={archive}"))
        .unwrap_or_else(|e| panic!("{archive}: {e:?}"));
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(subjects(&got), numbered(1..=2));
    assert!(got.iter().all(Msg::seen));
    close(s);
    let drafts = d.folder_name("Entwürfe");
    let s = open_opts(d, &user, &format!("folder={drafts}"))
        .unwrap_or_else(|e| panic!("{drafts}: {e:?}"));
    assert_eq!(subjects(&read_all(s, EMAIL_READ_ALL)), numbered(3..=3));
    close(s);
}

/// Every message of tests/corpus round trips byte for byte, and decodes as expected.json says
/// (attachments by size and SHA-256).
fn corpus_byte_exact(k: Kind) {
    let d = servers::server(k);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).expect("expected.json"))
            .expect("json");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 20);
    let raws: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(dir.join(n)).expect("eml"))
        .collect();
    let user = d.new_user("corpus");
    d.add_messages(&user, "INBOX", &raws, &|_| false);
    let s = open(d, &user);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(got.len(), names.len());
    for ((name, raw), m) in names.iter().zip(&raws).zip(&got) {
        assert_eq!(&m.source, raw, "{name}: the server changed the message");
        let want = &expected[name.as_str()];
        assert_eq!(m.subject, want["subject"].as_str().unwrap_or(""), "{name}");
        if let Some(t) = want["text_contains"].as_str() {
            assert!(m.text.contains(t), "{name}: text lacks {t:?}");
        }
        let atts = want["attachments"].as_array().expect("attachments");
        for a in atts {
            let size = a["size"].as_u64().expect("size") as usize;
            let sha = a["sha256"].as_str().expect("sha256");
            assert!(
                m.attachments
                    .iter()
                    .any(|x| x.data.len() == size && sha256_hex(&x.data) == sha),
                "{name}: no attachment of {size} bytes with SHA-256 {sha} (got {:?})",
                m.attachments
                    .iter()
                    .map(|x| (&x.name, x.data.len()))
                    .collect::<Vec<_>>()
            );
        }
        // The same bytes decode the same way locally.
        let local = imapmail::core::Message::from_raw(raw.clone());
        assert_eq!(
            m.attachments.len(),
            local.body().attachments.len(),
            "{name}"
        );
    }
    close(s);
}

// ---------------------------------------------------------------------------------------------
// Folders, flags, move/copy/append/expunge/search/idle (src/ffi/session/mailbox.rs, search.rs)

fn c(s: &str) -> std::ffi::CString {
    cstr(s)
}

/// (name, delimiter, attributes) of every folder.
fn folders(s: *mut EmailSession) -> Vec<(String, String, u32)> {
    let mut list: *mut EmailStrings = ptr::null_mut();
    assert_eq!(
        unsafe { email_list_folders(s, &mut list) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    let out = (0..email_strings_count(list))
        .map(|i| {
            (
                text(email_strings_get(list, i)).expect("name"),
                text(email_strings_delimiter(list, i)).unwrap_or_default(),
                email_strings_attributes(list, i),
            )
        })
        .collect();
    email_strings_free(list);
    out
}

fn select(s: *mut EmailSession, name: &str) -> isize {
    let n = c(name);
    unsafe { email_select_folder(s, n.as_ptr(), 0) }
}

fn folder_operations(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("fold");
    let s = open(d, &user);
    let list = folders(s);
    assert_eq!(list[0].0, "INBOX", "INBOX first: {list:?}");
    let delim = k.delimiter().to_string();
    // imap4d lists INBOX with a NIL delimiter (it has no children); the others with theirs.
    let inbox_delim = if k == Kind::Imap4d { "" } else { k.delimiter() };
    assert_eq!(list[0].1, inbox_delim, "{list:?}");
    if k.special_use() {
        // Dovecot and Cyrus: "/" without prefix, special-use folders flagged.
        let sent = list
            .iter()
            .find(|(n, _, _)| n == "Sent")
            .unwrap_or_else(|| panic!("Sent in {list:?}"));
        assert!(
            sent.2 & EMAIL_FOLDER_SENT != 0,
            "\\Sent attribute: {list:?}"
        );
        let trash = list.iter().find(|(n, _, _)| n == "Trash").expect("Trash");
        assert!(trash.2 & EMAIL_FOLDER_TRASH != 0);
    } else {
        // Courier ("INBOX." and ".") and imap4d ("/"): the folders, without attributes.
        for f in ["Drafts", "Sent", "Trash"] {
            let name = d.folder_name(f);
            let found = list
                .iter()
                .find(|(n, _, _)| *n == name)
                .unwrap_or_else(|| panic!("{name} in {list:?}"));
            assert_eq!(found.1, delim, "{list:?}");
            let special = EMAIL_FOLDER_SENT | EMAIL_FOLDER_TRASH | EMAIL_FOLDER_DRAFTS;
            assert_eq!(found.2 & special, 0, "{list:?}");
        }
    }
    let base = d.folder_name("Projekte");
    let child = format!("{base}{delim}Größe 2024");
    let renamed = d.folder_name("Erledigt");
    for name in [&base, &child] {
        let n = c(name);
        assert_eq!(
            unsafe { email_create_folder(s, n.as_ptr()) },
            EMAIL_OK,
            "create {name}: {}",
            last_message()
        );
    }
    let names: Vec<String> = folders(s).into_iter().map(|f| f.0).collect();
    assert!(names.contains(&child), "{child} in {names:?}");
    assert_eq!(select(s, &child), EMAIL_OK, "{}", last_message());
    assert_eq!(text(email_current_folder(s)).unwrap(), child);
    let (from, to) = (c(&base), c(&renamed));
    assert_eq!(
        unsafe { email_rename_folder(s, from.as_ptr(), to.as_ptr()) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    let names: Vec<String> = folders(s).into_iter().map(|f| f.0).collect();
    assert!(
        names.contains(&format!("{renamed}{delim}Größe 2024")),
        "{names:?}"
    );
    assert!(!names.contains(&base), "{names:?}");
    let (mut total, mut unseen, mut next, mut validity) = (9u32, 9u32, 0u32, 0u32);
    let n = c(&renamed);
    assert_eq!(
        unsafe {
            email_folder_status(
                s,
                n.as_ptr(),
                &mut total,
                &mut unseen,
                &mut next,
                &mut validity,
            )
        },
        EMAIL_OK
    );
    assert_eq!((total, unseen), (0, 0));
    assert!(next >= 1 && validity != 0);
    let gone = c(&format!("{renamed}{delim}Größe 2024"));
    assert_eq!(
        unsafe { email_delete_folder(s, gone.as_ptr()) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(
        unsafe { email_delete_folder(s, n.as_ptr()) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(select(s, "Nope"), EMAIL_ERR_NOT_FOUND);
    assert_eq!(select(s, "INBOX"), EMAIL_OK);
    close(s);
}

fn flags_and_keywords(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 4, |_| false);
    let s = open(d, &user);
    let uids: Vec<u32> = read_all(s, EMAIL_READ_ALL).iter().map(|m| m.uid).collect();
    assert_eq!(
        email_mark_read(s, uids[0], 1),
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(
        email_set_flags(s, uids[1], EMAIL_FLAG_FLAGGED | EMAIL_FLAG_ANSWERED, 1),
        EMAIL_OK
    );
    let kw = c("$Work");
    let rc = unsafe { email_add_keyword(s, uids[2], kw.as_ptr()) };
    if k.has_keywords() {
        assert_eq!(rc, EMAIL_OK, "{}", last_message());
    } else {
        // imap4d: no keywords (PERMANENTFLAGS without \*); the session goes on.
        assert_eq!(rc, EMAIL_ERR_SERVER, "{}", last_message());
        assert!(
            last_message().contains("Unrecognized flag"),
            "{}",
            last_message()
        );
    }
    // A UID beyond the last changes nothing (imap4d 3.15 would take it as the last message's:
    // without UIDPLUS imapmail checks the UID before the STORE).
    assert_eq!(email_mark_read(s, 999_999, 1), EMAIL_ERR_NOT_FOUND);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(got[0].flags, EMAIL_FLAG_SEEN);
    assert_eq!(got[1].flags, EMAIL_FLAG_FLAGGED | EMAIL_FLAG_ANSWERED);
    assert!(!got[3].seen(), "the last message was marked read");
    if k.has_keywords() {
        assert_eq!(got[2].keywords, vec!["$Work"]);
        assert_eq!(
            unsafe { email_remove_keyword(s, uids[2], kw.as_ptr()) },
            EMAIL_OK
        );
    } else {
        assert!(got[2].keywords.is_empty());
    }
    assert_eq!(email_mark_read(s, uids[0], 0), EMAIL_OK);
    let again = read_all(s, EMAIL_READ_ALL);
    assert_eq!(again[0].flags, 0);
    assert!(again[2].keywords.is_empty());
    assert_eq!(email_count(s, EMAIL_READ_ALL), 4);
    assert_eq!(email_count(s, EMAIL_READ_UNREAD), 4);
    close(s);
}

fn move_copy_append_expunge(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 5, |_| false);
    let s = open(d, &user);
    let archive = d.folder_name("Archive");
    let a = c(&archive);
    assert_eq!(
        unsafe { email_create_folder(s, a.as_ptr()) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    let uids: Vec<u32> = read_all(s, EMAIL_READ_ALL).iter().map(|m| m.uid).collect();
    let mut new_uid = 0u32;
    assert_eq!(
        unsafe { email_copy_message(s, uids[0], a.as_ptr(), &mut new_uid) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    // With UIDPLUS the new UID is known (COPYUID); imap4d has no UIDPLUS: 0.
    assert_eq!(new_uid > 0, k.has_uidplus(), "COPYUID: {new_uid}");
    // Dovecot and Cyrus have MOVE; Courier has not (COPY + \Deleted + UID EXPUNGE instead),
    // nor has imap4d (COPY + \Deleted + EXPUNGE, no other message being \Deleted).
    let mut moved_uid = 0u32;
    assert_eq!(
        unsafe { email_move_message(s, uids[1], a.as_ptr(), &mut moved_uid) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(moved_uid > 0, k.has_uidplus(), "moved: {moved_uid}");
    let left = read_all(s, EMAIL_READ_ALL);
    if k.has_uidplus() {
        assert_eq!(
            subjects(&left),
            [
                "Message 0001",
                "Message 0003",
                "Message 0004",
                "Message 0005"
            ]
        );
    } else {
        // Without UIDPLUS the original stays, marked \Deleted, until the next expunge.
        assert_eq!(subjects(&left), numbered(1..=5));
        assert_eq!(left[1].flags & EMAIL_FLAG_DELETED, EMAIL_FLAG_DELETED);
    }
    // Delete + expunge removes exactly the message deleted here.
    assert_eq!(email_delete_message(s, uids[2]), EMAIL_OK);
    assert_eq!(email_expunge(s), EMAIL_OK, "{}", last_message());
    assert_eq!(
        subjects(&read_all(s, EMAIL_READ_ALL)),
        ["Message 0001", "Message 0004", "Message 0005"]
    );
    // Append (a sent message, read, with a date) then read it from the folder.
    let raw = generated(42);
    let mut appended = 0u32;
    let r = unsafe {
        email_append(
            s,
            a.as_ptr(),
            raw.as_ptr(),
            raw.len(),
            EMAIL_FLAG_SEEN,
            1_704_067_200,
            &mut appended,
        )
    };
    assert_eq!(r, EMAIL_OK, "{}", last_message());
    assert_eq!(appended > 0, k.has_uidplus(), "APPENDUID: {appended}");
    assert_eq!(select(s, &archive), EMAIL_OK);
    let arch = read_all(s, EMAIL_READ_ALL);
    assert_eq!(
        subjects(&arch),
        ["Message 0001", "Message 0002", "Message 0042"]
    );
    if k.has_uidplus() {
        assert_eq!(
            arch.iter().map(|m| m.uid).collect::<Vec<_>>(),
            vec![new_uid, moved_uid, appended]
        );
    }
    // imap4d ignores the flags (and the date) given to APPEND.
    assert_eq!(arch[2].seen(), k != Kind::Imap4d, "{:?}", arch[2].flags);
    assert_eq!(arch[2].source, raw);
    close(s);
}

fn search_criteria(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 10, |i| i <= 3);
    let s = open(d, &user);
    let uids: Vec<u32> = read_all(s, EMAIL_READ_ALL).iter().map(|m| m.uid).collect();
    let run = |q: *mut EmailSearch| -> Vec<u32> {
        let mut out: *mut EmailUids = ptr::null_mut();
        assert_eq!(
            unsafe { email_search(s, q, &mut out) },
            EMAIL_OK,
            "{}",
            last_message()
        );
        let v = (0..email_uids_count(out))
            .map(|i| email_uids_get(out, i))
            .collect();
        email_uids_free(out);
        email_search_free(q);
        v
    };
    let q = email_search_new();
    let subj = c("Message 0007");
    assert_eq!(unsafe { email_search_subject(q, subj.as_ptr()) }, EMAIL_OK);
    assert_eq!(run(q), vec![uids[6]]);
    let q = email_search_new();
    assert_eq!(email_search_flags(q, EMAIL_FLAG_SEEN, 0), EMAIL_OK);
    assert_eq!(run(q), uids[3..].to_vec());
    let q = email_search_new();
    let from = c("sender5@example.com");
    assert_eq!(unsafe { email_search_from(q, from.as_ptr()) }, EMAIL_OK);
    assert_eq!(run(q), vec![uids[4]]);
    let q = email_search_new();
    let body = c("number 9.");
    assert_eq!(unsafe { email_search_body(q, body.as_ptr()) }, EMAIL_OK);
    assert_eq!(run(q), vec![uids[8]]);
    let q = email_search_new();
    assert_eq!(run(q), uids, "an empty query finds everything");
    close(s);
}

/// IDLE wakes on new mail: the wait's timeout (300 s) is at least 10x the longest any server
/// here takes to be noticed (Courier and Cyrus poll every few seconds; imap4d reports nothing
/// during IDLE, and imapmail's NOOP between its 30-s IDLE rounds finds the news), so
/// EMAIL_OK with the new count can only come from the new message, and it comes after the
/// message was added (event order, no clock).
fn idle_sees_new_mail(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 1, |_| false);
    let s = open(d, &user);
    let mut exists = 0u32;
    assert_eq!(
        unsafe { email_idle(s, 0, &mut exists) },
        EMAIL_OUT,
        "{}",
        last_message()
    );
    assert_eq!(exists, 1);
    let adding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let adder = {
        let adding = adding.clone();
        let (name, password) = (user.name.clone(), user.password.clone());
        std::thread::spawn(move || {
            // Not a bound: lets the IDLE below begin first.
            std::thread::sleep(std::time::Duration::from_millis(700));
            let d = servers::server(k);
            let user = User { name, password };
            adding.store(true, std::sync::atomic::Ordering::SeqCst);
            d.add_messages(&user, "INBOX", &[generated(2)], &|_| false);
        })
    };
    let t = std::time::Instant::now();
    let r = unsafe { email_idle(s, 300_000, &mut exists) };
    let woke_after_adding = adding.load(std::sync::atomic::Ordering::SeqCst);
    adder.join().expect("adder");
    assert_eq!(r, EMAIL_OK, "{}", last_message());
    assert_eq!(exists, 2);
    assert!(
        woke_after_adding,
        "IDLE returned before the message was added"
    );
    // For the report only (no assertion on it).
    eprintln!(
        "matrix: {} idle noticed new mail after {:.1} s",
        k.name(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(subjects(&read_all(s, EMAIL_READ_ALL)), numbered(1..=2));
    close(s);
}

/// Logging in with AUTHENTICATE PLAIN (offered over TLS by all four) and living through an
/// EXPUNGE, as the session's trace shows: imap4d ends the tagged OK of AUTHENTICATE with a
/// bare LF and answers EXPUNGE with `* N EXPUNGED`; the session goes on after both.
fn authenticate_plain_and_expunge_on_the_wire(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 3, |_| false);
    let trace = d.dir.join(format!("trace-{}.log", user.name));
    let s = open_opts(d, &user, &format!("trace_file={}", trace.display()))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let uids: Vec<u32> = read_all(s, EMAIL_READ_ALL).iter().map(|m| m.uid).collect();
    assert_eq!(
        email_delete_message(s, uids[1]),
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(email_expunge(s), EMAIL_OK, "{}", last_message());
    assert_eq!(
        subjects(&read_all(s, EMAIL_READ_ALL)),
        ["Message 0001", "Message 0003"]
    );
    close(s);
    let lines = std::fs::read_to_string(&trace).expect("trace");
    let sent: Vec<&str> = lines
        .lines()
        .filter_map(|l| l.strip_prefix("C: "))
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest))
        .collect();
    // With SASL-IR (Dovecot, Cyrus) the credentials go on the command line, else after "+".
    assert!(
        sent.iter().any(|c| c.starts_with("AUTHENTICATE PLAIN")),
        "{sent:#?}"
    );
    assert!(!sent.iter().any(|c| c.starts_with("LOGIN")), "{sent:#?}");
    assert!(
        !lines.contains(&user.password),
        "the password reached the trace"
    );
    let expunged = lines
        .lines()
        .any(|l| l.starts_with("S: * ") && l.ends_with(" EXPUNGED"));
    assert_eq!(expunged, k == Kind::Imap4d, "{lines}");
}

macro_rules! matrix {
    ($($name:ident),* $(,)?) => {
        mod dovecot {
            $( #[test] fn $name() { super::$name(super::Kind::Dovecot) } )*
        }
        mod cyrus {
            $( #[test] fn $name() { super::$name(super::Kind::Cyrus) } )*
        }
        mod courier {
            $( #[test] fn $name() { super::$name(super::Kind::Courier) } )*
        }
        mod imap4d {
            $( #[test] fn $name() { super::$name(super::Kind::Imap4d) } )*
        }
    };
}

matrix!(
    security_modes,
    reads_200_messages_in_uid_order,
    reads_a_folder_listed_while_it_is_read,
    a_large_folder_is_read_whole,
    unread_only_and_headers_only,
    peek_vs_mark_seen,
    get_all_and_iteration,
    empty_and_unknown_folders,
    folder_option_and_utf8_names,
    corpus_byte_exact,
    folder_operations,
    flags_and_keywords,
    move_copy_append_expunge,
    search_criteria,
    idle_sees_new_mail,
    authenticate_plain_and_expunge_on_the_wire,
);

#[test]
fn sha256_known_answers() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(&[b'a'; 1000]),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
}

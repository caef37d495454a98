//! Managing mail through the exported C functions against every server of the live matrix
//! (real throwaway Dovecot, Cyrus, Courier and GNU Mailutils imap4d, tests/matrix/servers.rs):
//! folders (with non-ASCII and awkward names), STATUS, flags and keywords, delete/expunge,
//! copy/move, append, search, counts and IDLE.
//!
//! Each test body takes the server kind; the macro at the end makes one test per server
//! (`dovecot::counts`, `cyrus::counts`, `courier::counts`, `imap4d::counts`). Where the servers
//! differ (folder prefix and separator, special-use folders, MOVE, UIDPLUS, what APPEND keeps),
//! the body states the expected result of each server ([`Kind`]'s methods, docs/providers.md).
//! Three tests of two sessions open at once do not run on imap4d (the `not_imap4d` list at the
//! end says why). Two tests are not in the matrix: `search_arguments_are_checked_when_added`
//! needs no server, and `login_takes_few_round_trips_and_capabilities_are_asked_when_needed`
//! checks the exchange shaped by Dovecot's capabilities (ID and SASL-IR in the greeting, MOVE),
//! on Dovecot.

mod common;
#[path = "matrix/servers.rs"]
mod servers;

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use servers::{Kind, Server, User};

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

fn open(d: &Server, user: &User) -> *mut EmailSession {
    open_with(d, user, "")
}

/// As `open`, with more options (`;`-separated, appended).
fn open_with(d: &Server, user: &User, more_options: &str) -> *mut EmailSession {
    let (h, u, p) = (cstr("127.0.0.1"), cstr(&user.name), cstr(&user.password));
    let o = cstr(&format!("{};{more_options}", d.options()));
    let s = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            d.imaps_port,
            u.as_ptr(),
            p.as_ptr(),
            EMAIL_SECURITY_TLS,
            o.as_ptr(),
        )
    };
    assert!(
        !s.is_null(),
        "{}: session: {}",
        d.kind.name(),
        last_message()
    );
    s
}

/// Asserts a status, with the error message in the failure.
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

struct Folder {
    name: String,
    delimiter: String,
    attributes: u32,
}

fn folders(s: *mut EmailSession) -> Vec<Folder> {
    let mut list: *mut EmailStrings = ptr::null_mut();
    ok(unsafe { email_list_folders(s, &mut list) });
    let out = (0..email_strings_count(list))
        .map(|i| Folder {
            name: text(email_strings_get(list, i)).unwrap(),
            delimiter: text(email_strings_delimiter(list, i)).unwrap(),
            attributes: email_strings_attributes(list, i),
        })
        .collect();
    assert!(email_strings_get(list, email_strings_count(list)).is_null());
    email_strings_free(list);
    out
}

fn names(s: *mut EmailSession) -> Vec<String> {
    folders(s).into_iter().map(|f| f.name).collect()
}

fn subscribed(s: *mut EmailSession) -> Vec<String> {
    let mut list: *mut EmailStrings = ptr::null_mut();
    ok(unsafe { email_list_subscribed(s, &mut list) });
    let out = (0..email_strings_count(list))
        .map(|i| text(email_strings_get(list, i)).unwrap())
        .collect();
    email_strings_free(list);
    out
}

/// (messages, unseen, uidnext, uidvalidity)
fn status(s: *mut EmailSession, name: &str) -> (u32, u32, u32, u32) {
    let n = cstr(name);
    let (mut a, mut b, mut c, mut d) = (9, 9, 9, 9);
    ok(unsafe { email_folder_status(s, n.as_ptr(), &mut a, &mut b, &mut c, &mut d) });
    (a, b, c, d)
}

fn select(s: *mut EmailSession, name: &str) {
    let n = cstr(name);
    ok(unsafe { email_select_folder(s, n.as_ptr(), 0) });
    assert_eq!(text(email_current_folder(s)).unwrap(), name);
}

fn create(s: *mut EmailSession, name: &str) {
    let n = cstr(name);
    ok(unsafe { email_create_folder(s, n.as_ptr()) });
}

fn append(s: *mut EmailSession, folder: &str, raw: &[u8], flags: u32, date: i64) -> u32 {
    let f = cstr(folder);
    let mut uid = 0;
    ok(unsafe {
        email_append(
            s,
            f.as_ptr(),
            raw.as_ptr(),
            raw.len(),
            flags,
            date,
            &mut uid,
        )
    });
    uid
}

/// (uid, subject, flags, keywords) of every message of the selected folder.
fn read_all(s: *mut EmailSession) -> Vec<(u32, String, u32, Vec<String>)> {
    let mut out = Vec::new();
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(s, EMAIL_READ_HEADERS, &mut m) };
    while rc == EMAIL_OK {
        let keywords = (0..email_message_keyword_count(m))
            .map(|i| text(email_message_keyword(m, i)).unwrap())
            .collect();
        out.push((
            email_message_uid(m),
            text(email_message_subject(m)).unwrap(),
            email_message_flags(m),
            keywords,
        ));
        email_message_free(m);
        rc = unsafe { email_read_next(s, &mut m) };
    }
    assert_eq!(rc, EMAIL_OUT, "{}", last_message());
    out
}

fn message(subject: &str, from: &str, body: &str) -> Vec<u8> {
    format!(
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nFrom: {from}\r\nTo: rcpt@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{}@imapmail.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        subject.len() * 31 + body.len()
    )
    .into_bytes()
}

fn search_uids(s: *mut EmailSession, q: *mut EmailSearch) -> Vec<u32> {
    let mut out: *mut EmailUids = ptr::null_mut();
    ok(unsafe { email_search(s, q, &mut out) });
    let n = email_uids_count(out);
    let mut count = 0usize;
    let data = unsafe { email_uids_data(out, &mut count) };
    assert_eq!(count, n);
    let uids: Vec<u32> = (0..n).map(|i| email_uids_get(out, i)).collect();
    if n > 0 {
        assert_eq!(unsafe { std::slice::from_raw_parts(data, n) }, &uids[..]);
    }
    email_uids_free(out);
    uids
}

fn user_with(d: &Server, n: usize, seen: impl Fn(usize) -> bool) -> User {
    let user = d.new_user("mbox");
    let raws: Vec<Vec<u8>> = (1..=n).map(common::generated_message).collect();
    d.add_messages(&user, "INBOX", &raws, &seen);
    user
}

const AWKWARD_NAMES: [&str; 9] = [
    "Entrée",
    "Входящие",
    "受信箱",
    "A&B",
    "x/y",
    "with space",
    "quote\"and\\backslash",
    "100% *wild*",
    "{5}",
];

/// The folder names a server refuses to create, with the words of its NO: Cyrus does not take
/// `"`, `\\`, `%`, `*` or `{` in a folder name ("Invalid mailbox name").
fn refused_name(k: Kind, name: &str) -> Option<&'static str> {
    match k {
        Kind::Cyrus if name.contains(['"', '\\', '%', '*', '{']) => Some("Invalid mailbox name"),
        _ => None,
    }
}

/// The folder names a server cannot be sent at all: GNU Mailutils imap4d takes a quoted string
/// that is exactly `{n}` (`CREATE "{5}"`) as the announcement of a literal and waits for it
/// (docs/providers.md); `"x {5}"` or `"{5}x"` are fine.
fn unsendable_name(k: Kind, name: &str) -> bool {
    k == Kind::Imap4d && name == "{5}"
}

fn folders_round_trip_with_awkward_names(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("folders");
    let s = open(d, &user);
    let raw = message("Round trip", "Bob <bob@example.com>", "hello");
    for short in AWKWARD_NAMES.into_iter().filter(|n| !unsendable_name(k, n)) {
        // Courier: below "INBOX." with "." ("x/y" is "INBOX.x.y"); the others as written.
        let full = d.folder_name(short);
        let name = full.as_str();
        if let Some(words) = refused_name(k, short) {
            let rc = unsafe { email_create_folder(s, cstr(name).as_ptr()) };
            assert_eq!(rc, EMAIL_ERR_SERVER, "{name}: {}", last_message());
            assert!(last_message().contains(words), "{name}: {}", last_message());
            assert!(!names(s).contains(&full), "{name}");
            continue;
        }
        create(s, name);
        let listed = folders(s);
        let f = listed
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} not listed: {:?}", names(s)));
        assert_eq!(f.delimiter, k.delimiter(), "{name}");
        assert_eq!(f.attributes & EMAIL_FOLDER_NOSELECT, 0, "{name}");

        let (messages, unseen, uidnext, uidvalidity) = status(s, name);
        assert_eq!((messages, unseen), (0, 0), "{name}");
        assert!(uidnext >= 1 && uidvalidity > 0, "{name}");

        // APPENDUID with UIDPLUS, and the message gets the UIDNEXT that STATUS gave.
        // imap4d has no UIDPLUS (0), and its STATUS of a folder never selected is not to be
        // trusted: UIDNEXT moves by two on an APPEND and UIDVALIDITY is fixed only when the
        // folder is first opened; there the UID is taken from the read.
        let appended = append(s, name, &raw, 0, 0);
        let after = status(s, name);
        assert_eq!((after.0, after.1), (1, 1), "{name}");
        if k != Kind::Imap4d {
            assert_eq!(appended, uidnext, "{name}");
            assert_eq!(after, (1, 1, uidnext + 1, uidvalidity), "{name}");
        } else {
            assert_eq!(appended, 0, "{name}");
        }

        select(s, name);
        let got = read_all(s);
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].1, "Round trip", "{name}");
        let uid = got[0].0;
        if k != Kind::Imap4d {
            assert_eq!(uid, uidnext, "{name}");
        }

        let q = email_search_new();
        ok(unsafe { email_search_subject(q, cstr("round").as_ptr()) });
        assert_eq!(search_uids(s, q), vec![uid], "{name}");
        email_search_free(q);

        // Move the message out and back in: new UIDs from COPYUID. Without UIDPLUS (imap4d)
        // the new UID is 0 and the original goes with the next expunge.
        let mut moved = 0;
        ok(unsafe { email_move_message(s, uid, cstr("INBOX").as_ptr(), &mut moved) });
        assert_eq!(moved > 0, k.has_uidplus(), "{name}: {moved}");
        if !k.has_uidplus() {
            ok(email_expunge(s));
        }
        assert_eq!(status(s, name).0, 0, "{name}");
        select(s, "INBOX");
        let in_inbox: Vec<u32> = read_all(s)
            .into_iter()
            .filter(|m| m.1 == "Round trip")
            .map(|m| m.0)
            .collect();
        assert_eq!(in_inbox.len(), 1, "{name}");
        if k.has_uidplus() {
            assert_eq!(in_inbox[0], moved, "{name}");
        }
        let mut back = 0;
        ok(unsafe { email_move_message(s, in_inbox[0], cstr(name).as_ptr(), &mut back) });
        if k.has_uidplus() {
            assert_eq!(back, uid + 1, "{name}");
        } else {
            assert_eq!(back, 0, "{name}");
            ok(email_expunge(s));
        }
        assert!(read_all(s).iter().all(|m| m.1 != "Round trip"), "{name}");

        // Subscriptions.
        ok(unsafe { email_subscribe_folder(s, cstr(name).as_ptr()) });
        assert!(subscribed(s).iter().any(|n| n == name), "{name}");
        ok(unsafe { email_unsubscribe_folder(s, cstr(name).as_ptr()) });
        assert!(!subscribed(s).iter().any(|n| n == name), "{name}");

        // Rename, then delete; the message goes with the folder.
        let renamed = format!("{name} (renamed)");
        ok(unsafe { email_rename_folder(s, cstr(name).as_ptr(), cstr(&renamed).as_ptr()) });
        let after = names(s);
        assert!(
            after.contains(&renamed) && !after.iter().any(|n| n == name),
            "{name}: {after:?}"
        );
        assert_eq!(status(s, &renamed).0, 1, "{name}");
        ok(unsafe { email_delete_folder(s, cstr(&renamed).as_ptr()) });
        assert!(!names(s).contains(&renamed), "{name}");
    }
    // Only the folders every user starts with are left, and on Cyrus and imap4d the parent "x"
    // that CREATE "x/y" made (they keep it when its child goes).
    let mut left = names(s);
    left.sort();
    let mut want: Vec<String> = ["INBOX", "Drafts", "Sent", "Trash"]
        .iter()
        .map(|f| d.folder_name(f))
        .collect();
    if matches!(k, Kind::Cyrus | Kind::Imap4d) {
        want.push("x".to_string());
    }
    want.sort();
    assert_eq!(left, want);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn listing_gives_inbox_first_and_special_uses(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("special");
    let s = open(d, &user);
    let (archive, year) = (d.folder_name("Archive"), d.folder_name("Archive/2024"));
    create(s, &archive);
    create(s, &year);
    let all = folders(s);
    assert_eq!(all[0].name, "INBOX");
    assert_ne!(all[0].attributes & EMAIL_FOLDER_INBOX, 0);
    let attr = |n: &str| {
        let n = d.folder_name(n);
        all.iter()
            .find(|f| f.name == n)
            .unwrap_or_else(|| panic!("{n}"))
            .attributes
    };
    // SPECIAL-USE attributes: Dovecot and Cyrus; Courier and imap4d list the folders bare.
    let special = [
        ("Sent", EMAIL_FOLDER_SENT),
        ("Trash", EMAIL_FOLDER_TRASH),
        ("Drafts", EMAIL_FOLDER_DRAFTS),
    ];
    for (name, bit) in special {
        assert_eq!(
            attr(name) & bit != 0,
            k.special_use(),
            "{name}: {}",
            attr(name)
        );
    }
    // \HasChildren / \HasNoChildren (CHILDREN): all but imap4d, which sends neither.
    let children = k != Kind::Imap4d;
    assert_eq!(
        attr("Archive") & EMAIL_FOLDER_HAS_CHILDREN != 0,
        children,
        "{}",
        attr("Archive")
    );
    assert_eq!(
        attr("Archive/2024") & EMAIL_FOLDER_HAS_NO_CHILDREN != 0,
        children,
        "{}",
        attr("Archive/2024")
    );
    let mut list: *mut EmailStrings = ptr::null_mut();
    ok(unsafe { email_list_folders(s, &mut list) });
    let sent = d.folder_name("Sent");
    let i = (0..email_strings_count(list))
        .find(|&i| text(email_strings_get(list, i)).unwrap() == sent)
        .unwrap();
    let raw_attributes = text(email_strings_attribute_text(list, i)).unwrap();
    assert_eq!(
        raw_attributes.contains("\\Sent"),
        k.special_use(),
        "{raw_attributes}"
    );
    assert!(email_strings_attribute_text(list, 999).is_null());
    assert_eq!(email_strings_attributes(list, 999), 0);
    email_strings_free(list);
    // The list is gone: accessors answer NULL/0 with EMAIL_ERR_HANDLE.
    assert_eq!(email_strings_count(list), 0);
    assert_eq!(email_last_error(), EMAIL_ERR_HANDLE);
    assert!(email_strings_get(list, 0).is_null());
    email_strings_free(list);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn unknown_folders_are_not_found_with_the_servers_words(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 1, |_| false);
    let s = open(d, &user);
    let nope = cstr(&d.folder_name("No Such Folder"));
    let mut n = 7;
    let cases: Vec<(&str, isize)> = vec![
        ("select", unsafe {
            email_select_folder(s, nope.as_ptr(), 0)
        }),
        ("status", unsafe {
            email_folder_status(
                s,
                nope.as_ptr(),
                &mut n,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }),
        ("delete", unsafe { email_delete_folder(s, nope.as_ptr()) }),
        ("rename", unsafe {
            email_rename_folder(s, nope.as_ptr(), cstr("Other").as_ptr())
        }),
    ];
    for (what, rc) in cases {
        assert_eq!(rc, EMAIL_ERR_NOT_FOUND, "{what}: {}", last_message());
        assert!(email_session_error(s) == EMAIL_ERR_NOT_FOUND, "{what}");
        let msg = text(email_session_error_message(s)).unwrap();
        assert!(
            msg.contains("No Such Folder") || msg.to_ascii_lowercase().contains("exist"),
            "{what}: {msg}"
        );
    }
    assert_eq!(n, 0);
    select(s, "INBOX");
    let raw = message("x", "a@b", "y");
    let mut uid = 5;
    let rc = unsafe { email_append(s, nope.as_ptr(), raw.as_ptr(), raw.len(), 0, 0, &mut uid) };
    assert_eq!(rc, EMAIL_ERR_NOT_FOUND, "{}", last_message());
    assert!(
        last_message().contains("No Such Folder"),
        "{}",
        last_message()
    );
    assert_eq!(uid, 0);
    for (what, rc) in [
        ("copy", unsafe {
            email_copy_message(s, 1, nope.as_ptr(), &mut uid)
        }),
        ("move", unsafe {
            email_move_message(s, 1, nope.as_ptr(), &mut uid)
        }),
    ] {
        assert_eq!(rc, EMAIL_ERR_NOT_FOUND, "{what}: {}", last_message());
        // The server's words; imap4d says only "UID COPY [TRYCREATE] failed".
        let lower = last_message().to_ascii_lowercase();
        assert!(
            lower.contains("exist") || (k == Kind::Imap4d && lower.contains("[trycreate]")),
            "{what}: {}",
            last_message()
        );
    }
    // The session is still usable, and the message was not touched.
    assert_eq!(read_all(s).len(), 1);
    assert_eq!(email_count(s, 0), 1);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn missing_non_ascii_folders_are_not_found_and_the_session_survives(k: Kind) {
    let d = servers::server(k);
    // Dovecot names a missing folder in raw UTF-8 in its NO answer, which the IMAP parser
    // cannot read: imapmail checks with LIST first.
    let user = user_with(d, 1, |_| false);
    let s = open(d, &user);
    let missing = d.folder_name("Ñope/Année");
    let nope = cstr(&missing);
    let mut n = 0;
    let raw = message("x", "a@b", "y");
    let cases: Vec<(&str, isize)> = vec![
        ("select", unsafe {
            email_select_folder(s, nope.as_ptr(), 1)
        }),
        ("status", unsafe {
            email_folder_status(
                s,
                nope.as_ptr(),
                &mut n,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }),
        ("delete", unsafe { email_delete_folder(s, nope.as_ptr()) }),
        ("rename", unsafe {
            email_rename_folder(s, nope.as_ptr(), cstr("Other").as_ptr())
        }),
        ("subscribe", unsafe {
            email_subscribe_folder(s, nope.as_ptr())
        }),
        ("copy", unsafe {
            email_copy_message(s, 1, nope.as_ptr(), &mut n)
        }),
        ("move", unsafe {
            email_move_message(s, 1, nope.as_ptr(), &mut n)
        }),
        ("append", unsafe {
            email_append(s, nope.as_ptr(), raw.as_ptr(), raw.len(), 0, 0, &mut n)
        }),
    ];
    for (what, rc) in cases {
        assert_eq!(
            rc,
            EMAIL_ERR_NOT_FOUND,
            "{what}: {}",
            text(email_session_error_message(s)).unwrap()
        );
        assert!(
            text(email_session_error_message(s))
                .unwrap()
                .contains(&missing),
            "{what}"
        );
    }
    ok(unsafe { email_unsubscribe_folder(s, nope.as_ptr()) });
    assert_eq!(text(email_current_folder(s)).unwrap(), "INBOX");
    assert_eq!(read_all(s).len(), 1);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn existing_folder_cannot_be_created_twice(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("twice");
    let s = open(d, &user);
    let twice = d.folder_name("Twice");
    create(s, &twice);
    let rc = unsafe { email_create_folder(s, cstr(&twice).as_ptr()) };
    assert_eq!(rc, EMAIL_ERR_SERVER, "{}", last_message());
    // The server's words: "... already exists" but Courier's "Cannot create this folder."
    let words = if k == Kind::Courier {
        "cannot create"
    } else {
        "exists"
    };
    assert!(
        last_message().to_ascii_lowercase().contains(words),
        "{}",
        last_message()
    );
    assert_eq!(
        unsafe { email_delete_folder(s, cstr("INBOX").as_ptr()) },
        EMAIL_ERR_SERVER
    );
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn selected_folder_can_be_renamed_and_deleted(k: Kind) {
    let d = servers::server(k);
    let f = |name: &str| d.folder_name(name);
    let user = d.new_user("selren");
    d.add_message(&user, "Work/Sub", &common::generated_message(1), false);
    let s = open(d, &user);
    select(s, &f("Work/Sub"));
    ok(unsafe { email_rename_folder(s, cstr(&f("Work")).as_ptr(), cstr(&f("Job")).as_ptr()) });
    assert_eq!(text(email_current_folder(s)).unwrap(), f("Job/Sub"));
    assert_eq!(read_all(s).len(), 1);
    ok(unsafe {
        email_rename_folder(
            s,
            cstr(&f("Job/Sub")).as_ptr(),
            cstr(&f("Job/Other")).as_ptr(),
        )
    });
    assert_eq!(text(email_current_folder(s)).unwrap(), f("Job/Other"));
    ok(unsafe { email_delete_folder(s, cstr(&f("Job/Other")).as_ptr()) });
    assert_eq!(text(email_current_folder(s)).unwrap(), "INBOX");
    assert_eq!(email_count(s, 0), 0, "{}", last_message());
    // Read-only selection.
    ok(unsafe { email_select_folder(s, cstr(&f("Job")).as_ptr(), 1) });
    assert_eq!(text(email_current_folder(s)).unwrap(), f("Job"));
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn flags_and_keywords_are_seen_by_a_second_session(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 3, |i| i == 2);
    let s = open(d, &user);
    let uids: Vec<u32> = read_all(s).iter().map(|m| m.0).collect();
    ok(email_mark_read(s, uids[0], 1));
    ok(email_mark_read(s, uids[0], 1)); // already read: still OK
    ok(email_mark_read(s, uids[2], 0));
    ok(email_set_flags(
        s,
        uids[1],
        EMAIL_FLAG_FLAGGED | EMAIL_FLAG_ANSWERED,
        1,
    ));
    // (Not run on imap4d, which has no keywords: see the matrix! list at the end.)
    ok(unsafe { email_add_keyword(s, uids[1], cstr("$Work").as_ptr()) });
    ok(unsafe { email_add_keyword(s, uids[1], cstr("Later").as_ptr()) });

    let other = open(d, &user);
    let seen = read_all(other);
    assert_eq!(seen[0].2, EMAIL_FLAG_SEEN);
    assert_eq!(seen[1].2, EMAIL_FLAG_FLAGGED | EMAIL_FLAG_ANSWERED);
    assert_eq!(seen[1].3, vec!["$Work".to_string(), "Later".to_string()]);
    assert_eq!(seen[2].2, 0);

    ok(email_set_flags(s, uids[1], EMAIL_FLAG_ANSWERED, 0));
    ok(unsafe { email_remove_keyword(s, uids[1], cstr("$Work").as_ptr()) });
    ok(email_mark_read(s, uids[0], 0));
    // A session opened now sees the changes; so does the one already open, except on Courier,
    // whose open sessions do not learn of keywords another session removed.
    let fresh = open(d, &user);
    let mut views = vec![read_all(fresh)];
    if k != Kind::Courier {
        views.push(read_all(other));
    }
    for seen in views {
        assert_eq!(seen[0].2, 0);
        assert_eq!(seen[1].2, EMAIL_FLAG_FLAGGED);
        assert_eq!(seen[1].3, vec!["Later".to_string()]);
    }
    assert_eq!(email_close_session(fresh), EMAIL_OK);

    // A UID that does not exist is an error, not silence.
    let missing = uids[2] + 100;
    for rc in [
        email_mark_read(s, missing, 1),
        email_mark_read(s, missing, 0),
        email_set_flags(s, missing, EMAIL_FLAG_FLAGGED, 1),
        unsafe { email_add_keyword(s, missing, cstr("x").as_ptr()) },
        email_delete_message(s, missing),
    ] {
        assert_eq!(rc, EMAIL_ERR_NOT_FOUND, "{}", last_message());
        assert!(
            last_message().contains(&missing.to_string()),
            "{}",
            last_message()
        );
    }
    assert_eq!(email_mark_read(s, 0, 1), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_set_flags(s, uids[0], 0x40, 1), EMAIL_ERR_ARGUMENT);
    for bad in [
        "two words",
        "a\"b",
        "\\Seen",
        "x{5}",
        "é",
        "100%",
        "a*",
        "a\rb",
    ] {
        let c = CString::new(bad).unwrap();
        assert_eq!(
            unsafe { email_add_keyword(s, uids[0], c.as_ptr()) },
            EMAIL_ERR_ARGUMENT,
            "{bad:?}"
        );
    }
    assert_eq!(
        unsafe { email_add_keyword(s, uids[0], ptr::null()) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(email_close_session(other), EMAIL_OK);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn conveniences_act_on_a_message_read_earlier(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 2, |_| false);
    d.add_message(&user, "Other", &common::generated_message(7), false);
    let other_folder = d.folder_name("Other");
    let s = open(d, &user);
    let mut m: *mut EmailMessage = ptr::null_mut();
    ok(unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) });
    ok(email_message_mark_read(s, m, 1));
    // The message object keeps the flags it was read with.
    assert_eq!(email_message_is_read(m), 0);
    // The server's flags, as another session sees them; imap4d writes a session's flag
    // changes to the Maildir only when the session ends, so there the session itself reads
    // them back from the server.
    let other = open(d, &user);
    let viewer = if k == Kind::Imap4d { s } else { other };
    assert_eq!(read_all(viewer)[0].2, EMAIL_FLAG_SEEN);
    ok(email_message_mark_read(s, m, 0));
    ok(email_message_set_flags(s, m, EMAIL_FLAG_FLAGGED, 1));
    assert_eq!(read_all(viewer)[0].2, EMAIL_FLAG_FLAGGED);

    // From another folder, the same UID is another message: refused.
    select(s, &other_folder);
    assert_eq!(
        email_message_mark_read(s, m, 1),
        EMAIL_ERR_NOT_FOUND,
        "{}",
        last_message()
    );
    assert_eq!(
        read_all(s)[0].2,
        0,
        "the other folder's message was changed"
    );
    select(s, "INBOX");
    let mut copied = 0;
    ok(unsafe { email_message_copy(s, m, cstr(&other_folder).as_ptr(), &mut copied) });
    let mut moved = 0;
    ok(unsafe { email_message_move(s, m, cstr(&other_folder).as_ptr(), &mut moved) });
    if k.has_uidplus() {
        assert!(copied > 0);
        assert_eq!(moved, copied + 1);
    } else {
        // No COPYUID: the new UIDs are unknown (0); the original goes with the next expunge.
        assert_eq!((copied, moved), (0, 0));
        ok(email_expunge(s));
    }
    assert_eq!(status(s, &other_folder).0, 3);
    // It is gone from INBOX now.
    assert_eq!(email_message_delete(s, m), EMAIL_ERR_NOT_FOUND);
    email_message_free(m);
    assert_eq!(email_message_mark_read(s, m, 1), EMAIL_ERR_HANDLE);
    assert_eq!(email_message_mark_read(s, ptr::null(), 1), EMAIL_ERR_HANDLE);
    assert_eq!(email_close_session(other), EMAIL_OK);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn expunge_removes_only_what_this_session_deleted(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 5, |_| false);
    // Another program marks a message deleted (and ends its session: imap4d writes flags to
    // the Maildir then); this session must not expunge it. Without UIDPLUS (imap4d) imapmail
    // clears that flag for the time of a plain EXPUNGE and sets it again.
    let other = open(d, &user);
    let uids: Vec<u32> = read_all(other).iter().map(|m| m.0).collect();
    ok(email_set_flags(other, uids[4], EMAIL_FLAG_DELETED, 1));
    assert_eq!(email_close_session(other), EMAIL_OK);
    let s = open(d, &user);
    assert_eq!(read_all(s)[4].2, EMAIL_FLAG_DELETED);
    ok(email_delete_message(s, uids[1]));
    ok(email_set_flags(s, uids[2], EMAIL_FLAG_DELETED, 1));
    // Marked, then unmarked: stays.
    ok(email_delete_message(s, uids[3]));
    ok(email_set_flags(s, uids[3], EMAIL_FLAG_DELETED, 0));
    ok(email_expunge(s));
    assert_eq!(email_count(s, 0), 3);
    // Nothing left to expunge for this session: nothing happens.
    ok(email_expunge(s));
    assert_eq!(email_count(s, 0), 3);
    assert_eq!(email_close_session(s), EMAIL_OK);
    // Seen from a new session.
    let fresh = open(d, &user);
    let left = read_all(fresh);
    assert_eq!(
        left.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![uids[0], uids[3], uids[4]]
    );
    assert_eq!(left[1].2, 0);
    assert_eq!(left[2].2, EMAIL_FLAG_DELETED);
    assert_eq!(email_close_session(fresh), EMAIL_OK);
}

fn copy_and_move_give_the_new_uids(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 4, |_| false);
    let s = open(d, &user);
    let dest_folder = d.folder_name("Dest");
    let dest = dest_folder.as_str();
    create(s, dest);
    let uids: Vec<u32> = read_all(s).iter().map(|m| m.0).collect();
    let mut new_uid = 0;
    ok(unsafe { email_copy_message(s, uids[0], cstr(dest).as_ptr(), &mut new_uid) });
    // The new UIDs come from COPYUID (UIDPLUS); imap4d has none: 0.
    let known = |uid: u32| if k.has_uidplus() { uid } else { 0 };
    assert_eq!(new_uid, known(1));
    ok(unsafe { email_move_message(s, uids[1], cstr(dest).as_ptr(), &mut new_uid) });
    assert_eq!(new_uid, known(2));
    ok(unsafe { email_copy_message(s, uids[2], cstr(dest).as_ptr(), ptr::null_mut()) });
    if !k.has_uidplus() {
        // The moved original stays, marked \Deleted, until the next expunge.
        assert_eq!(email_count(s, 0), 4);
        ok(email_expunge(s));
    }
    assert_eq!(email_count(s, 0), 3);
    assert_eq!(status(s, dest).0, 3);
    let missing = uids[3] + 50;
    assert_eq!(
        unsafe { email_copy_message(s, missing, cstr(dest).as_ptr(), &mut new_uid) },
        EMAIL_ERR_NOT_FOUND
    );
    assert_eq!(new_uid, 0);
    assert_eq!(
        unsafe { email_move_message(s, missing, cstr(dest).as_ptr(), &mut new_uid) },
        EMAIL_ERR_NOT_FOUND
    );
    // Nothing was copied or moved for the missing UID (imap4d 3.15 would take it as the last
    // message's: without UIDPLUS imapmail checks the UID before the COPY), and the source
    // folder is as it was.
    assert_eq!(email_count(s, 0), 3);
    assert_eq!(status(s, dest).0, 3);
    select(s, dest);
    let subjects: Vec<String> = read_all(s).into_iter().map(|m| m.1).collect();
    assert_eq!(subjects, ["Message 0001", "Message 0002", "Message 0003"]);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn append_with_flags_and_internal_date(k: Kind) {
    let d = servers::server(k);
    let user = d.new_user("append");
    let s = open(d, &user);
    let folder = d.folder_name("Entrée");
    create(s, &folder);
    let raw = message("Appended é", "Zoé <zoe@example.com>", "8-bit body: café");
    const JAN_2_2020_NOON: i64 = 1_577_966_400;
    let uid = append(
        s,
        &folder,
        &raw,
        EMAIL_FLAG_SEEN | EMAIL_FLAG_FLAGGED,
        JAN_2_2020_NOON,
    );
    let uid2 = append(s, &folder, &raw, 0, 0);
    // APPENDUID (UIDPLUS); imap4d has none: 0.
    let known = |uid: u32| if k.has_uidplus() { uid } else { 0 };
    assert_eq!((uid, uid2), (known(1), known(2)));
    select(s, &folder);
    let got = read_all(s);
    assert_eq!(got.iter().map(|m| m.0).collect::<Vec<_>>(), vec![1, 2]);
    // imap4d 3.15 ignores the flags and the date given to APPEND: the message is stored
    // without flags, and its internal date is its Date header (2024-01-01 10:00 +0000).
    let kept = k != Kind::Imap4d;
    let want_flags = if kept {
        EMAIL_FLAG_SEEN | EMAIL_FLAG_FLAGGED
    } else {
        0
    };
    assert_eq!(got[0].2, want_flags);
    assert_eq!(got[1].2, 0);
    let mut m: *mut EmailMessage = ptr::null_mut();
    ok(unsafe { email_read_first(s, 0, &mut m) });
    let mut len = 0;
    let src = unsafe { email_message_source(m, &mut len) };
    assert_eq!(
        unsafe { std::slice::from_raw_parts(src, len) },
        &raw[..],
        "the message is stored byte for byte"
    );
    email_message_free(m);
    // The internal date: ON that day finds only the first.
    let q = email_search_new();
    ok(email_search_on(q, JAN_2_2020_NOON));
    assert_eq!(search_uids(s, q), if kept { vec![1] } else { vec![] });
    email_search_free(q);
    if !kept {
        const JAN_1_2024_NOON: i64 = 1_704_110_400;
        let q = email_search_new();
        ok(email_search_on(q, JAN_1_2024_NOON));
        assert_eq!(search_uids(s, q), vec![1, 2]);
        email_search_free(q);
    }

    let f = cstr(&folder);
    assert_eq!(
        unsafe { email_append(s, f.as_ptr(), raw.as_ptr(), 0, 0, 0, ptr::null_mut()) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(
        unsafe { email_append(s, f.as_ptr(), ptr::null(), 5, 0, 0, ptr::null_mut()) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(
        unsafe {
            email_append(
                s,
                f.as_ptr(),
                raw.as_ptr(),
                raw.len(),
                0x100,
                0,
                ptr::null_mut(),
            )
        },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(
        unsafe {
            email_append(
                s,
                f.as_ptr(),
                raw.as_ptr(),
                raw.len(),
                0,
                -5,
                ptr::null_mut(),
            )
        },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(email_count(s, 0), 2);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn search_criteria_and_reading_the_results(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 10, |i| i % 2 == 0);
    let specials = [
        message("say \"hi\" \\o/", "Bob <bob@example.com>", "quotes"),
        message(
            "=?UTF-8?Q?Entr=C3=A9e_caf=C3=A9?=",
            "Zoé <zoe@example.com>",
            "Grüße aus Köln",
        ),
        message("{5} 100% *", "Carol <carol@example.com>", "literal-looking"),
    ];
    d.add_messages(&user, "INBOX", &specials, &|_| false);
    let s = open(d, &user);
    let all = read_all(s);
    let uid = |subject: &str| {
        all.iter()
            .find(|m| m.1 == subject)
            .unwrap_or_else(|| panic!("{subject}"))
            .0
    };
    let gen: Vec<u32> = (1..=10).map(|i| uid(&format!("Message {i:04}"))).collect();
    let (quotes, utf8, braces) = (
        uid("say \"hi\" \\o/"),
        uid("Entrée café"),
        uid("{5} 100% *"),
    );

    let run = |build: &dyn Fn(*mut EmailSearch)| {
        let q = email_search_new();
        build(q);
        let found = search_uids(s, q);
        email_search_free(q);
        found
    };
    let c = |v: &str| CString::new(v).unwrap();

    assert_eq!(run(&|_| {}).len(), 13, "an empty query finds everything");
    // Unread: the odd generated ones (i % 2 == 0 are seen, i from 0) and the specials.
    let unread = run(&|q| ok(email_search_flags(q, EMAIL_FLAG_SEEN, 0)));
    assert_eq!(
        unread,
        vec![gen[1], gen[3], gen[5], gen[7], gen[9], quotes, utf8, braces]
    );
    let read = run(&|q| ok(email_search_flags(q, EMAIL_FLAG_SEEN, 1)));
    assert_eq!(read, vec![gen[0], gen[2], gen[4], gen[6], gen[8]]);
    assert_eq!(
        run(&|q| ok(unsafe { email_search_from(q, c("sender3@").as_ptr()) })),
        vec![gen[2]]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_subject(q, c("\"hi\" \\o").as_ptr()) })),
        vec![quotes]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_subject(q, c("{5} 100% *").as_ptr()) })),
        vec![braces]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_subject(q, c("Entrée").as_ptr()) })),
        vec![utf8]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_from(q, c("Zoé").as_ptr()) })),
        vec![utf8]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_body(q, c("Grüße").as_ptr()) })),
        vec![utf8]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_text(q, c("gen-body-0004").as_ptr()) })),
        vec![gen[3]]
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_to(q, c("recipient@example.org").as_ptr()) })).len(),
        10
    );
    assert_eq!(
        run(&|q| ok(unsafe { email_search_cc(q, c("nobody").as_ptr()) })),
        Vec::<u32>::new()
    );
    assert_eq!(
        run(&|q| ok(unsafe {
            email_search_header(q, c("Message-ID").as_ptr(), c("gen-0007").as_ptr())
        })),
        vec![gen[6]]
    );
    assert_eq!(
        run(&|q| ok(email_search_uid_range(q, gen[2], gen[4]))),
        vec![gen[2], gen[3], gen[4]]
    );
    // "UID braces:*": imap4d 3.15 answers every "UID n:*" with nothing.
    let open_range = |want: Vec<u32>| if k == Kind::Imap4d { vec![] } else { want };
    assert_eq!(
        run(&|q| ok(email_search_uid_range(q, braces, 0))),
        open_range(vec![braces])
    );
    assert_eq!(
        run(&|q| ok(email_search_larger(q, 100_000))),
        Vec::<u32>::new()
    );
    assert_eq!(run(&|q| ok(email_search_smaller(q, 100_000))).len(), 13);
    // Sent dates: Message i is 2024-01-01 00:00 + i minutes; the specials are 2024-01-01 10:00.
    const JAN_1_2024: i64 = 1_704_067_200;
    assert_eq!(run(&|q| ok(email_search_sent_on(q, JAN_1_2024))).len(), 13);
    assert_eq!(
        run(&|q| ok(email_search_sent_since(q, JAN_1_2024 + 86_400))),
        Vec::<u32>::new()
    );
    assert_eq!(
        run(&|q| ok(email_search_sent_before(q, JAN_1_2024 + 86_400))).len(),
        13
    );
    // The test server sets the internal dates from the Date headers.
    assert_eq!(run(&|q| ok(email_search_since(q, JAN_1_2024))).len(), 13);
    assert_eq!(
        run(&|q| ok(email_search_since(q, JAN_1_2024 + 86_400))),
        Vec::<u32>::new()
    );
    assert_eq!(
        run(&|q| ok(email_search_before(q, JAN_1_2024 + 86_400))).len(),
        13
    );
    assert_eq!(
        run(&|q| ok(email_search_on(q, JAN_1_2024 + 43_200))).len(),
        13
    );

    // AND (several criteria), OR and NOT of sub-queries.
    let and = run(&|q| {
        ok(email_search_flags(q, EMAIL_FLAG_SEEN, 0));
        ok(unsafe { email_search_from(q, c("example.com").as_ptr()) });
        ok(email_search_uid_range(q, gen[5], 0));
    });
    assert_eq!(
        and,
        open_range(vec![gen[5], gen[7], gen[9], quotes, utf8, braces])
    );
    let or = run(&|q| {
        let a = email_search_new();
        let b = email_search_new();
        ok(unsafe { email_search_from(a, c("bob@").as_ptr()) });
        ok(unsafe { email_search_from(b, c("carol@").as_ptr()) });
        ok(email_search_or(q, a, b));
        email_search_free(a);
        email_search_free(b);
    });
    assert_eq!(or, vec![quotes, braces]);
    let not = run(&|q| {
        let sub = email_search_new();
        ok(unsafe { email_search_from(sub, c("sender").as_ptr()) });
        ok(email_search_not(q, sub));
        email_search_free(sub);
    });
    assert_eq!(not, vec![quotes, utf8, braces]);
    let grouped = run(&|q| {
        let sub = email_search_new();
        ok(email_search_flags(sub, EMAIL_FLAG_SEEN, 1));
        ok(email_search_uid_range(sub, gen[0], gen[2]));
        ok(email_search_and(q, sub));
        ok(email_search_or(q, sub, sub));
        email_search_free(sub);
    });
    assert_eq!(grouped, vec![gen[0], gen[2]]);

    // Reading "unread mail from example.com since New Year" with read_first/read_next.
    let q = email_search_new();
    ok(unsafe { email_search_from(q, c("example.com").as_ptr()) });
    ok(email_search_since(q, JAN_1_2024));
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc =
        unsafe { email_read_first_search(s, q, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS, &mut m) };
    email_search_free(q);
    let mut got = Vec::new();
    while rc == EMAIL_OK {
        got.push(email_message_uid(m));
        assert_eq!(email_message_is_read(m), 0);
        email_message_free(m);
        rc = unsafe { email_read_next(s, &mut m) };
    }
    assert_eq!(rc, EMAIL_OUT, "{}", last_message());
    assert_eq!(
        got,
        vec![gen[1], gen[3], gen[5], gen[7], gen[9], quotes, utf8, braces]
    );
    // Nothing matches: EMAIL_OUT at once.
    let q = email_search_new();
    ok(unsafe { email_search_subject(q, c("no such subject").as_ptr()) });
    assert_eq!(
        unsafe { email_read_first_search(s, q, 0, &mut m) },
        EMAIL_OUT
    );
    assert!(m.is_null());
    email_search_free(q);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn search_arguments_are_checked_when_added() {
    let q = email_search_new();
    let bad = [CString::new("a\rb").unwrap(), CString::new("a\nb").unwrap()];
    for v in &bad {
        assert_eq!(
            unsafe { email_search_subject(q, v.as_ptr()) },
            EMAIL_ERR_ARGUMENT
        );
        assert_eq!(
            unsafe { email_search_header(q, v.as_ptr(), cstr("x").as_ptr()) },
            EMAIL_ERR_ARGUMENT
        );
        assert_eq!(
            unsafe { email_search_header(q, cstr("X").as_ptr(), v.as_ptr()) },
            EMAIL_ERR_ARGUMENT
        );
    }
    assert_eq!(
        unsafe { email_search_from(q, ptr::null()) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(
        unsafe { email_search_keyword(q, cstr("a b").as_ptr(), 1) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(email_search_flags(q, 0, 1), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_search_flags(q, 0x80, 1), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_search_uid_range(q, 0, 5), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_search_uid_range(q, 6, 5), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_search_since(q, i64::MAX), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_search_or(q, q, ptr::null()), EMAIL_ERR_HANDLE);
    assert_eq!(email_search_not(ptr::null_mut(), q), EMAIL_ERR_HANDLE);
    ok(unsafe { email_search_keyword(q, cstr("$Junk").as_ptr(), 0) });
    email_search_free(q);
    email_search_free(q);
    assert_eq!(email_search_flags(q, EMAIL_FLAG_SEEN, 1), EMAIL_ERR_HANDLE);
    assert_eq!(email_uids_count(ptr::null()), 0);
    assert_eq!(email_uids_get(ptr::null(), 0), 0);
    let mut n = 5usize;
    assert!(unsafe { email_uids_data(ptr::null(), &mut n) }.is_null());
    assert_eq!(n, 0);
    email_uids_free(ptr::null_mut());
}

fn counts(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 7, |i| i < 3);
    let s = open(d, &user);
    assert_eq!(email_count(s, EMAIL_READ_ALL), 7);
    assert_eq!(email_count(s, EMAIL_READ_UNREAD), 4);
    assert_eq!(email_count(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS), 4);
    assert_eq!(email_count(s, 0x80), EMAIL_ERR_ARGUMENT);
    assert_eq!(email_count(ptr::null_mut(), 0), EMAIL_ERR_HANDLE);
    assert_eq!(email_last_error(), EMAIL_ERR_HANDLE);
    // A message appended by another session is counted.
    let other = open(d, &user);
    append(other, "INBOX", &message("new", "a@b", "c"), 0, 0);
    assert_eq!(email_count(s, EMAIL_READ_ALL), 8);
    assert_eq!(email_count(s, EMAIL_READ_UNREAD), 5);
    assert_eq!(email_close_session(other), EMAIL_OK);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

/// IDLE's bounds in time are its behaviour, asserted without clocks: a wait with nothing new
/// ends by its timeout (EMAIL_OUT, the count unchanged); a wait whose timeout (300 s) is at
/// least 10x what any server here takes to be noticed (Dovecot answers at once, Courier and
/// Cyrus poll every few seconds, imap4d reports nothing during IDLE and imapmail's NOOP between
/// its 30-s IDLE rounds finds the news) ends with EMAIL_OK and the new count, and only after the
/// other session has begun its APPEND (event order), so the news woke it.
const IDLE_LONG_MS: u32 = 300_000;

fn idle_returns_when_another_connection_appends(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 2, |_| false);
    let s = open(d, &user);
    let mut exists = 0;
    // Nothing new: EMAIL_OUT after the timeout.
    assert_eq!(
        unsafe { email_idle(s, 1200, &mut exists) },
        EMAIL_OUT,
        "{}",
        last_message()
    );
    assert_eq!(exists, 2);

    let name = user.name.clone();
    let password = user.password.clone();
    let append_started = Arc::new(AtomicBool::new(false));
    let started = append_started.clone();
    let appender = std::thread::spawn(move || {
        let d = servers::server(k);
        let other = open(d, &User { name, password });
        // Not a bound: gives the IDLE below time to begin, so the news arrive during it.
        std::thread::sleep(Duration::from_millis(800));
        started.store(true, Ordering::SeqCst);
        append(other, "INBOX", &message("arrives", "a@b", "c"), 0, 0);
        assert_eq!(email_close_session(other), EMAIL_OK);
    });
    let rc = unsafe { email_idle(s, IDLE_LONG_MS, &mut exists) };
    let woke_after_append = append_started.load(Ordering::SeqCst);
    appender.join().unwrap();
    assert_eq!(rc, EMAIL_OK, "{}", last_message());
    assert_eq!(exists, 3);
    assert!(
        woke_after_append,
        "IDLE returned before the other session appended"
    );

    // An expunge by another session is a change too.
    let other = open(d, &user);
    let first = read_all(other)[0].0;
    ok(email_delete_message(other, first));
    ok(email_expunge(other));
    assert_eq!(
        unsafe { email_idle(s, IDLE_LONG_MS, &mut exists) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(exists, 2);
    // Mail that arrived while the session was not waiting is reported by the next IDLE (nothing
    // else happens meanwhile: EMAIL_OK can only come from this append).
    append(other, "INBOX", &message("meanwhile", "a@b", "c"), 0, 0);
    assert_eq!(
        unsafe { email_idle(s, IDLE_LONG_MS, &mut exists) },
        EMAIL_OK,
        "{}",
        last_message()
    );
    assert_eq!(exists, 3);
    // The session works normally afterwards.
    assert_eq!(read_all(s).len(), 3);
    assert_eq!(unsafe { email_idle(s, 0, ptr::null_mut()) }, EMAIL_OUT);
    assert_eq!(email_close_session(other), EMAIL_OK);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

fn control_characters_are_refused_before_anything_is_sent(k: Kind) {
    let d = servers::server(k);
    let user = user_with(d, 1, |_| false);
    let s = open(d, &user);
    let bad = [
        CString::new("a\rb").unwrap(),
        CString::new("a\nb").unwrap(),
        CString::new("").unwrap(),
    ];
    let raw = message("x", "a@b", "y");
    let mut n = 0u32;
    for v in &bad {
        let p = v.as_ptr();
        let results = [
            unsafe { email_select_folder(s, p, 0) },
            unsafe { email_create_folder(s, p) },
            unsafe { email_delete_folder(s, p) },
            unsafe { email_rename_folder(s, p, cstr("x").as_ptr()) },
            unsafe { email_rename_folder(s, cstr("INBOX").as_ptr(), p) },
            unsafe { email_subscribe_folder(s, p) },
            unsafe { email_unsubscribe_folder(s, p) },
            unsafe { email_folder_status(s, p, &mut n, &mut n, &mut n, &mut n) },
            unsafe { email_move_message(s, 1, p, &mut n) },
            unsafe { email_copy_message(s, 1, p, &mut n) },
            unsafe { email_append(s, p, raw.as_ptr(), raw.len(), 0, 0, &mut n) },
            unsafe { email_add_keyword(s, 1, p) },
        ];
        for (i, rc) in results.into_iter().enumerate() {
            assert_eq!(
                rc,
                EMAIL_ERR_ARGUMENT,
                "call {i} with {v:?}: {}",
                last_message()
            );
        }
    }
    // NULL arguments and out-pointers.
    assert_eq!(
        unsafe { email_list_folders(s, ptr::null_mut()) },
        EMAIL_ERR_ARGUMENT
    );
    assert_eq!(
        unsafe { email_search(s, ptr::null(), ptr::null_mut()) },
        EMAIL_ERR_ARGUMENT
    );
    let mut uids: *mut EmailUids = ptr::null_mut();
    assert_eq!(
        unsafe { email_search(s, ptr::null(), &mut uids) },
        EMAIL_ERR_HANDLE
    );
    assert_eq!(
        unsafe { email_select_folder(s, ptr::null(), 0) },
        EMAIL_ERR_ARGUMENT
    );
    // Invalid sessions.
    let mut list: *mut EmailStrings = ptr::null_mut();
    assert_eq!(
        unsafe { email_list_folders(ptr::null_mut(), &mut list) },
        EMAIL_ERR_HANDLE
    );
    assert!(email_current_folder(ptr::null()).is_null());
    assert_eq!(email_last_error(), EMAIL_ERR_HANDLE);
    assert_eq!(email_mark_read(ptr::null_mut(), 1, 1), EMAIL_ERR_HANDLE);
    assert_eq!(email_expunge(ptr::null_mut()), EMAIL_ERR_HANDLE);
    assert_eq!(
        unsafe { email_idle(ptr::null_mut(), 10, ptr::null_mut()) },
        EMAIL_ERR_HANDLE
    );
    // The session is fine.
    assert_eq!(read_all(s).len(), 1);
    assert_eq!(email_close_session(s), EMAIL_OK);
    assert_eq!(email_expunge(s), EMAIL_ERR_HANDLE);
}

/// The commands a session sent, from its trace file, without tags.
fn sent_commands(trace: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("C: "))
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.to_string()))
        .collect()
}

#[test]
fn login_takes_few_round_trips_and_capabilities_are_asked_when_needed() {
    // Dovecot lists its capabilities in the greeting and offers SASL-IR: logging in is ID and
    // one AUTHENTICATE with the credentials on its line, then SELECT. The capabilities after
    // login are asked for once, by the first command that depends on them (MOVE here).
    let d = servers::server(Kind::Dovecot);
    let user = user_with(d, 3, |_| false);
    let trace = d.dir.join(format!("trace-{}.log", user.name));
    let s = open_with(d, &user, &format!("trace_file={}", trace.display()));
    create(s, "Moved");
    let uids: Vec<u32> = read_all(s).iter().map(|m| m.0).collect();
    for uid in &uids[..2] {
        ok(unsafe { email_move_message(s, *uid, cstr("Moved").as_ptr(), ptr::null_mut()) });
    }
    assert_eq!(status(s, "Moved").0, 2);
    assert_eq!(email_close_session(s), EMAIL_OK);
    let sent = sent_commands(&trace);
    let verbs: Vec<&str> = sent.iter().map(|c| c.split(' ').next().unwrap()).collect();
    assert_eq!(&verbs[..3], ["ID", "AUTHENTICATE", "SELECT"], "{sent:#?}");
    assert_eq!(sent[1], "AUTHENTICATE PLAIN <redacted>", "{sent:#?}");
    // ID goes out with the login line (pipelining): AUTHENTICATE is sent before the answer to
    // ID is read, so both take one round trip.
    let lines: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let auth_sent = lines
        .iter()
        .position(|l| l.starts_with("C: a2 AUTHENTICATE"));
    let id_answered = lines.iter().position(|l| l.starts_with("S: a1 OK"));
    assert!(
        auth_sent.is_some() && id_answered.is_some() && auth_sent < id_answered,
        "{lines:#?}"
    );
    let capability_at = verbs.iter().position(|v| *v == "CAPABILITY");
    let first_move = sent.iter().position(|c| c.starts_with("UID MOVE"));
    assert!(
        capability_at.is_some() && capability_at < first_move,
        "{sent:#?}"
    );
    assert_eq!(
        verbs.iter().filter(|v| **v == "CAPABILITY").count(),
        1,
        "{sent:#?}"
    );
    assert_eq!(sent.iter().filter(|c| c.starts_with("UID MOVE")).count(), 2);
}

macro_rules! matrix {
    (all: [$($name:ident),* $(,)?], not_imap4d: [$($other:ident),* $(,)?] $(,)?) => {
        mod dovecot {
            $( #[test] fn $name() { super::$name(super::Kind::Dovecot) } )*
            $( #[test] fn $other() { super::$other(super::Kind::Dovecot) } )*
        }
        mod cyrus {
            $( #[test] fn $name() { super::$name(super::Kind::Cyrus) } )*
            $( #[test] fn $other() { super::$other(super::Kind::Cyrus) } )*
        }
        mod courier {
            $( #[test] fn $name() { super::$name(super::Kind::Courier) } )*
            $( #[test] fn $other() { super::$other(super::Kind::Courier) } )*
        }
        mod imap4d {
            $( #[test] fn $name() { super::$name(super::Kind::Imap4d) } )*
        }
    };
}

matrix!(
    all: [
        folders_round_trip_with_awkward_names,
        listing_gives_inbox_first_and_special_uses,
        unknown_folders_are_not_found_with_the_servers_words,
        missing_non_ascii_folders_are_not_found_and_the_session_survives,
        existing_folder_cannot_be_created_twice,
        selected_folder_can_be_renamed_and_deleted,
        conveniences_act_on_a_message_read_earlier,
        expunge_removes_only_what_this_session_deleted,
        copy_and_move_give_the_new_uids,
        append_with_flags_and_internal_date,
        search_criteria_and_reading_the_results,
        control_characters_are_refused_before_anything_is_sent,
    ],
    // What two sessions open at once see of each other's changes, not run on imap4d 3.15: it
    // writes a session's flag changes to the Maildir only when the session ends, an open
    // session rescans a folder only when the folder directory's mtime (whole seconds) has
    // moved on since its last scan (so another session's APPEND in the same second goes
    // unseen), and it has no keywords. The matrix's IDLE case (tests/matrix.rs) covers IDLE
    // on imap4d, with mail delivered by the fixture.
    not_imap4d: [
        flags_and_keywords_are_seen_by_a_second_session,
        counts,
        idle_returns_when_another_connection_appends,
    ],
);

//! The MIME corpus (tests/corpus, with expected values in expected.json) read from a real
//! Dovecot through the C API: decoded subjects and names in many charsets, bodies converted to
//! UTF-8, alternative / related / nested multiparts, attachments byte-exact, attached
//! messages, broken MIME, and attachment saving under hostile names.

mod common;

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

use serde_json::Value;
use sha2::{Digest, Sha256};

use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::mailbox::email_message_load_body;
use imapmail::ffi::session::*;

fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Every corpus message, read through read_first/read_next, keyed by its Message-ID.
struct Corpus {
    messages: BTreeMap<String, *mut EmailMessage>,
    expected: serde_json::Map<String, Value>,
}

fn read_corpus() -> Corpus {
    let d = common::dovecot();
    let user = d.new_user("corpus");
    let names = common::corpus_names();
    let raws: Vec<Vec<u8>> = names.iter().map(|n| common::corpus(n)).collect();
    d.add_messages(&user, "INBOX", &raws, &|_| false);
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(user.name.clone()).unwrap(),
        CString::new(user.password.clone()).unwrap(),
    );
    let o = CString::new(format!("ca_file={}", d.ca_file.display())).unwrap();
    let session = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            d.imaps_port,
            u.as_ptr(),
            p.as_ptr(),
            EMAIL_SECURITY_TLS,
            o.as_ptr(),
        )
    };
    assert!(!session.is_null(), "{:?}", text(email_last_error_message()));
    let mut messages = BTreeMap::new();
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(session, EMAIL_READ_ALL, &mut m) };
    while rc == EMAIL_OK {
        messages.insert(text(email_message_message_id(m)).unwrap(), m);
        rc = unsafe { email_read_next(session, &mut m) };
    }
    assert_eq!(rc, EMAIL_OUT);
    assert_eq!(email_close_session(session), EMAIL_OK);
    assert_eq!(
        messages.len(),
        names.len(),
        "every corpus message is read back"
    );
    let expected = match serde_json::from_str::<Value>(&common::corpus_expected()).unwrap() {
        Value::Object(o) => o,
        other => panic!("expected.json is not an object: {other}"),
    };
    Corpus { messages, expected }
}

impl Corpus {
    fn message(&self, file: &str) -> (*mut EmailMessage, &Value) {
        let exp = &self.expected[file];
        let id = s(&exp["message_id"]).unwrap_or_else(|| panic!("{file}: no message_id"));
        (
            *self
                .messages
                .get(id)
                .unwrap_or_else(|| panic!("{file}: not read back")),
            exp,
        )
    }
}

impl Drop for Corpus {
    fn drop(&mut self) {
        for m in self.messages.values() {
            email_message_free(*m);
        }
    }
}

fn check_addresses(file: &str, m: *mut EmailMessage, kind: i32, exp: &Value) {
    let list = exp.as_array().cloned().unwrap_or_default();
    assert_eq!(
        email_message_recipient_count(m, kind),
        list.len(),
        "{file}: recipients of kind {kind}"
    );
    for (i, a) in list.iter().enumerate() {
        assert_eq!(
            text(email_message_recipient_address(m, kind, i)).as_deref(),
            s(&a["address"]),
            "{file}: address {i}"
        );
        assert_eq!(
            text(email_message_recipient_name(m, kind, i)).unwrap(),
            s(&a["name"]).unwrap_or(""),
            "{file}: name {i}"
        );
    }
    assert!(email_message_recipient_address(m, kind, list.len()).is_null());
}

#[test]
fn corpus_decodes_as_expected() {
    let corpus = read_corpus();
    let mut checked = 0;
    for (file, exp) in corpus.expected.clone() {
        let (m, _) = corpus.message(&file);
        assert_eq!(
            text(email_message_subject(m)).as_deref(),
            s(&exp["subject"]),
            "{file}: subject"
        );
        assert_eq!(
            text(email_message_sender_address(m)).as_deref(),
            s(&exp["from"]["address"]),
            "{file}: sender address"
        );
        assert_eq!(
            text(email_message_sender_name(m)).unwrap(),
            s(&exp["from"]["name"]).unwrap_or(""),
            "{file}: sender name"
        );
        let sender = text(email_message_sender(m)).unwrap();
        assert!(
            sender.contains(s(&exp["from"]["address"]).unwrap()),
            "{file}: sender {sender}"
        );
        assert_eq!(
            text(email_message_date(m)).as_deref(),
            s(&exp["date"]),
            "{file}: date"
        );
        assert!(
            email_message_timestamp(m) > 1_700_000_000,
            "{file}: timestamp"
        );
        check_addresses(&file, m, EMAIL_TO, &exp["to"]);
        check_addresses(&file, m, EMAIL_CC, &exp["cc"]);
        check_addresses(&file, m, EMAIL_REPLY_TO, &exp["reply_to"]);
        if let Some(want) = s(&exp["text_contains"]) {
            let body = text(email_message_text(m)).unwrap();
            assert!(body.contains(want), "{file}: text {body:?} lacks {want:?}");
        }
        if let Some(want) = s(&exp["html_contains"]) {
            let html = text(email_message_html(m)).unwrap();
            assert!(html.contains(want), "{file}: html {html:?} lacks {want:?}");
        }
        let atts = exp["attachments"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            email_message_attachment_count(m),
            atts.len(),
            "{file}: attachment count"
        );
        for (i, a) in atts.iter().enumerate() {
            assert_eq!(
                text(email_attachment_name(m, i)).as_deref(),
                s(&a["filename"]),
                "{file}: name of attachment {i}"
            );
            assert_eq!(
                text(email_attachment_content_type(m, i)).as_deref(),
                s(&a["content_type"]),
                "{file}: type of {i}"
            );
            assert_eq!(
                text(email_attachment_content_id(m, i)).unwrap(),
                s(&a["content_id"]).unwrap_or(""),
                "{file}: cid of {i}"
            );
            assert_eq!(
                email_attachment_is_inline(m, i),
                isize::from(a["inline"].as_bool().unwrap_or(false)),
                "{file}: inline {i}"
            );
            let mut len = 0usize;
            let data = unsafe { email_attachment_data(m, i, &mut len) };
            assert!(!data.is_null());
            let bytes = unsafe { std::slice::from_raw_parts(data, len) };
            assert_eq!(
                len as u64,
                a["size"].as_u64().unwrap(),
                "{file}: size of {i}"
            );
            assert_eq!(
                format!("{:x}", Sha256::digest(bytes)),
                s(&a["sha256"]).unwrap(),
                "{file}: bytes of {i}"
            );
        }
        assert!(email_attachment_name(m, atts.len()).is_null());
        let mut len = 0usize;
        assert!(unsafe { email_attachment_data(m, atts.len(), &mut len) }.is_null());
        assert_eq!(len, 0);
        let mut src_len = 0usize;
        let src = unsafe { email_message_source(m, &mut src_len) };
        let raw = common::corpus(&file);
        assert_eq!(
            unsafe { std::slice::from_raw_parts(src, src_len) },
            &raw[..],
            "{file}: source"
        );
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} corpus messages checked");
}

#[test]
fn headers_are_decoded_by_name() {
    let corpus = read_corpus();
    let (m, exp) = corpus.message("13-subject-iso-2022-jp.eml");
    let name = CString::new("subject").unwrap();
    assert_eq!(
        text(unsafe { email_message_header(m, name.as_ptr()) }).as_deref(),
        s(&exp["subject"])
    );
    let missing = CString::new("X-Not-There").unwrap();
    assert!(unsafe { email_message_header(m, missing.as_ptr()) }.is_null());
    assert!(unsafe { email_message_header(m, ptr::null()) }.is_null());
    assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
}

#[test]
fn saving_hostile_attachment_names_stays_inside_the_directory() {
    let corpus = read_corpus();
    let (m, exp) = corpus.message("33-hostile-filenames.eml");
    let dir = std::env::temp_dir().join(format!("imapmail-save-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cdir = CString::new(dir.to_str().unwrap()).unwrap();
    let count = email_message_attachment_count(m);
    assert_eq!(count, exp["attachments"].as_array().unwrap().len());
    for i in 0..count {
        assert_eq!(
            unsafe { email_attachment_save(m, i, cdir.as_ptr()) },
            EMAIL_OK,
            "{:?}",
            text(email_last_error_message())
        );
        // Saving again never overwrites.
        assert_eq!(
            unsafe { email_attachment_save(m, i, cdir.as_ptr()) },
            EMAIL_OK
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), count * 2, "{names:?}");
    for n in &names {
        assert!(
            !n.contains('/')
                && !n.contains('\\')
                && !n.starts_with('.')
                && !n.chars().any(char::is_control),
            "{n}"
        );
        assert!(!n.eq_ignore_ascii_case("CON.txt"), "{n}");
    }
    // Nothing escaped the directory.
    assert!(!dir.parent().unwrap().join("etc").exists());
    assert_eq!(
        unsafe { email_attachment_save(m, count, cdir.as_ptr()) },
        EMAIL_ERR_ARGUMENT
    );
    let missing = CString::new(dir.join("missing").to_str().unwrap()).unwrap();
    assert_eq!(
        unsafe { email_attachment_save(m, 0, missing.as_ptr()) },
        EMAIL_ERR_NOT_FOUND
    );
    assert_eq!(
        unsafe { email_attachment_save(m, 0, ptr::null()) },
        EMAIL_ERR_ARGUMENT
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn header_only_message_loads_its_body_on_demand() {
    let d = common::dovecot();
    let user = d.new_user("lazy");
    d.add_message(
        &user,
        "INBOX",
        &common::corpus("21-mixed-attachments.eml"),
        false,
    );
    d.add_message(&user, "INBOX", &common::generated_message(2), false);
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(user.name.clone()).unwrap(),
        CString::new(user.password.clone()).unwrap(),
    );
    let o = CString::new(format!("ca_file={}", d.ca_file.display())).unwrap();
    let session = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            d.imaps_port,
            u.as_ptr(),
            p.as_ptr(),
            EMAIL_SECURITY_TLS,
            o.as_ptr(),
        )
    };
    assert!(!session.is_null());
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(session, EMAIL_READ_HEADERS, &mut m) },
        EMAIL_OK
    );
    assert_eq!(email_message_attachment_count(m), 0);
    let before = email_message_text(m);
    assert_eq!(text(before).unwrap(), "");
    assert_eq!(email_message_load_body(session, m), EMAIL_OK);
    assert_eq!(email_message_attachment_count(m), 2);
    assert!(text(email_message_text(m))
        .unwrap()
        .contains("please find the chart"));
    assert_eq!(
        text(before).unwrap(),
        "",
        "a string handed out before loading stays valid"
    );
    // Saving works on the loaded whole too (it used to look at the headers-only copy).
    let dir = std::env::temp_dir().join(format!("imapmail-lazy-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cdir = CString::new(dir.to_str().unwrap()).unwrap();
    for i in 0..2 {
        assert_eq!(
            unsafe { email_attachment_save(m, i, cdir.as_ptr()) },
            EMAIL_OK,
            "{:?}",
            text(email_last_error_message())
        );
        let name = text(email_attachment_name(m, i)).unwrap();
        let mut len = 0usize;
        let data = unsafe { email_attachment_data(m, i, &mut len) };
        let want = unsafe { std::slice::from_raw_parts(data, len) };
        assert_eq!(std::fs::read(dir.join(&name)).unwrap(), want, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // The iteration goes on undisturbed, and reading never set \Seen.
    let mut next: *mut EmailMessage = ptr::null_mut();
    assert_eq!(unsafe { email_read_next(session, &mut next) }, EMAIL_OK);
    assert_eq!(text(email_message_subject(next)).unwrap(), "Message 0002");
    assert_eq!(email_message_is_read(next), 0);
    email_message_free(next);
    assert_eq!(
        email_message_load_body(ptr::null_mut(), m),
        EMAIL_ERR_HANDLE
    );
    assert_eq!(
        email_message_load_body(session, ptr::null()),
        EMAIL_ERR_HANDLE
    );
    email_message_free(m);
    assert_eq!(email_close_session(session), EMAIL_OK);
}

extern "C" fn count_progress(done: u64, total: u64, user: *mut std::ffi::c_void) -> i32 {
    let seen = unsafe { &mut *(user as *mut Vec<(u64, u64)>) };
    seen.push((done, total));
    i32::from(done >= 5)
}

#[test]
fn progress_callback_reports_and_cancels() {
    let d = common::dovecot();
    let user = d.new_user("progress");
    let raws: Vec<Vec<u8>> = (1..=20).map(common::generated_message).collect();
    d.add_messages(&user, "INBOX", &raws, &|_| false);
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new(user.name.clone()).unwrap(),
        CString::new(user.password.clone()).unwrap(),
    );
    let o = CString::new(format!("ca_file={}", d.ca_file.display())).unwrap();
    let session = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            d.imaps_port,
            u.as_ptr(),
            p.as_ptr(),
            EMAIL_SECURITY_TLS,
            o.as_ptr(),
        )
    };
    assert!(!session.is_null());
    let mut seen: Vec<(u64, u64)> = Vec::new();
    assert_eq!(
        email_set_progress_callback(
            session,
            Some(count_progress),
            &mut seen as *mut _ as *mut std::ffi::c_void
        ),
        EMAIL_OK
    );
    let mut list = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(session, EMAIL_READ_ALL, &mut list) },
        EMAIL_ERR_CANCELLED
    );
    assert!(list.is_null());
    assert_eq!(seen.last(), Some(&(5, 20)));
    assert_eq!(seen.first(), Some(&(1, 20)));
    // The session stays usable.
    assert_eq!(
        email_set_progress_callback(session, None, ptr::null_mut()),
        EMAIL_OK
    );
    assert_eq!(
        unsafe { email_get_all(session, EMAIL_READ_ALL, &mut list) },
        EMAIL_OK
    );
    assert_eq!(imapmail::ffi::list::email_list_count(list), 20);
    imapmail::ffi::list::email_list_free(list);
    assert_eq!(email_close_session(session), EMAIL_OK);
}

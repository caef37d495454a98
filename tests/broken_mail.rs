//! Broken mail (tests/broken/*.eml, plus a generated 2 MB single-line header): every message
//! comes back, readable best effort, with its raw source; one that cannot be decoded at all
//! carries EMAIL_ERR_PROTOCOL on the message; one bad message never spoils a batch.
//!
//! Checked three ways: the core decoder (`Message::from_raw`), the C accessors of messages
//! served by the scripted server, and a batch of 20 served by a real Dovecot.

#[path = "matrix/capi.rs"]
mod capi;
#[path = "quirks/server.rs"]
mod server;
#[path = "matrix/servers.rs"]
mod servers;

use std::path::Path;
use std::ptr;

use capi::*;
use imapmail::core::Message;
use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::mailbox::email_message_load_body;
use imapmail::ffi::session::*;

/// The messages of tests/broken, sorted, plus the generated huge-header one.
fn broken() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 20, "tests/broken holds {} messages", out.len());
    out.push(("huge-header (generated)".into(), huge_header()));
    out
}

const HUGE: usize = 2 * 1024 * 1024;

/// A message with a 2 MB header on one line.
fn huge_header() -> Vec<u8> {
    let mut m =
        b"From: huge@example.com\r\nTo: reader@example.org\r\nSubject: Huge header\r\nX-Huge: "
            .to_vec();
    m.extend(std::iter::repeat_n(b'h', HUGE));
    m.extend_from_slice(b"\r\nDate: Mon, 04 Mar 2024 10:21:00 +0100\r\nMessage-ID: <broken-huge@imapmail.test>\r\n\r\nSmall body after a huge header.\r\n");
    m
}

/// What each message must give (through the C accessors: `Msg`), best effort but exact where
/// the content is knowable.
fn check(name: &str, m: &Msg) {
    let has = |hay: &str, needle: &str| {
        assert!(hay.contains(needle), "{name}: {needle:?} not in {hay:?}")
    };
    let ok = |m: &Msg| assert_eq!(m.error, EMAIL_OK, "{name}: {}", m.error_message);
    match name {
        "01-no-closing-boundary.eml" => {
            ok(m);
            assert_eq!(m.subject, "No closing boundary");
            has(&m.text, "The text before the cut.");
            assert_eq!(m.attachments.len(), 1, "{name}");
            assert_eq!(m.attachments[0].name, "cut.bin");
            assert_eq!(
                m.attachments[0].data,
                (0u8..90).collect::<Vec<u8>>(),
                "{name}: the bytes up to the cut"
            );
        }
        "02-charset-utf8-alias.eml" => {
            ok(m);
            has(&m.text, "Grüße aus Köln – ça va?");
        }
        "03-charset-latin-1.eml" => {
            ok(m);
            has(&m.text, "Grüße aus Köln, ça va?");
        }
        "04-charset-unknown.eml" => {
            ok(m);
            has(&m.text, "Plain words survive: hello world.");
        }
        "05-raw-8bit-utf8-headers.eml" => {
            ok(m);
            assert_eq!(m.subject, "Grüße – 日本語 raw UTF-8");
            assert_eq!(m.sender_name, "Jürgen Groß");
            assert_eq!(
                m.to,
                vec![("Zoë".to_string(), "zoe@example.se".to_string())]
            );
        }
        "06-raw-8bit-latin1-headers.eml" => {
            ok(m);
            assert_eq!(m.subject, "Grüße aus Köln");
            assert_eq!(m.sender_name, "Jürgen Groß");
            assert_eq!(m.sender_address, "juergen@example.de");
        }
        "07-base64-garbage.eml" => {
            ok(m);
            has(&m.text, "See the damaged attachment.");
            // One body part (the first text/plain); the second text part is an inline
            // attachment, its base64 decoded as far as it goes.
            assert_eq!(m.attachments.len(), 2, "{name}");
            assert_eq!(m.attachments[1].content_type, "text/plain");
            assert!(m.attachments[1].inline, "{name}");
            assert!(m.attachments[1].data.starts_with(b"Hello world"), "{name}");
            assert_eq!(m.attachments[0].name, "damaged.bin");
            assert_eq!(
                &m.attachments[0].data[..30],
                &(0u8..30).collect::<Vec<u8>>()[..],
                "{name}: the bytes before the garbage"
            );
        }
        "08-no-content-type.eml" => {
            ok(m);
            assert_eq!(m.text, "Just text, no MIME headers.\r\n");
            assert!(m.attachments.is_empty());
        }
        "09-date-non-rfc.eml" => {
            ok(m);
            assert_eq!(m.date, "2024-03-04 10:09:00");
            assert_eq!(m.timestamp, 1_709_546_940, "{name}: read as UTC");
        }
        "10-duplicate-headers.eml" => {
            ok(m);
            assert_eq!(m.subject, "First subject");
            assert_eq!(m.sender_address, "first@example.com");
            assert_eq!(m.timestamp, 1_709_543_400);
            has(&m.text, "the first of each counts");
        }
        "11-undecodable-deep-nesting.eml" => {
            assert_eq!(
                m.error, EMAIL_ERR_PROTOCOL,
                "{name}: the MIME cannot be decoded"
            );
            has(&m.error_message, "could not be decoded");
            assert_eq!(m.subject, "Nested too deep to decode");
            has(&m.text, "the innermost text");
        }
        "12-header-starts-with-space.eml" => {
            ok(m);
            assert_eq!(m.subject, "Header block starts with a space");
            assert_eq!(m.sender_address, "space@example.com");
            has(&m.text, "The first header line is a continuation.");
        }
        "13-lone-cr-in-header.eml" => {
            ok(m);
            assert_eq!(m.subject, "Lone CR in a header");
            has(&m.text, "Body after a lone CR.");
        }
        "14-header-line-without-colon.eml" => {
            ok(m);
            assert_eq!(m.subject, "A header line without a colon");
            has(&m.text, "Body after a bad header line.");
        }
        "15-lf-only.eml" => {
            ok(m);
            assert_eq!(m.text.trim_end(), "plain with LF");
            assert_eq!(m.html.trim_end(), "<p>html with LF</p>");
        }
        "16-headers-only-no-body.eml" => {
            ok(m);
            assert_eq!(m.subject, "Headers and no body");
            assert_eq!(m.text, "");
        }
        "17-nul-bytes.eml" => {
            ok(m);
            assert_eq!(m.subject, "NUL bytes");
            has(&m.text, "Body with a NUL");
            has(&m.text, "byte.");
        }
        "18-bad-quoted-printable.eml" => {
            ok(m);
            has(&m.text, "Broken escapes");
            has(&m.text, "été");
        }
        "19-bad-encoded-words.eml" => {
            ok(m);
            assert_eq!(m.sender_address, "words@example.com");
            assert!(!m.subject.is_empty());
            has(&m.text, "Encoded words gone wrong.");
        }
        "20-missing-boundary-parameter.eml" => {
            ok(m);
            has(
                &m.text,
                "Text inside a multipart without a boundary parameter.",
            );
        }
        "21-date-without-seconds.eml" => {
            ok(m);
            assert_eq!(
                m.timestamp, 1_773_154_800,
                "{name}: 15:00 UTC, the zone kept"
            );
        }
        "22-content-type-without-subtype.eml" => {
            ok(m);
            has(&m.text, "An invalid Content-Type is text/plain: Grüße.");
            assert!(m.attachments.is_empty(), "{name}");
        }
        "23-rfc2231-blank-charset.eml" => {
            ok(m);
            has(&m.text, "whose boundary has a blank RFC 2231 charset");
            assert_eq!(m.attachments.len(), 1, "{name}");
            assert_eq!(m.attachments[0].name, "blank charset.bin");
            assert_eq!(m.attachments[0].data, [0u8, 1, 2, 3]);
        }
        "24-no-blank-line-after-headers.eml" => {
            ok(m);
            assert_eq!(m.subject, "No blank line after the header block");
            assert_eq!(
                m.text,
                "Hello Reader,\r\nthe body starts at the first line that is not a header field.\r\n"
            );
        }
        "25-no-blank-line-in-part.eml" => {
            ok(m);
            assert_eq!(m.text, "The plain part has no blank line after its header.");
            assert_eq!(m.html, "<p>The HTML part neither.</p>");
        }
        "26-two-text-parts-and-footer.eml" => {
            ok(m);
            assert_eq!(m.text, "The plain body.");
            assert_eq!(m.html, "<p>The HTML body.</p>");
            assert_eq!(m.attachments.len(), 1, "{name}: the footer");
            assert!(m.attachments[0].inline, "{name}");
            assert_eq!(m.attachments[0].data, b"The list's footer.");
        }
        "27-nested-boundary-extends-outer.eml" => {
            ok(m);
            assert_eq!(m.text, "Here comes a file in two forks.");
            assert_eq!(m.attachments.len(), 2, "{name}");
            assert_eq!(m.attachments[0].content_type, "application/applefile");
            assert_eq!(m.attachments[1].name, "fork.bin");
            assert_eq!(m.attachments[1].data, b"data");
        }
        "28-boundary-never-occurs.eml" => {
            assert_eq!(m.error, EMAIL_ERR_PROTOCOL, "{name}: not split");
            has(&m.error_message, "boundary");
            assert_eq!(m.text, "");
            assert_eq!(m.attachments.len(), 1, "{name}: its bytes are kept");
            assert_eq!(m.attachments[0].content_type, "multipart/mixed");
            assert!(m.attachments[0]
                .data
                .ends_with(b"This multipart has no part with its boundary.\r\n"));
        }
        "huge-header (generated)" => {
            ok(m);
            assert_eq!(m.subject, "Huge header");
            assert_eq!(m.sender_address, "huge@example.com");
            has(&m.text, "Small body after a huge header.");
        }
        other => panic!("no expectation for tests/broken/{other}: add one to broken_mail.rs"),
    }
}

#[test]
fn core_decoder_is_best_effort_on_every_broken_message() {
    for (name, raw) in broken() {
        // Speed is measured by scripts/bench, not here.
        let m = Message::from_raw(raw.clone());
        let h = m.header();
        let b = m.body();
        assert_eq!(m.source(), &raw[..], "{name}: source changed");
        // The decoded values are what the C accessors hand out; check them through one path.
        let error = if b.error.is_some() {
            EMAIL_ERR_PROTOCOL
        } else {
            EMAIL_OK
        };
        let msg = Msg {
            uid: 0,
            flags: 0,
            size: raw.len() as u64,
            subject: h.subject.clone(),
            sender: h.from.display(),
            sender_address: h.from.address.clone(),
            sender_name: h.from.name.clone(),
            to: h
                .to
                .iter()
                .map(|a| (a.name.clone(), a.address.clone()))
                .collect(),
            cc: h
                .cc
                .iter()
                .map(|a| (a.name.clone(), a.address.clone()))
                .collect(),
            date: h.date.clone(),
            timestamp: h.timestamp,
            message_id: h.message_id.clone(),
            text: b.text.replace('\0', "\u{FFFD}"),
            html: b.html.clone(),
            source: raw.clone(),
            error,
            error_message: b.error.clone().unwrap_or_default(),
            keywords: Vec::new(),
            attachments: b
                .attachments
                .iter()
                .map(|a| Att {
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    content_id: a.content_id.clone(),
                    inline: a.inline,
                    data: a.data.clone(),
                })
                .collect(),
        };
        check(&name, &msg);
    }
    let huge = Message::from_raw(huge_header());
    assert_eq!(huge.header_value("X-Huge").map(str::len), Some(HUGE));
}

fn serve(mails: Vec<server::Mail>) -> server::Server {
    server::start(server::Config {
        mails,
        ..server::Config::default()
    })
}

#[test]
fn c_accessors_on_broken_mail_served_in_one_folder() {
    let all = broken();
    let mails: Vec<server::Mail> = all
        .iter()
        .enumerate()
        .map(|(i, (_, raw))| server::Mail {
            uid: 100 + i as u32,
            flags: Vec::new(),
            raw: raw.clone(),
        })
        .collect();
    let srv = serve(mails);
    let s = start(
        srv.port,
        "user",
        "pass",
        EMAIL_SECURITY_NONE,
        "timeout_ms=20000",
    )
    .expect("session");
    for pass in ["read_first/read_next", "get_all"] {
        let got = if pass == "get_all" {
            get_all(s, EMAIL_READ_ALL)
        } else {
            read_all(s, EMAIL_READ_ALL)
        };
        assert_eq!(got.len(), all.len(), "{pass}: every message comes back");
        for ((name, raw), m) in all.iter().zip(&got) {
            assert_eq!(&m.source, raw, "{pass}: {name}: source");
            check(name, m);
        }
    }
    // Headers only, then the whole message on demand (during the iteration, as a host showing a
    // list does): the headers match the full read, the body is not there until loaded, and once
    // loaded the message gives the same best effort as a full read.
    let full = read_all(s, EMAIL_READ_ALL);
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(s, EMAIL_READ_HEADERS, &mut m) };
    let mut seen = 0;
    while rc == EMAIL_OK {
        let (name, raw) = &all[seen];
        let whole = &full[seen];
        let head = snapshot(m);
        assert_eq!(head.uid, whole.uid, "{name}");
        assert_eq!(head.subject, whole.subject, "{name}: subject");
        assert_eq!(head.sender, whole.sender, "{name}: sender");
        assert_eq!(head.date, whole.date, "{name}: date");
        assert_eq!(head.message_id, whole.message_id, "{name}: message id");
        // Only the header section came. A message with no blank line (16: all header; 24: its
        // body follows the header lines directly) is all header section to the server.
        assert!(raw.starts_with(&head.source), "{name}: header source");
        let has_blank_line =
            raw.windows(4).any(|w| w == b"\r\n\r\n") || raw.windows(2).any(|w| w == b"\n\n");
        if has_blank_line {
            assert!(
                head.source.len() < raw.len(),
                "{name}: the whole message came"
            );
        }
        assert!(
            head.attachments.is_empty(),
            "{name}: attachments before loading"
        );
        assert_eq!(
            email_message_load_body(s, m),
            EMAIL_OK,
            "{name}: {}",
            last_message()
        );
        let loaded = snapshot(m);
        assert_eq!(&loaded.source, raw, "{name}: source after loading");
        check(name, &loaded);
        assert_eq!(loaded.text, whole.text, "{name}: text after loading");
        assert_eq!(loaded.attachments, whole.attachments, "{name}: attachments");
        email_message_free(m);
        seen += 1;
        rc = unsafe { email_read_next(s, &mut m) };
    }
    assert_eq!(rc, EMAIL_OUT, "{}", last_message());
    assert_eq!(seen, all.len(), "every message comes back headers first");
    close(s);
}

#[test]
fn dovecot_batch_of_20_with_bad_ones_in_the_middle() {
    let d = servers::server(servers::Kind::Dovecot);
    let user = d.new_user("broken");
    let all = broken();
    // 20 messages: good ones around, the worst ones in the middle (undecodable, huge header,
    // no boundary, garbage base64, raw 8-bit headers, bad first header line).
    let pick = |file: &str| {
        all.iter()
            .find(|(n, _)| n == file)
            .map(|(_, r)| r.clone())
            .expect(file)
    };
    let good = |i: usize| -> Vec<u8> {
        format!(
            "From: Good {i} <good{i}@example.com>\r\nTo: reader@example.org\r\nSubject: Good {i}\r\n\
             Date: Mon, 04 Mar 2024 09:{i:02}:00 +0000\r\nMessage-ID: <good-{i}@imapmail.test>\r\n\r\nGood body {i}.\r\n"
        )
        .into_bytes()
    };
    let bad = [
        "11-undecodable-deep-nesting.eml",
        "huge-header (generated)",
        "01-no-closing-boundary.eml",
        "07-base64-garbage.eml",
        "06-raw-8bit-latin1-headers.eml",
        "12-header-starts-with-space.eml",
        "13-lone-cr-in-header.eml",
        "03-charset-latin-1.eml",
    ];
    let mut batch: Vec<(String, Vec<u8>)> =
        (1..=6).map(|i| (format!("good {i}"), good(i))).collect();
    batch.extend(bad.iter().map(|b| (b.to_string(), pick(b))));
    batch.extend((7..=12).map(|i| (format!("good {i}"), good(i))));
    assert_eq!(batch.len(), 20);
    let raws: Vec<Vec<u8>> = batch.iter().map(|(_, r)| r.clone()).collect();
    d.add_messages(&user, "INBOX", &raws, &|_| false);

    let s = start(
        d.imaps_port,
        &user.name,
        &user.password,
        EMAIL_SECURITY_TLS,
        &d.options(),
    )
    .expect("session");
    for pass in ["iteration", "get_all"] {
        let got = if pass == "get_all" {
            get_all(s, EMAIL_READ_ALL)
        } else {
            read_all(s, EMAIL_READ_ALL)
        };
        assert_eq!(got.len(), 20, "{pass}");
        for ((name, raw), m) in batch.iter().zip(&got) {
            assert_eq!(
                &m.source, raw,
                "{pass}: {name}: Dovecot must hand back the bytes stored"
            );
            match name.strip_prefix("good ") {
                Some(i) => {
                    assert_eq!(m.subject, format!("Good {i}"), "{pass}");
                    assert_eq!(m.error, EMAIL_OK);
                    assert_eq!(m.text, format!("Good body {i}.\r\n"));
                }
                None => check(name, m),
            }
        }
    }
    close(s);
}

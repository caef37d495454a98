//! Documented behaviour of real IMAP servers, reproduced by a scripted server
//! (tests/quirks/server.rs) from the recorded answers in tests/data/imap-transcripts where they
//! cover the case: each test reads mail through the C API and checks what comes back.
//!
//! Quirks that imapmail cannot get through today (because the imap crate or imap-proto reject
//! the answer) are tested for a clean failure instead, and named as such; the report of the
//! server-matrix work carries the proposed fix.

#[path = "matrix/capi.rs"]
mod capi;
#[path = "quirks/server.rs"]
mod server;

use capi::*;
use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::*;
use server::{before_tagged, replay, simple_mail, transcript, Action, Cmd, Config, Conn, Mail};

const OPTS: &str = "timeout_ms=10000";

fn open(srv: &server::Server) -> *mut EmailSession {
    start(srv.port, "user", "pass", EMAIL_SECURITY_NONE, OPTS)
        .unwrap_or_else(|(c, m)| panic!("session failed ({c}): {m}\ncommands: {:#?}", srv.log()))
}

fn open_folder(srv: &server::Server, folder: &str) -> Result<*mut EmailSession, (isize, String)> {
    start(
        srv.port,
        "user",
        "pass",
        EMAIL_SECURITY_NONE,
        &format!("{OPTS};folder={folder}"),
    )
}

fn mails(n: u32) -> Vec<Mail> {
    (1..=n)
        .map(|i| simple_mail(i, &format!("Quirk {i}"), i % 2 == 0))
        .collect()
}

fn subjects(got: &[Msg]) -> Vec<String> {
    got.iter().map(|m| m.subject.clone()).collect()
}

/// Reads everything and checks the simple mails 1..=n came back whole, in order.
fn assert_reads_all(s: *mut EmailSession, n: u32) -> Vec<Msg> {
    let got = read_all(s, EMAIL_READ_ALL);
    let want: Vec<String> = (1..=n).map(|i| format!("Quirk {i}")).collect();
    assert_eq!(subjects(&got), want);
    for (i, m) in got.iter().enumerate() {
        let uid = i as u32 + 1;
        assert_eq!(m.uid, uid);
        assert_eq!(
            m.source,
            simple_mail(uid, &format!("Quirk {uid}"), false).raw,
            "UID {uid}: bytes differ"
        );
        assert_eq!(m.text, format!("Body of Quirk {uid}.\r\n"));
        assert_eq!(m.error, EMAIL_OK);
    }
    got
}

/// A hook answering the given commands with recorded answers (GREETING has no tag), and the
/// rest as the plain server would.
fn recorded(
    files: &'static [(&'static str, &'static str)],
) -> impl Fn(&Cmd, &Conn, Vec<u8>) -> Action {
    move |cmd, conn, default| {
        let logged_in = conn.sent("AUTHENTICATE") || conn.sent("LOGIN");
        let key = if cmd.name == "CAPABILITY" && logged_in {
            "CAPABILITY+"
        } else {
            cmd.name.as_str()
        };
        match files.iter().find(|(k, _)| *k == key) {
            Some((_, file)) => Action::Send(replay(file, &cmd.tag)),
            None if cmd.name == "LOGOUT" => Action::SendClose(default),
            None => Action::Send(default),
        }
    }
}

fn replace(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8_lossy(data).replace(from, to).into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Gmail

#[test]
fn gmail_keywords_with_brackets_labels_and_x_gm_ext_1() {
    let mut ms = mails(3);
    ms[0].flags = vec![
        "\\Seen".into(),
        "OIB-Seen-[Gmail]/Important".into(),
        "$NotPhishing".into(),
    ];
    ms[1].flags = vec!["OIB-Seen-INBOX".into(), "[Gmail]Label".into()];
    let files = &[
        ("GREETING", "gmail/greeting.txt"),
        ("CAPABILITY", "gmail/capability.txt"),
        ("AUTHENTICATE", "gmail/authenticate.txt"),
        ("SELECT", "gmail/select-inbox.txt"),
    ];
    let rec = recorded(files);
    let srv = server::start(
        Config {
            mails: ms,
            ..Config::default()
        }
        .with_hook(move |cmd, conn, default| {
            if cmd.name == "UID FETCH" {
                // Gmail's own FETCH items next to the ones asked for.
                return Action::Send(replace(
                    &default,
                    "FETCH (UID ",
                    "FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334865 \
                 X-GM-LABELS (\"\\\\Important\" \"[Gmail]/Sent Mail\" Work) UID ",
                ));
            }
            rec(cmd, conn, default)
        }),
    );
    let s = open(&srv);
    let got = assert_reads_all(s, 3);
    assert_eq!(
        got[0].keywords,
        vec!["OIB-Seen-[Gmail]/Important", "$NotPhishing"]
    );
    assert!(got[0].seen());
    assert_eq!(got[1].keywords, vec!["OIB-Seen-INBOX", "[Gmail]Label"]);
    assert!(!got[1].seen());
    close(s);
    // X-GM-EXT-1 and AUTH=XOAUTH2 were offered; PLAIN was used since no token was given.
    assert!(
        srv.log().iter().any(|l| l.contains(" AUTHENTICATE PLAIN ")),
        "{:?}",
        srv.log()
    );
}

#[test]
fn alert_at_login_and_during_a_command() {
    let srv = server::start(
        Config {
            mails: mails(5),
            ..Config::default()
        }
        .with_hook(|cmd, _, default| match cmd.name.as_str() {
            "AUTHENTICATE" => Action::Send(
                [
                    b"* OK [ALERT] Your password expires in 3 days\r\n".as_slice(),
                    &default,
                ]
                .concat(),
            ),
            // dovecot/noop+alert.txt: an ALERT inside the answer to a command.
            "UID FETCH" | "SELECT" => {
                let alert = transcript("dovecot/noop+alert.txt");
                let line = alert.split(|&b| b == b'\n').next().unwrap_or_default();
                Action::Send(before_tagged(&default, &[line, b"\n"].concat()))
            }
            "LOGOUT" => Action::SendClose(default),
            _ => Action::Send(default),
        }),
    );
    let s = open(&srv);
    assert_reads_all(s, 5);
    close(s);
}

#[test]
fn gmail_webalert_login_failure_is_an_auth_error_with_the_servers_words() {
    let files = &[
        ("GREETING", "gmail/greeting.txt"),
        ("CAPABILITY", "gmail/capability.txt"),
        ("AUTHENTICATE", "gmail/authenticate+webalert.txt"),
    ];
    let srv = server::start(Config::default().with_hook(recorded(files)));
    let (code, msg) = start(srv.port, "user", "pass", EMAIL_SECURITY_NONE, OPTS).unwrap_err();
    assert_eq!(code, EMAIL_ERR_AUTH, "{msg}");
    assert!(msg.contains("Please log in via your web browser"), "{msg}");
    assert!(!msg.contains("pass\""), "{msg}");
}

#[test]
fn localized_special_use_folder_in_modified_utf7() {
    // Yandex names Sent "Отправленные", Zoho "Gesendet": the SELECT must carry modified UTF-7.
    let srv = server::start(
        Config {
            mails: mails(2),
            ..Config::default()
        }
        .with_hook(|cmd, _, default| match cmd.name.as_str() {
            "SELECT" => {
                let name = cmd.args.trim_matches('"');
                if name == "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" {
                    Action::Send(replay("yandex/select-inbox.txt", &cmd.tag))
                } else {
                    Action::Send(
                        format!("{} NO [NONEXISTENT] Unknown folder: {name}\r\n", cmd.tag)
                            .into_bytes(),
                    )
                }
            }
            "CAPABILITY" => Action::Send(replay("yandex/capability.txt", &cmd.tag)),
            "LOGOUT" => Action::SendClose(default),
            _ => Action::Send(default),
        }),
    );
    let s = open_folder(&srv, "Отправленные").unwrap_or_else(|e| panic!("{e:?}\n{:?}", srv.log()));
    assert_reads_all(s, 2);
    close(s);
    let (code, msg) = open_folder(&srv, "Entwürfe").unwrap_err();
    assert_eq!(code, EMAIL_ERR_NOT_FOUND, "{msg}");
    assert!(
        srv.log().iter().any(|l| l.contains("Entw&APw-rfe")),
        "{:?}",
        srv.log()
    );
}

#[test]
fn unsolicited_flag_updates_inside_fetch_answers() {
    let srv = server::start(
        Config {
            mails: mails(6),
            ..Config::default()
        }
        .with_hook(|cmd, _, default| {
            match cmd.name.as_str() {
                // Flag changes made by another client, announced in the middle of our commands,
                // with and without UID (Gmail and Dovecot send both kinds).
                "UID FETCH" => {
                    let mut extra = b"* 2 FETCH (FLAGS (\\Seen \\Flagged))\r\n".to_vec();
                    extra.extend_from_slice(b"* 1 FETCH (UID 1 FLAGS (\\Seen $Forwarded))\r\n");
                    extra.extend_from_slice(b"* 6 FETCH (UID 6 MODSEQ (0) FLAGS ())\r\n");
                    let mut out = extra.clone();
                    out.extend_from_slice(&before_tagged(&default, &extra));
                    Action::Send(out)
                }
                "LOGOUT" => Action::SendClose(default),
                _ => Action::Send(default),
            }
        }),
    );
    let s = open(&srv);
    let got = assert_reads_all(s, 6);
    assert_eq!(got.len(), 6, "no message twice, none invented");
    // Reading again (header-first, then loading the body) sees the same.
    let headers = read_all(s, EMAIL_READ_HEADERS);
    assert_eq!(subjects(&headers), subjects(&got));
    close(s);
}

// ---------------------------------------------------------------------------------------------
// Exchange / Office 365

fn exchange(
    hook_extra: impl Fn(&Cmd, &Conn, Vec<u8>) -> Option<Action> + Send + Sync + 'static,
    n: u32,
) -> server::Server {
    let files = &[
        ("GREETING", "exchange/greeting.txt"),
        ("CAPABILITY", "exchange/capability-preauth.txt"),
        ("CAPABILITY+", "exchange/capability-postauth.txt"),
    ];
    let rec = recorded(files);
    server::start(
        Config {
            mails: mails(n),
            ..Config::default()
        }
        .with_hook(move |cmd, conn, default| {
            match hook_extra(cmd, conn, default.clone()) {
                Some(a) => a,
                None => rec(cmd, conn, default),
            }
        }),
    )
}

#[test]
fn exchange_nil_envelope_and_bodystructure_members_next_to_the_data() {
    let srv = exchange(
        |cmd, _, default| {
            (cmd.name == "UID FETCH").then(|| {
                Action::Send(replace(
                    &default,
                    "FETCH (UID ",
                    "FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) \
                     BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) UID ",
                ))
            })
        },
        4,
    );
    let s = open(&srv);
    assert_reads_all(s, 4);
    close(s);
}

#[test]
fn exchange_namespace_bad_is_not_needed() {
    let srv = exchange(
        |cmd, _, _| {
            (cmd.name == "NAMESPACE").then(|| {
                Action::Send(format!("{} BAD Command Argument Error. 11\r\n", cmd.tag).into_bytes())
            })
        },
        3,
    );
    let s = open(&srv);
    assert_reads_all(s, 3);
    close(s);
}

#[test]
fn exchange_bye_mid_session_is_disconnected() {
    // Office 365 drops sessions with "* BYE Connection closed. 14" between two commands.
    let srv = exchange(
        |cmd, conn, _| {
            let fetches = conn.history.iter().filter(|h| *h == "UID FETCH").count();
            (cmd.name == "UID FETCH" && fetches >= 2)
                .then(|| Action::SendClose(b"* BYE Connection closed. 14\r\n".to_vec()))
        },
        40,
    );
    let s = open(&srv);
    match try_read_all(s, EMAIL_READ_ALL) {
        Ok(got) => panic!("read {} messages without noticing the BYE", got.len()),
        Err((code, msg, got)) => {
            assert_eq!(code, EMAIL_ERR_DISCONNECTED, "{msg}");
            // The first batch arrived whole before the BYE.
            assert!(!got.is_empty() && got.len() < 40, "{}", got.len());
            assert_eq!(got[0].subject, "Quirk 1");
        }
    }
    let mut m: *mut EmailMessage = std::ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_ERR_DISCONNECTED
    );
    assert_eq!(email_session_error(s), EMAIL_ERR_DISCONNECTED);
    close(s);
}

// ---------------------------------------------------------------------------------------------
// iCloud

#[test]
fn icloud_enable_without_enabled_and_no_rfc822_fetch() {
    let files = &[
        ("GREETING", "icloud/greeting.txt"),
        ("CAPABILITY", "icloud/capability.txt"),
        ("AUTHENTICATE", "icloud/authenticate-plain.txt"),
        ("ENABLE", "icloud/enable-qresync.txt"),
        ("NAMESPACE", "icloud/namespace.txt"),
    ];
    let srv = server::start(
        Config {
            mails: mails(5),
            ..Config::default()
        }
        .with_hook(recorded(files)),
    );
    let s = open(&srv);
    assert_reads_all(s, 5);
    close(s);
    // iCloud answers FETCH RFC822 badly (truncated or reformatted): imapmail only ever asks
    // for BODY.PEEK[] / BODY[] and RFC822.SIZE.
    for line in srv.log() {
        let up = line.to_ascii_uppercase();
        assert!(!up.replace("RFC822.SIZE", "").contains("RFC822"), "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// Dovecot

#[test]
fn dovecot_progress_lines_inside_a_command() {
    let srv = server::start(Config { mails: mails(9), ..Config::default() }.with_hook(|cmd, _, default| {
        match cmd.name.as_str() {
            "UID FETCH" | "SELECT" => {
                let progress = b"* OK Searched 21% of the mailbox, ETA 0:42\r\n* OK Searched 91% of the mailbox, ETA 0:12\r\n";
                Action::Send([progress.as_slice(), &before_tagged(&default, progress)].concat())
            }
            "LOGOUT" => Action::SendClose(default),
            _ => Action::Send(default),
        }
    }));
    let s = open(&srv);
    assert_reads_all(s, 9);
    close(s);
}

// ---------------------------------------------------------------------------------------------
// Yandex

fn yandex(
    mails: Vec<Mail>,
    extra: impl Fn(&Cmd, &Conn, Vec<u8>) -> Option<Action> + Send + Sync + 'static,
) -> server::Server {
    let files = &[
        ("GREETING", "yandex/greeting.txt"),
        ("CAPABILITY", "yandex/capability.txt"),
        ("AUTHENTICATE", "yandex/authenticate.txt"),
        ("NAMESPACE", "yandex/namespace.txt"),
    ];
    let rec = recorded(files);
    server::start(
        Config {
            mails,
            ..Config::default()
        }
        .with_hook(move |cmd, conn, default| {
            extra(cmd, conn, default.clone()).unwrap_or_else(|| rec(cmd, conn, default))
        }),
    )
}

#[test]
fn yandex_repeated_bye_before_close() {
    let srv = yandex(mails(3), |cmd, _, _| {
        (cmd.name == "LOGOUT").then(|| {
            Action::SendClose(
                format!("* BYE IMAP4rev1 Server logging out\r\n* BYE IMAP4rev1 Server logging out\r\n{} OK LOGOUT Completed.\r\n", cmd.tag)
                    .into_bytes(),
            )
        })
    });
    let s = open(&srv);
    assert_reads_all(s, 3);
    let t = std::time::Instant::now();
    close(s);
    assert!(t.elapsed() < std::time::Duration::from_secs(5));

    // The same twice-said BYE in the middle of a session (autologout), then the close.
    let srv = yandex(mails(30), |cmd, conn, _| {
        (cmd.name == "UID FETCH" && conn.sent("UID FETCH")).then(|| {
            Action::SendClose(
                b"* BYE Autologout; idle for too long\r\n* BYE Autologout; idle for too long\r\n"
                    .to_vec(),
            )
        })
    });
    let s = open(&srv);
    let (code, msg, _) = try_read_all(s, EMAIL_READ_ALL).unwrap_err();
    assert_eq!(code, EMAIL_ERR_DISCONNECTED, "{msg}");
    close(s);
}

#[test]
fn yandex_empty_part_body_is_read_as_empty() {
    // yandex/getbodypart-missing-content.txt: an empty part answered as a literal of the
    // MIME header and nothing for the part. The message whose part is empty reads fine, with
    // an empty attachment.
    let raw = b"From: a@example.com\r\nSubject: empty pdf\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
        --b\r\nContent-Disposition: attachment;\r\n\tfilename=\"empty.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\
        Content-Type: application/pdf;\r\n\tname=\"empty.pdf\"\r\n\r\n\r\n--b--\r\n";
    let srv = yandex(
        vec![Mail {
            uid: 3016,
            flags: vec![],
            raw: raw.to_vec(),
        }],
        |_, _, _| None,
    );
    let s = open(&srv);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].uid, 3016);
    assert_eq!(got[0].error, EMAIL_OK, "{}", got[0].error_message);
    assert_eq!(got[0].text.trim_end(), "see attached");
    assert_eq!(got[0].attachments.len(), 1);
    assert_eq!(got[0].attachments[0].name, "empty.pdf");
    assert!(got[0].attachments[0].data.is_empty());
    close(s);
}

#[test]
fn body_without_its_value_is_a_clean_protocol_failure() {
    // The same Yandex answer shape for the whole message ("BODY[] )": no nstring) cannot be
    // parsed by imap-proto 0.16: the read fails cleanly (no panic, no hang) with a protocol
    // error. Proposed imap-proto change: accept a missing nstring as NIL.
    let srv = yandex(mails(2), |cmd, _, default| {
        (cmd.name == "UID FETCH" && cmd.args.to_ascii_uppercase().contains("BODY.PEEK[]")).then(|| {
            Action::Send(
                format!("* 1 FETCH (UID 1 RFC822.SIZE 10 FLAGS () BODY[] )\r\n{} OK FETCH Completed.\r\n", cmd.tag).into_bytes(),
            )
        }).or_else(|| {
            let _ = default;
            None
        })
    });
    let s = open(&srv);
    let (code, msg, got) = try_read_all(s, EMAIL_READ_ALL).unwrap_err();
    assert!(got.is_empty());
    assert_eq!(code, EMAIL_ERR_PROTOCOL, "{msg}");
    close(s);
}

// ---------------------------------------------------------------------------------------------
// ID before login (qq.com, NetEase, Fastmail ask for it)

fn wants_id(srv_mails: Vec<Mail>) -> server::Server {
    let files = &[("GREETING", "qqmail/greeting.txt")];
    let rec = recorded(files);
    server::start(
        Config {
            mails: srv_mails,
            ..Config::default()
        }
        .with_hook(move |cmd, conn, default| {
            let login = cmd.name == "AUTHENTICATE" || cmd.name == "LOGIN";
            if (login || cmd.name == "SELECT") && !conn.sent("ID") {
                return Action::Send(
                    format!("{} NO Unsafe Login. Please send ID first\r\n", cmd.tag).into_bytes(),
                );
            }
            rec(cmd, conn, default)
        }),
    )
}

#[test]
fn server_wanting_id_first_reads_mail() {
    let srv = wants_id(mails(2));
    let s = open(&srv);
    assert_reads_all(s, 2);
    close(s);
}

// ---------------------------------------------------------------------------------------------
// SASL-IR (RFC 4959): the credentials go on the AUTHENTICATE line when the server offers it

/// The AUTHENTICATE lines the server received (data lines are not logged).
fn authenticate_lines(srv: &server::Server) -> Vec<String> {
    srv.log()
        .into_iter()
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.to_string()))
        .filter(|l| l.starts_with("AUTHENTICATE"))
        .collect()
}

#[test]
fn sasl_ir_is_used_only_when_offered() {
    let srv = server::start(Config {
        mails: mails(1),
        ..Config::default()
    });
    let s = open(&srv);
    assert_reads_all(s, 1);
    close(s);
    assert_eq!(authenticate_lines(&srv), vec!["AUTHENTICATE PLAIN"]);

    let srv = server::start(Config {
        greeting: "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n".into(),
        mails: mails(1),
        ..Config::default()
    });
    let s = open(&srv);
    assert_reads_all(s, 1);
    close(s);
    // "\0user\0pass", base64.
    assert_eq!(
        authenticate_lines(&srv),
        vec!["AUTHENTICATE PLAIN AHVzZXIAcGFzcw=="]
    );
}

#[test]
fn coremail_offers_sasl_ir_and_refuses_it_then_the_usual_exchange_logs_in() {
    // NetEase's Coremail (126.com, 163.com) advertises SASL-IR, answers BAD to an initial
    // response, and wants ID first (pimalaya/himalaya#729).
    let srv = server::start(
        Config {
            greeting: "* OK Coremail System IMap Server Ready(163com[20141225])\r\n".into(),
            capabilities: "IMAP4rev1 XLIST SPECIAL-USE ID LITERAL+ STARTTLS SASL-IR AUTH=PLAIN"
                .into(),
            mails: mails(2),
            ..Config::default()
        }
        .with_hook(move |cmd, conn, default| {
            if cmd.name == "AUTHENTICATE" && !conn.sent("ID") {
                return Action::Send(
                    format!("{} NO Unsafe Login. Please send ID first\r\n", cmd.tag).into_bytes(),
                );
            }
            if cmd.name == "AUTHENTICATE" && cmd.args.contains(' ') {
                return Action::Send(
                    format!("{} BAD Request not ending with \\r\\n\r\n", cmd.tag).into_bytes(),
                );
            }
            Action::Send(default)
        }),
    );
    let s = open(&srv);
    assert_reads_all(s, 2);
    close(s);
    assert_eq!(
        authenticate_lines(&srv),
        vec!["AUTHENTICATE PLAIN AHVzZXIAcGFzcw==", "AUTHENTICATE PLAIN"]
    );
}

#[test]
fn id_sent_with_the_login_line_may_be_refused() {
    // With SASL-IR, ID goes out just before the AUTHENTICATE line and its answer is read
    // after both were sent. A server that refuses ID (NO) still logs the client in.
    let srv = server::start(
        Config {
            greeting: "* OK [CAPABILITY IMAP4rev1 ID SASL-IR AUTH=PLAIN] ready\r\n".into(),
            mails: mails(2),
            ..Config::default()
        }
        .with_hook(move |cmd, _conn, default| {
            if cmd.name == "ID" {
                return Action::Send(format!("{} NO ID not today\r\n", cmd.tag).into_bytes());
            }
            Action::Send(default)
        }),
    );
    let s = open(&srv);
    assert_reads_all(s, 2);
    close(s);
    let verbs: Vec<String> = srv
        .log()
        .into_iter()
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.to_string()))
        .collect();
    assert!(verbs[0].starts_with("ID ("), "{verbs:?}");
    assert_eq!(verbs[1], "AUTHENTICATE PLAIN AHVzZXIAcGFzcw==", "{verbs:?}");
}

#[test]
fn wrong_password_with_sasl_ir_is_an_auth_error_without_a_second_try() {
    let srv = server::start(Config {
        greeting: "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n".into(),
        password: "other".into(),
        ..Config::default()
    });
    let err = start(srv.port, "user", "pass", EMAIL_SECURITY_NONE, OPTS).unwrap_err();
    assert_eq!(err.0, EMAIL_ERR_AUTH, "{}", err.1);
    assert_eq!(authenticate_lines(&srv).len(), 1, "{:?}", srv.log());
}

// ---------------------------------------------------------------------------------------------
// Lowercase protocol words, MODSEQ values, odd headers

#[test]
fn lowercase_capabilities_flags_and_keywords() {
    let files = &[
        ("GREETING", "lowercase/greeting.txt"),
        ("CAPABILITY", "lowercase/capability.txt"),
        ("LOGIN", "lowercase/authenticate.txt"),
        ("AUTHENTICATE", "lowercase/authenticate.txt"),
    ];
    let mut ms = mails(4);
    ms[0].flags = vec!["\\seen".into(), "$label1".into(), "nonjunk".into()];
    ms[1].flags = vec!["\\flagged".into(), "\\recent".into(), "$forwarded".into()];
    ms[2].flags = vec!["\\SEEN".into(), "\\Answered".into()];
    ms[3].flags = vec![];
    let srv = server::start(
        Config {
            mails: ms,
            ..Config::default()
        }
        .with_hook(recorded(files)),
    );
    let s = open(&srv);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].flags, EMAIL_FLAG_SEEN);
    assert_eq!(got[0].keywords, vec!["$label1", "nonjunk"]);
    assert_eq!(got[1].flags, EMAIL_FLAG_FLAGGED);
    assert_eq!(got[1].keywords, vec!["$forwarded"]);
    assert_eq!(got[2].flags, EMAIL_FLAG_SEEN | EMAIL_FLAG_ANSWERED);
    let unread = read_all(s, EMAIL_READ_UNREAD);
    assert_eq!(unread.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![2, 4]);
    close(s);
    // No AUTH=PLAIN offered ("login" in lower case): LOGIN was used.
    assert!(
        srv.log().iter().any(|l| l.contains(" LOGIN ")),
        "{:?}",
        srv.log()
    );
}

#[test]
fn zero_modseq_in_fetch_answers() {
    // zoho/fetch-negative-modseq-values.txt and icloud/enable-qresync.txt send MODSEQ (0).
    let srv = server::start(
        Config {
            mails: mails(4),
            ..Config::default()
        }
        .with_hook(|cmd, _, default| match cmd.name.as_str() {
            "UID FETCH" => Action::Send(replace(&default, "FETCH (UID ", "FETCH (MODSEQ (0) UID ")),
            "LOGOUT" => Action::SendClose(default),
            _ => Action::Send(default),
        }),
    );
    let s = open(&srv);
    assert_reads_all(s, 4);
    close(s);
}

#[test]
fn negative_modseq_is_a_clean_failure() {
    // imap-proto 0.16 rejects MODSEQ (-1) (Zoho). imapmail never asks for MODSEQ nor enables
    // CONDSTORE, so a server has no reason to send it; if one does, the read fails cleanly.
    let srv = server::start(
        Config {
            mails: mails(2),
            ..Config::default()
        }
        .with_hook(|cmd, _, default| match cmd.name.as_str() {
            "UID FETCH" => {
                Action::Send(replace(&default, "FETCH (UID ", "FETCH (MODSEQ (-1) UID "))
            }
            "LOGOUT" => Action::SendClose(default),
            _ => Action::Send(default),
        }),
    );
    let s = open(&srv);
    let (code, msg, _) = try_read_all(s, EMAIL_READ_ALL).unwrap_err();
    assert_eq!(code, EMAIL_ERR_PROTOCOL, "{msg}");
    close(s);
}

#[test]
fn odd_headers_empty_address_lists_and_a_quote_in_message_id() {
    // What the ENVELOPE quirks come from: "()" address lists (undisclosed recipients, empty
    // groups) and a Message-ID with an unescaped '"'. imapmail reads headers itself (BODY[]),
    // so it never depends on the server's ENVELOPE.
    let raw = b"From: Sender <s@example.com>\r\nTo: undisclosed-recipients:;\r\nCc: Team: ;\r\n\
        Subject: odd headers\r\nMessage-ID: <abc\"def@example.com>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n";
    let srv = server::start(Config {
        mails: vec![Mail {
            uid: 9,
            flags: vec![],
            raw: raw.to_vec(),
        }],
        ..Config::default()
    });
    let s = open(&srv);
    let got = read_all(s, EMAIL_READ_ALL);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, "abc\"def@example.com");
    assert!(got[0].to.is_empty(), "{:?}", got[0].to);
    assert!(got[0].cc.is_empty(), "{:?}", got[0].cc);
    assert_eq!(got[0].sender_address, "s@example.com");
    assert_eq!(got[0].subject, "odd headers");
    close(s);
}

// ---------------------------------------------------------------------------------------------
// Mailbox operations against recorded quirks

#[test]
fn exchange_uid_move_answered_by_a_bare_copyuid_line() {
    // exchange/issue115.txt: "[COPYUID 55 31 6]" without "* OK", then EXPUNGE, EXISTS and the
    // tagged OK. The patched imap crate reads the bare line as an untagged OK, so the session
    // goes on. The recorded COPYUID maps source UID 31 to 6, not the UID 6 moved here, so no
    // new UID can be told (0), which is what the API documents for an unknown UID.
    let srv = exchange(
        |cmd, _, _| {
            match cmd.name.as_str() {
            "UID MOVE" => Some(Action::Send(replay("exchange/issue115.txt", &cmd.tag))),
            "LIST" => Some(Action::Send(
                format!("* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LIST (\\HasNoChildren) \"/\" Archive\r\n{} OK LIST completed.\r\n", cmd.tag)
                    .into_bytes(),
            )),
            _ => None,
        }
        },
        6,
    );
    let s = open(&srv);
    let folder = cstr("Archive");
    let mut new_uid = 0u32;
    let rc = unsafe {
        imapmail::ffi::session::mailbox::email_move_message(s, 6, folder.as_ptr(), &mut new_uid)
    };
    let msg = last_message();
    eprintln!("UID MOVE with a bare COPYUID line: {rc} {msg}");
    assert_eq!(rc, EMAIL_OK, "{msg}");
    assert_eq!(new_uid, 0, "COPYUID 55 31 6 says nothing of UID 6");
    let mut m: *mut EmailMessage = std::ptr::null_mut();
    let rc = unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) };
    assert!(
        rc == EMAIL_OK || rc == EMAIL_OUT,
        "the session survives the bare line: {rc}"
    );
    if !m.is_null() {
        email_message_free(m);
    }
    assert!(
        srv.log().iter().any(|l| l.contains("UID MOVE 6")),
        "{:?}",
        srv.log()
    );
    close(s);
}

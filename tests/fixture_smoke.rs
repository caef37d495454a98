//! Smoke test of the test fixture itself: real Dovecot, users, message order, flags.
//! Talks raw IMAP over std::net::TcpStream (no crate code involved).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

/// One response line with any literals spliced in (as raw bytes).
fn read_response(reader: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .expect("read from server");
        assert!(
            n > 0,
            "server closed the connection; got so far: {}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&line);
        // A line ending in {N}\r\n announces N literal bytes, then the line goes on.
        let trimmed = line.strip_suffix(b"\r\n").unwrap_or(&line);
        let literal = trimmed
            .strip_suffix(b"}")
            .and_then(|t| t.iter().rposition(|&b| b == b'{').map(|p| &t[p + 1..]))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<usize>().ok());
        match literal {
            Some(len) => {
                let mut buf = vec![0; len];
                reader.read_exact(&mut buf).expect("read literal");
                out.extend_from_slice(&buf);
            }
            None => return out,
        }
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Imap {
    fn connect(port: u16) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to test dovecot");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let greeting = read_response(&mut reader);
        assert!(
            greeting.starts_with(b"* OK"),
            "greeting: {}",
            String::from_utf8_lossy(&greeting)
        );
        Imap {
            reader,
            writer,
            tag: 0,
        }
    }

    /// Sends `cmd`, returns (untagged responses, tagged completion line).
    fn cmd(&mut self, cmd: &str) -> (Vec<Vec<u8>>, String) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.writer
            .write_all(format!("{tag} {cmd}\r\n").as_bytes())
            .unwrap();
        let mut untagged = Vec::new();
        loop {
            let resp = read_response(&mut self.reader);
            if resp.starts_with(format!("{tag} ").as_bytes()) {
                return (
                    untagged,
                    String::from_utf8_lossy(&resp).trim_end().to_string(),
                );
            }
            untagged.push(resp);
        }
    }

    fn ok(&mut self, cmd: &str) -> Vec<Vec<u8>> {
        let (untagged, done) = self.cmd(cmd);
        assert!(
            done.split(' ').nth(1) == Some("OK"),
            "{cmd} -> {done}\n{}",
            common::dovecot().log_tail(20)
        );
        untagged
    }
}

#[test]
fn fixture_users_messages_order_and_flags() {
    let dc = common::dovecot();
    let user = common::dovecot().new_user("smoke");
    assert!(
        user.password.contains(' ') && user.password.contains('"') && user.password.contains('\\')
    );

    // One single add, then a bulk add: UIDs must follow this order.
    dc.add_message(&user, "INBOX", &common::generated_message(1), true);
    dc.add_messages(
        &user,
        "INBOX",
        &[common::generated_message(2), common::generated_message(3)],
        &|i| i == 1,
    );
    let want = [
        ("Message 0001", true),
        ("Message 0002", false),
        ("Message 0003", true),
    ];

    let mut imap = Imap::connect(dc.imap_port);
    let (_, done) = imap.cmd(&format!(
        "LOGIN {} {}",
        quoted(&user.name),
        quoted("wrong password")
    ));
    assert!(done.contains(" NO "), "wrong password accepted: {done}");
    imap.ok(&format!(
        "LOGIN {} {}",
        quoted(&user.name),
        quoted(&user.password)
    ));
    let select = imap.ok("SELECT INBOX");
    assert!(
        select.iter().any(|l| l.as_slice() == b"* 3 EXISTS\r\n"),
        "SELECT: {:?}",
        select
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
    );

    let fetched = imap.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    let mut got = Vec::new();
    for resp in &fetched {
        let text = String::from_utf8_lossy(resp);
        if !text.contains(" FETCH ") {
            continue;
        }
        let uid: u32 = text
            .split("UID ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("no UID in {text}"));
        let flags = text
            .split("FLAGS (")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .unwrap_or("");
        let subject = text
            .split("Subject: ")
            .nth(1)
            .and_then(|r| r.split("\r\n").next())
            .unwrap_or_else(|| panic!("no Subject in {text}"))
            .to_string();
        got.push((uid, subject, flags.split(' ').any(|f| f == "\\Seen")));
    }
    assert_eq!(got.len(), 3, "fetch: {fetched:?}");
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "UIDs not ascending: {got:?}"
    );
    for ((_, subject, seen), (want_subject, want_seen)) in got.iter().zip(want) {
        assert_eq!(subject, want_subject, "order: {got:?}");
        assert_eq!(*seen, want_seen, "\\Seen of {subject}: {got:?}");
    }

    // Folders: the special-use ones exist, and add_message creates new ones.
    dc.add_message(
        &user,
        "Archive/2024",
        &common::corpus("01-plain-ascii.eml"),
        false,
    );
    let list = imap.ok("LIST \"\" \"*\"");
    let list: Vec<String> = list
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    for (name, attr) in [
        ("Sent", "\\Sent"),
        ("Trash", "\\Trash"),
        ("Drafts", "\\Drafts"),
        ("Archive/2024", ""),
    ] {
        assert!(
            list.iter()
                .any(|l| l.trim_end().ends_with(&format!(" {name}")) && l.contains(attr)),
            "no {name} {attr} in {list:?}"
        );
    }
    let status = imap.ok("STATUS Archive/2024 (MESSAGES UNSEEN)");
    assert!(
        String::from_utf8_lossy(&status[0]).contains("MESSAGES 1 UNSEEN 1"),
        "{:?}",
        String::from_utf8_lossy(&status[0])
    );
    imap.ok("LOGOUT");
}

#[test]
fn corpus_and_expected_json_agree() {
    let names = common::corpus_names();
    assert!(names.len() >= 25, "corpus too small: {names:?}");
    let expected = common::corpus_expected();
    for name in &names {
        assert!(
            expected.contains(&format!("\"{name}\": {{")),
            "{name} missing from expected.json"
        );
        assert!(common::corpus(name).len() < 100 * 1024, "{name} too large");
    }
    let m = String::from_utf8(common::generated_message(61)).unwrap();
    assert!(m.contains("Subject: Message 0061\r\n"), "{m}");
    assert!(
        m.contains("From: Sender 61 <sender61@example.com>\r\n"),
        "{m}"
    );
    assert!(
        m.contains("Date: Mon, 01 Jan 2024 01:01:00 +0000\r\n"),
        "{m}"
    );
    assert!(m.contains("gen-body-0061"), "{m}");
}

//! Pipelined reading (issue 4): the next batch is asked for before the current one is read,
//! so a batch never costs a round trip. Driven through the C API against scripted servers
//! (tests/hostile/server.rs) that check what a real server cannot report: whether the second
//! command arrived before the first was answered, and how the client copes with answers a
//! concurrent server (Dovecot) interleaves or completes out of order.

#[path = "client/mod.rs"]
mod client;
#[path = "hostile/server.rs"]
mod server;

use std::ptr;
use std::sync::{Arc, Mutex};

use imapmail::ffi::error::*;
use imapmail::ffi::list::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::trace::*;
use imapmail::ffi::session::*;

use client::{numbered, read_subjects, start_plain, text};
use server::{greet_and_serve, is_body_fetch, mail, Conn, Hook, Mail, Server};

fn mails(n: u32) -> Vec<Mail> {
    (1..=n).map(|i| mail(i, &format!("Message {i}"))).collect()
}

/// What the server saw of the first two body fetches.
#[derive(Default, Debug)]
struct Seen {
    /// The second body fetch arrived while the first was still unanswered.
    pipelined: bool,
    body_fetches: usize,
}

/// A server that holds back its answer to the first body fetch until it has seen the next
/// command (for at most `wait_ms`), then answers both as a concurrent server may: the data
/// of the two interleaved, the second completed before the first.
///
/// A pipelining client sends the second fetch without waiting for any answer, so the server
/// waits for that event, not a clock: `wait_ms` only bounds how long it looks for one.
fn concurrent_server(all: Vec<Mail>, wait_ms: u64, seen: Arc<Mutex<Seen>>) -> Server {
    Server::start(false, move |c: &mut Conn| {
        let mails = all.clone();
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            if !is_body_fetch(cmd) {
                return Hook::Default;
            }
            let first = {
                let mut s = seen.lock().unwrap();
                s.body_fetches += 1;
                s.body_fetches == 1
            };
            if !first {
                return Hook::Default;
            }
            c.set_read_timeout(Some(wait_ms));
            let next = c.command();
            c.set_read_timeout(Some(10_000));
            let Some((tag2, cmd2)) = next.filter(|(_, cmd2)| is_body_fetch(cmd2)) else {
                // Not pipelined: answer the first alone.
                let mut out = server::fetch_lines(cmd, &all, false);
                out.extend(format!("{tag} OK FETCH done\r\n").into_bytes());
                c.send_big(&out);
                return Hook::Handled;
            };
            seen.lock().unwrap().pipelined = true;
            seen.lock().unwrap().body_fetches += 1;
            let first_lines = server::fetch_lines(cmd, &all, false);
            let second_lines = server::fetch_lines(&cmd2, &all, false);
            // Half of the first answer, all of the second, its completion, the rest of the
            // first, its completion.
            let cut = first_lines
                .windows(3)
                .position(|w| w == b"* 2")
                .unwrap_or(first_lines.len());
            let mut out = first_lines[..cut].to_vec();
            out.extend_from_slice(&second_lines);
            out.extend(format!("{tag2} OK FETCH done\r\n").into_bytes());
            out.extend_from_slice(&first_lines[cut..]);
            out.extend(format!("{tag} OK FETCH done\r\n").into_bytes());
            c.send_big(&out);
            Hook::Handled
        });
    })
}

/// The protocol trace of a session as the client saw it: (EMAIL_TRACE_SENT or
/// EMAIL_TRACE_RECEIVED, line), in the order the client wrote and read them.
type Trace = Mutex<Vec<(i32, String)>>;

extern "C" fn collect_trace(
    direction: i32,
    line: *const u8,
    len: usize,
    user_data: *mut std::ffi::c_void,
) {
    let trace = unsafe { &*(user_data as *const Trace) };
    let bytes = unsafe { std::slice::from_raw_parts(line, len) };
    trace
        .lock()
        .unwrap()
        .push((direction, String::from_utf8_lossy(bytes).into_owned()));
}

/// Traces the session into `trace` (which must outlive it, or the callback be removed).
fn trace_into(s: *mut EmailSession, trace: &Trace) {
    let data = trace as *const Trace as *mut std::ffi::c_void;
    assert_eq!(
        email_set_trace_callback(s, Some(collect_trace), data),
        EMAIL_OK
    );
}

/// The first command the client sent while an earlier one had not been completed (its tagged
/// answer not yet read), in the client's own order of events: None when it never did.
fn sent_while_another_was_outstanding(trace: &[(i32, String)]) -> Option<String> {
    let mut outstanding: Option<String> = None;
    for (direction, line) in trace {
        let tag = line.split(' ').next().unwrap_or("");
        if *direction == EMAIL_TRACE_SENT {
            if let Some(before) = &outstanding {
                return Some(format!("{line:?} while {before} was outstanding"));
            }
            outstanding = Some(tag.to_string());
        } else if outstanding.as_deref() == Some(tag) {
            outstanding = None;
        }
    }
    None
}

#[test]
fn the_next_batch_is_asked_for_before_the_current_one_is_read() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    // Waits for the second fetch: the bound only turns a client that does not pipeline into a
    // failure rather than a hang.
    let server = concurrent_server(mails(40), 20_000, Arc::clone(&seen));
    let s = start_plain(server.port, "");
    let trace = Trace::default();
    trace_into(s, &trace);
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    // Interleaved answers and an out-of-order completion: every message, once, in UID order.
    assert_eq!(got, numbered(40));
    assert_eq!(email_close_session(s), EMAIL_OK);
    let seen = seen.lock().unwrap();
    assert!(seen.pipelined, "{seen:?}");
    assert!(seen.body_fetches >= 4, "{seen:?}");
    // The client's side of it: a command went out before the one before it was answered.
    let trace = trace.lock().unwrap();
    assert!(
        sent_while_another_was_outstanding(&trace).is_some(),
        "{trace:#?}"
    );
}

#[test]
fn pipelining_can_be_turned_off() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    // What decides is the client's own trace: no command written before the tagged answer of
    // the one before it was read (the order of its own events, whatever the timing). The
    // server also looks for a second fetch for 500 ms, which can only add a check.
    let server = concurrent_server(mails(20), 500, Arc::clone(&seen));
    let s = start_plain(server.port, "pipelining=0");
    let trace = Trace::default();
    trace_into(s, &trace);
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(20));
    assert_eq!(email_close_session(s), EMAIL_OK);
    let seen = seen.lock().unwrap();
    assert!(!seen.pipelined, "{seen:?}");
    let trace = trace.lock().unwrap();
    assert!(
        trace.iter().filter(|(d, _)| *d == EMAIL_TRACE_SENT).count() >= 4,
        "{trace:#?}"
    );
    assert_eq!(sent_while_another_was_outstanding(&trace), None);
}

#[test]
fn a_batch_refused_while_the_next_is_in_flight_leaves_the_session_usable() {
    // The first body fetch is refused (NO) only once the one sent behind it has arrived (so
    // that one is in flight when the refusal comes), and that one is answered. The read ends
    // with SERVER; the answer still in flight is read off the wire, so the next command
    // (get_all) works and sees every message.
    let all = mails(12);
    let refused = Arc::new(Mutex::new(false));
    let behind = Arc::new(Mutex::new(None::<String>));
    let (r, b) = (Arc::clone(&refused), Arc::clone(&behind));
    let server = Server::start(false, move |c: &mut Conn| {
        let mails = all.clone();
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            if !is_body_fetch(cmd) || *r.lock().unwrap() {
                return Hook::Default;
            }
            *r.lock().unwrap() = true;
            // Waits for the next command (the bound only ends the wait for a client that does
            // not pipeline, which then fails the check below).
            c.set_read_timeout(Some(20_000));
            let next = c.command();
            c.set_read_timeout(Some(10_000));
            if !c.send(format!("{tag} NO [SERVERBUG] try later\r\n")) {
                return Hook::Stop;
            }
            match next {
                Some((t, next)) if is_body_fetch(&next) => {
                    *b.lock().unwrap() = Some(next.clone());
                    let mut out = server::fetch_lines(&next, &mails, false);
                    out.extend(format!("{t} OK FETCH done\r\n").into_bytes());
                    c.send_big(&out);
                    Hook::Handled
                }
                Some((t, other)) => answer_other(c, &mails, Some((t, other))),
                None => Hook::Stop,
            }
        });
    });
    let s = start_plain(server.port, "");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(
        rc,
        EMAIL_ERR_SERVER,
        "{}",
        text(email_session_error_message(s))
    );
    assert!(got.is_empty(), "{got:?}");
    let mut list: *mut EmailList = ptr::null_mut();
    let rc = unsafe { email_get_all(s, EMAIL_READ_ALL, &mut list) };
    assert_eq!(rc, EMAIL_OK, "{}", text(email_session_error_message(s)));
    let subjects: Vec<String> = (0..email_list_count(list))
        .map(|i| text(email_message_subject(email_list_get(list, i))))
        .collect();
    assert_eq!(subjects, numbered(12));
    email_list_free(list);
    assert_eq!(email_close_session(s), EMAIL_OK);
    assert!(*refused.lock().unwrap());
    let behind = behind.lock().unwrap();
    assert!(
        behind.is_some(),
        "no body fetch was in flight when the first was refused"
    );
}

#[test]
fn a_new_iteration_while_a_batch_is_in_flight_starts_clean() {
    // read_first again after two messages: the batch in flight is read off the wire (not
    // mistaken for the new iteration's answers), and the new iteration sees every message.
    // In each of the three reads the server holds back its answer to the first batch asked
    // for beyond message 2 until the test is about to start the next iteration: that batch is
    // then in flight by construction, not by luck of timing.
    let (go, wait) = std::sync::mpsc::channel::<usize>();
    let held = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let log = Arc::clone(&held);
    let server = Server::start(false, move |c: &mut Conn| {
        let mails = mails(30);
        let mut listings = 0;
        let mut armed = false;
        greet_and_serve(c, &mails, |_, _, cmd, _| {
            if server::is_listing(cmd) {
                listings += 1;
                armed = listings <= 3;
            } else if armed && is_body_fetch(cmd) {
                let set = cmd.split(' ').nth(2).unwrap_or("");
                if server::uid_set(set).iter().all(|&u| u > 2) {
                    armed = false;
                    // The bound only ends the wait of a test that never says go.
                    let said = wait.recv_timeout(std::time::Duration::from_secs(20));
                    log.lock()
                        .unwrap()
                        .push((said.unwrap_or(0), cmd.to_string()));
                }
            }
            Hook::Default
        });
    });
    let s = start_plain(server.port, "");
    for round in 1..=3 {
        let mut m: *mut EmailMessage = ptr::null_mut();
        assert_eq!(
            unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
            EMAIL_OK
        );
        assert_eq!(text(email_message_subject(m)), "Message 1");
        email_message_free(m);
        assert_eq!(unsafe { email_read_next(s, &mut m) }, EMAIL_OK);
        assert_eq!(text(email_message_subject(m)), "Message 2");
        email_message_free(m);
        // The next iteration starts now: the held batch is answered while it starts.
        go.send(round).unwrap();
    }
    let (rc, got) = read_subjects(s, EMAIL_READ_HEADERS);
    assert_eq!(rc, EMAIL_OUT);
    assert_eq!(got, numbered(30));
    assert_eq!(email_close_session(s), EMAIL_OK);
    // Each read had a batch beyond message 2 asked for and unanswered when the next began.
    let held = held.lock().unwrap();
    let rounds: Vec<usize> = held.iter().map(|(r, _)| *r).collect();
    assert_eq!(rounds, [1, 2, 3], "{held:?}");
}

/// A server that runs pipelined fetches "concurrently": it collects the body fetches that
/// arrive together, sends all their data, then their completions in a shuffled order. Its
/// ID and SELECT answers take at least 25 ms, so the client measures a slow link and asks
/// several batches ahead (a slower machine only measures a slower link). The first time, it
/// waits for three fetches (the event the test checks, so no clock decides it); after that,
/// a fetch that does not come within 30 ms is left for the next round, which changes how the
/// answers are grouped, never what they hold. Records the most fetches it had outstanding at
/// once.
/// Answers the command that came after a run of body fetches (if any) the usual way.
fn answer_other(c: &mut Conn, all: &[Mail], other: Option<(String, String)>) -> Hook {
    match other {
        Some((t, cmd)) if !server::default_answer(c, server::CAPS, all, &t, &cmd) => Hook::Stop,
        _ => Hook::Handled,
    }
}

/// Answers ID and SELECT 25 ms late, so that the client measures a round trip long enough
/// for its deepest pipeline; true for those commands.
fn like_a_slow_link(cmd: &str) -> bool {
    let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
    let slow = verb == "ID" || verb == "SELECT";
    if slow {
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    slow
}

/// `n` messages "Message 1".. with `bytes` more bytes of body each.
fn big_mails(n: u32, bytes: usize) -> Vec<Mail> {
    (1..=n)
        .map(|i| {
            let mut m = mail(i, &format!("Message {i}"));
            m.raw.extend(std::iter::repeat_n(b'x', bytes));
            m
        })
        .collect()
}

fn shuffling_server(all: Vec<Mail>, seed: u64, most: Arc<Mutex<usize>>) -> Server {
    Server::start(false, move |c: &mut Conn| {
        let mails = all.clone();
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            if like_a_slow_link(cmd) {
                return Hook::Default;
            }
            if !is_body_fetch(cmd) {
                return Hook::Default;
            }
            let mut pending = vec![(tag.to_string(), cmd.to_string())];
            let mut other = None;
            loop {
                // The bound of the first wait only ends it for a client that keeps fewer
                // batches asked for (which then fails the test's check).
                let first_round = *most.lock().unwrap() == 0 && pending.len() < 3;
                c.set_read_timeout(Some(if first_round { 20_000 } else { 30 }));
                let Some((t, next)) = c.command() else {
                    break;
                };
                if is_body_fetch(&next) {
                    pending.push((t, next));
                } else {
                    other = Some((t, next));
                    break;
                }
            }
            c.set_read_timeout(Some(10_000));
            {
                let mut m = most.lock().unwrap();
                *m = (*m).max(pending.len());
            }
            let mut out = Vec::new();
            for (_, cmd) in &pending {
                let headers = cmd.to_ascii_uppercase().contains("BODY.PEEK[HEADER]");
                out.extend(server::fetch_lines(cmd, &all, headers));
            }
            // Completions in a random order (Fisher-Yates with xorshift).
            let mut order: Vec<usize> = (0..pending.len()).collect();
            for i in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            for i in order {
                out.extend(format!("{} OK FETCH done\r\n", pending[i].0).into_bytes());
            }
            if !c.send_big(&out) {
                return Hook::Stop;
            }
            answer_other(c, &all, other)
        });
    })
}

#[test]
fn shuffled_completions_of_many_batches_in_flight_lose_nothing() {
    for seed in 1..=4u64 {
        let most = Arc::new(Mutex::new(0));
        let server = shuffling_server(mails(700), seed, Arc::clone(&most));
        let s = start_plain(server.port, "");
        let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
        assert_eq!(
            rc,
            EMAIL_OUT,
            "seed {seed}: {}",
            text(email_session_error_message(s))
        );
        assert_eq!(got, numbered(700), "seed {seed}");
        let (rc, got) = read_subjects(s, EMAIL_READ_HEADERS);
        assert_eq!(
            rc,
            EMAIL_OUT,
            "seed {seed}: {}",
            text(email_session_error_message(s))
        );
        assert_eq!(got, numbered(700), "seed {seed}");
        let mut list: *mut EmailList = ptr::null_mut();
        assert_eq!(
            unsafe { email_get_all(s, EMAIL_READ_ALL, &mut list) },
            EMAIL_OK
        );
        assert_eq!(email_list_count(list), 700);
        email_list_free(list);
        assert_eq!(email_close_session(s), EMAIL_OK);
        // The client measured a slow link and kept several batches asked for.
        let most = *most.lock().unwrap();
        assert!(most >= 3, "seed {seed}: at most {most} fetches outstanding");
    }
}

/// A server that holds back the completions of body fetches, as Dovecot does, while further
/// commands keep coming: each fetch's data is sent at once, the completions only when no
/// command came for `quiet_ms` (or before answering another kind of command). The first
/// time, it holds them until `hold_for` fetches came, however long that takes (the event the
/// test checks, so no clock decides it). `most` records the largest number of body fetches
/// whose data went out before their completions did.
fn deferring_server(
    all: Vec<Mail>,
    quiet_ms: u64,
    hold_for: usize,
    most: Arc<Mutex<usize>>,
) -> Server {
    Server::start(false, move |c: &mut Conn| {
        let mails = all.clone();
        let mut first_run = true;
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            if !is_body_fetch(cmd) {
                return Hook::Default;
            }
            let mut held = Vec::new();
            let mut next = Some((tag.to_string(), cmd.to_string()));
            let mut other = None;
            while let Some((t, fetch)) = next.take() {
                let headers = fetch.to_ascii_uppercase().contains("BODY.PEEK[HEADER]");
                if !c.send_big(&server::fetch_lines(&fetch, &all, headers)) {
                    return Hook::Stop;
                }
                held.push(t);
                // The bound of the first wait only ends it for a client that waits for
                // completions (which then fails the test's check).
                let holding = first_run && held.len() < hold_for;
                c.set_read_timeout(Some(if holding { 20_000 } else { quiet_ms }));
                match c.command() {
                    Some((t, cmd)) if is_body_fetch(&cmd) => next = Some((t, cmd)),
                    got => other = got,
                }
                c.set_read_timeout(Some(10_000));
            }
            first_run = false;
            {
                let mut m = most.lock().unwrap();
                *m = (*m).max(held.len());
            }
            let done: String = held
                .iter()
                .map(|t| format!("{t} OK FETCH done\r\n"))
                .collect();
            if !c.send(done) {
                return Hook::Stop;
            }
            answer_other(c, &all, other)
        });
    })
}

#[test]
fn reads_do_not_wait_for_completions_a_server_holds_back() {
    let most = Arc::new(Mutex::new(0));
    let server = deferring_server(mails(700), 400, 6, Arc::clone(&most));
    let s = start_plain(server.port, "");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(700));
    // The same for headers only (its listing makes the server send the completions held).
    let (rc, got) = read_subjects(s, EMAIL_READ_HEADERS);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(700));
    // A client that waited for completions before asking for more would stop at the batches
    // it keeps asked ahead (two on loopback) and the server would give up holding them; one
    // that hands out batches whose messages have all come keeps asking: six fetches (and,
    // unless the machine stalls for the 400 ms quiet time, the whole read) went out before a
    // single completion.
    let read_all = *most.lock().unwrap();
    assert!(
        read_all >= 6,
        "at most {read_all} fetches before a completion"
    );
    // get_all, and a read stopped early (its answers drained before the next command).
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OK
    );
    email_message_free(m);
    let mut list: *mut EmailList = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_ALL, &mut list) },
        EMAIL_OK,
        "{}",
        text(email_session_error_message(s))
    );
    assert_eq!(email_list_count(list), 700);
    email_list_free(list);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn a_host_that_reads_one_message_does_not_have_megabytes_asked_for_it() {
    // 300 messages of 200 KB on a link slow enough (25 ms to log in and select) for the
    // deepest pipeline: what is asked for starts small and grows with what was fetched.
    // 300 messages: the batches are asked for after the listing; 600: while it is read.
    for count in [300, 600] {
        only_the_first_budget_is_asked_for(count);
    }
}

fn only_the_first_budget_is_asked_for(count: u32) {
    let all = big_mails(count, 200_000);
    let asked = Arc::new(Mutex::new(Vec::<u32>::new()));
    let log = Arc::clone(&asked);
    let server = Server::start(false, move |c: &mut Conn| {
        let mails = all.clone();
        greet_and_serve(c, &mails, |_, _, cmd, _| {
            like_a_slow_link(cmd);
            if is_body_fetch(cmd) {
                let set = cmd.split(' ').nth(2).unwrap_or("");
                log.lock().unwrap().extend(server::uid_set(set));
            }
            Hook::Default
        });
    });
    let s = start_plain(server.port, "");
    let mut m: *mut EmailMessage = ptr::null_mut();
    assert_eq!(
        unsafe { email_read_first(s, EMAIL_READ_ALL, &mut m) },
        EMAIL_OK,
        "{}",
        text(email_session_error_message(s))
    );
    assert_eq!(text(email_message_subject(m)), "Message 1");
    email_message_free(m);
    assert_eq!(email_close_session(s), EMAIL_OK);
    let asked = asked.lock().unwrap();
    // At most about the first budget (4 MB) and the batch that crosses it: 8 MB, 40 messages
    // (without the budget: 9 batches, 148 messages, 30 MB).
    assert!(!asked.is_empty());
    assert!(
        asked.len() <= 40,
        "{count}: {} messages asked for",
        asked.len()
    );
}

#[test]
fn what_is_asked_ahead_stays_within_what_the_guard_lets_through() {
    // Messages near max_message_bytes, one per batch, on a slow link: the batches asked for
    // must not add up to more than the stream guard accepts between two commands sent
    // (3 x max_message_bytes), or the last of them, read after the last command, would fail
    // the read with EMAIL_ERR_TOO_LARGE.
    let all = big_mails(10, 21 << 20);
    let server = Server::start(false, move |c: &mut Conn| {
        let mails = all.clone();
        greet_and_serve(c, &mails, |_, _, cmd, _| {
            like_a_slow_link(cmd);
            Hook::Default
        });
    });
    let s = start_plain(server.port, &format!("max_message_bytes={}", 22 << 20));
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(10));
    assert_eq!(email_close_session(s), EMAIL_OK);
}

/// The first `lines` lines of a listing answer (all of them when it has fewer) and the rest.
fn split_lines(answer: &[u8], lines: usize) -> (Vec<u8>, Vec<u8>) {
    let cut = (answer.iter().enumerate())
        .filter(|(_, b)| **b == b'\n')
        .nth(lines.saturating_sub(1))
        .map_or(answer.len(), |(i, _)| i + 1);
    (answer[..cut].to_vec(), answer[cut..].to_vec())
}

/// True for the listing command: `UID FETCH 1:*` of UIDs and sizes (no message data).
fn is_listing(cmd: &str) -> bool {
    cmd.to_ascii_uppercase().starts_with("UID FETCH 1:* (UID ") && !is_body_fetch(cmd)
}

#[test]
fn the_first_batches_are_asked_for_while_the_listing_is_still_coming() {
    // 3,000 messages. The server sends the first 300 lines of the listing, then waits for a
    // body fetch before it sends the rest (at most 20 s: a client that waits for the whole
    // listing before asking for anything makes it wait in vain, and fails). The answers then come the way
    // Dovecot sends them: the rest of the listing, the first batches' messages, and only then
    // every completion. No command uses sequence numbers (after a UID command, none may
    // until it completed: RFC 9051 5.5).
    let all = mails(3000);
    let early = Arc::new(Mutex::new(Vec::<u32>::new()));
    let by_sequence = Arc::new(Mutex::new(Vec::<String>::new()));
    let (log, seq_log) = (Arc::clone(&early), Arc::clone(&by_sequence));
    let server = Server::start(false, move |c: &mut Conn| {
        let mailbox = all.clone();
        let mut first = true;
        greet_and_serve(c, &all, |c, tag, cmd, _| {
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("FETCH ") || upper.starts_with("STORE ") {
                seq_log.lock().unwrap().push(cmd.to_string());
            }
            if !first || !is_listing(cmd) {
                return Hook::Default;
            }
            first = false;
            assert!(!upper.contains("FLAGS"), "{cmd}");
            let (head, tail) = split_lines(&listing_by_sequence("FETCH 1:*", &mailbox), 300);
            if !c.send(&head) {
                return Hook::Stop;
            }
            let mut queued = vec![(tag.to_string(), cmd.to_string())];
            c.set_read_timeout(Some(20_000));
            // After the first, fetches sent at once are taken too (a late one is simply answered
            // after the listing: what is checked is that the first came early).
            while let Some(next) = c.command() {
                if is_body_fetch(&next.1) {
                    let set = next.1.split(' ').nth(2).unwrap_or("").to_string();
                    log.lock().unwrap().extend(server::uid_set(&set));
                }
                queued.push(next);
                c.set_read_timeout(Some(100));
            }
            c.set_read_timeout(Some(10_000));
            let mut out = tail;
            for (_, cmd) in queued.iter().skip(1) {
                out.extend(server::fetch_lines(cmd, &mailbox, false));
            }
            for (tag, _) in &queued {
                out.extend(format!("{tag} OK FETCH done\r\n").into_bytes());
            }
            c.send_big(&out);
            Hook::Handled
        });
    });
    let s = start_plain(server.port, "");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(3000));
    assert_eq!(email_close_session(s), EMAIL_OK);
    let early = early.lock().unwrap();
    // Asked for from the first part of the listing: the first messages, in order.
    assert!(
        !early.is_empty(),
        "no body fetch came before the listing was complete"
    );
    assert!(
        early.iter().copied().eq(1..=early.len() as u32),
        "{early:?}"
    );
    assert!(early.len() <= 300, "{} messages asked for", early.len());
    let by_sequence = by_sequence.lock().unwrap();
    assert!(by_sequence.is_empty(), "{by_sequence:?}");
}

/// The listing answer lines for sequence numbers `a:b` (or `a:*`) of `mailbox`.
fn listing_by_sequence(cmd: &str, mailbox: &[Mail]) -> Vec<u8> {
    let range = cmd.split(' ').nth(1).unwrap_or("");
    let (a, b) = range.split_once(':').unwrap_or((range, range));
    let first: usize = a.parse().unwrap_or(1);
    let last: usize = if b == "*" {
        mailbox.len()
    } else {
        b.parse().unwrap_or(0)
    };
    let mut out = Vec::new();
    for seq in first..=last.min(mailbox.len()) {
        let m = &mailbox[seq - 1];
        out.extend(
            format!(
                "* {seq} FETCH (UID {} FLAGS () RFC822.SIZE {})\r\n",
                m.uid,
                m.raw.len()
            )
            .into_bytes(),
        );
    }
    out
}

#[test]
fn an_expunge_during_the_listing_skips_no_message() {
    // 2,500 messages. While answering the listing (a UID FETCH, during which RFC 9051 allows
    // EXPUNGE), the server reports message 1 gone halfway through: every other message is
    // read, once, in order (the listing and the batches go by UID, which an expunge does not
    // shift).
    let all = mails(2500);
    let server = Server::start(false, move |c: &mut Conn| {
        let mut mailbox = all.clone();
        let mut expunged = false;
        let greeting_mails = all.clone();
        greet_and_serve(c, &greeting_mails, |c, tag, cmd, _| {
            let upper = cmd.to_ascii_uppercase();
            let mut out;
            if is_listing(cmd) {
                let (head, tail) = split_lines(&listing_by_sequence("FETCH 1:*", &mailbox), 1200);
                out = head;
                if !expunged {
                    expunged = true;
                    mailbox.remove(0);
                    out.extend_from_slice(b"* 1 EXPUNGE\r\n");
                }
                // The sequence numbers of the lines after the expunge are one less.
                let tail = String::from_utf8(tail).unwrap();
                for line in tail.lines() {
                    let rest = line.strip_prefix("* ").unwrap();
                    let (seq, rest) = rest.split_once(' ').unwrap();
                    let seq: u32 = seq.parse().unwrap();
                    out.extend(format!("* {} {rest}\r\n", seq - 1).into_bytes());
                }
            } else if is_body_fetch(cmd) {
                out = server::fetch_lines(cmd, &mailbox, upper.contains("BODY.PEEK[HEADER]"));
            } else {
                return Hook::Default;
            }
            out.extend(format!("{tag} OK FETCH done\r\n").into_bytes());
            c.send_big(&out);
            Hook::Handled
        });
    });
    let s = start_plain(server.port, "");
    let want: Vec<String> = (2..=2500).map(|i| format!("Message {i}")).collect();
    for flags in [EMAIL_READ_HEADERS, EMAIL_READ_ALL] {
        let (rc, got) = read_subjects(s, flags);
        assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
    }
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn a_listing_refused_halfway_leaves_the_session_usable() {
    // 9,000 messages. The server's SELECT answer is slow (at least 25 ms), so the client
    // measures a slow link and asks several batches ahead. The first time, the server refuses
    // the listing after 1,000 lines, once the client has asked for its first two batches (it
    // waits for them rather than for a clock, then takes any others sent at once): the read fails
    // with the server's words, the batches' answers are read, and the next read (on the same
    // connection) lists and reads everything.
    let all = mails(9000);
    let asked = Arc::new(Mutex::new(0usize));
    let log = Arc::clone(&asked);
    let server = Server::start(false, move |c: &mut Conn| {
        let mailbox = all.clone();
        let mut refused = false;
        greet_and_serve(c, &all, |c, tag, cmd, _| {
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("SELECT") {
                std::thread::sleep(std::time::Duration::from_millis(25));
                return Hook::Default;
            }
            if refused || !is_listing(cmd) {
                return Hook::Default;
            }
            refused = true;
            let (head, _) = split_lines(&listing_by_sequence("FETCH 1:*", &mailbox), 1000);
            if !c.send(&head) {
                return Hook::Stop;
            }
            let mut queued = Vec::new();
            loop {
                // The bound of the first waits only ends them for a client that asks for
                // fewer batches early (which then fails the test's check).
                c.set_read_timeout(Some(if queued.len() < 2 { 20_000 } else { 300 }));
                let Some(next) = c.command() else {
                    break;
                };
                queued.push(next);
            }
            c.set_read_timeout(Some(10_000));
            *log.lock().unwrap() = queued.len();
            let mut out = format!("{tag} NO [SERVERBUG] Internal error\r\n").into_bytes();
            for (tag, cmd) in &queued {
                out.extend(server::fetch_lines(cmd, &mailbox, true));
                out.extend(format!("{tag} OK FETCH done\r\n").into_bytes());
            }
            c.send_big(&out);
            Hook::Handled
        });
    });
    let s = start_plain(server.port, "");
    let (rc, got) = read_subjects(s, EMAIL_READ_HEADERS);
    assert_eq!(
        rc,
        EMAIL_ERR_SERVER,
        "{}",
        text(email_session_error_message(s))
    );
    assert!(got.is_empty());
    let message = text(email_session_error_message(s));
    assert!(message.contains("Internal error"), "{message}");
    let asked = *asked.lock().unwrap();
    assert!(asked >= 2, "{asked} batches asked for before the refusal");
    let (rc, got) = read_subjects(s, EMAIL_READ_HEADERS);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(9000));
    assert_eq!(email_close_session(s), EMAIL_OK);
}

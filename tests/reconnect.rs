//! `reconnect=1` (issue 6, item 7): a read iteration that loses its connection connects, logs
//! in and selects again and goes on after the last message handed out: no message lost, none
//! handed out twice. Scripted servers (tests/hostile/server.rs) drop the first connection in
//! the middle of a batch.

#[path = "client/mod.rs"]
mod client;
#[path = "hostile/server.rs"]
mod server;

use std::ptr;
use std::sync::{Arc, Mutex};

use imapmail::ffi::error::*;
use imapmail::ffi::list::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::*;

use client::{numbered, read_subjects, start_plain, text};
use server::{greet_and_serve, is_body_fetch, mail, Conn, Hook, Mail, Server};

fn mails(n: u32) -> Vec<Mail> {
    (1..=n).map(|i| mail(i, &format!("Message {i}"))).collect()
}

/// Connection `i` (0-based) of `drops` first ones: serves normally until its `at`-th body fetch,
/// then sends half of that answer and closes. Later connections serve normally. Counts logins.
fn flaky_server(
    all: Vec<Mail>,
    drops: usize,
    at: usize,
    uidvalidity_after: Option<u32>,
) -> (Server, Arc<Mutex<usize>>) {
    let logins = Arc::new(Mutex::new(0usize));
    let l = Arc::clone(&logins);
    let server = Server::start_many(false, drops + 1, move |c: &mut Conn, i| {
        let mails = all.clone();
        let mut fetches = 0;
        greet_and_serve(c, &mails, |c, tag, cmd, _| {
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("LOGIN") || upper.starts_with("AUTHENTICATE") {
                *l.lock().unwrap() += 1;
            }
            if upper.starts_with("SELECT") || upper.starts_with("EXAMINE") {
                if let (Some(v), true) = (uidvalidity_after, i > 0) {
                    c.send(format!(
                        "* {} EXISTS\r\n* OK [UIDVALIDITY {v}] ok\r\n{tag} OK [READ-WRITE] selected\r\n",
                        mails.len()
                    ));
                    return Hook::Handled;
                }
            }
            if i < drops && is_body_fetch(cmd) {
                fetches += 1;
                if fetches == at {
                    let wanted = server::uid_set(cmd.split(' ').nth(2).unwrap_or(""));
                    let first = mails.iter().position(|m| m.uid == wanted[0]).unwrap_or(0);
                    let mut out = server::fetch_line(first + 1, &mails[first], false);
                    let half = out.len() / 2;
                    out.extend(server::fetch_line(
                        first + 2,
                        &mails[(first + 1) % mails.len()],
                        false,
                    ));
                    c.send(&out[..out.len() - half]);
                    return Hook::Stop;
                }
            }
            Hook::Default
        });
    });
    (server, logins)
}

#[test]
fn a_read_goes_on_after_the_connection_is_lost() {
    let (server, logins) = flaky_server(mails(40), 1, 3, None);
    let s = start_plain(server.port, "reconnect=1");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_OUT, "{}", text(email_session_error_message(s)));
    assert_eq!(got, numbered(40));
    assert_eq!(*logins.lock().unwrap(), 2);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn get_all_goes_on_after_the_connection_is_lost_twice() {
    let (server, logins) = flaky_server(mails(40), 2, 2, None);
    let s = start_plain(server.port, "reconnect=1");
    let mut list: *mut EmailList = ptr::null_mut();
    assert_eq!(
        unsafe { email_get_all(s, EMAIL_READ_ALL, &mut list) },
        EMAIL_OK,
        "{}",
        text(email_session_error_message(s))
    );
    let subjects: Vec<String> = (0..email_list_count(list))
        .map(|i| text(email_message_subject(email_list_get(list, i))))
        .collect();
    assert_eq!(subjects, numbered(40));
    email_list_free(list);
    assert_eq!(*logins.lock().unwrap(), 3);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn without_the_option_a_lost_connection_ends_the_read() {
    let (server, logins) = flaky_server(mails(40), 1, 3, None);
    let s = start_plain(server.port, "");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(
        rc,
        EMAIL_ERR_DISCONNECTED,
        "{}",
        text(email_session_error_message(s))
    );
    // What was handed out before is a prefix, in order.
    assert_eq!(got, numbered(got.len() as u32));
    assert!(got.len() < 40);
    assert_eq!(*logins.lock().unwrap(), 1);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn a_changed_uidvalidity_stops_the_resumed_read() {
    let (server, logins) = flaky_server(mails(40), 1, 3, Some(8));
    let s = start_plain(server.port, "reconnect=1");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(rc, EMAIL_ERR_DISCONNECTED);
    let msg = text(email_session_error_message(s));
    assert!(msg.contains("UIDVALIDITY"), "{msg}");
    assert_eq!(got, numbered(got.len() as u32));
    assert!(got.len() < 40);
    assert_eq!(*logins.lock().unwrap(), 2);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

#[test]
fn a_server_that_keeps_dropping_is_given_up_on() {
    // Every connection drops at its first body fetch: 1 + 3 connections, then DISCONNECTED.
    let (server, logins) = flaky_server(mails(40), 5, 1, None);
    let s = start_plain(server.port, "reconnect=1");
    let (rc, got) = read_subjects(s, EMAIL_READ_ALL);
    assert_eq!(
        rc,
        EMAIL_ERR_DISCONNECTED,
        "{}",
        text(email_session_error_message(s))
    );
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(*logins.lock().unwrap(), 4);
    assert_eq!(email_close_session(s), EMAIL_OK);
}

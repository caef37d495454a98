//! The STARTTLS upgrade (RFC 9051 6.2.1), before any credential is sent: the greeting, the
//! capabilities, STARTTLS and the TLS handshake, read line by line so that nothing the server
//! sends in plaintext is kept or trusted once TLS is up.

use std::io::{Read, Write};

use super::truncate;
use crate::core::connection::{self, Transport};
use crate::core::error::{Error, Result};
use crate::core::options::SessionOptions;

/// Longest line accepted before TLS is up (greeting, CAPABILITY, STARTTLS answer).
const PRE_TLS_LINE_MAX: usize = 64 * 1024;

/// Upgrades a plain connection with STARTTLS, failing closed: nothing but CAPABILITY and
/// STARTTLS is ever sent in plaintext, and nothing read before TLS is kept.
pub(super) fn starttls(opts: &SessionOptions, mut tcp: Transport) -> Result<Transport> {
    let greeting =
        read_line_raw(&mut tcp).map_err(|e| e.context("STARTTLS: reading the greeting"))?;
    let upper = String::from_utf8_lossy(&greeting).to_ascii_uppercase();
    if upper.starts_with("* PREAUTH") {
        return Err(Error::Tls(
            "STARTTLS: server greeted with PREAUTH, so STARTTLS is impossible; refusing to continue in plaintext".into(),
        ));
    }
    if !upper.starts_with("* OK") {
        return Err(Error::Tls(format!(
            "STARTTLS: unexpected greeting {:?}",
            truncate(String::from_utf8_lossy(&greeting).trim_end(), 200)
        )));
    }
    let caps = pre_tls_command(&mut tcp, "a0 CAPABILITY", "a0")?;
    let offers_starttls = caps.iter().any(|line| {
        let u = String::from_utf8_lossy(line).to_ascii_uppercase();
        u.starts_with("* CAPABILITY") && u.split_ascii_whitespace().any(|w| w == "STARTTLS")
    });
    if !offers_starttls {
        return Err(Error::Tls(
            "STARTTLS: the server does not offer STARTTLS; refusing to log in without TLS".into(),
        ));
    }
    pre_tls_command(&mut tcp, "a1 STARTTLS", "a1")?;
    // Lines are read byte by byte, so nothing after the OK is buffered. Bytes the server sent
    // after its OK, before the client's TLS hello, can only be injected plaintext: refuse them.
    if let Some(n) = tcp.pending_bytes() {
        return Err(Error::Tls(format!(
            "STARTTLS: the server sent {n} more bytes after its OK, before TLS started (a sign of plaintext injection); refusing to continue"
        )));
    }
    tcp.upgrade(opts)
}

/// Sends one pre-TLS command and reads up to its tagged answer, which must be OK.
fn pre_tls_command(tcp: &mut Transport, command: &str, tag: &str) -> Result<Vec<Vec<u8>>> {
    let what = format!(
        "STARTTLS: {}",
        command.split_once(' ').map_or(command, |(_, c)| c)
    );
    tcp.write_all(format!("{command}\r\n").as_bytes())
        .map_err(|e| connection::transport_error(&e).context(&what))?;
    let mut lines = Vec::new();
    for _ in 0..1000 {
        let line = read_line_raw(tcp).map_err(|e| e.context(&what))?;
        let text = String::from_utf8_lossy(&line).to_string();
        let mut words = text.split_ascii_whitespace();
        if words.next() == Some(tag) {
            return match words.next().map(str::to_ascii_uppercase).as_deref() {
                Some("OK") => Ok(lines),
                _ => Err(Error::Tls(format!(
                    "{what} failed: {}",
                    truncate(text.trim_end(), 200)
                ))),
            };
        }
        if text.to_ascii_uppercase().starts_with("* BYE") {
            return Err(Error::Disconnected(format!(
                "{what}: {}",
                truncate(text.trim_end(), 200)
            )));
        }
        // Only untagged lines may come before the answer: a tag never sent or a continuation
        // request is not an answer to this command, and waiting on for one would leave the
        // client at the mercy of a server that never sends it.
        if !text.starts_with("* ") {
            return Err(Error::Tls(format!(
                "{what}: the server answered with {:?}, not the answer to {tag}; refusing to continue",
                truncate(text.trim_end(), 200)
            )));
        }
        lines.push(line);
    }
    Err(Error::Protocol(format!("{what}: too many lines")))
}

/// Reads one line byte by byte, so that nothing after it is consumed from the socket.
fn read_line_raw(tcp: &mut Transport) -> Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match tcp.read(&mut byte) {
            Ok(0) => {
                return Err(Error::Disconnected(
                    "the server closed the connection".into(),
                ))
            }
            Ok(_) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    return Ok(line);
                }
                if line.len() > PRE_TLS_LINE_MAX {
                    return Err(Error::Protocol("line too long before TLS".into()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(connection::transport_error(&e)),
        }
    }
}

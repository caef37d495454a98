//! TCP connection and TLS: connecting with a timeout, implicit TLS, STARTTLS upgrade,
//! certificate trust, and readable TLS error messages.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use native_tls::{Certificate, HandshakeError, TlsConnector, TlsStream};

use super::error::{Error, Result};
use super::options::SessionOptions;

/// The byte stream under the IMAP protocol: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => t.get_ref(),
        }
    }

    /// True when the bytes are encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// Sets the bound of every later read and write.
    pub fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        let tcp = self.tcp();
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))
    }

    /// Closes both directions at once (used when a session must be torn down without LOGOUT).
    pub fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(t) => t.flush(),
        }
    }
}

/// Opens the TCP connection, trying every resolved address within the timeout.
pub fn connect_tcp(opts: &SessionOptions) -> Result<TcpStream> {
    let place = format!("{}:{}", opts.host, opts.port);
    let addrs = (opts.host.as_str(), opts.port)
        .to_socket_addrs()
        .map_err(|e| Error::Connect(format!("cannot resolve {}: {e}", opts.host)))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, opts.timeout) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(opts.timeout))
                    .and_then(|_| tcp.set_write_timeout(Some(opts.timeout)))
                    .and_then(|_| tcp.set_nodelay(true))
                    .map_err(|e| Error::Connect(format!("cannot configure socket to {place}: {e}")))?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
            Error::Timeout(format!("connecting to {place} timed out"))
        }
        Some(e) => Error::Connect(format!("cannot connect to {place}: {e}")),
        None => Error::Connect(format!("{} resolves to no address", opts.host)),
    })
}

/// Builds the TLS connector: system roots, plus `ca_file`, unless verification is disabled.
pub fn tls_connector(opts: &SessionOptions) -> Result<TlsConnector> {
    let mut builder = TlsConnector::builder();
    builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    if opts.accept_invalid_certs {
        builder.danger_accept_invalid_certs(true);
        builder.danger_accept_invalid_hostnames(true);
    }
    if let Some(path) = &opts.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Error::Io(format!("cannot read ca_file {}: {e}", path.display())))?;
        let certs = Certificate::stack_from_pem(&pem).map_err(|e| {
            Error::Argument(format!("ca_file {} is not a PEM certificate file: {e}", path.display()))
        })?;
        if certs.is_empty() {
            return Err(Error::Argument(format!(
                "ca_file {} holds no certificate",
                path.display()
            )));
        }
        for cert in certs {
            builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| Error::Tls(format!("TLS: cannot set up: {e}")))
}

/// Runs the TLS handshake over an open TCP connection, verifying the certificate against `host`.
pub fn tls_handshake(
    connector: &TlsConnector,
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>> {
    match connector.connect(host, tcp) {
        Ok(tls) => Ok(tls),
        Err(HandshakeError::WouldBlock(_)) => Err(Error::Timeout(format!(
            "TLS: handshake with {host} timed out"
        ))),
        Err(HandshakeError::Failure(e)) => Err(describe_tls_failure(host, &e.to_string())),
    }
}

/// Turns a TLS library's error text into a message a person can act on.
pub fn describe_tls_failure(host: &str, detail: &str) -> Error {
    let lower = detail.to_ascii_lowercase();
    // OpenSSL wording, then Windows SChannel HRESULTs (as decimal i32 and hex).
    let untrusted = ["self-signed", "self signed", "unable to get local issuer", "unable to get issuer",
        "certificate verify failed", "untrusted", "-2146762487", "0x800b0109", "-2146893019", "0x80090325"];
    let mismatch = ["hostname mismatch", "ip address mismatch", "-2146762481", "0x800b010f",
        "does not match"];
    let expired = ["certificate has expired", "-2146762495", "0x800b0101", "not yet valid"];
    let text = if mismatch.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate does not match {host} ({detail})")
    } else if expired.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate for {host} has expired or is not yet valid ({detail})")
    } else if untrusted.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate for {host} is not trusted ({detail})")
    } else if lower.contains("timed out") || lower.contains("would block") || lower.contains("resource temporarily") {
        return Error::Timeout(format!("TLS: handshake with {host} timed out ({detail})"));
    } else {
        format!("TLS: handshake with {host} failed ({detail})")
    };
    Error::Tls(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_messages_are_readable() {
        let e = describe_tls_failure("127.0.0.1", "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (self-signed certificate)");
        assert_eq!(e.message().split(" (").next(), Some("TLS: certificate for 127.0.0.1 is not trusted"));
        let e = describe_tls_failure("h", "OS Error -2146762487 (FormatMessageW() returned error 317)");
        assert!(e.message().starts_with("TLS: certificate for h is not trusted"));
        let e = describe_tls_failure("h", "OS Error -2146762481");
        assert!(e.message().starts_with("TLS: certificate does not match h"));
        assert!(matches!(describe_tls_failure("h", "weird"), Error::Tls(_)));
    }
}

//! TCP connection and TLS: connecting with a timeout, implicit TLS, STARTTLS upgrade,
//! certificate trust, and readable TLS error messages.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use native_tls::{Certificate, HandshakeError, TlsConnector, TlsStream};

use super::error::{Error, GuardError, Result};
use super::guard::{Guard, Limits, NoSink};
use super::options::SessionOptions;
use super::trace::{TraceIo, Tracer};

/// A byte stream for tests and fuzzing (an in-memory scripted server).
#[doc(hidden)]
pub trait TestStream: Read + Write + Send {}
impl<T: Read + Write + Send> TestStream for T {}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Test(Box<dyn TestStream>, Arc<AtomicBool>),
}

/// The byte stream under the IMAP protocol (plain TCP or TLS over TCP), with the stream guard
/// and the protocol trace: every byte read goes through the [`Guard`] (limits on nesting, line
/// and literal sizes) before the imap crate sees it, and every line in either direction can be
/// traced (credentials redacted). Over a limit, the read fails with an `io::Error` carrying a
/// [`GuardError`], the socket is shut down, and every later read or write fails.
pub struct Transport {
    stream: Stream,
    guard: Guard,
    trace: TraceIo,
    /// Set once a limit was exceeded: the connection is dropped.
    failed: Option<String>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.stream {
            Stream::Plain(_) => "plain",
            Stream::Tls(_) => "tls",
            Stream::Test(..) => "test",
        };
        f.debug_struct("Transport")
            .field("stream", &kind)
            .field("failed", &self.failed)
            .finish()
    }
}

/// A handle that cuts a connection from outside (another thread, or while a prefetch thread
/// owns the transport): shutting it down makes every read and write of the transport fail.
#[derive(Debug)]
pub enum Socket {
    Tcp(TcpStream),
    Test(Arc<AtomicBool>),
}

impl Socket {
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown(how),
            Socket::Test(cut) => {
                cut.store(true, Ordering::Release);
                Ok(())
            }
        }
    }
}

impl Transport {
    fn with(stream: Stream, opts: &SessionOptions, tracer: Tracer) -> Transport {
        Transport {
            stream,
            guard: Guard::new(Limits::for_max_message(opts.max_message_bytes)),
            trace: TraceIo::new(tracer),
            failed: None,
        }
    }

    /// A plain TCP transport.
    pub fn plain(tcp: TcpStream, opts: &SessionOptions, tracer: Tracer) -> Transport {
        Transport::with(Stream::Plain(tcp), opts, tracer)
    }

    /// Implicit TLS: runs the handshake over `tcp`, verifying the certificate against the host.
    pub fn tls(tcp: TcpStream, opts: &SessionOptions, tracer: Tracer) -> Result<Transport> {
        let connector = tls_connector(opts)?;
        let tls = tls_handshake(&connector, &opts.host, tcp)?;
        Ok(Transport::with(Stream::Tls(Box::new(tls)), opts, tracer))
    }

    /// A transport over an arbitrary stream (tests and fuzzing only).
    #[doc(hidden)]
    pub fn test(stream: Box<dyn TestStream>, opts: &SessionOptions, tracer: Tracer) -> Transport {
        Transport::with(
            Stream::Test(stream, Arc::new(AtomicBool::new(false))),
            opts,
            tracer,
        )
    }

    /// STARTTLS: upgrades a plain transport to TLS. The guard starts afresh and nothing read
    /// before survives (the caller reads byte by byte, so nothing is buffered either).
    pub fn upgrade(self, opts: &SessionOptions) -> Result<Transport> {
        let tracer = self.trace.tracer().clone();
        match self.stream {
            Stream::Plain(tcp) => Transport::tls(tcp, opts, tracer),
            _ => Err(Error::Internal(
                "STARTTLS on a connection that is not plain TCP".into(),
            )),
        }
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match &self.stream {
            Stream::Plain(s) => Some(s),
            Stream::Tls(t) => Some(t.get_ref()),
            Stream::Test(..) => None,
        }
    }

    /// A second handle on the connection, to cut it without going through TLS.
    pub fn socket(&self) -> Result<Socket> {
        match &self.stream {
            Stream::Test(_, cut) => Ok(Socket::Test(Arc::clone(cut))),
            _ => self
                .tcp()
                .ok_or_else(|| Error::Internal("no socket".into()))?
                .try_clone()
                .map(Socket::Tcp)
                .map_err(|e| Error::Connect(format!("cannot use the socket: {e}"))),
        }
    }

    /// True when the bytes are encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Sets the bound of every later read and write.
    pub fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        match self.tcp() {
            Some(tcp) => {
                tcp.set_read_timeout(Some(timeout))?;
                tcp.set_write_timeout(Some(timeout))
            }
            None => Ok(()),
        }
    }

    /// Closes both directions at once (used when a session must be torn down without LOGOUT).
    pub fn shutdown(&self) {
        match &self.stream {
            Stream::Test(_, cut) => cut.store(true, Ordering::Release),
            _ => {
                if let Some(tcp) = self.tcp() {
                    let _ = tcp.shutdown(Shutdown::Both);
                }
            }
        }
    }

    /// Bytes already waiting on a plain socket (read without consuming them, without waiting).
    /// None when there are none, or for TLS.
    pub fn pending_bytes(&self) -> Option<usize> {
        let Stream::Plain(tcp) = &self.stream else {
            return None;
        };
        if tcp.set_nonblocking(true).is_err() {
            return None;
        }
        let mut probe = [0u8; 256];
        let n = tcp.peek(&mut probe).ok().filter(|&n| n > 0);
        let _ = tcp.set_nonblocking(false);
        n
    }

    /// The limits the guard enforces.
    pub fn limits(&self) -> Limits {
        self.guard.limits()
    }

    /// The error of every read or write once the connection was dropped or cut.
    fn closed_error(&self) -> Option<io::Error> {
        if let Some(reason) = &self.failed {
            return Some(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("the connection was dropped after an earlier error ({reason})"),
            ));
        }
        if let Stream::Test(_, cut) = &self.stream {
            if cut.load(Ordering::Acquire) {
                return Some(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the connection was cut",
                ));
            }
        }
        None
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.closed_error() {
            return Err(e);
        }
        let n = match &mut self.stream {
            Stream::Plain(s) => s.read(buf)?,
            Stream::Tls(t) => t.read(buf)?,
            Stream::Test(t, _) => t.read(buf)?,
        };
        let data = &buf[..n];
        let checked = if self.trace.is_active() {
            self.guard.feed(data, &mut self.trace.received())
        } else {
            self.guard.feed(data, &mut NoSink)
        };
        if let Err(e) = checked {
            // Drop the connection: nothing after this point can be trusted or parsed safely.
            self.failed = Some(e.message().to_string());
            self.shutdown();
            return Err(io::Error::other(GuardError(e)));
        }
        Ok(n)
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.closed_error() {
            return Err(e);
        }
        let n = match &mut self.stream {
            Stream::Plain(s) => s.write(buf)?,
            Stream::Tls(t) => t.write(buf)?,
            Stream::Test(t, _) => t.write(buf)?,
        };
        self.guard.on_write();
        self.trace.sent(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.closed_error() {
            return Err(e);
        }
        match &mut self.stream {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
            Stream::Test(t, _) => t.flush(),
        }
    }
}

/// Maps an error of a read or write on a [`Transport`], keeping the kind of a guard violation.
pub fn transport_error(e: &io::Error) -> Error {
    match e.get_ref().and_then(|r| r.downcast_ref::<GuardError>()) {
        Some(inner) => inner.0.clone(),
        None => Error::from_io(e),
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
                    .map_err(|e| {
                        Error::Connect(format!("cannot configure socket to {place}: {e}"))
                    })?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Error::Timeout(format!("connecting to {place} timed out"))
        }
        Some(e) => Error::Connect(format!("cannot connect to {place}: {e}")),
        None => Error::Connect(format!("{} resolves to no address", opts.host)),
    })
}

/// Builds the TLS connector: system roots, plus `ca_file`, unless verification is disabled.
///
/// Building one loads the system's trusted roots (tens of milliseconds, seconds under
/// valgrind), so connectors are kept and shared by sessions with the same settings (the same
/// `accept_invalid_certs` and the same `ca_file` contents, read again for every session).
pub fn tls_connector(opts: &SessionOptions) -> Result<TlsConnector> {
    static CACHE: std::sync::Mutex<Vec<CachedConnector>> = std::sync::Mutex::new(Vec::new());
    let pem = match &opts.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| Error::Io(format!("cannot read ca_file {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, c)) = cache
        .iter()
        .find(|(invalid, p, _)| *invalid == opts.accept_invalid_certs && *p == pem)
    {
        return Ok(c.clone());
    }
    let connector = build_tls_connector(opts, pem.as_deref())?;
    if cache.len() >= 8 {
        cache.remove(0);
    }
    cache.push((opts.accept_invalid_certs, pem, connector.clone()));
    Ok(connector)
}

/// A connector with what it was built from: `accept_invalid_certs` and the `ca_file` bytes.
type CachedConnector = (bool, Option<Vec<u8>>, TlsConnector);

fn build_tls_connector(opts: &SessionOptions, ca_pem: Option<&[u8]>) -> Result<TlsConnector> {
    let mut builder = TlsConnector::builder();
    builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    if opts.accept_invalid_certs {
        builder.danger_accept_invalid_certs(true);
        builder.danger_accept_invalid_hostnames(true);
    }
    if let (Some(path), Some(pem)) = (&opts.ca_file, ca_pem) {
        let certs = Certificate::stack_from_pem(pem).map_err(|e| {
            Error::Argument(format!(
                "ca_file {} is not a PEM certificate file: {e}",
                path.display()
            ))
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
    let untrusted = [
        "self-signed",
        "self signed",
        "unable to get local issuer",
        "unable to get issuer",
        "certificate verify failed",
        "untrusted",
        "-2146762487",
        "0x800b0109",
        "-2146893019",
        "0x80090325",
        "-2146762486", // CERT_E_CHAINING: unknown issuer
        "0x800b010a",
        "-2146762478", // CERT_E_UNTRUSTEDCA
        "0x800b0112",
    ];
    let revoked = [
        "certificate revoked",
        "-2146762484",
        "0x800b010c",
        "-2146885616",
        "0x80092010",
    ];
    let revocation_unknown = [
        "-2146762482", // CERT_E_REVOCATION_FAILURE
        "0x800b010e",
        "-2146885613", // CRYPT_E_REVOCATION_OFFLINE
        "0x80092013",
        "-2146885614", // CRYPT_E_NO_REVOCATION_CHECK
        "0x80092012",
    ];
    // TRUST_E_CERT_SIGNATURE: a signature in the chain does not verify (a damaged or forged
    // certificate; Wine 8 also reports it for ECDSA signatures with a short r or s).
    let bad_signature = ["certificate signature failure", "-2146869244", "0x80096004"];
    let wrong_purpose = ["-2146762480", "0x800b0110"];
    let mismatch = [
        "hostname mismatch",
        "ip address mismatch",
        "-2146762481",
        "0x800b010f",
        "does not match",
    ];
    let expired = [
        "certificate has expired",
        "-2146762495",
        "0x800b0101",
        "not yet valid",
    ];
    let text = if mismatch.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate does not match {host} ({detail})")
    } else if revoked.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate for {host} has been revoked ({detail})")
    } else if revocation_unknown.iter().any(|m| lower.contains(m)) {
        format!("TLS: the revocation status of the certificate for {host} could not be checked ({detail})")
    } else if bad_signature.iter().any(|m| lower.contains(m)) {
        format!("TLS: a signature in the certificate chain of {host} does not verify ({detail})")
    } else if wrong_purpose.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate for {host} is not valid for a server ({detail})")
    } else if expired.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate for {host} has expired or is not yet valid ({detail})")
    } else if untrusted.iter().any(|m| lower.contains(m)) {
        format!("TLS: certificate for {host} is not trusted ({detail})")
    } else if lower.contains("timed out")
        || lower.contains("would block")
        || lower.contains("resource temporarily")
    {
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
        assert_eq!(
            e.message().split(" (").next(),
            Some("TLS: certificate for 127.0.0.1 is not trusted")
        );
        let e = describe_tls_failure(
            "h",
            "OS Error -2146762487 (FormatMessageW() returned error 317)",
        );
        assert!(e
            .message()
            .starts_with("TLS: certificate for h is not trusted"));
        let e = describe_tls_failure("h", "OS Error -2146762481");
        assert!(e.message().starts_with("TLS: certificate does not match h"));
        assert!(matches!(describe_tls_failure("h", "weird"), Error::Tls(_)));
        // A signature that does not verify, from SChannel and from OpenSSL.
        for detail in [
            "OS Error -2146869244 (FormatMessageW() returned error 317) (os error -2146869244)",
            "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed: (certificate signature failure)",
        ] {
            let e = describe_tls_failure("h", detail);
            assert!(matches!(e, Error::Tls(_)));
            assert!(
                e.message()
                    .starts_with("TLS: a signature in the certificate chain of h does not verify"),
                "{}",
                e.message()
            );
        }
    }
}

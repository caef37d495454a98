//! Errors of the core, one variant per kind of failure a caller can act on.
//!
//! Every message says what happened and where; none ever contains a password or token
//! (credentials never reach the code that formats errors).

use std::fmt;
use std::io;

/// A failure of the core. The text is meant for people; the variant is meant for programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The caller passed something unusable (bad option, CR/LF in a name, ...).
    Argument(String),
    /// The TCP connection could not be made (DNS, refused, unreachable).
    Connect(String),
    /// TLS could not be set up or verified, or STARTTLS was not possible.
    Tls(String),
    /// The server refused the credentials, or no usable authentication method exists.
    Auth(String),
    /// The server answered NO or BAD.
    Server(String),
    /// The server sent something that cannot be parsed or is over a limit.
    Protocol(String),
    /// The server did not answer within the timeout.
    Timeout(String),
    /// The connection is gone (closed by the server, BYE, or broken by an earlier failure).
    Disconnected(String),
    /// The operation was cancelled by the host (progress callback).
    Cancelled(String),
    /// The folder or message does not exist.
    NotFound(String),
    /// Something is larger than a configured limit.
    TooLarge(String),
    /// A local I/O failure (writing an attachment, reading a CA file, ...).
    Io(String),
    /// A bug: a panic caught at the boundary or an impossible state.
    Internal(String),
}

/// Result type of the core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            Error::Argument(m)
            | Error::Connect(m)
            | Error::Tls(m)
            | Error::Auth(m)
            | Error::Server(m)
            | Error::Protocol(m)
            | Error::Timeout(m)
            | Error::Disconnected(m)
            | Error::Cancelled(m)
            | Error::NotFound(m)
            | Error::TooLarge(m)
            | Error::Io(m)
            | Error::Internal(m) => m,
        }
    }

    /// True when the connection can no longer be used after this error.
    pub fn breaks_connection(&self) -> bool {
        matches!(
            self,
            Error::Timeout(_)
                | Error::Disconnected(_)
                | Error::Protocol(_)
                | Error::Io(_)
                // Only the stream guard reports TooLarge: the answer was cut short, so the
                // rest of it would be read as the next answer.
                | Error::TooLarge(_)
        )
    }

    /// Prefixes the message with the place where it happened ("SELECT INBOX: ...").
    pub fn context(self, what: &str) -> Error {
        let wrap = |m: String| format!("{what}: {m}");
        match self {
            Error::Argument(m) => Error::Argument(wrap(m)),
            Error::Connect(m) => Error::Connect(wrap(m)),
            Error::Tls(m) => Error::Tls(wrap(m)),
            Error::Auth(m) => Error::Auth(wrap(m)),
            Error::Server(m) => Error::Server(wrap(m)),
            Error::Protocol(m) => Error::Protocol(wrap(m)),
            Error::Timeout(m) => Error::Timeout(wrap(m)),
            Error::Disconnected(m) => Error::Disconnected(wrap(m)),
            Error::Cancelled(m) => Error::Cancelled(wrap(m)),
            Error::NotFound(m) => Error::NotFound(wrap(m)),
            Error::TooLarge(m) => Error::TooLarge(wrap(m)),
            Error::Io(m) => Error::Io(wrap(m)),
            Error::Internal(m) => Error::Internal(wrap(m)),
        }
    }

    /// Maps a socket error, telling timeouts and lost connections apart from other I/O failures.
    pub fn from_io(e: &io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                Error::Timeout("the server did not answer in time".into())
            }
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected => {
                Error::Disconnected(format!("the connection was lost ({e})"))
            }
            io::ErrorKind::InvalidData => Error::Protocol(e.to_string()),
            _ => Error::Io(e.to_string()),
        }
    }

    /// Maps an error of the `imap` crate. `phase` names the command for the message.
    pub fn from_imap(e: imap::Error) -> Error {
        use imap::Error as E;
        match e {
            E::Io(io) => {
                // Our stream guard reports limit violations as io errors of kind Other with a
                // recognisable payload; keep their kind.
                if let Some(inner) = io.get_ref().and_then(|r| r.downcast_ref::<GuardError>()) {
                    return inner.0.clone();
                }
                Error::from_io(&io)
            }
            E::Tls(t) => Error::Tls(format!("TLS: {t}")),
            E::TlsHandshake(h) => Error::Tls(format!("TLS handshake failed: {h}")),
            E::Bad(b) => Error::Server(format!(
                "server said BAD: {}",
                with_code(&b.information, b.code.as_ref())
            )),
            E::No(n) => Error::Server(with_code(&n.information, n.code.as_ref())),
            E::Bye(b) => {
                Error::Disconnected(format!("server closed the session: {}", b.information))
            }
            E::ConnectionLost => Error::Disconnected("the server closed the connection".into()),
            E::Parse(p) => Error::Protocol(format!(
                "unparseable server response: {}",
                short_parse_error(&p)
            )),
            E::Validate(v) => Error::Argument(v.to_string()),
            E::Append => Error::Server("APPEND failed".into()),
            E::Unexpected(r) => {
                Error::Protocol(format!("unexpected server response: {}", short_debug(&r)))
            }
            E::MissingStatusResponse => Error::Protocol("server sent no STATUS response".into()),
            E::TagMismatch(t) => Error::Protocol(format!("server answered with a wrong tag ({t})")),
            E::StartTlsNotAvailable => Error::Tls("the server does not offer STARTTLS".into()),
            E::TlsNotConfigured => Error::Tls("TLS is not configured".into()),
            other => Error::Protocol(format!("IMAP error: {}", short_debug(&other))),
        }
    }
}

/// Carries a core error through `std::io::Error` (the imap crate only sees io errors from its
/// stream), so that a limit violation detected in the stream keeps its kind and message.
#[derive(Debug, Clone)]
pub struct GuardError(pub Error);

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.message())
    }
}

impl std::error::Error for GuardError {}

fn with_code(info: &str, code: Option<&imap_proto::ResponseCode<'_>>) -> String {
    match code {
        Some(c) => format!("[{}] {}", code_name(c), info),
        None => info.to_string(),
    }
}

/// The name of a response code as the server wrote it (for messages like "[AUTHENTICATIONFAILED]").
pub(crate) fn code_name(c: &imap_proto::ResponseCode<'_>) -> String {
    use imap_proto::ResponseCode as R;
    match c {
        R::Alert => "ALERT".into(),
        R::BadCharset(_) => "BADCHARSET".into(),
        R::Capabilities(_) => "CAPABILITY".into(),
        R::HighestModSeq(_) => "HIGHESTMODSEQ".into(),
        R::Parse => "PARSE".into(),
        R::PermanentFlags(_) => "PERMANENTFLAGS".into(),
        R::ReadOnly => "READ-ONLY".into(),
        R::ReadWrite => "READ-WRITE".into(),
        R::TryCreate => "TRYCREATE".into(),
        R::UidNext(_) => "UIDNEXT".into(),
        R::UidValidity(_) => "UIDVALIDITY".into(),
        R::Unseen(_) => "UNSEEN".into(),
        R::AppendUid(..) => "APPENDUID".into(),
        R::CopyUid(..) => "COPYUID".into(),
        R::UidNotSticky => "UIDNOTSTICKY".into(),
        R::MetadataLongEntries(_) => "METADATA LONGENTRIES".into(),
        R::MetadataMaxSize(_) => "METADATA MAXSIZE".into(),
        R::MetadataTooMany => "METADATA TOOMANY".into(),
        R::MetadataNoPrivate => "METADATA NOPRIVATE".into(),
        other => {
            let d = format!("{other:?}");
            // Debug of an unknown code looks like `Other("AUTHENTICATIONFAILED", None)`.
            d.split('"').nth(1).map(str::to_string).unwrap_or(d)
        }
    }
}

fn short_parse_error(p: &imap::error::ParseError) -> String {
    use imap::error::ParseError as P;
    match p {
        P::Invalid(bytes) => format!(
            "{:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ),
        other => short_debug(other),
    }
}

fn short_debug(v: &dyn fmt::Debug) -> String {
    let mut s = format!("{v:?}");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

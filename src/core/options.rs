//! Session settings: the security mode and the `key=value;key=value` options string.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::error::{Error, Result};
use super::trace_queue::{SharedTraceQueue, TraceQueue, TRACE_QUEUE_MAX_LINES};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte (port 993).
    Tls,
    /// Plain TCP upgraded with STARTTLS, which is required (port 143).
    StartTls,
    /// No encryption at all (port 143); only when asked for explicitly.
    None,
}

impl Security {
    /// The standard port for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Tls => 993,
            Security::StartTls | Security::None => 143,
        }
    }
}

/// Default for `timeout_ms`.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Default for `max_message_bytes`: the largest literal accepted from the server.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 256 * 1024 * 1024;

/// Everything about a session that is not a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Skip certificate and host-name verification (explicit opt-in only).
    pub accept_invalid_certs: bool,
    /// Authenticate with XOAUTH2; the secret is an OAuth2 access token.
    pub xoauth2: bool,
    /// Bounds connecting and every single read or write.
    pub timeout: Duration,
    /// PEM file with certificates trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// Folder selected after login.
    pub folder: String,
    /// Largest message (literal) accepted from the server.
    pub max_message_bytes: u64,
    /// File receiving the protocol trace (appended to), credentials redacted.
    pub trace_file: Option<PathBuf>,
    /// Queue receiving the protocol trace for the host to take line by line.
    pub trace_queue: Option<SharedTraceQueue>,
    /// Ask for the next batch of a read before the current one has arrived (RFC 3501 5.5
    /// pipelining). On by default; off for a server that answers pipelined commands badly.
    pub pipelining: bool,
    /// When the connection is lost during a read iteration, connect and log in again and go
    /// on after the last message handed out (off by default: it keeps the password in memory
    /// for the life of the session).
    pub reconnect: bool,
}

impl SessionOptions {
    /// Settings with defaults for everything but the address and the security mode.
    /// A port of 0 means the standard port of the mode.
    pub fn new(host: &str, port: u16, security: Security) -> SessionOptions {
        SessionOptions {
            host: host.to_string(),
            port: if port == 0 {
                security.default_port()
            } else {
                port
            },
            security,
            accept_invalid_certs: false,
            xoauth2: false,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            ca_file: None,
            folder: "INBOX".to_string(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            trace_file: None,
            trace_queue: None,
            pipelining: true,
            reconnect: false,
        }
    }

    /// Applies an options string: `key=value` pairs separated by `;`. Blanks around keys and
    /// values are ignored; `\;`, `\=` and `\\` escape those characters inside a value (a folder
    /// name may contain `;`). An unknown key or a bad value is an `Error::Argument` naming it.
    pub fn apply(&mut self, options: &str) -> Result<()> {
        for (key, value) in split_options(options)? {
            self.set(&key, &value)?;
        }
        Ok(())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "timeout_ms" => {
                let ms = parse_number(key, value, 1, 24 * 3600 * 1000)?;
                self.timeout = Duration::from_millis(ms);
            }
            "ca_file" => {
                if value.is_empty() {
                    return Err(Error::Argument("option ca_file: empty path".into()));
                }
                self.ca_file = Some(PathBuf::from(value));
            }
            "folder" => {
                check_text("folder", value)?;
                if value.is_empty() {
                    return Err(Error::Argument("option folder: empty name".into()));
                }
                self.folder = value.to_string();
            }
            "max_message_bytes" => {
                self.max_message_bytes = parse_number(key, value, 1024, 1 << 40)?;
            }
            "trace_file" => {
                if value.is_empty() {
                    return Err(Error::Argument("option trace_file: empty path".into()));
                }
                self.trace_file = Some(PathBuf::from(value));
            }
            "trace_queue" => {
                let lines = parse_number(key, value, 1, TRACE_QUEUE_MAX_LINES)?;
                let lines = usize::try_from(lines).unwrap_or(usize::MAX);
                self.trace_queue = Some(SharedTraceQueue(Arc::new(TraceQueue::new(lines))));
            }
            "pipelining" => self.pipelining = parse_switch(key, value)?,
            "reconnect" => self.reconnect = parse_switch(key, value)?,
            // Test builds only: a forced panic inside the export, to prove the panic boundary.
            #[cfg(feature = "test-hooks")]
            "debug_panic" => {
                if value == "1" {
                    panic!("debug_panic=1: forced panic (test-hooks feature)");
                }
            }
            _ => {
                return Err(Error::Argument(format!(
                    "unknown option {key:?} (known: timeout_ms, ca_file, folder, max_message_bytes, trace_file, trace_queue, pipelining, reconnect)"
                )))
            }
        }
        Ok(())
    }
}

fn parse_number(key: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::Argument(format!(
            "option {key}: {value:?} is not a whole number from {min} to {max}"
        ))),
    }
}

/// Rejects CR, LF and NUL: they would end or corrupt an IMAP command line.
pub fn check_text(what: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(Error::Argument(format!(
            "{what} contains a forbidden control character {c:?}"
        )));
    }
    Ok(())
}

fn split_options(options: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut key: Option<String> = None;
    let mut chars = options.chars();
    let mut finish = |key: &mut Option<String>, current: &mut String| -> Result<()> {
        let text = std::mem::take(current);
        match key.take() {
            Some(k) => pairs.push((k, text.trim().to_string())),
            None if text.trim().is_empty() => {}
            None => {
                return Err(Error::Argument(format!(
                    "option {:?} has no value (expected key=value)",
                    text.trim()
                )))
            }
        }
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ (';' | '=' | '\\')) => current.push(e),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            '=' if key.is_none() => {
                let k = current.trim().to_ascii_lowercase();
                if k.is_empty() {
                    return Err(Error::Argument("option with an empty key".into()));
                }
                key = Some(k);
                current.clear();
            }
            ';' => finish(&mut key, &mut current)?,
            c => current.push(c),
        }
    }
    finish(&mut key, &mut current)?;
    Ok(pairs)
}

fn parse_switch(key: &str, value: &str) -> Result<bool> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(Error::Argument(format!(
            "option {key}: {value:?} is not 0 or 1"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SessionOptions {
        SessionOptions::new("h", 0, Security::Tls)
    }

    #[test]
    fn defaults() {
        let o = opts();
        assert_eq!(o.port, 993);
        assert_eq!(o.folder, "INBOX");
        assert_eq!(o.timeout, Duration::from_millis(60_000));
        assert_eq!(SessionOptions::new("h", 0, Security::StartTls).port, 143);
        assert_eq!(SessionOptions::new("h", 1143, Security::None).port, 1143);
        assert!(o.pipelining);
    }

    #[test]
    fn pipelining_is_0_or_1() {
        let mut o = opts();
        o.apply("pipelining=0").unwrap();
        assert!(!o.pipelining);
        o.apply("pipelining = 1").unwrap();
        assert!(o.pipelining);
        assert!(!o.reconnect);
        o.apply("reconnect=1").unwrap();
        assert!(o.reconnect);
    }

    #[test]
    fn parses_pairs_blanks_and_escapes() {
        let mut o = opts();
        o.apply(" timeout_ms = 1500 ; folder=A\\;B\\=C ;ca_file=/tmp/ca.pem;trace_file=/tmp/t.log")
            .unwrap();
        assert_eq!(o.trace_file, Some(PathBuf::from("/tmp/t.log")));
        assert_eq!(o.timeout, Duration::from_millis(1500));
        assert_eq!(o.folder, "A;B=C");
        assert_eq!(o.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
        o.apply("").unwrap();
        o.apply(";;").unwrap();
    }

    #[test]
    fn rejects_bad_input_naming_it() {
        let cases = [
            ("timeout=5", "timeout"),
            ("timeout_ms=abc", "timeout_ms"),
            ("timeout_ms=0", "timeout_ms"),
            ("timeout_ms", "timeout_ms"),
            ("=5", "empty key"),
            ("folder=a\rb", "folder"),
            ("folder=", "folder"),
            ("max_message_bytes=1", "max_message_bytes"),
            ("trace_file=", "trace_file"),
            ("pipelining=yes", "pipelining"),
            ("pipelining=", "pipelining"),
            ("reconnect=true", "reconnect"),
        ];
        for (input, needle) in cases {
            let err = opts().apply(input).unwrap_err();
            assert!(matches!(err, Error::Argument(_)), "{input}");
            assert!(err.message().contains(needle), "{input}: {}", err.message());
        }
        #[cfg(not(feature = "test-hooks"))]
        assert!(
            matches!(opts().apply("debug_panic=1"), Err(Error::Argument(_))),
            "test hook in a default build"
        );
    }
}

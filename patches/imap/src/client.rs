use base64::{engine::general_purpose, Engine as _};
use bufstream::BufStream;
use chrono::{DateTime, FixedOffset};
use imap_proto::Response;
use std::collections::HashSet;
use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::ops::{Deref, DerefMut};
use std::str;

use super::authenticator::Authenticator;
use super::error::{Bad, Bye, Error, No, ParseError, Result, TagMismatch, ValidateError};
use super::extensions;
use super::parse::*;
use super::types::*;
use super::utils::*;

#[cfg(doc)]
use imap_proto::NameAttribute;

static TAG_PREFIX: &str = "a";
const INITIAL_TAG: u32 = 0;
const CR: u8 = 0x0d;
const LF: u8 = 0x0a;

macro_rules! quote {
    ($x:expr) => {
        format!("\"{}\"", $x.replace(r"\", r"\\").replace("\"", "\\\""))
    };
}

/// The bytes of a command line that carries a credential (LOGIN, an AUTHENTICATE initial
/// response, an answer to an AUTHENTICATE challenge). Built in a buffer sized up front (a
/// growing `Vec` would leave copies behind when it moves), written past the connection's write
/// buffer (see [`Connection::write_secret_line`]) and overwritten with zeros when dropped.
struct SecretLine(Vec<u8>);

impl SecretLine {
    /// A line with room for `len` bytes and the CRLF.
    fn with_capacity(len: usize) -> SecretLine {
        SecretLine(Vec::with_capacity(len + 2))
    }

    fn push(&mut self, bytes: &[u8]) {
        debug_assert!(self.0.len() + bytes.len() <= self.0.capacity(), "SecretLine too small");
        self.0.extend_from_slice(bytes);
    }

    /// Appends `value` as an IMAP quoted string (as `quote!`), which takes at most twice its
    /// length plus two.
    fn push_quoted(&mut self, value: &str) {
        self.push(b"\"");
        for &b in value.as_bytes() {
            if b == b'"' || b == b'\\' {
                self.push(b"\\");
            }
            self.push(&[b]);
        }
        self.push(b"\"");
    }

    /// Appends the base64 of `data` without any intermediate copy.
    fn push_base64(&mut self, data: &[u8]) {
        let start = self.0.len();
        let len = base64_room(data.len());
        debug_assert!(start + len <= self.0.capacity(), "SecretLine too small");
        self.0.resize(start + len, 0);
        let written = general_purpose::STANDARD
            .encode_slice(data, &mut self.0[start..])
            .unwrap_or(0);
        self.0.truncate(start + written);
    }
}

impl Drop for SecretLine {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites `bytes` with zeros, with volatile writes that the optimizer cannot drop as dead
/// stores to memory about to be freed.
fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned and exclusive reference to a byte.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// Room for the base64 of `len` bytes.
fn base64_room(len: usize) -> usize {
    base64::encoded_len(len, true).unwrap_or(usize::MAX / 4)
}

trait OptionExt<E> {
    fn err(self) -> std::result::Result<(), E>;
}

impl<E> OptionExt<E> for Option<E> {
    fn err(self) -> std::result::Result<(), E> {
        match self {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Convert the input into what [the IMAP
/// grammar](https://tools.ietf.org/html/rfc3501#section-9)
/// calls "quoted", which is reachable from "string" et al.
/// Also ensure it doesn't contain a colliding command-delimiter (newline).
///
/// The arguments `synopsis` and `arg_name` are used to construct the error message of
/// [ValidateError] in case validation fails.
pub(crate) fn validate_str(
    synopsis: impl Into<String>,
    arg_name: impl Into<String>,
    value: &str,
) -> Result<String> {
    validate_str_noquote(synopsis, arg_name, value)?;
    Ok(quote!(value))
}

/// Ensure the input doesn't contain a command-terminator (newline), but don't quote it like
/// `validate_str`.
/// This is helpful for things like the FETCH attributes, which,
/// per [the IMAP grammar](https://tools.ietf.org/html/rfc3501#section-9) may not be quoted:
///
/// > fetch     = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
/// >             fetch-att / "(" fetch-att *(SP fetch-att) ")")
/// >
/// > fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
/// >             "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
/// >             "BODY" ["STRUCTURE"] / "UID" /
/// >             "BODY" section ["<" number "." nz-number ">"] /
/// >             "BODY.PEEK" section ["<" number "." nz-number ">"]
///
/// Note the lack of reference to any of the string-like rules or the quote characters themselves.
///
/// The arguments `synopsis` and `arg_name` are used to construct the error message of
/// [ValidateError] in case validation fails.
fn validate_str_noquote(
    synopsis: impl Into<String>,
    arg_name: impl Into<String>,
    value: &str,
) -> Result<&str> {
    value
        .matches(|c| c == '\n' || c == '\r')
        .next()
        .and_then(|s| s.chars().next())
        .err()
        .map_err(|c| {
            Error::Validate(ValidateError {
                command_synopsis: synopsis.into(),
                argument: arg_name.into(),
                offending_char: c,
            })
        })?;
    Ok(value)
}

/// This ensures the input doesn't contain a command-terminator or any other whitespace
/// while leaving it not-quoted.
/// This is needed because, per [the formal grammar given in RFC
/// 3501](https://tools.ietf.org/html/rfc3501#section-9), a sequence set consists of the following:
///
/// > sequence-set = (seq-number / seq-range) *("," sequence-set)
/// > seq-range = seq-number ":" seq-number
/// > seq-number = nz-number / "*"
/// > nz-number       = digit-nz *DIGIT
/// > digit-nz        = %x31-39
///
/// Note the lack of reference to SP or any other such whitespace terminals.
/// Per this grammar, in theory we ought to be even more restrictive than "no whitespace".
fn validate_sequence_set(
    synopsis: impl Into<String>,
    arg_name: impl Into<String>,
    value: &str,
) -> Result<&str> {
    value
        .matches(|c: char| c.is_ascii_whitespace())
        .next()
        .and_then(|s| s.chars().next())
        .err()
        .map_err(|c| {
            Error::Validate(ValidateError {
                command_synopsis: synopsis.into(),
                argument: arg_name.into(),
                offending_char: c,
            })
        })?;
    Ok(value)
}

/// An authenticated IMAP session providing the usual IMAP commands. This type is what you get from
/// a successful login attempt.
///
/// Note that the server *is* allowed to unilaterally send things to the client for messages in
/// a selected mailbox whose status has changed. See the note on [unilateral server responses
/// in RFC 3501](https://tools.ietf.org/html/rfc3501#section-7). Any such messages are parsed out
/// and sent on `Session::unsolicited_responses`.
// Both `Client` and `Session` deref to [`Connection`](struct.Connection.html), the underlying
// primitives type.
#[derive(Debug)]
pub struct Session<T: Read + Write> {
    conn: Connection<T>,
    /// Server responses that are not related to the current command. See also the note on
    /// [unilateral server responses in RFC 3501](https://tools.ietf.org/html/rfc3501#section-7).
    pub(crate) unsolicited_responses: VecDeque<UnsolicitedResponse>,
}

/// A `UID FETCH` sent by [`Session::uid_fetch_send`] whose answer has not been read yet.
///
/// Pass it to [`Session::fetch_receive`]. Answers must be read in the order the commands were
/// sent, and before the session runs any other command (whose reading would otherwise stop at
/// the earlier command's completion and fail with [`Error::TagMismatch`]).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the answer of a sent command must be read before any other command runs"]
pub struct PendingFetch {
    /// The tag of the command; None when nothing was sent (an empty set).
    tag: Option<u32>,
}

impl PendingFetch {
    /// The tag number of the command sent (`a<n>` on the wire), if one was sent.
    pub fn tag(&self) -> Option<u32> {
        self.tag
    }
}

/// An (unauthenticated) handle to talk to an IMAP server. This is what you get when first
/// connecting. A successful call to [`Client::login`] or [`Client::authenticate`] will return a
/// [`Session`] instance that provides the usual IMAP methods.
// Both `Client` and `Session` deref to [`Connection`](struct.Connection.html), the underlying
// primitives type.
#[derive(Debug)]
pub struct Client<T: Read + Write> {
    conn: Connection<T>,
}

/// The underlying primitives type. Both `Client`(unauthenticated) and `Session`(after successful
/// login) use a `Connection` internally for the TCP stream primitives.
#[derive(Debug)]
#[doc(hidden)]
pub struct Connection<T: Read + Write> {
    pub(crate) stream: BufStream<T>,
    tag: u32,
    /// Pipelined commands whose completion arrived while an earlier one's answer was read.
    completed_early: Vec<(u32, Result<()>)>,

    /// Enable debug mode for this connection so that all client-server interactions are printed to
    /// `STDERR`.
    pub debug: bool,

    /// Tracks if we have read a greeting.
    pub greeting_read: bool,

    /// Untagged responses that did not parse and were skipped (see
    /// [`Connection::take_skipped`]): the first [`SKIPPED_KEPT`], and how many more.
    skipped: Vec<Vec<u8>>,
    skipped_more: usize,
}

impl<T: Read + Write> Connection<T> {
    /// Manually increment the current tag.
    ///
    /// If writing a command to the server fails, [`Client`] assumes that the command did not reach
    /// the server, and thus that the next tag that should be sent is still the one used for the
    /// failed command. However, it could be the case that the command _did_ reach the server
    /// before failing, and thus a fresh tag needs to be issued instead.
    ///
    /// This function can be used to attempt to manually re-synchronize the client's tag tracker in
    /// such cases. It forcibly increments the client's tag counter such that the next command
    /// sent to the server will have a tag that is one greater than it otherwise would.
    pub fn skip_tag(&mut self) {
        self.tag += 1;
    }

    /// The untagged responses skipped since the last call because they did not parse, in the
    /// order they came, each cut to its first 1,024 bytes; at most [`SKIPPED_KEPT`] of them,
    /// with the number of those skipped beyond.
    ///
    /// An untagged response that the parser rejects (a misspelt or unknown one, such as GNU
    /// Mailutils imap4d's `* 9 EXPUNGED`) is read to its end, the literals its lines announce
    /// included, and left out of the answer: the command goes on and completes as usual. What
    /// the skipped response carried is lost, so a caller that needed it (the `* 1 FETCH` of a
    /// FETCH, say) can find it here and treat the answer as incomplete.
    pub fn take_skipped(&mut self) -> (Vec<Vec<u8>>, usize) {
        (
            std::mem::take(&mut self.skipped),
            std::mem::take(&mut self.skipped_more),
        )
    }
}

/// A builder for the append command
#[must_use]
pub struct AppendCmd<'a, T: Read + Write> {
    session: &'a mut Session<T>,
    content: &'a [u8],
    mailbox: &'a str,
    flags: Vec<Flag<'a>>,
    date: Option<DateTime<FixedOffset>>,
}

impl<'a, T: Read + Write> AppendCmd<'a, T> {
    /// The [`APPEND` command](https://tools.ietf.org/html/rfc3501#section-6.3.11) can take
    /// an optional FLAGS parameter to set the flags on the new message.
    ///
    /// > If a flag parenthesized list is specified, the flags SHOULD be set
    /// > in the resulting message; otherwise, the flag list of the
    /// > resulting message is set to empty by default.  In either case, the
    /// > Recent flag is also set.
    ///
    /// The [`\Recent` flag](https://tools.ietf.org/html/rfc3501#section-2.3.2) is not
    /// allowed as an argument to `APPEND` and will be filtered out if present in `flags`.
    pub fn flag(&mut self, flag: Flag<'a>) -> &mut Self {
        self.flags.push(flag);
        self
    }

    /// Set multiple flags at once.
    pub fn flags(&mut self, flags: impl IntoIterator<Item = Flag<'a>>) -> &mut Self {
        self.flags.extend(flags);
        self
    }

    /// Pass a date in order to set the date that the message was originally sent.
    ///
    /// > If a date-time is specified, the internal date SHOULD be set in
    /// > the resulting message; otherwise, the internal date of the
    /// > resulting message is set to the current date and time by default.
    pub fn internal_date(&mut self, date: DateTime<FixedOffset>) -> &mut Self {
        self.date = Some(date);
        self
    }

    /// Finishes up the command and executes it.
    ///
    /// Note: be sure to set flags and optional date before you
    /// finish the command.
    pub fn finish(&mut self) -> Result<Appended> {
        let flagstr = iter_join(self.flags.iter().filter(|f| **f != Flag::Recent), " ");

        let datestr = if let Some(date) = self.date {
            format!(" \"{}\"", date.format("%d-%h-%Y %T %z"))
        } else {
            "".to_string()
        };

        self.session.run_command(&format!(
            "APPEND \"{}\" ({}){} {{{}}}",
            self.mailbox,
            flagstr,
            datestr,
            self.content.len()
        ))?;
        let mut v = Vec::new();
        self.session.readline(&mut v)?;
        if !v.starts_with(b"+") {
            return Err(Error::Append);
        }
        self.session.stream.write_all(self.content)?;
        self.session.stream.write_all(b"\r\n")?;
        self.session.stream.flush()?;
        self.session
            .read_response()
            .and_then(|(lines, _)| parse_append(&lines, &mut self.session.unsolicited_responses))
    }
}

// `Deref` instances are so we can make use of the same underlying primitives in `Client` and
// `Session`
impl<T: Read + Write> Deref for Client<T> {
    type Target = Connection<T>;

    fn deref(&self) -> &Connection<T> {
        &self.conn
    }
}

impl<T: Read + Write> DerefMut for Client<T> {
    fn deref_mut(&mut self) -> &mut Connection<T> {
        &mut self.conn
    }
}

impl<T: Read + Write> Deref for Session<T> {
    type Target = Connection<T>;

    fn deref(&self) -> &Connection<T> {
        &self.conn
    }
}

impl<T: Read + Write> DerefMut for Session<T> {
    fn deref_mut(&mut self) -> &mut Connection<T> {
        &mut self.conn
    }
}

// As the pattern of returning the unauthenticated `Client` (a.k.a. `self`) back with a login error
// is relatively common, it's abstracted away into a macro here.
//
// Note: 1) using `.map_err(|e| (e, self))` or similar here makes the closure own self, so we can't
//          do that.
//       2) in theory we wouldn't need the second parameter, and could just use the identifier
//          `self` from the surrounding function, but being explicit here seems a lot cleaner.
macro_rules! ok_or_unauth_client_err {
    ($r:expr, $self:expr) => {
        match $r {
            Ok(o) => o,
            Err(e) => return Err((e, $self)),
        }
    };
}

impl<T: Read + Write> Client<T> {
    /// Creates a new client over the given stream.
    ///
    /// This method primarily exists for writing tests that mock the underlying transport,
    /// but can also be used to support IMAP over custom tunnels. If you do not need to do
    /// that, then it is simpler to use the [`ClientBuilder`](crate::ClientBuilder) to get
    /// a new client.
    ///
    /// For an example, see `examples/timeout.rs` which uses a custom timeout on the
    /// tcp stream.
    ///
    /// **Note:** In case you do need to use `Client::new` instead of the `ClientBuilder`
    /// you will need to listen for the IMAP protocol server greeting before authenticating:
    ///
    /// ```rust,no_run
    /// # use imap::Client;
    /// # use std::io;
    /// # use std::net::TcpStream;
    /// # {} #[cfg(feature = "native-tls")]
    /// # fn main() {
    /// # let server = "imap.example.com";
    /// # let username = "";
    /// # let password = "";
    /// # let tcp = TcpStream::connect((server, 993)).unwrap();
    /// # use native_tls::TlsConnector;
    /// # let ssl_connector = TlsConnector::builder().build().unwrap();
    /// # let tls = TlsConnector::connect(&ssl_connector, server.as_ref(), tcp).unwrap();
    /// let mut client = Client::new(tls);
    /// client.read_greeting().unwrap();
    /// let session = client.login(username, password).unwrap();
    /// # }
    /// ```
    pub fn new(stream: T) -> Client<T> {
        Client {
            conn: Connection {
                stream: BufStream::with_capacities(READ_BUFFER, WRITE_BUFFER, stream),
                tag: INITIAL_TAG,
                completed_early: Vec::new(),
                skipped: Vec::new(),
                skipped_more: 0,
                debug: false,
                greeting_read: false,
            },
        }
    }

    /// Yield the underlying connection for this Client.
    ///
    /// This consumes `self` since the Client is not much use without
    /// an underlying transport.
    pub fn into_inner(self) -> Result<T> {
        let res = self.conn.stream.into_inner()?;
        Ok(res)
    }

    /// The [`CAPABILITY` command](https://tools.ietf.org/html/rfc3501#section-6.1.1) requests a
    /// listing of capabilities that the server supports.  The server will include "IMAP4rev1" as
    /// one of the listed capabilities. See [`Capabilities`] for further details.
    ///
    /// This allows reading capabilities before authentication.
    pub fn capabilities(&mut self) -> Result<Capabilities> {
        // Create a temporary vec deque as we do not care about out of band responses before login
        let mut unsolicited_responses = VecDeque::new();
        self.run_command_and_read_response("CAPABILITY")
            .and_then(|lines| Capabilities::parse(lines, &mut unsolicited_responses))
    }

    /// Runs a command before authentication (for example `ID`, RFC 2971, which some servers
    /// require before LOGIN) and checks that it returns OK.
    pub fn run_command_and_check_ok(&mut self, command: impl AsRef<str>) -> Result<()> {
        self.conn.run_command_and_check_ok(command.as_ref())
    }

    /// Log in to the IMAP server. Upon success a [`Session`](struct.Session.html) instance is
    /// returned; on error the original `Client` instance is returned in addition to the error.
    /// This is because `login` takes ownership of `self`, so in order to try again (e.g. after
    /// prompting the user for credentials), ownership of the original `Client` needs to be
    /// transferred back to the caller.
    ///
    /// ```rust,no_run
    /// # {} #[cfg(feature = "native-tls")]
    /// # fn main() {
    /// let client = imap::ClientBuilder::new("imap.example.org", 993)
    ///     .connect().unwrap();
    ///
    /// match client.login("user", "pass") {
    ///     Ok(s) => {
    ///         // you are successfully authenticated!
    ///     },
    ///     Err((e, orig_client)) => {
    ///         eprintln!("error logging in: {}", e);
    ///         // prompt user and try again with orig_client here
    ///         return;
    ///     }
    /// }
    /// # }
    /// ```
    pub fn login(
        mut self,
        username: impl AsRef<str>,
        password: impl AsRef<str>,
    ) -> ::std::result::Result<Session<T>, (Error, Client<T>)> {
        let synopsis = "LOGIN";
        let (u, p) = (username.as_ref(), password.as_ref());
        ok_or_unauth_client_err!(validate_str_noquote(synopsis, "username", u), self);
        ok_or_unauth_client_err!(validate_str_noquote(synopsis, "password", p), self);
        // The arguments go quoted into one wiped buffer (no quoted copies, no format!).
        let mut args = SecretLine::with_capacity(2 * (u.len() + p.len()) + 5);
        args.push_quoted(u);
        args.push(b" ");
        args.push_quoted(p);
        ok_or_unauth_client_err!(self.conn.run_secret_command("LOGIN", &args.0), self);
        ok_or_unauth_client_err!(self.read_response().map(|_| ()), self);

        Ok(Session::new(self.conn))
    }

    /// Authenticate with the server using the given custom `authenticator` to handle the server's
    /// challenge.
    ///
    /// ```no_run
    /// struct OAuth2 {
    ///     user: String,
    ///     access_token: String,
    /// }
    ///
    /// impl imap::Authenticator for OAuth2 {
    ///     type Response = String;
    ///     fn process(&self, _: &[u8]) -> Self::Response {
    ///         format!(
    ///             "user={}\x01auth=Bearer {}\x01\x01",
    ///             self.user, self.access_token
    ///         )
    ///     }
    /// }
    ///
    /// # {} #[cfg(feature = "native-tls")]
    /// fn main() {
    ///     let auth = OAuth2 {
    ///         user: String::from("me@example.com"),
    ///         access_token: String::from("<access_token>"),
    ///     };
    ///     let client = imap::ClientBuilder::new("imap.example.com", 993).connect()
    ///         .expect("Could not connect to server");
    ///
    ///     match client.authenticate("XOAUTH2", &auth) {
    ///         Ok(session) => {
    ///             // you are successfully authenticated!
    ///         },
    ///         Err((e, orig_client)) => {
    ///             eprintln!("error authenticating: {}", e);
    ///             // prompt user and try again with orig_client here
    ///             return;
    ///         }
    ///     };
    /// }
    /// ```
    pub fn authenticate<A: Authenticator>(
        mut self,
        auth_type: impl AsRef<str>,
        authenticator: &A,
    ) -> ::std::result::Result<Session<T>, (Error, Client<T>)> {
        ok_or_unauth_client_err!(
            self.run_command(&format!("AUTHENTICATE {}", auth_type.as_ref())),
            self
        );
        self.do_auth_handshake(authenticator)
    }

    /// Authenticate with an initial response (RFC 4959, `SASL-IR`): the `authenticator`'s answer
    /// to an empty challenge goes on the `AUTHENTICATE` line itself, which saves the round trip
    /// of the server's first, empty challenge. Later challenges are handled as by
    /// [`Client::authenticate`]. Use it only when the server advertises `SASL-IR`; on error the
    /// `Client` comes back, so a caller can retry with [`Client::authenticate`] (some servers
    /// advertise `SASL-IR` and still answer `BAD` to an initial response).
    pub fn authenticate_with_initial_response<A: Authenticator>(
        mut self,
        auth_type: impl AsRef<str>,
        authenticator: &A,
    ) -> ::std::result::Result<Session<T>, (Error, Client<T>)> {
        ok_or_unauth_client_err!(
            self.send_initial_response(auth_type.as_ref(), authenticator),
            self
        );
        self.do_auth_handshake(authenticator)
    }

    /// Sends `AUTHENTICATE <auth_type> <initial response>` (RFC 4959), the response being the
    /// authenticator's answer to an empty challenge, built in a wiped buffer.
    fn send_initial_response<A: Authenticator>(
        &mut self,
        auth_type: &str,
        authenticator: &A,
    ) -> Result<()> {
        let response = authenticator.process(b"");
        let response = response.as_ref();
        let mut initial = SecretLine::with_capacity(base64_room(response.len()) + 1);
        if response.is_empty() {
            // RFC 4959: an empty initial response is sent as "=".
            initial.push(b"=");
        } else {
            initial.push_base64(response);
        }
        let command = format!("AUTHENTICATE {auth_type}");
        self.conn.run_secret_command(&command, &initial.0)
    }

    /// Sends a command without reading its answer (pipelining, RFC 3501 5.5), for a command
    /// that does not change the connection's state, such as `ID` (RFC 2971), just before
    /// [`Client::authenticate_with_initial_response_after`], which reads its answer. Returns
    /// the command's tag number.
    pub fn send_command(&mut self, command: impl AsRef<str>) -> Result<u32> {
        self.conn.run_command(command.as_ref())?;
        Ok(self.conn.tag)
    }

    /// As [`Client::authenticate_with_initial_response`] when the command tagged `pending`
    /// (sent with [`Client::send_command`]) has not been answered yet: the `AUTHENTICATE` line
    /// goes out at once, then the answer to `pending` is read, then the authentication's, so
    /// that both take one round trip instead of two. Returns `pending`'s outcome (`Error::No`
    /// or `Error::Bad` when the server refused it) beside the authentication's. When its answer
    /// cannot be read at all (the connection failed, or the answer is not IMAP), that error is
    /// the first element and the authentication's is `Error::ConnectionLost`.
    #[allow(clippy::type_complexity)]
    pub fn authenticate_with_initial_response_after<A: Authenticator>(
        mut self,
        pending: u32,
        auth_type: impl AsRef<str>,
        authenticator: &A,
    ) -> (
        Result<()>,
        ::std::result::Result<Session<T>, (Error, Client<T>)>,
    ) {
        if let Err(e) = self.send_initial_response(auth_type.as_ref(), authenticator) {
            // Not sent: the answer to `pending` is still to be read, by the caller.
            return (Ok(()), Err((e, self)));
        }
        let mut data = Vec::new();
        let before = match self.conn.read_response_to_onto(pending, &mut data) {
            Ok(_) => Ok(()),
            Err(e @ (Error::No(_) | Error::Bad(_))) => Err(e),
            Err(e) => return (Err(e), Err((Error::ConnectionLost, self))),
        };
        (before, self.do_auth_handshake(authenticator))
    }

    /// This func does the handshake process once the authenticate command is made.
    fn do_auth_handshake<A: Authenticator>(
        mut self,
        authenticator: &A,
    ) -> ::std::result::Result<Session<T>, (Error, Client<T>)> {
        // TODO Clean up this code
        loop {
            let mut line = Vec::new();

            // explicit match blocks necessary to convert error to tuple and not bind self too
            // early (see also comment on `login`)
            ok_or_unauth_client_err!(self.readline(&mut line), self);

            // ignore server comments
            if line.starts_with(b"* ") {
                continue;
            }

            // Some servers will only send `+\r\n` (or `+\n`: a bare LF ends a line too).
            let bare = &line == b"+\r\n" || &line == b"+\n";
            if line.starts_with(b"+ ") || bare {
                let challenge = if bare {
                    Vec::new()
                } else {
                    let line_str = ok_or_unauth_client_err!(
                        match str::from_utf8(line.as_slice()) {
                            Ok(line_str) => Ok(line_str),
                            Err(e) => Err(Error::Parse(ParseError::DataNotUtf8(line, e))),
                        },
                        self
                    );
                    let data =
                        ok_or_unauth_client_err!(parse_authenticate_response(line_str), self);
                    ok_or_unauth_client_err!(
                        general_purpose::STANDARD
                            .decode(data)
                            .map_err(|e| Error::Parse(ParseError::Authentication(
                                data.to_string(),
                                Some(e)
                            ))),
                        self
                    )
                };

                let raw_response = authenticator.process(&challenge);
                let raw_response = raw_response.as_ref();
                let mut answer = SecretLine::with_capacity(base64_room(raw_response.len()));
                answer.push_base64(raw_response);
                ok_or_unauth_client_err!(self.conn.write_secret_line(answer, "<answer>"), self);
            } else {
                ok_or_unauth_client_err!(self.read_response_onto(&mut line), self);
                return Ok(Session::new(self.conn));
            }
        }
    }
}

impl<T: Read + Write> Session<T> {
    // not public, just to avoid duplicating the channel creation code
    fn new(conn: Connection<T>) -> Self {
        Session {
            conn,
            unsolicited_responses: VecDeque::new(),
        }
    }

    /// Takes all the unsolicited responses received thus far.
    pub fn take_all_unsolicited(&mut self) -> impl ExactSizeIterator<Item = UnsolicitedResponse> {
        std::mem::take(&mut self.unsolicited_responses).into_iter()
    }

    /// Selects a mailbox
    ///
    /// The `SELECT` command selects a mailbox so that messages in the mailbox can be accessed.
    /// Note that earlier versions of this protocol only required the FLAGS, EXISTS, and RECENT
    /// untagged data; consequently, client implementations SHOULD implement default behavior for
    /// missing data as discussed with the individual item.
    ///
    /// Only one mailbox can be selected at a time in a connection; simultaneous access to multiple
    /// mailboxes requires multiple connections.  The `SELECT` command automatically deselects any
    /// currently selected mailbox before attempting the new selection. Consequently, if a mailbox
    /// is selected and a `SELECT` command that fails is attempted, no mailbox is selected.
    ///
    /// Note that the server *is* allowed to unilaterally send things to the client for messages in
    /// a selected mailbox whose status has changed. See the note on [unilateral server responses
    /// in RFC 3501](https://tools.ietf.org/html/rfc3501#section-7). This means that if you use
    /// [`Connection::run_command_and_read_response`], you *may* see additional untagged `RECENT`,
    /// `EXISTS`, `FETCH`, and `EXPUNGE` responses. You can get them from the
    /// `unsolicited_responses` channel of the [`Session`](struct.Session.html).
    pub fn select(&mut self, mailbox_name: impl AsRef<str>) -> Result<Mailbox> {
        self.run(&format!(
            "SELECT {}",
            validate_str("SELECT", "mailbox", mailbox_name.as_ref())?
        ))
        .and_then(|(lines, _)| parse_mailbox(&lines[..], &mut self.unsolicited_responses))
    }

    /// The `EXAMINE` command is identical to [`Session::select`] and returns the same output;
    /// however, the selected mailbox is identified as read-only. No changes to the permanent state
    /// of the mailbox, including per-user state, will happen in a mailbox opened with `examine`;
    /// in particular, messagess cannot lose [`Flag::Recent`] in an examined mailbox.
    pub fn examine(&mut self, mailbox_name: impl AsRef<str>) -> Result<Mailbox> {
        self.run(&format!(
            "EXAMINE {}",
            validate_str("EXAMINE", "mailbox", mailbox_name.as_ref())?
        ))
        .and_then(|(lines, _)| parse_mailbox(&lines[..], &mut self.unsolicited_responses))
    }

    /// Fetch retrieves data associated with a set of messages in the mailbox.
    ///
    /// Note that the server *is* allowed to unilaterally include `FETCH` responses for other
    /// messages in the selected mailbox whose status has changed. See the note on [unilateral
    /// server responses in RFC 3501](https://tools.ietf.org/html/rfc3501#section-7).
    ///
    /// `query` is a list of "data items" (space-separated in parentheses if `>1`). There are three
    /// "macro items" which specify commonly-used sets of data items, and can be used instead of
    /// data items.  A macro must be used by itself, and not in conjunction with other macros or
    /// data items. They are:
    ///
    ///  - `ALL`: equivalent to: `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`
    ///  - `FAST`: equivalent to: `(FLAGS INTERNALDATE RFC822.SIZE)`
    ///
    /// The currently defined data items that can be fetched are listed [in the
    /// RFC](https://tools.ietf.org/html/rfc3501#section-6.4.5), but here are some common ones:
    ///
    ///  - `FLAGS`: The flags that are set for this message.
    ///  - `INTERNALDATE`: The internal date of the message.
    ///  - `BODY[<section>]`:
    ///
    ///     The text of a particular body section.  The section specification is a set of zero or
    ///     more part specifiers delimited by periods.  A part specifier is either a part number
    ///     (see RFC) or one of the following: `HEADER`, `HEADER.FIELDS`, `HEADER.FIELDS.NOT`,
    ///     `MIME`, and `TEXT`.  An empty section specification (i.e., `BODY[]`) refers to the
    ///     entire message, including the header.
    ///
    ///     The `HEADER`, `HEADER.FIELDS`, and `HEADER.FIELDS.NOT` part specifiers refer to the
    ///     [RFC-2822](https://tools.ietf.org/html/rfc2822) header of the message or of an
    ///     encapsulated [MIME-IMT](https://tools.ietf.org/html/rfc2046)
    ///     MESSAGE/[RFC822](https://tools.ietf.org/html/rfc822) message. `HEADER.FIELDS` and
    ///     `HEADER.FIELDS.NOT` are followed by a list of field-name (as defined in
    ///     [RFC-2822](https://tools.ietf.org/html/rfc2822)) names, and return a subset of the
    ///     header.  The subset returned by `HEADER.FIELDS` contains only those header fields with
    ///     a field-name that matches one of the names in the list; similarly, the subset returned
    ///     by `HEADER.FIELDS.NOT` contains only the header fields with a non-matching field-name.
    ///     The field-matching is case-insensitive but otherwise exact.  Subsetting does not
    ///     exclude the [RFC-2822](https://tools.ietf.org/html/rfc2822) delimiting blank line
    ///     between the header and the body; the blank line is included in all header fetches,
    ///     except in the case of a message which has no body and no blank line.
    ///
    ///     The `MIME` part specifier refers to the [MIME-IMB](https://tools.ietf.org/html/rfc2045)
    ///     header for this part.
    ///
    ///     The `TEXT` part specifier refers to the text body of the message,
    ///     omitting the [RFC-2822](https://tools.ietf.org/html/rfc2822) header.
    ///
    ///     [`Flag::Seen`] is implicitly set when `BODY` is fetched; if this causes the flags to
    ///     change, they will generally be included as part of the `FETCH` responses.
    ///  - `BODY.PEEK[<section>]`: An alternate form of `BODY[<section>]` that does not implicitly
    ///    set [`Flag::Seen`].
    ///  - `ENVELOPE`: The envelope structure of the message.  This is computed by the server by
    ///    parsing the [RFC-2822](https://tools.ietf.org/html/rfc2822) header into the component
    ///    parts, defaulting various fields as necessary.
    ///  - `RFC822`: Functionally equivalent to `BODY[]`.
    ///  - `RFC822.HEADER`: Functionally equivalent to `BODY.PEEK[HEADER]`.
    ///  - `RFC822.SIZE`: The [RFC-2822](https://tools.ietf.org/html/rfc2822) size of the message.
    ///  - `UID`: The unique identifier for the message.
    pub fn fetch(
        &mut self,
        sequence_set: impl AsRef<str>,
        query: impl AsRef<str>,
    ) -> Result<Fetches> {
        if sequence_set.as_ref().is_empty() {
            Fetches::parse(vec![], &mut self.unsolicited_responses)
        } else {
            let synopsis = "FETCH";
            self.run_command_and_read_response(&format!(
                "FETCH {} {}",
                validate_sequence_set(synopsis, "seq", sequence_set.as_ref())?,
                validate_str_noquote(synopsis, "query", query.as_ref())?
            ))
            .and_then(|lines| Fetches::parse(lines, &mut self.unsolicited_responses))
        }
    }

    /// Equivalent to [`Session::fetch`], except that all identifiers in `uid_set` are
    /// [`Uid`]s. See also the [`UID` command](https://tools.ietf.org/html/rfc3501#section-6.4.8).
    pub fn uid_fetch(
        &mut self,
        uid_set: impl AsRef<str>,
        query: impl AsRef<str>,
    ) -> Result<Fetches> {
        if uid_set.as_ref().is_empty() {
            Fetches::parse(vec![], &mut self.unsolicited_responses)
        } else {
            let synopsis = "UID FETCH";
            self.run_command_and_read_response(&format!(
                "UID FETCH {} {}",
                validate_sequence_set(synopsis, "seq", uid_set.as_ref())?,
                validate_str_noquote(synopsis, "query", query.as_ref())?
            ))
            .and_then(|lines| Fetches::parse(lines, &mut self.unsolicited_responses))
        }
    }

    /// Sends a [`Session::uid_fetch`] command without reading its answer, so that the server
    /// can work on it while the answer of an earlier command is still being read (pipelining,
    /// [RFC 3501 section 5.5](https://tools.ietf.org/html/rfc3501#section-5.5)): a client
    /// that asks for the next batch before it has read the current one never leaves the
    /// connection idle for a round trip. Read the answer with [`Session::fetch_receive`].
    ///
    /// Only commands that cannot affect each other may be pipelined: fetches of different
    /// messages, or fetches that do not change flags (`BODY.PEEK`), for instance.
    pub fn uid_fetch_send(
        &mut self,
        uid_set: impl AsRef<str>,
        query: impl AsRef<str>,
    ) -> Result<PendingFetch> {
        self.send_fetch("UID FETCH", uid_set.as_ref(), query.as_ref())
    }

    /// As [`Session::uid_fetch_send`], for a [`Session::fetch`] by sequence numbers.
    pub fn fetch_send(
        &mut self,
        sequence_set: impl AsRef<str>,
        query: impl AsRef<str>,
    ) -> Result<PendingFetch> {
        self.send_fetch("FETCH", sequence_set.as_ref(), query.as_ref())
    }

    fn send_fetch(&mut self, synopsis: &'static str, set: &str, query: &str) -> Result<PendingFetch> {
        if set.is_empty() {
            return Ok(PendingFetch { tag: None });
        }
        let command = format!(
            "{} {} {}",
            synopsis,
            validate_sequence_set(synopsis, "seq", set)?,
            validate_str_noquote(synopsis, "query", query)?
        );
        self.conn.run_command(&command)?;
        Ok(PendingFetch {
            tag: Some(self.conn.tag),
        })
    }

    /// Reads the answer of a command sent with [`Session::uid_fetch_send`] or
    /// [`Session::fetch_send`]. Commands sent
    /// after it may still be waiting for their own answers.
    pub fn fetch_receive(&mut self, pending: PendingFetch) -> Result<Fetches> {
        let Some(tag) = pending.tag else {
            return Fetches::parse(vec![], &mut self.unsolicited_responses);
        };
        let mut data = Vec::new();
        let ok = self.conn.read_response_to_onto(tag, &mut data)?;
        data.truncate(ok);
        Fetches::parse(data, &mut self.unsolicited_responses)
    }

    /// Reads part of the answer of a command sent with [`Session::uid_fetch_send`] or
    /// [`Session::fetch_send`]: the responses that came until at least `min_bytes` bytes of
    /// complete responses were read, or until the command completed, whichever comes first.
    /// Returns them and whether the command completed; until it has, call again with the same
    /// `pending` for the rest (and not after: its completion has been read).
    ///
    /// A client can so hand out what came while a long answer is still coming, and keep the
    /// server busy by sending further commands between the parts: a server may hold back the
    /// completions of pipelined commands until it has no other command to run (Dovecot does),
    /// so waiting for completions before sending more would leave it idle a round trip.
    pub fn fetch_receive_part(
        &mut self,
        pending: &PendingFetch,
        min_bytes: usize,
    ) -> Result<(Fetches, bool)> {
        self.fetch_receive_part_into(pending, min_bytes, part_buffer(min_bytes))
    }

    /// As [`Session::fetch_receive_part`], reading the part into `buffer` (emptied first; it
    /// grows if the part needs more than its capacity). With a buffer sized for the response
    /// expected next and `min_bytes` of 1 (a part of one response), a client can keep the
    /// buffer as that message's storage ([`Fetches::into_buffer`]) instead of copying the
    /// message out of it, and reuse buffers it got back.
    pub fn fetch_receive_part_into(
        &mut self,
        pending: &PendingFetch,
        min_bytes: usize,
        buffer: Vec<u8>,
    ) -> Result<(Fetches, bool)> {
        let Some(tag) = pending.tag else {
            return Ok((Fetches::parse(vec![], &mut self.unsolicited_responses)?, true));
        };
        let mut data = buffer;
        data.clear();
        let done = self
            .conn
            .read_response_part_onto(tag, &mut data, Some(min_bytes.max(1)))?;
        if let Some(ok) = done {
            data.truncate(ok);
        }
        Ok((
            Fetches::parse(data, &mut self.unsolicited_responses)?,
            done.is_some(),
        ))
    }

    /// Noop always succeeds, and it does nothing.
    pub fn noop(&mut self) -> Result<()> {
        self.run_command_and_read_response("NOOP")
            .and_then(|lines| parse_noop(lines, &mut self.unsolicited_responses))
    }

    /// Logout informs the server that the client is done with the connection.
    pub fn logout(&mut self) -> Result<()> {
        // Check for OK or BYE.
        // According to the RFC:
        // https://datatracker.ietf.org/doc/html/rfc3501#section-6.1.3
        // We should get an untagged BYE and a tagged OK.
        // Apparently some servers send a tagged BYE (imap.wp.pl #210)
        // instead, so we just treat it like OK since we are logging out
        // anyway and this avoids returning an error on logout.
        match self.run_command_and_check_ok("LOGOUT") {
            Ok(_) => Ok(()),
            Err(Error::Bye(_)) => Ok(()),
            resp => resp,
        }
    }

    /// The [`CREATE` command](https://tools.ietf.org/html/rfc3501#section-6.3.3) creates a mailbox
    /// with the given name.  `Ok` is returned only if a new mailbox with that name has been
    /// created.  It is an error to attempt to create `INBOX` or a mailbox with a name that
    /// refers to an extant mailbox.  Any error in creation will return [`Error::No`].
    ///
    /// If the mailbox name is suffixed with the server's hierarchy separator character (as
    /// returned from the server by [`Session::list`]), this is a declaration that the client
    /// intends to create mailbox names under this name in the hierarchy.  Servers that do not
    /// require this declaration will ignore the declaration.  In any case, the name created is
    /// without the trailing hierarchy delimiter.
    ///
    /// If the server's hierarchy separator character appears elsewhere in the name, the server
    /// will generally create any superior hierarchical names that are needed for the `CREATE`
    /// command to be successfully completed.  In other words, an attempt to create `foo/bar/zap`
    /// on a server in which `/` is the hierarchy separator character will usually create `foo/`
    /// and `foo/bar/` if they do not already exist.
    ///
    /// If a new mailbox is created with the same name as a mailbox which was deleted, its unique
    /// identifiers will be greater than any unique identifiers used in the previous incarnation of
    /// the mailbox UNLESS the new incarnation has a different unique identifier validity value.
    /// See the description of the [`UID`
    /// command](https://tools.ietf.org/html/rfc3501#section-6.4.8) for more detail.
    pub fn create(&mut self, mailbox_name: impl AsRef<str>) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "CREATE {}",
            validate_str("CREATE", "mailbox", mailbox_name.as_ref())?
        ))
    }

    /// The [`DELETE` command](https://tools.ietf.org/html/rfc3501#section-6.3.4) permanently
    /// removes the mailbox with the given name.  `Ok` is returned only if the mailbox has been
    /// deleted.  It is an error to attempt to delete `INBOX` or a mailbox name that does not
    /// exist.
    ///
    /// The `DELETE` command will not remove inferior hierarchical names. For example, if a mailbox
    /// `foo` has an inferior `foo.bar` (assuming `.` is the hierarchy delimiter character),
    /// removing `foo` will not remove `foo.bar`.  It is an error to attempt to delete a name that
    /// has inferior hierarchical names and also has [`NameAttribute::NoSelect`].
    ///
    /// It is permitted to delete a name that has inferior hierarchical names and does not have
    /// [`NameAttribute::NoSelect`].  In this case, all messages in that mailbox are removed, and
    /// the name will acquire [`NameAttribute::NoSelect`].
    ///
    /// The value of the highest-used unique identifier of the deleted mailbox will be preserved so
    /// that a new mailbox created with the same name will not reuse the identifiers of the former
    /// incarnation, UNLESS the new incarnation has a different unique identifier validity value.
    /// See the description of the [`UID`
    /// command](https://tools.ietf.org/html/rfc3501#section-6.4.8) for more detail.
    pub fn delete(&mut self, mailbox_name: impl AsRef<str>) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "DELETE {}",
            validate_str("DELETE", "mailbox", mailbox_name.as_ref())?
        ))
    }

    /// The [`RENAME` command](https://tools.ietf.org/html/rfc3501#section-6.3.5) changes the name
    /// of a mailbox.  `Ok` is returned only if the mailbox has been renamed.  It is an error to
    /// attempt to rename from a mailbox name that does not exist or to a mailbox name that already
    /// exists.  Any error in renaming will return [`Error::No`].
    ///
    /// If the name has inferior hierarchical names, then the inferior hierarchical names will also
    /// be renamed.  For example, a rename of `foo` to `zap` will rename `foo/bar` (assuming `/` is
    /// the hierarchy delimiter character) to `zap/bar`.
    ///
    /// If the server's hierarchy separator character appears in the name, the server will
    /// generally create any superior hierarchical names that are needed for the `RENAME` command
    /// to complete successfully.  In other words, an attempt to rename `foo/bar/zap` to
    /// `baz/rag/zowie` on a server in which `/` is the hierarchy separator character will
    /// generally create `baz/` and `baz/rag/` if they do not already exist.
    ///
    /// The value of the highest-used unique identifier of the old mailbox name will be preserved
    /// so that a new mailbox created with the same name will not reuse the identifiers of the
    /// former incarnation, UNLESS the new incarnation has a different unique identifier validity
    /// value. See the description of the [`UID`
    /// command](https://tools.ietf.org/html/rfc3501#section-6.4.8) for more detail.
    ///
    /// Renaming `INBOX` is permitted, and has special behavior.  It moves all messages in `INBOX`
    /// to a new mailbox with the given name, leaving `INBOX` empty.  If the server implementation
    /// supports inferior hierarchical names of `INBOX`, these are unaffected by a rename of
    /// `INBOX`.
    pub fn rename(&mut self, from: impl AsRef<str>, to: impl AsRef<str>) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "RENAME {} {}",
            quote!(from.as_ref()),
            quote!(to.as_ref())
        ))
    }

    /// The [`SUBSCRIBE` command](https://tools.ietf.org/html/rfc3501#section-6.3.6) adds the
    /// specified mailbox name to the server's set of "active" or "subscribed" mailboxes as
    /// returned by [`Session::lsub`].  This command returns `Ok` only if the subscription is
    /// successful.
    ///
    /// The server may validate the mailbox argument to `SUBSCRIBE` to verify that it exists.
    /// However, it will not unilaterally remove an existing mailbox name from the subscription
    /// list even if a mailbox by that name no longer exists.
    pub fn subscribe(&mut self, mailbox: impl AsRef<str>) -> Result<()> {
        self.run_command_and_check_ok(&format!("SUBSCRIBE {}", quote!(mailbox.as_ref())))
    }

    /// The [`UNSUBSCRIBE` command](https://tools.ietf.org/html/rfc3501#section-6.3.7) removes the
    /// specified mailbox name from the server's set of "active" or "subscribed" mailboxes as
    /// returned by [`Session::lsub`].  This command returns `Ok` only if the unsubscription is
    /// successful.
    pub fn unsubscribe(&mut self, mailbox: impl AsRef<str>) -> Result<()> {
        self.run_command_and_check_ok(&format!("UNSUBSCRIBE {}", quote!(mailbox.as_ref())))
    }

    /// The [`CAPABILITY` command](https://tools.ietf.org/html/rfc3501#section-6.1.1) requests a
    /// listing of capabilities that the server supports.  The server will include "IMAP4rev1" as
    /// one of the listed capabilities. See [`Capabilities`] for further details.
    pub fn capabilities(&mut self) -> Result<Capabilities> {
        self.run_command_and_read_response("CAPABILITY")
            .and_then(|lines| Capabilities::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`EXPUNGE` command](https://tools.ietf.org/html/rfc3501#section-6.4.3) permanently
    /// removes all messages that have [`Flag::Deleted`] set from the currently selected mailbox.
    /// The message sequence number of each message that is removed is returned.
    pub fn expunge(&mut self) -> Result<Deleted> {
        self.run_command("EXPUNGE")?;
        self.read_response()
            .and_then(|(lines, _)| parse_expunge(lines, &mut self.unsolicited_responses))
    }

    /// The [`UID EXPUNGE` command](https://tools.ietf.org/html/rfc4315#section-2.1) permanently
    /// removes all messages that both have [`Flag::Deleted`] set and have a [`Uid`] that is
    /// included in the specified sequence set from the currently selected mailbox.  If a message
    /// either does not have [`Flag::Deleted`] set or has a [`Uid`] that is not included in the
    /// specified sequence set, it is not affected.
    ///
    /// This command is particularly useful for disconnected use clients. By using `uid_expunge`
    /// instead of [`expunge`](Session::expunge) when resynchronizing with the server, the client
    /// can ensure that it does not inadvertently remove any messages that have been marked as
    /// [`Flag::Deleted`] by other clients between the time that the client was last connected and
    /// the time the client resynchronizes.
    ///
    /// This command requires that the server supports [RFC
    /// 4315](https://tools.ietf.org/html/rfc4315) as indicated by the `UIDPLUS` capability (see
    /// [`Session::capabilities`]). If the server does not support the `UIDPLUS` capability, the
    /// client should fall back to using [`Session::store`] to temporarily remove [`Flag::Deleted`]
    /// from messages it does not want to remove, then invoking [`Session::expunge`].  Finally, the
    /// client should use [`Session::store`] to restore [`Flag::Deleted`] on the messages in which
    /// it was temporarily removed.
    ///
    /// Alternatively, the client may fall back to using just [`Session::expunge`], risking the
    /// unintended removal of some messages.
    pub fn uid_expunge(&mut self, uid_set: impl AsRef<str>) -> Result<Deleted> {
        self.run_command(&format!("UID EXPUNGE {}", uid_set.as_ref()))?;
        self.read_response()
            .and_then(|(lines, _)| parse_expunge(lines, &mut self.unsolicited_responses))
    }

    /// The [`CHECK` command](https://tools.ietf.org/html/rfc3501#section-6.4.1) requests a
    /// checkpoint of the currently selected mailbox.  A checkpoint refers to any
    /// implementation-dependent housekeeping associated with the mailbox (e.g., resolving the
    /// server's in-memory state of the mailbox with the state on its disk) that is not normally
    /// executed as part of each command.  A checkpoint MAY take a non-instantaneous amount of real
    /// time to complete.  If a server implementation has no such housekeeping considerations,
    /// [`Session::check`] is equivalent to [`Session::noop`].
    ///
    /// There is no guarantee that an `EXISTS` untagged response will happen as a result of
    /// `CHECK`.  [`Session::noop`] SHOULD be used for new message polling.
    pub fn check(&mut self) -> Result<()> {
        self.run_command_and_check_ok("CHECK")
    }

    /// The [`CLOSE` command](https://tools.ietf.org/html/rfc3501#section-6.4.2) permanently
    /// removes all messages that have [`Flag::Deleted`] set from the currently selected mailbox,
    /// and returns to the authenticated state from the selected state.  No `EXPUNGE` responses are
    /// sent.
    ///
    /// No messages are removed, and no error is given, if the mailbox is selected by
    /// [`Session::examine`] or is otherwise selected read-only.
    ///
    /// Even if a mailbox is selected, [`Session::select`], [`Session::examine`], or
    /// [`Session::logout`] command MAY be issued without previously invoking [`Session::close`].
    /// [`Session::select`], [`Session::examine`], and [`Session::logout`] implicitly close the
    /// currently selected mailbox without doing an expunge.  However, when many messages are
    /// deleted, a `CLOSE-LOGOUT` or `CLOSE-SELECT` sequence is considerably faster than an
    /// `EXPUNGE-LOGOUT` or `EXPUNGE-SELECT` because no `EXPUNGE` responses (which the client would
    /// probably ignore) are sent.
    pub fn close(&mut self) -> Result<()> {
        self.run_command_and_check_ok("CLOSE")
    }

    /// The [`STORE` command](https://tools.ietf.org/html/rfc3501#section-6.4.6) alters data
    /// associated with a message in the mailbox.  Normally, `STORE` will return the updated value
    /// of the data with an untagged FETCH response.  A suffix of `.SILENT` in `query` prevents the
    /// untagged `FETCH`, and the server assumes that the client has determined the updated value
    /// itself or does not care about the updated value.
    ///
    /// The currently defined data items that can be stored are:
    ///
    ///  - `FLAGS <flag list>`:
    ///
    ///    Replace the flags for the message (other than [`Flag::Recent`]) with the argument.  The
    ///    new value of the flags is returned as if a `FETCH` of those flags was done.
    ///
    ///  - `FLAGS.SILENT <flag list>`: Equivalent to `FLAGS`, but without returning a new value.
    ///
    ///  - `+FLAGS <flag list>`
    ///
    ///    Add the argument to the flags for the message.  The new value of the flags is returned
    ///    as if a `FETCH` of those flags was done.
    ///  - `+FLAGS.SILENT <flag list>`: Equivalent to `+FLAGS`, but without returning a new value.
    ///
    ///  - `-FLAGS <flag list>`
    ///
    ///    Remove the argument from the flags for the message.  The new value of the flags is
    ///    returned as if a `FETCH` of those flags was done.
    ///
    ///  - `-FLAGS.SILENT <flag list>`: Equivalent to `-FLAGS`, but without returning a new value.
    ///
    /// In all cases, `<flag list>` is a space-separated list enclosed in parentheses.
    ///
    /// # Examples
    ///
    /// Delete a message:
    ///
    /// ```rust,no_run
    /// # extern crate imap;
    /// # use imap::{self, Session};
    /// # use std::net::TcpStream;
    /// fn delete(seq: imap::types::Seq, s: &mut Session<TcpStream>) -> imap::error::Result<()> {
    ///     s.store(format!("{}", seq), "+FLAGS (\\Deleted)")?;
    ///     s.expunge()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn store(
        &mut self,
        sequence_set: impl AsRef<str>,
        query: impl AsRef<str>,
    ) -> Result<Fetches> {
        self.run_command_and_read_response(&format!(
            "STORE {} {}",
            sequence_set.as_ref(),
            query.as_ref()
        ))
        .and_then(|lines| Fetches::parse(lines, &mut self.unsolicited_responses))
    }

    /// Equivalent to [`Session::store`], except that all identifiers in `sequence_set` are
    /// [`Uid`]s. See also the [`UID` command](https://tools.ietf.org/html/rfc3501#section-6.4.8).
    pub fn uid_store(
        &mut self,
        uid_set: impl AsRef<str>,
        query: impl AsRef<str>,
    ) -> Result<Fetches> {
        self.run_command_and_read_response(&format!(
            "UID STORE {} {}",
            uid_set.as_ref(),
            query.as_ref()
        ))
        .and_then(|lines| Fetches::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`COPY` command](https://tools.ietf.org/html/rfc3501#section-6.4.7) copies the
    /// specified message(s) to the end of the specified destination mailbox.  The flags and
    /// internal date of the message(s) will generally be preserved, and [`Flag::Recent`] will
    /// generally be set, in the copy.
    ///
    /// If the `COPY` command is unsuccessful for any reason, the server restores the destination
    /// mailbox to its state before the `COPY` attempt.
    pub fn copy(
        &mut self,
        sequence_set: impl AsRef<str>,
        mailbox_name: impl AsRef<str>,
    ) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "COPY {} {}",
            sequence_set.as_ref(),
            mailbox_name.as_ref()
        ))
    }

    /// Equivalent to [`Session::copy`], except that all identifiers in `sequence_set` are
    /// [`Uid`]s. See also the [`UID` command](https://tools.ietf.org/html/rfc3501#section-6.4.8).
    pub fn uid_copy(
        &mut self,
        uid_set: impl AsRef<str>,
        mailbox_name: impl AsRef<str>,
    ) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "UID COPY {} {}",
            uid_set.as_ref(),
            mailbox_name.as_ref()
        ))
    }

    /// The [`MOVE` command](https://tools.ietf.org/html/rfc6851#section-3.1) takes two
    /// arguments: a sequence set and a named mailbox. Each message included in the set is moved,
    /// rather than copied, from the selected (source) mailbox to the named (target) mailbox.
    ///
    /// This means that a new message is created in the target mailbox with a
    /// new [`Uid`], the original message is removed from the source mailbox, and
    /// it appears to the client as a single action.  This has the same
    /// effect for each message as this sequence:
    ///
    ///   1. COPY
    ///   2. STORE +FLAGS.SILENT \DELETED
    ///   3. EXPUNGE
    ///
    /// This command requires that the server supports [RFC
    /// 6851](https://tools.ietf.org/html/rfc6851) as indicated by the `MOVE` capability (see
    /// [`Session::capabilities`]).
    ///
    /// Although the effect of the `MOVE` is the same as the preceding steps, the semantics are not
    /// identical: The intermediate states produced by those steps do not occur, and the response
    /// codes are different.  In particular, though the `COPY` and `EXPUNGE` response codes will be
    /// returned, response codes for a `store` will not be generated and [`Flag::Deleted`] will not
    /// be set for any message.
    ///
    /// Because a `MOVE` applies to a set of messages, it might fail partway through the set.
    /// Regardless of whether the command is successful in moving the entire set, each individual
    /// message will either be moved or unaffected.  The server will leave each message in a state
    /// where it is in at least one of the source or target mailboxes (no message can be lost or
    /// orphaned).  The server will generally not leave any message in both mailboxes (it would be
    /// bad for a partial failure to result in a bunch of duplicate messages).  This is true even
    /// if the server returns with [`Error::No`].
    pub fn mv(
        &mut self,
        sequence_set: impl AsRef<str>,
        mailbox_name: impl AsRef<str>,
    ) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "MOVE {} {}",
            sequence_set.as_ref(),
            validate_str("MOVE", "mailbox", mailbox_name.as_ref())?
        ))
    }

    /// Equivalent to [`Session::mv`], except that all identifiers in `sequence_set` are
    /// [`Uid`]s. See also the [`UID` command](https://tools.ietf.org/html/rfc3501#section-6.4.8)
    /// and the [semantics of `MOVE` and `UID
    /// MOVE`](https://tools.ietf.org/html/rfc6851#section-3.3).
    pub fn uid_mv(
        &mut self,
        uid_set: impl AsRef<str>,
        mailbox_name: impl AsRef<str>,
    ) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "UID MOVE {} {}",
            uid_set.as_ref(),
            validate_str("UID MOVE", "mailbox", mailbox_name.as_ref())?
        ))
    }

    /// The [`LIST` command](https://tools.ietf.org/html/rfc3501#section-6.3.8) returns a subset of
    /// names from the complete set of all names available to the client.  It returns the name
    /// attributes, hierarchy delimiter, and name of each such name; see [`Name`] for more detail.
    ///
    /// If `reference_name` is `None` (or `""`), the currently selected mailbox is used.
    /// The returned mailbox names must match the supplied `mailbox_pattern`.  A non-empty
    /// reference name argument is the name of a mailbox or a level of mailbox hierarchy, and
    /// indicates the context in which the mailbox name is interpreted.
    ///
    /// If `mailbox_pattern` is `None` (or `""`), it is a special request to return the hierarchy
    /// delimiter and the root name of the name given in the reference.  The value returned as the
    /// root MAY be the empty string if the reference is non-rooted or is an empty string.  In all
    /// cases, a hierarchy delimiter (or `NIL` if there is no hierarchy) is returned.  This permits
    /// a client to get the hierarchy delimiter (or find out that the mailbox names are flat) even
    /// when no mailboxes by that name currently exist.
    ///
    /// The reference and mailbox name arguments are interpreted into a canonical form that
    /// represents an unambiguous left-to-right hierarchy.  The returned mailbox names will be in
    /// the interpreted form.
    ///
    /// The character `*` is a wildcard, and matches zero or more characters at this position.  The
    /// character `%` is similar to `*`, but it does not match a hierarchy delimiter.  If the `%`
    /// wildcard is the last character of a mailbox name argument, matching levels of hierarchy are
    /// also returned.  If these levels of hierarchy are not also selectable mailboxes, they are
    /// returned with [`NameAttribute::NoSelect`].
    ///
    /// The special name `INBOX` is included if `INBOX` is supported by this server for this user
    /// and if the uppercase string `INBOX` matches the interpreted reference and mailbox name
    /// arguments with wildcards.  The criteria for omitting `INBOX` is whether `SELECT INBOX` will
    /// return failure; it is not relevant whether the user's real `INBOX` resides on this or some
    /// other server.
    pub fn list(
        &mut self,
        reference_name: Option<&str>,
        mailbox_pattern: Option<&str>,
    ) -> Result<Names> {
        self.run_command_and_read_response(&format!(
            "LIST {} {}",
            quote!(reference_name.unwrap_or("")),
            mailbox_pattern.unwrap_or("\"\"")
        ))
        .and_then(|lines| Names::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`LSUB` command](https://tools.ietf.org/html/rfc3501#section-6.3.9) returns a subset of
    /// names from the set of names that the user has declared as being "active" or "subscribed".
    /// The arguments to this method the same as for [`Session::list`].
    ///
    /// The returned [`Name`]s MAY contain different mailbox flags from response to
    /// [`Session::list`].  If this should happen, the flags returned by [`Session::list`] are
    /// considered more authoritative.
    ///
    /// A special situation occurs when invoking `lsub` with the `%` wildcard. Consider what
    /// happens if `foo/bar` (with a hierarchy delimiter of `/`) is subscribed but `foo` is not.  A
    /// `%` wildcard to `lsub` must return `foo`, not `foo/bar`, and it will be flagged with
    /// [`NameAttribute::NoSelect`].
    ///
    /// The server will not unilaterally remove an existing mailbox name from the subscription list
    /// even if a mailbox by that name no longer exists.
    pub fn lsub(
        &mut self,
        reference_name: Option<&str>,
        mailbox_pattern: Option<&str>,
    ) -> Result<Names> {
        self.run_command_and_read_response(&format!(
            "LSUB {} {}",
            quote!(reference_name.unwrap_or("")),
            mailbox_pattern.unwrap_or("")
        ))
        .and_then(|lines| Names::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`STATUS` command](https://tools.ietf.org/html/rfc3501#section-6.3.10) requests the
    /// status of the indicated mailbox. It does not change the currently selected mailbox, nor
    /// does it affect the state of any messages in the queried mailbox (in particular, `status`
    /// will not cause messages to lose [`Flag::Recent`]).
    ///
    /// `status` provides an alternative to opening a second [`Session`] and using
    /// [`Session::examine`] on a mailbox to query that mailbox's status without deselecting the
    /// current mailbox in the first `Session`.
    ///
    /// Unlike [`Session::list`], `status` is not guaranteed to be fast in its response.  Under
    /// certain circumstances, it can be quite slow.  In some implementations, the server is
    /// obliged to open the mailbox read-only internally to obtain certain status information.
    /// Also unlike [`Session::list`], `status` does not accept wildcards.
    ///
    /// > Note: `status` is intended to access the status of mailboxes other than the currently
    /// > selected mailbox.  Because `status` can cause the mailbox to be opened internally, and
    /// > because this information is available by other means on the selected mailbox, `status`
    /// > SHOULD NOT be used on the currently selected mailbox.
    ///
    /// The STATUS command MUST NOT be used as a "check for new messages in the selected mailbox"
    /// operation (refer to sections [7](https://tools.ietf.org/html/rfc3501#section-7),
    /// [7.3.1](https://tools.ietf.org/html/rfc3501#section-7.3.1), and
    /// [7.3.2](https://tools.ietf.org/html/rfc3501#section-7.3.2) for more information about the
    /// proper method for new message checking).
    ///
    /// The currently defined status data items that can be requested are:
    ///
    ///  - `MESSAGES`: The number of messages in the mailbox.
    ///  - `RECENT`: The number of messages with [`Flag::Recent`] set.
    ///  - `UIDNEXT`: The next [`Uid`] of the mailbox.
    ///  - `UIDVALIDITY`: The unique identifier validity value of the mailbox (see [`Uid`]).
    ///  - `UNSEEN`: The number of messages which do not have [`Flag::Seen`] set.
    ///  - `HIGHESTMODSEQ`: The highest mod sequence of the mailbox, counting modifications made to it.
    ///
    /// `data_items` is a space-separated list enclosed in parentheses.
    pub fn status(
        &mut self,
        mailbox_name: impl AsRef<str>,
        data_items: impl AsRef<str>,
    ) -> Result<Mailbox> {
        let mailbox_name = mailbox_name.as_ref();
        self.run_command_and_read_response(&format!(
            "STATUS {} {}",
            validate_str("STATUS", "mailbox", mailbox_name)?,
            data_items.as_ref()
        ))
        .and_then(|lines| parse_status(&lines[..], mailbox_name, &mut self.unsolicited_responses))
    }

    /// This method returns a handle that lets you use the [`IDLE`
    /// command](https://tools.ietf.org/html/rfc2177#section-3) to listen for changes to the
    /// currently selected mailbox.
    ///
    /// It's often more desirable to have the server transmit updates to the client in real time.
    /// This allows a user to see new mail immediately.  It also helps some real-time applications
    /// based on IMAP, which might otherwise need to poll extremely often (such as every few
    /// seconds).  While the spec actually does allow a server to push `EXISTS` responses
    /// aysynchronously, a client can't expect this behaviour and must poll.  This method provides
    /// you with such a mechanism.
    ///
    /// `idle` may be used with any server that returns `IDLE` as one of the supported capabilities
    /// (see [`Session::capabilities`]). If the server does not advertise the `IDLE` capability,
    /// the client MUST NOT use `idle` and must instead poll for mailbox updates.  In particular,
    /// the client MUST continue to be able to accept unsolicited untagged responses to ANY
    /// command, as specified in the base IMAP specification.
    ///
    /// See [`extensions::idle::Handle`] for details.
    pub fn idle(&mut self) -> extensions::idle::Handle<'_, T> {
        extensions::idle::Handle::make(self)
    }

    /// The [`APPEND` command](https://tools.ietf.org/html/rfc3501#section-6.3.11) appends
    /// `content` as a new message to the end of the specified destination `mailbox`.  This
    /// argument SHOULD be in the format of an [RFC-2822](https://tools.ietf.org/html/rfc2822)
    /// message.
    ///
    /// > Note: There MAY be exceptions, e.g., draft messages, in which required RFC-2822 header
    /// > lines are omitted in the message literal argument to `append`.  The full implications of
    /// > doing so MUST be understood and carefully weighed.
    ///
    /// If the append is unsuccessful for any reason, the mailbox is restored to its state before
    /// the append attempt; no partial appending will happen.
    ///
    /// If the destination `mailbox` does not exist, the server returns an error, and does not
    /// automatically create the mailbox.
    ///
    /// If the mailbox is currently selected, the normal new message actions will generally occur.
    /// Specifically, the server will generally notify the client immediately via an untagged
    /// `EXISTS` response.  If the server does not do so, the client MAY issue a `NOOP` command (or
    /// failing that, a `CHECK` command) after one or more `APPEND` commands.
    ///
    pub fn append<'a>(&'a mut self, mailbox: &'a str, content: &'a [u8]) -> AppendCmd<'a, T> {
        AppendCmd {
            session: self,
            content,
            mailbox,
            flags: Vec::new(),
            date: None,
        }
    }

    /// The [`SEARCH` command](https://tools.ietf.org/html/rfc3501#section-6.4.4) searches the
    /// mailbox for messages that match the given `query`.  `query` consist of one or more search
    /// keys separated by spaces.  The response from the server contains a listing of [`Seq`]s
    /// corresponding to those messages that match the searching criteria.
    ///
    /// When multiple search keys are specified, the result is the intersection of all the messages
    /// that match those keys.  Or, in other words, only messages that match *all* the keys. For
    /// example, the criteria
    ///
    /// ```text
    /// DELETED FROM "SMITH" SINCE 1-Feb-1994
    /// ```
    ///
    /// refers to all deleted messages from Smith that were placed in the mailbox since February 1,
    /// 1994.  A search key can also be a parenthesized list of one or more search keys (e.g., for
    /// use with the `OR` and `NOT` keys).
    ///
    /// In all search keys that use strings, a message matches the key if the string is a substring
    /// of the field.  The matching is case-insensitive.
    ///
    /// Below is a selection of common search keys.  The full list can be found in the
    /// specification of the [`SEARCH command`](https://tools.ietf.org/html/rfc3501#section-6.4.4).
    ///
    ///  - `NEW`: Messages that have [`Flag::Recent`] set but not [`Flag::Seen`]. This is functionally equivalent to `(RECENT UNSEEN)`.
    ///  - `OLD`: Messages that do not have [`Flag::Recent`] set.  This is functionally equivalent to `NOT RECENT` (as opposed to `NOT NEW`).
    ///  - `RECENT`: Messages that have [`Flag::Recent`] set.
    ///  - `ANSWERED`: Messages with [`Flag::Answered`] set.
    ///  - `DELETED`: Messages with [`Flag::Deleted`] set.
    ///  - `DRAFT`: Messages with [`Flag::Draft`] set.
    ///  - `FLAGGED`: Messages with [`Flag::Flagged`] set.
    ///  - `SEEN`: Messages that have [`Flag::Seen`] set.
    ///  - `<sequence set>`: Messages with message sequence numbers corresponding to the specified message sequence number set.
    ///  - `UID <sequence set>`: Messages with [`Uid`] corresponding to the specified unique identifier set.  Sequence set ranges are permitted.
    ///
    ///  - `SUBJECT <string>`: Messages that contain the specified string in the envelope structure's `SUBJECT` field.
    ///  - `BODY <string>`: Messages that contain the specified string in the body of the message.
    ///  - `FROM <string>`: Messages that contain the specified string in the envelope structure's `FROM` field.
    ///  - `TO <string>`: Messages that contain the specified string in the envelope structure's `TO` field.
    ///
    ///  - `NOT <search-key>`: Messages that do not match the specified search key.
    ///  - `OR <search-key1> <search-key2>`: Messages that match either search key.
    ///
    ///  - `BEFORE <date>`: Messages whose internal date (disregarding time and timezone) is earlier than the specified date.
    ///  - `SINCE <date>`: Messages whose internal date (disregarding time and timezone) is within or later than the specified date.
    pub fn search(&mut self, query: impl AsRef<str>) -> Result<HashSet<Seq>> {
        self.run_command_and_read_response(&format!("SEARCH {}", query.as_ref()))
            .and_then(|lines| parse_id_set(&lines, &mut self.unsolicited_responses))
    }

    /// Equivalent to [`Session::search`], except that the returned identifiers
    /// are [`Uid`] instead of [`Seq`]. See also the [`UID`
    /// command](https://tools.ietf.org/html/rfc3501#section-6.4.8).
    pub fn uid_search(&mut self, query: impl AsRef<str>) -> Result<HashSet<Uid>> {
        self.run_command_and_read_response(&format!("UID SEARCH {}", query.as_ref()))
            .and_then(|lines| parse_id_set(&lines, &mut self.unsolicited_responses))
    }

    /// This issues the [SORT command](https://tools.ietf.org/html/rfc5256#section-3),
    /// which returns sorted search results.
    ///
    /// This command is like [`Session::search`], except that
    /// the results are also sorted according to the supplied criteria (subject to the given charset).
    pub fn sort(
        &mut self,
        criteria: &[extensions::sort::SortCriterion<'_>],
        charset: extensions::sort::SortCharset<'_>,
        query: impl AsRef<str>,
    ) -> Result<Vec<Seq>> {
        self.run_command_and_read_response(&format!(
            "SORT {} {} {}",
            extensions::sort::SortCriteria(criteria),
            charset,
            query.as_ref()
        ))
        .and_then(|lines| parse_id_seq(&lines, &mut self.unsolicited_responses))
    }

    /// Equivalent to [`Session::sort`], except that it returns [`Uid`]s.
    ///
    /// See also [`Session::uid_search`].
    pub fn uid_sort(
        &mut self,
        criteria: &[extensions::sort::SortCriterion<'_>],
        charset: extensions::sort::SortCharset<'_>,
        query: impl AsRef<str>,
    ) -> Result<Vec<Uid>> {
        self.run_command_and_read_response(&format!(
            "UID SORT {} {} {}",
            extensions::sort::SortCriteria(criteria),
            charset,
            query.as_ref()
        ))
        .and_then(|lines| parse_id_seq(&lines, &mut self.unsolicited_responses))
    }

    /// The [`SETACL` command](https://datatracker.ietf.org/doc/html/rfc4314#section-3.1)
    ///
    /// Modifies the ACLs on the given mailbox for the specified identifier.
    /// Return [`Error::No`] if the logged in user does not have `a` rights on the mailbox.
    ///
    /// This method only works against a server with the ACL capability. Otherwise [`Error::Bad`]
    /// will be returned
    pub fn set_acl(
        &mut self,
        mailbox_name: impl AsRef<str>,
        identifier: impl AsRef<str>,
        rights: &AclRights,
        modification: AclModifyMode,
    ) -> Result<()> {
        let mod_str = match modification {
            AclModifyMode::Replace => "",
            AclModifyMode::Add => "+",
            AclModifyMode::Remove => "-",
        };

        self.run_command_and_check_ok(&format!(
            "SETACL {} {} {}{}",
            validate_str("SETACL", "mailbox", mailbox_name.as_ref())?,
            validate_str("SETACL", "identifier", identifier.as_ref())?,
            mod_str,
            rights,
        ))
    }

    /// The [`DELETEACL` command](https://datatracker.ietf.org/doc/html/rfc4314#section-3.2)
    ///
    /// Removes the ACL for the given identifier from the given mailbox.
    /// Return [`Error::No`] if the logged in user does not have `a` rights on the mailbox.
    ///
    /// This method only works against a server with the ACL capability. Otherwise [`Error::Bad`]
    /// will be returned
    pub fn delete_acl(
        &mut self,
        mailbox_name: impl AsRef<str>,
        identifier: impl AsRef<str>,
    ) -> Result<()> {
        self.run_command_and_check_ok(&format!(
            "DELETEACL {} {}",
            validate_str("DELETEACL", "mailbox", mailbox_name.as_ref())?,
            validate_str("DELETEACL", "identifier", identifier.as_ref())?,
        ))
    }

    /// The [`GETACL` command](https://datatracker.ietf.org/doc/html/rfc4314#section-3.3)
    ///
    /// Returns the ACLs on the given mailbox. A set of `ACL` responses are returned if the
    /// logged in user has `a` rights on the mailbox.  Otherwise, will return [`Error::No`].
    ///
    /// This method only works against a server with the ACL capability. Otherwise [`Error::Bad`]
    /// will be returned
    pub fn get_acl(&mut self, mailbox_name: impl AsRef<str>) -> Result<AclResponse> {
        self.run_command_and_read_response(&format!(
            "GETACL {}",
            validate_str("GETACL", "mailbox", mailbox_name.as_ref())?
        ))
        .and_then(|lines| AclResponse::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`LISTRIGHTS` command](https://datatracker.ietf.org/doc/html/rfc4314#section-3.4)
    ///
    /// Returns the always granted and optionally granted rights on the given mailbox for the
    /// specified identifier (login). A set of `LISTRIGHTS` responses are returned if the
    /// logged in user has `a` rights on the mailbox.  Otherwise, will return [`Error::No`].
    ///
    /// This method only works against a server with the ACL capability. Otherwise [`Error::Bad`]
    /// will be returned
    pub fn list_rights(
        &mut self,
        mailbox_name: impl AsRef<str>,
        identifier: impl AsRef<str>,
    ) -> Result<ListRightsResponse> {
        self.run_command_and_read_response(&format!(
            "LISTRIGHTS {} {}",
            validate_str("LISTRIGHTS", "mailbox", mailbox_name.as_ref())?,
            validate_str("LISTRIGHTS", "identifier", identifier.as_ref())?
        ))
        .and_then(|lines| ListRightsResponse::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`MYRIGHTS` command](https://datatracker.ietf.org/doc/html/rfc4314#section-3.5)
    ///
    /// Returns the list of rights the logged in user has on the given mailbox.
    ///
    /// This method only works against a server with the ACL capability. Otherwise [`Error::Bad`]
    /// will be returned
    pub fn my_rights(&mut self, mailbox_name: impl AsRef<str>) -> Result<MyRightsResponse> {
        self.run_command_and_read_response(&format!(
            "MYRIGHTS {}",
            validate_str("MYRIGHTS", "mailbox", mailbox_name.as_ref())?,
        ))
        .and_then(|lines| MyRightsResponse::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`SETQUOTA` command](https://datatracker.ietf.org/doc/html/rfc2087#section-4.1)
    ///
    /// Updates the resource limits for a mailbox. Any previous limits for the named quota
    /// are discarded.
    ///
    /// Returns the updated quota.
    pub fn set_quota(
        &mut self,
        quota_root: impl AsRef<str>,
        limits: &[QuotaResourceLimit<'_>],
    ) -> Result<QuotaResponse> {
        let limits = iter_join(limits.iter(), " ");
        self.run_command_and_read_response(&format!(
            "SETQUOTA {} ({})",
            validate_str("SETQUOTA", "quota_root", quota_root.as_ref())?,
            limits,
        ))
        .and_then(|lines| QuotaResponse::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`GETQUOTA` command](https://datatracker.ietf.org/doc/html/rfc2087#section-4.2)
    ///
    /// Returns the quota information for the specified quota root
    pub fn get_quota(&mut self, quota_root: impl AsRef<str>) -> Result<QuotaResponse> {
        self.run_command_and_read_response(&format!(
            "GETQUOTA {}",
            validate_str("GETQUOTA", "quota_root", quota_root.as_ref())?
        ))
        .and_then(|lines| QuotaResponse::parse(lines, &mut self.unsolicited_responses))
    }

    /// The [`GETQUOTAROOT` command](https://datatracker.ietf.org/doc/html/rfc2087#section-4.3)
    ///
    /// Returns the quota roots along with their quota information for the specified mailbox
    pub fn get_quota_root(&mut self, mailbox_name: impl AsRef<str>) -> Result<QuotaRootResponse> {
        self.run_command_and_read_response(&format!(
            "GETQUOTAROOT {}",
            validate_str("GETQUOTAROOT", "mailbox", mailbox_name.as_ref())?
        ))
        .and_then(|lines| QuotaRootResponse::parse(lines, &mut self.unsolicited_responses))
    }

    // these are only here because they are public interface, the rest is in `Connection`
    /// Runs a command and checks if it returns OK.
    pub fn run_command_and_check_ok(&mut self, command: impl AsRef<str>) -> Result<()> {
        self.run_command_and_read_response(command).map(|_| ())
    }

    /// Runs any command passed to it.
    pub fn run_command(&mut self, untagged_command: impl AsRef<str>) -> Result<()> {
        self.conn.run_command(untagged_command.as_ref())
    }

    /// Run a raw IMAP command and read back its response.
    ///
    /// Note that the server *is* allowed to unilaterally send things to the client for messages in
    /// a selected mailbox whose status has changed. See the note on [unilateral server responses
    /// in RFC 3501](https://tools.ietf.org/html/rfc3501#section-7). This means that you *may* see
    /// additional untagged `RECENT`, `EXISTS`, `FETCH`, and `EXPUNGE` responses!
    ///
    /// The response includes the final [`Response::Done`], which starts at the returned index.
    pub fn run(&mut self, untagged_command: impl AsRef<str>) -> Result<(Vec<u8>, usize)> {
        self.conn.run(untagged_command.as_ref())
    }

    /// Run a raw IMAP command and read back its response.
    ///
    /// Note that the server *is* allowed to unilaterally send things to the client for messages in
    /// a selected mailbox whose status has changed. See the note on [unilateral server responses
    /// in RFC 3501](https://tools.ietf.org/html/rfc3501#section-7). This means that you *may* see
    /// additional untagged `RECENT`, `EXISTS`, `FETCH`, and `EXPUNGE` responses!
    ///
    /// The response does not include the final [`Response::Done`].
    pub fn run_command_and_read_response(
        &mut self,
        untagged_command: impl AsRef<str>,
    ) -> Result<Vec<u8>> {
        let (mut data, ok) = self.run(untagged_command)?;
        data.truncate(ok);
        Ok(data)
    }
}

impl<T: Read + Write> Connection<T> {
    /// Read the greeting from the connection. Needs to be done after `connect`ing.
    ///
    /// Panics if called more than once on the same `Connection`.
    pub fn read_greeting(&mut self) -> Result<Vec<u8>> {
        assert!(!self.greeting_read, "Greeting can only be read once");

        let mut v = Vec::new();
        self.readline(&mut v)?;
        self.greeting_read = true;

        Ok(v)
    }

    pub(crate) fn run_command_and_check_ok(&mut self, command: &str) -> Result<()> {
        self.run_command_and_read_response(command).map(|_| ())
    }

    fn run_command(&mut self, untagged_command: &str) -> Result<()> {
        let command = self.create_command(untagged_command);
        let result = self.write_line(command.into_bytes().as_slice());
        if result.is_err() {
            // rollback tag increased in create_command()
            self.tag -= 1;
        }
        result
    }

    fn run_command_and_read_response(&mut self, untagged_command: &str) -> Result<Vec<u8>> {
        let (mut data, ok) = self.run(untagged_command)?;
        data.truncate(ok);
        Ok(data)
    }

    fn run(&mut self, untagged_command: &str) -> Result<(Vec<u8>, usize)> {
        self.run_command(untagged_command)?;
        self.read_response()
    }

    pub(crate) fn read_response(&mut self) -> Result<(Vec<u8>, usize)> {
        let mut v = Vec::new();
        let ok = self.read_response_onto(&mut v)?;
        Ok((v, ok))
    }

    /// Read responses until a Response::Done is encountered.
    ///
    /// The `Done` is included in `data`, and the index of the `Done` is returned.
    pub(crate) fn read_response_onto(&mut self, data: &mut Vec<u8>) -> Result<usize> {
        self.read_response_to_onto(self.tag, data)
    }

    /// As [`Connection::read_response_onto`], for the command tagged `tag`, which need not
    /// be the last one sent (see [`Session::uid_fetch_send`]).
    pub(crate) fn read_response_to_onto(&mut self, tag: u32, data: &mut Vec<u8>) -> Result<usize> {
        loop {
            // Without a pause size the read only ends at the completion.
            if let Some(done) = self.read_response_part_onto(tag, data, None)? {
                return Ok(done);
            }
        }
    }

    /// As [`Connection::read_response_to_onto`], but with `pause_after`, the read also ends
    /// (returning `None`) after a complete untagged response once `data` holds at least that
    /// many bytes: the command is still running, and its answer goes on with the next call.
    pub(crate) fn read_response_part_onto(
        &mut self,
        tag: u32,
        data: &mut Vec<u8>,
        pause_after: Option<usize>,
    ) -> Result<Option<usize>> {
        let expect = tag;
        let mut continue_from = None;
        let mut try_first = !data.is_empty();
        // Length of a literal that the data read so far ends by announcing (`{N}\r\n`) and
        // that the parser is waiting for: it is read in one go before the next line, instead
        // of line by line with a parse after each line.
        let mut literal = None;
        // Start of a line to parse again after its 8-bit text was replaced (see below).
        let mut reparse = None;
        let mut bare_code = false;
        let mut skip = false;
        let mut early_done = None;
        let match_tag = format!("{}{}", TAG_PREFIX, expect);
        if let Some(i) = self.completed_early.iter().position(|(t, _)| *t == expect) {
            // Completed while an earlier command's answer was read: its data came with that.
            let (_, outcome) = self.completed_early.swap_remove(i);
            return outcome.map(|()| Some(data.len()));
        }
        let mut response_ended = false;
        loop {
            let line_start = if let Some(start) = reparse.take() {
                start
            } else if try_first {
                try_first = false;
                0
            } else {
                let start_new = data.len();
                if let Some(len) = literal.take() {
                    self.read_literal(data, len)?;
                }
                self.readline(data)?;
                continue_from.take().unwrap_or(start_new)
            };

            let break_with = {
                use imap_proto::Status;
                let line = &data[line_start..];

                match imap_proto::parser::parse_response(line) {
                    Ok((
                        _,
                        Response::Done {
                            tag,
                            status,
                            information,
                            code,
                            ..
                        },
                    )) => {
                        // check if tag matches
                        if tag.as_bytes() != match_tag.as_bytes() {
                            let actual = tag
                                .0
                                .trim_start_matches(TAG_PREFIX)
                                .parse::<u32>()
                                .map_err(|_| tag.as_bytes().to_vec());
                            // The completion of a command sent after this one (pipelining):
                            // servers may run pipelined commands concurrently (RFC 3501 5.5;
                            // Dovecot does with FETCH), so it can come first. Keep its status
                            // for `fetch_receive` and read on.
                            match actual {
                                Ok(later) if later > expect && later <= self.tag => {
                                    let outcome = match status {
                                        Status::Ok => Ok(()),
                                        Status::No => Err(Error::No(No {
                                            code: code.map(|v| v.into_owned()),
                                            information: information
                                                .map(|v| v.into_owned())
                                                .unwrap_or_else(|| "no explanation given".into()),
                                        })),
                                        _ => Err(Error::Bad(Bad {
                                            code: code.map(|v| v.into_owned()),
                                            information: information
                                                .map(|v| v.into_owned())
                                                .unwrap_or_else(|| "no explanation given".into()),
                                        })),
                                    };
                                    early_done = Some((later, outcome));
                                    None
                                }
                                actual => {
                                    break Err(Error::TagMismatch(TagMismatch { expect, actual }))
                                }
                            }
                        } else {

                        Some(match status {
                            Status::Bad | Status::No | Status::Bye => Err((
                                status,
                                information.map(|v| v.into_owned()),
                                code.map(|v| v.into_owned()),
                            )),
                            Status::Ok => Ok(()),
                            status => Err((status, None, code.map(|v| v.into_owned()))),
                        })
                        }
                    }
                    Ok((..)) => {
                        response_ended = true;
                        None
                    }
                    Err(nom::Err::Incomplete(needed)) => {
                        continue_from = Some(line_start);
                        literal = announced_literal(line, needed);
                        None
                    }
                    // Servers write raw UTF-8 into human-readable text (Dovecot: `NO Mailbox
                    // doesn't exist: Année`), which the grammar does not allow and imap-proto
                    // rejects. Rather than treating the line as a BYE, a single line (no
                    // literal, so no message data) has its 8-bit bytes replaced by `?` and is
                    // parsed again.
                    Err(_) if is_plain_line_with_8bit(line) => {
                        reparse = Some(line_start);
                        None
                    }
                    // Exchange answers UID MOVE with a bare `[COPYUID 55 31 6]` line, an
                    // untagged OK without its `* OK`: read it as one.
                    Err(_) if line.starts_with(b"[") && is_plain_line(line) => {
                        reparse = Some(line_start);
                        bare_code = true;
                        None
                    }
                    // An untagged response that does not parse (misspelt, unknown: GNU Mailutils
                    // imap4d answers EXPUNGE with `* 9 EXPUNGED`): skipped (see below).
                    Err(_) if line.starts_with(b"* ") => {
                        skip = true;
                        None
                    }
                    // Anything else is not IMAP: say so (it used to be reported as a BYE
                    // with no explanation, which reads like the server ending the session).
                    _ => {
                        let end = data.len().min(line_start + INVALID_EXCERPT);
                        break Err(Error::Parse(ParseError::Invalid(
                            data[line_start..end].to_vec(),
                        )));
                    }
                }
            };
            if let Some(done) = early_done.take() {
                // Not part of this command's answer.
                data.truncate(line_start);
                self.completed_early.push(done);
                continue;
            }
            if std::mem::take(&mut skip) {
                self.skip_response(data, line_start)?;
                continue;
            }
            if let Some(start) = reparse {
                if std::mem::take(&mut bare_code) {
                    data.splice(start..start, b"* OK ".iter().copied());
                } else {
                    for byte in &mut data[start..] {
                        if *byte >= 0x80 {
                            *byte = b'?';
                        }
                    }
                }
                continue;
            }

            if std::mem::take(&mut response_ended)
                && pause_after.is_some_and(|bytes| data.len() >= bytes)
            {
                break Ok(None);
            }
            match break_with {
                Some(Ok(_)) => {
                    break Ok(Some(line_start));
                }
                Some(Err((status, expl, code))) => {
                    use imap_proto::Status;
                    match status {
                        Status::Bad => {
                            break Err(Error::Bad(Bad {
                                code,
                                information: expl
                                    .unwrap_or_else(|| "no explanation given".to_string()),
                            }));
                        }
                        Status::No => {
                            break Err(Error::No(No {
                                code,
                                information: expl
                                    .unwrap_or_else(|| "no explanation given".to_string()),
                            }));
                        }
                        Status::Bye => {
                            break Err(Error::Bye(Bye {
                                code,
                                information: expl
                                    .unwrap_or_else(|| "no explanation given".to_string()),
                            }));
                        }
                        _ => break Err(Error::Parse(ParseError::Invalid(data.split_off(0)))),
                    }
                }
                None => {}
            }
        }
    }

    /// Reads the rest of the unparseable untagged response that starts at `data[start..]`
    /// (each literal its lines announce, and the line after it), keeps an excerpt of it for
    /// [`Connection::take_skipped`] and removes it from `data`. A literal cut short by the end
    /// of the stream is [`Error::ConnectionLost`], as everywhere else.
    pub(crate) fn skip_response(&mut self, data: &mut Vec<u8>, start: usize) -> Result<()> {
        while let Some(len) = trailing_literal(&data[start..]) {
            self.read_literal(data, len)?;
            self.readline(data)?;
        }
        if self.skipped.len() < SKIPPED_KEPT {
            let end = data.len().min(start + INVALID_EXCERPT);
            self.skipped.push(data[start..end].to_vec());
        } else {
            self.skipped_more += 1;
        }
        data.truncate(start);
        Ok(())
    }

    pub(crate) fn readline(&mut self, into: &mut Vec<u8>) -> Result<usize> {
        use std::io::BufRead;
        let read = self.stream.read_until(LF, into)?;
        if read == 0 {
            return Err(Error::ConnectionLost);
        }

        if self.debug {
            // Remove the line end (CRLF, or a bare LF)
            let line = &into[into.len() - read..];
            let line = line.strip_suffix(&[LF]).unwrap_or(line);
            let line = line.strip_suffix(&[CR]).unwrap_or(line);
            eprintln!("S: {}", String::from_utf8_lossy(line));
        }

        Ok(read)
    }

    /// Appends exactly `len` bytes of a literal to `into`.
    ///
    /// The buffer grows at most [`LITERAL_CHUNK`] bytes ahead of the bytes actually received,
    /// so a huge announced length does not allocate that much up front. The end of the stream
    /// before `len` bytes gives [`Error::ConnectionLost`], as in [`Connection::readline`].
    ///
    /// A literal smaller than the read buffer is copied out of it (most of it is usually there
    /// already); a larger one is read straight into `into`, which then has to be zeroed first
    /// (safe `Read` writes only into initialised memory), but takes one copy fewer.
    pub(crate) fn read_literal(&mut self, into: &mut Vec<u8>, len: usize) -> Result<()> {
        let start = into.len();
        // Both ways reserve room for the literal and the end of its line ([`LITERAL_TAIL`]) at
        // once: growing after the literal (for `)\r\n`, or in `read_to_end`, which grows a full
        // buffer to look for more) would copy the whole literal and leave up to twice its size
        // allocated.
        if len < READ_BUFFER {
            self.copy_literal_from_buffer(into, len)?;
        } else {
            self.read_literal_straight(into, len)?;
        }

        if self.debug {
            for line in into[start..].split_inclusive(|&b| b == LF) {
                let line = line.strip_suffix(&[LF]).unwrap_or(line);
                let line = line.strip_suffix(&[CR]).unwrap_or(line);
                eprintln!("S: {}", String::from_utf8_lossy(line));
            }
        }

        Ok(())
    }

    /// [`Connection::read_literal`] of a literal smaller than the read buffer: copied out of it.
    fn copy_literal_from_buffer(&mut self, into: &mut Vec<u8>, len: usize) -> Result<()> {
        into.reserve(len + LITERAL_TAIL);
        let mut remaining = len;
        while remaining > 0 {
            let available = match self.stream.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if available.is_empty() {
                return Err(Error::ConnectionLost);
            }
            let n = available.len().min(remaining);
            into.extend_from_slice(&available[..n]);
            self.stream.consume(n);
            remaining -= n;
        }
        Ok(())
    }

    /// [`Connection::read_literal`] of a literal at least as large as the read buffer: read
    /// straight into `into` (after what the buffer holds), in steps of [`LITERAL_CHUNK`].
    fn read_literal_straight(&mut self, into: &mut Vec<u8>, len: usize) -> Result<()> {
        let mut remaining = len;
        while remaining > 0 {
            let chunk = remaining.min(LITERAL_CHUNK);
            // The last step also has room for the end of the line (see `read_literal`); the
            // others only for themselves, so a huge announcement is never allocated ahead.
            into.reserve(if chunk == remaining {
                chunk.saturating_add(LITERAL_TAIL)
            } else {
                chunk
            });
            let read = (&mut self.stream).take(chunk as u64).read_to_end(into)?;
            if read < chunk {
                return Err(Error::ConnectionLost);
            }
            remaining -= chunk;
        }
        Ok(())
    }

    fn create_command(&mut self, command: &str) -> String {
        self.tag += 1;
        format!("{}{} {}", TAG_PREFIX, self.tag, command)
    }

    pub(crate) fn write_line(&mut self, buf: &[u8]) -> Result<()> {
        self.stream.write_all(buf)?;
        self.stream.write_all(&[CR, LF])?;
        self.stream.flush()?;
        if self.debug {
            eprintln!("C: {}", String::from_utf8(buf.to_vec()).unwrap());
        }
        Ok(())
    }

    /// Sends the tagged command `verb secret` (a credential), built in one wiped buffer.
    fn run_secret_command(&mut self, verb: &str, secret: &[u8]) -> Result<()> {
        self.tag += 1;
        let tag = format!("{}{} {}", TAG_PREFIX, self.tag, verb);
        let mut line = SecretLine::with_capacity(tag.len() + 1 + secret.len());
        line.push(tag.as_bytes());
        line.push(b" ");
        line.push(secret);
        let result = self.write_secret_line(line, &tag);
        if result.is_err() {
            self.tag -= 1;
        }
        result
    }

    /// Writes a line holding a credential straight to the stream, past the write buffer (which
    /// would keep a copy until later commands overwrite it), then wipes it. Debug output shows
    /// `shown` instead.
    fn write_secret_line(&mut self, mut line: SecretLine, shown: &str) -> Result<()> {
        line.push(&[CR, LF]);
        self.stream.flush()?;
        let stream = self.stream.get_mut();
        stream.write_all(&line.0)?;
        stream.flush()?;
        if self.debug {
            eprintln!("C: {} <redacted>", shown);
        }
        Ok(())
    }
}

/// Bytes of an unparseable response kept in [`ParseError::Invalid`].
const INVALID_EXCERPT: usize = 1024;

/// Skipped responses kept for [`Connection::take_skipped`] between two calls; only counted
/// beyond.
pub const SKIPPED_KEPT: usize = 64;

/// Largest step by which [`Connection::read_literal`] grows its buffer ahead of the data.
const LITERAL_CHUNK: usize = 64 * 1024 * 1024;
/// Room [`Connection::read_literal`] keeps after a literal for the rest of its line.
const LITERAL_TAIL: usize = 256;
/// Least a part read with [`Session::fetch_receive_part`] reserves: a response's first line.
const PART_RESERVE_MIN: usize = 512;

/// Read buffer of a connection. Bulk answers (a FETCH of many messages) are mostly literals of
/// a few KB to a few hundred KB; with std's default 8 KiB, the line after each literal costs a
/// read of its own and the literal another one or more, each a system call and (on TCP) a
/// window update: 14,700 reads for 425 MB in imapmail's benchmark. With 256 KiB, a read takes
/// in several messages at once (1,650 reads; system time of the whole read 0.18 -> 0.14 s at
/// 20 ms, 0.11 -> 0.08 s on loopback). Literals larger than this are still read straight into
/// their buffer.
const READ_BUFFER: usize = 256 * 1024;
/// Most a part read with [`Session::fetch_receive_part`] reserves up front for `min_bytes`.
const PART_RESERVE_MAX: usize = 16 * 1024 * 1024;

/// The buffer of a part read with [`Session::fetch_receive_part`]: room for the part up front
/// rather than growing by doubling, which copies what was read at each step. A part ends after
/// the response that takes it past `min_bytes`, so it has room for that response too: a
/// literal of up to [`READ_BUFFER`] bytes (larger ones are rarer, and are read straight into
/// the buffer after growing it once). Without that room, almost every part grew, and the copy
/// of all of it cost a second copy of the messages (about 4% of the CPU of a bulk read).
fn part_buffer(min_bytes: usize) -> Vec<u8> {
    let part = min_bytes.clamp(PART_RESERVE_MIN, PART_RESERVE_MAX);
    Vec::with_capacity(part + READ_BUFFER)
}
/// Write buffer of a connection: commands are short.
const WRITE_BUFFER: usize = 8 * 1024;

/// True for one complete line: ends in CRLF (or a bare LF), no literal (so no message data)
/// inside.
fn is_plain_line(line: &[u8]) -> bool {
    line.ends_with(b"\n") && !line[..line.len() - 1].contains(&b'\n')
}

/// The length of the literal that an unparseable response read so far announces at its end
/// (`{N}` or `~{N}`, then CRLF or a bare LF), whose data therefore follows. Not in status
/// text: after `* OK`, `* NO`, `* BAD`, `* BYE` or `* PREAUTH` the rest of the line is
/// human-readable, where a `{N}` means nothing.
fn trailing_literal(response: &[u8]) -> Option<usize> {
    let head = response
        .strip_suffix(b"}\r\n")
        .or_else(|| response.strip_suffix(b"}\n"))?;
    let second = response.get(2..)?;
    let word_len = second
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(second.len());
    let word = second[..word_len].to_ascii_uppercase();
    let after = second.get(word_len).copied();
    if matches!(&word[..], b"OK" | b"NO" | b"BAD" | b"BYE" | b"PREAUTH")
        && matches!(after, Some(b' ' | b'[' | b'\r' | b'\n'))
    {
        return None;
    }
    let digits = head.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let open = head.len().checked_sub(digits + 1)?;
    if digits == 0 || digits > 19 || head[open] != b'{' {
        return None;
    }
    str::from_utf8(&head[open + 1..]).ok()?.parse().ok()
}

/// True for one complete line with bytes >= 0x80.
fn is_plain_line_with_8bit(line: &[u8]) -> bool {
    is_plain_line(line) && line.iter().any(|&b| b >= 0x80)
}

/// The length of the literal announced at the very end of `buf` (`{N}\r\n` or `{N}\n`), when the parser
/// reported that it needs exactly that many more bytes, i.e. is waiting for the literal's data.
///
/// Anything else (no announcement, a `{N}` that ends human-readable text, a parser needing
/// some other amount) gives `None`, and the caller keeps reading line by line.
fn announced_literal(buf: &[u8], needed: nom::Needed) -> Option<usize> {
    let needed = match needed {
        nom::Needed::Size(n) => n.get(),
        nom::Needed::Unknown => return None,
    };
    let head = buf
        .strip_suffix(b"}\r\n")
        .or_else(|| buf.strip_suffix(b"}\n"))?;
    let digits = head.len() - head.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == head.len() || digits == 0 || head[digits - 1] != b'{' {
        return None;
    }
    let digits = &head[digits..];
    if digits.len() > 19 {
        return None;
    }
    let announced: u64 = str::from_utf8(digits).ok()?.parse().ok()?;
    (announced == needed as u64).then_some(needed)
}

#[cfg(test)]
pub(crate) mod testutils {
    use crate::mock_stream::MockStream;

    use super::*;

    pub(crate) fn assert_validation_error_client<F>(
        run_command: F,
        expected_synopsis: &'static str,
        expected_argument: &'static str,
        expected_char: char,
    ) where
        F: FnOnce(
            Client<MockStream>,
        ) -> std::result::Result<Session<MockStream>, (Error, Client<MockStream>)>,
    {
        let response = Vec::new();
        let mock_stream = MockStream::new(response);
        let client = Client::new(mock_stream);
        assert_eq!(
            run_command(client)
                .expect_err("Error expected, but got success")
                .0
                .to_string(),
            Error::Validate(ValidateError {
                command_synopsis: expected_synopsis.to_owned(),
                argument: expected_argument.to_string(),
                offending_char: expected_char
            })
            .to_string()
        );
    }

    pub(crate) fn assert_validation_error_session<F, R>(
        run_command: F,
        expected_synopsis: &'static str,
        expected_argument: &'static str,
        expected_char: char,
    ) where
        F: FnOnce(Session<MockStream>) -> Result<R>,
    {
        let response = Vec::new();
        let mock_stream = MockStream::new(response);
        let session = Session::new(Client::new(mock_stream).conn);
        assert_eq!(
            run_command(session)
                .map(|_| ())
                .expect_err("Error expected, but got success")
                .to_string(),
            Error::Validate(ValidateError {
                command_synopsis: expected_synopsis.to_owned(),
                argument: expected_argument.to_string(),
                offending_char: expected_char
            })
            .to_string()
        );
    }

    pub(crate) fn assert_quota_resource(
        resource: &QuotaResource<'_>,
        name: QuotaResourceName<'_>,
        limit: u64,
        usage: u64,
    ) {
        assert_eq!(resource.name, name);
        assert_eq!(resource.usage, usage);
        assert_eq!(resource.limit, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock_stream::MockStream;
    use super::*;
    use imap_proto::types::Capability;
    use std::borrow::Cow;

    use super::testutils::*;

    macro_rules! mock_session {
        ($s:expr) => {
            Session::new(Client::new($s).conn)
        };
    }

    #[test]
    fn read_response() {
        let response = "a0 OK Logged in.\r\n";
        let mock_stream = MockStream::new(response.as_bytes().to_vec());
        let mut client = Client::new(mock_stream);
        let (mut actual_response, i) = client.read_response().unwrap();
        actual_response.truncate(i);
        assert_eq!(Vec::<u8>::new(), actual_response);
    }

    #[test]
    fn a_bare_lf_ends_the_lines_of_a_login_and_an_authenticate() {
        // GNU Mailutils imap4d 3.15 ends the tagged OK of AUTHENTICATE with a bare LF.
        let client = Client::new(MockStream::new(b"a1 OK Logged in\n".to_vec()));
        assert!(client.login("user", "pass").is_ok());
        let answer = b"+\na1 OK AUTHENTICATE PLAIN authentication successful\n".to_vec();
        let client = Client::new(MockStream::new(answer));
        let session = client.authenticate("PLAIN", &Fixed(b"foo")).unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 AUTHENTICATE PLAIN\r\nZm9v\r\n".to_vec()
        );
        // A challenge on a `+ ` line that ends in a bare LF.
        let answer = b"+ \na1 OK done\n".to_vec();
        let client = Client::new(MockStream::new(answer));
        assert!(client.authenticate("PLAIN", &Fixed(b"foo")).is_ok());
        assert_eq!(parse_authenticate_response("+ Zm9v\n").unwrap(), "Zm9v");
        assert_eq!(parse_authenticate_response("+ Zm9v\r\n").unwrap(), "Zm9v");
    }

    #[test]
    fn a_bare_lf_ends_the_lines_of_a_fetch_and_its_literal_announcement() {
        for chunk in [1, 3, 1 << 20] {
            let response = b"* 1 FETCH (UID 7 BODY[] {5}\nab\r\nc)\n* 2 EXISTS\n\
                             * 2 FETCH (UID 8 BODY[] {2}\r\nde FLAGS (\\Seen))\na1 OK done\n"
                .to_vec();
            let mut session = mock_session!(ChunkedStream::new(response, chunk));
            let fetches = session.uid_fetch("7:8", "BODY[]").unwrap();
            let bodies: Vec<_> = fetches.iter().map(|f| (f.uid, f.body())).collect();
            assert_eq!(
                bodies,
                vec![(Some(7), Some(&b"ab\r\nc"[..])), (Some(8), Some(&b"de"[..]))]
            );
        }
        // The literal is read in one go after a `{N}\n` announcement as after `{N}\r\n`.
        let needed = nom::Needed::new(5);
        assert_eq!(announced_literal(b"* 1 FETCH (BODY[] {5}\n", needed), Some(5));
        assert_eq!(announced_literal(b"* 1 FETCH (BODY[] {5}\r\n", needed), Some(5));
    }

    #[test]
    fn a_line_of_a_bare_lf_is_shown_in_debug_output_without_a_panic() {
        // The debug output cut two bytes (CRLF) off every line: a slice out of range here.
        let mut client = Client::new(MockStream::new(b"\n* 1 EXISTS\na0 OK\n".to_vec()));
        client.debug = true;
        let mut line = Vec::new();
        assert_eq!(client.readline(&mut line).unwrap(), 1);
        assert!(client.read_response().is_ok());
    }

    #[test]
    fn an_unparseable_untagged_response_is_skipped() {
        // GNU Mailutils imap4d 3.15 answers EXPUNGE so.
        let response = b"* 8 EXPUNGE\r\n* 9 EXPUNGED\r\n* 3 EXISTS\r\na1 OK EXPUNGE completed\r\n";
        let mut session = mock_session!(MockStream::new(response.to_vec()));
        let deleted = session.expunge().unwrap();
        assert_eq!(deleted.seqs().collect::<Vec<_>>(), vec![8]);
        assert_eq!(
            session.take_skipped(),
            (vec![b"* 9 EXPUNGED\r\n".to_vec()], 0)
        );
        assert_eq!(session.take_skipped(), (Vec::new(), 0));
        assert!(matches!(
            session.unsolicited_responses.pop_front(),
            Some(UnsolicitedResponse::Exists(3))
        ));
        // With literals: each is read in full, with the line after it, before the next
        // response; in every chunking of the stream.
        for chunk in [1, 2, 7, 1 << 20] {
            let response = b"* FOO {5}\r\nhello\r\n* 1 FETCH (UID 7 BODY[] {3}\nab\n GARBAGE {2}\r\n()\r\n\
                             * 2 FETCH (UID 8 BODY[] {3}\r\nxyz)\r\na1 OK done\r\n";
            let mut session = mock_session!(ChunkedStream::new(response.to_vec(), chunk));
            let fetches = session.uid_fetch("7:8", "BODY[]").unwrap();
            let got: Vec<_> = fetches.iter().map(|f| (f.uid, f.body())).collect();
            assert_eq!(got, vec![(Some(8), Some(&b"xyz"[..]))]);
            assert_eq!(
                session.take_skipped(),
                (
                    vec![
                        b"* FOO {5}\r\nhello\r\n".to_vec(),
                        b"* 1 FETCH (UID 7 BODY[] {3}\nab\n GARBAGE {2}\r\n()\r\n".to_vec()
                    ],
                    0
                )
            );
        }
    }

    #[test]
    fn a_skipped_response_between_the_parts_of_a_pipelined_answer() {
        let response = b"* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n* 1 EXPUNGED\r\n\
                         * 2 FETCH (UID 8 BODY[] {2}\r\nde)\r\n* XYZZY (1 2 {1}\r\n))\r\n\
                         * 3 FETCH (UID 9 BODY[] {1}\r\nf)\r\na1 OK done\r\n";
        let mut session = mock_session!(ChunkedStream::new(response.to_vec(), 5));
        let first = session.uid_fetch_send("7:9", "BODY.PEEK[]").unwrap();
        let mut uids = Vec::new();
        loop {
            let (part, done) = session.fetch_receive_part(&first, 1).unwrap();
            uids.extend(part.iter().map(|f| f.uid));
            if done {
                break;
            }
        }
        assert_eq!(uids, vec![Some(7), Some(8), Some(9)]);
        let (skipped, more) = session.take_skipped();
        assert_eq!(skipped.len() + more, 2);
        assert_eq!(skipped[1], b"* XYZZY (1 2 {1}\r\n))\r\n".to_vec());
    }

    #[test]
    fn what_a_skipped_response_cannot_excuse() {
        // A literal cut short by the end of the stream.
        let mut session = mock_session!(ChunkedStream::new(&b"* FOO {5}\r\nhel"[..], 4));
        let r = session.noop();
        assert!(matches!(r, Err(Error::ConnectionLost)), "{r:?}");
        // A tagged completion that does not parse.
        let mut session = mock_session!(MockStream::new(b"a1 DONE fine\r\n".to_vec()));
        assert!(matches!(session.noop(), Err(Error::Parse(_))));
        // Status text ending like a literal announces none.
        let response = b"* OK [FOO {5}\r\n* BYE {3}\r\na1 OK\r\n";
        let mut session = mock_session!(MockStream::new(response.to_vec()));
        assert!(session.noop().is_ok());
        // Past SKIPPED_KEPT, skipped responses are only counted.
        let mut response = b"* NOPE\r\n".repeat(SKIPPED_KEPT + 6);
        response.extend_from_slice(b"a1 OK\r\n");
        let mut session = mock_session!(MockStream::new(response));
        session.noop().unwrap();
        let (skipped, more) = session.take_skipped();
        assert_eq!((skipped.len(), more), (SKIPPED_KEPT, 6));
        assert_eq!(trailing_literal(b"* X {12}\n"), Some(12));
        assert_eq!(trailing_literal(b"* X ~{12}\r\n"), Some(12));
        assert_eq!(trailing_literal(b"* X {}\r\n"), None);
        assert_eq!(trailing_literal(b"* no {3}\r\n"), None);
        assert_eq!(trailing_literal(b"* NOT {3}\r\n"), Some(3));
        assert_eq!(trailing_literal(b"* X {99999999999999999999}\r\n"), None);
    }

    #[test]
    fn eight_bit_text_in_a_status_line_is_not_a_bye() {
        let response = "* OK [ALERT] Ann\u{e9}e en cours\r\na0 NO Mailbox doesn't exist: Ann\u{e9}e\r\n";
        let mock_stream = MockStream::new(response.as_bytes().to_vec());
        let mut client = Client::new(mock_stream);
        match client.read_response() {
            Err(Error::No(no)) => assert_eq!(no.information, "Mailbox doesn't exist: Ann??e"),
            other => panic!("expected NO, got {:?}", other),
        }
    }

    #[test]
    fn a_bare_response_code_line_is_an_untagged_ok() {
        let response = "[COPYUID 55 31 6]\r\n* 1 EXPUNGE\r\na0 OK Move completed\r\n";
        let mock_stream = MockStream::new(response.as_bytes().to_vec());
        let mut client = Client::new(mock_stream);
        let (data, done) = client.read_response().unwrap();
        assert!(data.starts_with(b"* OK [COPYUID 55 31 6]\r\n"));
        assert_eq!(&data[done..], b"a0 OK Move completed\r\n");
    }

    #[test]
    fn an_unparseable_line_is_a_parse_error_not_a_bye() {
        let response = "\x01\x02garbage (((\r\na0 OK done\r\n";
        let mock_stream = MockStream::new(response.as_bytes().to_vec());
        let mut client = Client::new(mock_stream);
        match client.read_response() {
            Err(Error::Parse(ParseError::Invalid(line))) => {
                assert_eq!(line, b"\x01\x02garbage (((\r\n")
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn an_unparseable_line_is_reported_in_part() {
        let mut response = vec![b'\x01'; 100_000];
        response.extend_from_slice(b"\r\na0 OK done\r\n");
        let mut client = Client::new(MockStream::new(response));
        match client.read_response() {
            Err(Error::Parse(ParseError::Invalid(line))) => assert_eq!(line.len(), INVALID_EXCERPT),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn eight_bit_bytes_inside_a_literal_are_kept() {
        let response = "* 1 FETCH (BODY[] {6}\r\nAnn\u{e9}e)\r\na0 OK done\r\n";
        let mock_stream = MockStream::new(response.as_bytes().to_vec());
        let mut client = Client::new(mock_stream);
        let (data, _) = client.read_response().unwrap();
        assert!(data.windows(6).any(|w| w == "Ann\u{e9}e".as_bytes()));
    }

    #[test]
    fn fetch_body() {
        let response = "a0 OK Logged in.\r\n\
                        * 2 FETCH (BODY[TEXT] {3}\r\nfoo)\r\n\
                        a0 OK FETCH completed\r\n";
        let mock_stream = MockStream::new(response.as_bytes().to_vec());
        let mut session = mock_session!(mock_stream);
        session.read_response().unwrap();
        session.read_response().unwrap();
    }

    /// A stream that hands out at most `chunk` bytes per read and then a clean end of stream
    /// (`Ok(0)`), like a TCP peer that closed the connection.
    struct ChunkedStream {
        data: Vec<u8>,
        pos: usize,
        chunk: usize,
        /// Largest buffer a read was asked to fill.
        largest_read: usize,
        /// Reads that returned data.
        reads: usize,
    }

    impl ChunkedStream {
        fn new(data: impl Into<Vec<u8>>, chunk: usize) -> Self {
            ChunkedStream {
                data: data.into(),
                pos: 0,
                chunk,
                largest_read: 0,
                reads: 0,
            }
        }
    }

    impl Read for ChunkedStream {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.largest_read = self.largest_read.max(buf.len());
            let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
            self.reads += usize::from(n > 0);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Write for ChunkedStream {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A FETCH answer (tag a1) with one message whose BODY[] is `body`.
    fn fetch_answer(body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {{{}}}\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r.extend_from_slice(b")\r\na1 OK Fetch completed.\r\n");
        r
    }

    /// An answer of `count` FETCH responses (UIDs 1..) whose bodies are `len` bytes of 'x',
    /// each response ending with `end` after its literal, and the completion of `a1`.
    fn answer_of_bodies(count: u32, len: usize, end: &[u8]) -> Vec<u8> {
        let mut answer = Vec::new();
        for i in 1..=count {
            answer.extend(format!("* {i} FETCH (UID {i} BODY[] {{{len}}}\r\n").bytes());
            answer.extend(std::iter::repeat_n(b'x', len));
            answer.extend_from_slice(end);
        }
        answer.extend_from_slice(b"a1 OK done\r\n");
        answer
    }

    /// Message text whose lines look like IMAP syntax: literal announcements, tagged
    /// completions, untagged FETCHes; and which itself ends with a literal announcement.
    fn tricky_body() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"Subject: {5}\r\n\r\n");
        for i in 0..200 {
            b.extend_from_slice(format!("line {} {{{}}}\r\n", i, i).as_bytes());
            b.extend_from_slice(b"a1 OK Fetch completed.\r\n");
            b.extend_from_slice(b"* 2 FETCH (UID 8 BODY[] {3}\r\n");
            b.extend_from_slice(b"{\r\n");
        }
        b.extend_from_slice(b"last {0}\r\n{12}\r\n");
        b
    }

    #[test]
    fn fetch_literal_with_crlf_and_brace_lines() {
        let body = tricky_body();
        let mut session = mock_session!(ChunkedStream::new(fetch_answer(&body), 1 << 20));
        let fetches = session.uid_fetch("7", "BODY[]").unwrap();
        assert_eq!(fetches.len(), 1);
        let f = fetches.iter().next().unwrap();
        assert_eq!(f.uid, Some(7));
        assert_eq!(f.body(), Some(&body[..]));
    }

    #[test]
    fn fetch_literal_one_byte_per_read() {
        let body = tricky_body();
        let mut session = mock_session!(ChunkedStream::new(fetch_answer(&body), 1));
        let fetches = session.uid_fetch("7", "BODY[]").unwrap();
        assert_eq!(fetches.len(), 1);
        assert_eq!(fetches.iter().next().unwrap().body(), Some(&body[..]));
    }

    #[test]
    fn fetch_empty_literal() {
        for chunk in [1, 1 << 20] {
            let mut session = mock_session!(ChunkedStream::new(fetch_answer(b""), chunk));
            let fetches = session.uid_fetch("7", "BODY[]").unwrap();
            assert_eq!(fetches.len(), 1);
            assert_eq!(fetches.iter().next().unwrap().body(), Some(&b""[..]));
        }
    }

    #[test]
    fn fetch_literal_cut_by_eof() {
        let full = fetch_answer(&tricky_body());
        let announce = full.iter().position(|&b| b == b'\n').unwrap() + 1;
        // End of stream: right after the announcement, inside the literal (after a CRLF, and
        // in the middle of a line), and just before the closing parenthesis.
        for cut in [
            announce,
            announce + 16,
            announce + 20,
            announce + tricky_body().len(),
        ] {
            for chunk in [1, 1 << 20] {
                let stream = ChunkedStream::new(&full[..cut], chunk);
                let mut session = mock_session!(stream);
                match session.uid_fetch("7", "BODY[]") {
                    Err(Error::ConnectionLost) => {}
                    Err(e) => panic!("cut at {}: expected ConnectionLost, got {:?}", cut, e),
                    Ok(_) => panic!("cut at {}: expected ConnectionLost, got Ok", cut),
                }
            }
        }
    }

    #[test]
    fn huge_literal_announcement_is_not_allocated_up_front() {
        let answer = "* 1 FETCH (UID 7 BODY[] {4294967295}\r\nonly a few bytes\r\n";
        let mut session = mock_session!(ChunkedStream::new(answer, 1 << 20));
        match session.uid_fetch("7", "BODY[]") {
            Err(Error::ConnectionLost) => {}
            Err(e) => panic!("expected ConnectionLost, got {:?}", e),
            Ok(_) => panic!("expected ConnectionLost, got Ok"),
        }

        let mut client = Client::new(ChunkedStream::new("only a few bytes", 1 << 20));
        let mut v = Vec::new();
        assert!(matches!(
            client.read_literal(&mut v, 4_294_967_295),
            Err(Error::ConnectionLost)
        ));
        assert_eq!(v, b"only a few bytes");
        assert!(
            v.capacity() <= LITERAL_CHUNK + LITERAL_TAIL,
            "capacity {}",
            v.capacity()
        );
    }

    #[test]
    fn large_literal_is_read_in_one_go() {
        // 4 MiB of short lines: read line by line, every read would go through the 8 KiB
        // buffer of the BufStream; read as a literal, the reads ask for far more at once.
        let body = b"0123456789 {10}\r\n".repeat(256 * 1024);
        let mut session = mock_session!(ChunkedStream::new(fetch_answer(&body), usize::MAX));
        {
            let fetches = session.uid_fetch("7", "BODY[]").unwrap();
            assert_eq!(fetches.iter().next().unwrap().body(), Some(&body[..]));
        }
        let stream = session.conn.stream.get_ref();
        assert!(
            stream.largest_read >= 1 << 20,
            "largest read {}",
            stream.largest_read
        );
    }

    #[test]
    fn many_small_messages_are_taken_in_a_few_reads() {
        // 100 messages of 2 KB in one answer, all of it available at once: read through the
        // 256 KiB buffer, that is one or two reads of the socket, not two or more per message.
        let answer = answer_of_bodies(100, 2000, b")\r\n");
        let mut session = mock_session!(ChunkedStream::new(answer, usize::MAX));
        {
            let fetches = session.uid_fetch("1:100", "BODY[]").unwrap();
            assert_eq!(fetches.len(), 100);
            assert!(fetches.iter().all(|f| f.body().map(<[u8]>::len) == Some(2000)));
        }
        let stream = session.conn.stream.get_ref();
        assert!(stream.reads <= 3, "{} reads", stream.reads);
    }

    #[test]
    fn a_part_holds_the_response_that_ends_it_without_growing() {
        // Parts of at least 150,000 bytes, of responses with 100,000-byte literals: each part
        // ends with a response that takes it past 150,000 bytes, which must fit in the room
        // reserved up front (a buffer that grows copies everything read into it so far).
        let answer = answer_of_bodies(6, 100_000, b" FLAGS (\\Seen))\r\n");
        let mut client = Client::new(ChunkedStream::new(answer, 4096));
        client.tag = 1;
        let mut parts = 0;
        loop {
            let mut data = part_buffer(150_000);
            let (start, room) = (data.as_ptr(), data.capacity());
            let done = client
                .read_response_part_onto(1, &mut data, Some(150_000))
                .unwrap();
            assert!(data.len() <= room, "part {parts}: {} bytes in {room}", data.len());
            assert_eq!(data.as_ptr(), start, "part {parts} moved");
            parts += 1;
            if done.is_some() {
                break;
            }
            assert!(data.len() >= 150_000);
        }
        // Two responses each, then the completion alone.
        assert_eq!(parts, 4);
    }

    #[test]
    fn a_literal_and_the_end_of_its_line_take_no_more_room_than_they_need() {
        // Smaller than the read buffer (copied out of it) and larger (read straight in).
        for len in [10_000, READ_BUFFER + 10_000] {
            let end_of_line = b" FLAGS (\\Seen))\r\n";
            let mut rest = vec![b'x'; len];
            rest.extend_from_slice(end_of_line);
            let mut client = Client::new(ChunkedStream::new(rest, 4096));
            let mut v = b"* 1 FETCH (UID 7 BODY[] {n}\r\n".to_vec();
            let line = v.len();
            client.read_literal(&mut v, len).unwrap();
            client.readline(&mut v).unwrap();
            assert_eq!(v.len(), line + len + end_of_line.len());
            // Growing after the literal (for the line's end, or read_to_end looking for more in
            // a full buffer) would double the buffer, copying all of it.
            assert!(
                v.capacity() < line + len + 1024,
                "{len}-byte literal, capacity {}",
                v.capacity()
            );
        }
    }

    #[test]
    fn a_literal_cut_short_is_a_lost_connection() {
        // Smaller than the read buffer (copied out of it) and larger (read straight in).
        for len in [10, READ_BUFFER + 10] {
            let mut client = Client::new(ChunkedStream::new(vec![b'x'; len - 3], 7));
            let mut v = Vec::new();
            assert!(matches!(
                client.read_literal(&mut v, len),
                Err(Error::ConnectionLost)
            ));
            assert_eq!(v.len(), len - 3);
        }
    }

    #[test]
    fn read_literal_reads_exactly_its_length() {
        let mut client = Client::new(ChunkedStream::new("ab\r\ncd)\r\nnext\r\n", 1));
        let mut v = b"{6}\r\n".to_vec();
        client.read_literal(&mut v, 6).unwrap();
        assert_eq!(v, b"{6}\r\nab\r\ncd");
        client.readline(&mut v).unwrap();
        assert_eq!(v, b"{6}\r\nab\r\ncd)\r\n");
        client.read_literal(&mut v, 0).unwrap();
        let mut w = Vec::new();
        client.readline(&mut w).unwrap();
        assert_eq!(w, b"next\r\n");
    }

    #[test]
    fn fetch_two_literals_in_one_response() {
        let header = b"Subject: {3}\r\nFrom: a@b\r\n\r\n";
        let text = b"{2}\r\nhello\r\n";
        let mut answer = Vec::new();
        for uid in [7, 8] {
            answer.extend_from_slice(
                format!(
                    "* {} FETCH (UID {} BODY[HEADER] {{{}}}\r\n",
                    uid - 6,
                    uid,
                    header.len()
                )
                .as_bytes(),
            );
            answer.extend_from_slice(header);
            answer.extend_from_slice(format!(" BODY[TEXT] {{{}}}\r\n", text.len()).as_bytes());
            answer.extend_from_slice(text);
            answer.extend_from_slice(b" FLAGS (\\Seen))\r\n");
        }
        answer.extend_from_slice(b"a1 OK Fetch completed.\r\n");
        for chunk in [1, 1 << 20] {
            let mut session = mock_session!(ChunkedStream::new(answer.clone(), chunk));
            let fetches = session
                .uid_fetch("7:8", "(BODY[HEADER] BODY[TEXT])")
                .unwrap();
            assert_eq!(fetches.len(), 2);
            for (f, uid) in fetches.iter().zip([7, 8]) {
                assert_eq!(f.uid, Some(uid));
                assert_eq!(f.header(), Some(&header[..]));
                assert_eq!(f.text(), Some(&text[..]));
                assert_eq!(f.flags(), &[Flag::Seen]);
            }
        }
    }

    #[test]
    fn text_ending_like_a_literal_is_not_a_literal() {
        // Human-readable text may end with "{N}": nothing more may be read for it (the
        // server sends nothing more, so reading ahead would wait forever or hit EOF).
        let answer = "* OK [ALERT] see {5}\r\na1 OK done {3}\r\n";
        let mut session = mock_session!(ChunkedStream::new(answer, 1 << 20));
        session.run_command_and_check_ok("NOOP").unwrap();
        let answer = "a1 NO not today {3}\r\n";
        let mut session = mock_session!(ChunkedStream::new(answer, 1));
        assert!(matches!(
            session.run_command_and_check_ok("NOOP"),
            Err(Error::No(_))
        ));
    }

    #[test]
    fn announced_literal_follows_the_parser() {
        use nom::Needed;
        let needed = |buf: &[u8]| match imap_proto::parser::parse_response(buf) {
            Err(nom::Err::Incomplete(n)) => n,
            other => panic!("expected Incomplete, got {:?}", other),
        };
        for (buf, n) in [
            (&b"* 1 FETCH (UID 7 BODY[] {5}\r\n"[..], 5),
            (
                b"* 1 FETCH (UID 7 RFC822.SIZE 9 FLAGS (\\Seen) BODY[] {123456}\r\n",
                123456,
            ),
            (b"* 1 FETCH (BODY[HEADER] {2}\r\nab BODY[TEXT] {7}\r\n", 7),
            (
                b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {4294967295}\r\n",
                4294967295,
            ),
        ] {
            assert_eq!(announced_literal(buf, needed(buf)), Some(n), "{:?}", buf);
        }
        // `{0}` needs nothing: the parser waits for what follows it.
        let buf = b"* 1 FETCH (UID 7 BODY[] {0}\r\n";
        assert_eq!(announced_literal(buf, needed(buf)), None);
        // A literal whose data started arriving, or no announcement at the end.
        let buf = b"* 1 FETCH (UID 7 BODY[] {5}\r\nab\r\n";
        assert_eq!(announced_literal(buf, needed(buf)), None);
        let buf = b"* 1 FETCH (UID 7 BODY[] {5}\r\n{3}\r\n";
        assert_eq!(announced_literal(buf, needed(buf)), None);
        let one = |n| Needed::new(n);
        assert_eq!(announced_literal(b"{5}\r\n", one(5)), Some(5));
        assert_eq!(announced_literal(b"{5}\r\n", one(4)), None);
        assert_eq!(announced_literal(b"{5}\r\n", Needed::Unknown), None);
        assert_eq!(announced_literal(b"5}\r\n", one(5)), None);
        assert_eq!(announced_literal(b"{}\r\n", one(5)), None);
        // A bare LF ends the announcement as CRLF does (imap-proto accepts it).
        assert_eq!(announced_literal(b"{5}\n", one(5)), Some(5));
        assert_eq!(announced_literal(b"{5+}\r\n", one(5)), None);
        assert_eq!(
            announced_literal(b"{99999999999999999999999}\r\n", one(5)),
            None
        );
    }

    #[test]
    fn read_greeting() {
        let greeting = "* OK Dovecot ready.\r\n";
        let mock_stream = MockStream::new(greeting.as_bytes().to_vec());
        let mut client = Client::new(mock_stream);
        client.read_greeting().unwrap();
    }

    #[test]
    fn readline_delay_read() {
        let greeting = "* OK Dovecot ready.\r\n";
        let expected_response: String = greeting.to_string();
        let mock_stream = MockStream::default()
            .with_buf(greeting.as_bytes().to_vec())
            .with_delay();
        let mut client = Client::new(mock_stream);
        let mut v = Vec::new();
        client.readline(&mut v).unwrap();
        let actual_response = String::from_utf8(v).unwrap();
        assert_eq!(expected_response, actual_response);
    }

    #[test]
    fn readline_eof() {
        let mock_stream = MockStream::default().with_eof();
        let mut client = Client::new(mock_stream);
        let mut v = Vec::new();
        if let Err(Error::ConnectionLost) = client.readline(&mut v) {
        } else {
            unreachable!("EOF read did not return connection lost");
        }
    }

    #[test]
    #[should_panic]
    fn readline_err() {
        // TODO Check the error test
        let mock_stream = MockStream::default().with_err();
        let mut client = Client::new(mock_stream);
        let mut v = Vec::new();
        client.readline(&mut v).unwrap();
    }

    #[test]
    fn create_command() {
        let base_command = "CHECK";
        let mock_stream = MockStream::default();
        let mut imap_stream = Client::new(mock_stream);

        let expected_command = format!("a1 {}", base_command);
        let command = imap_stream.create_command(&base_command);
        assert!(
            command == expected_command,
            "expected command doesn't equal actual command"
        );

        let expected_command2 = format!("a2 {}", base_command);
        let command2 = imap_stream.create_command(&base_command);
        assert!(
            command2 == expected_command2,
            "expected command doesn't equal actual command"
        );
    }

    #[test]
    fn authenticate() {
        let response = b"+ YmFy\r\n\
                         a1 OK Logged in\r\n"
            .to_vec();
        let command = "a1 AUTHENTICATE PLAIN\r\n\
                       Zm9v\r\n";
        let mock_stream = MockStream::new(response);
        let client = Client::new(mock_stream);
        enum Authenticate {
            Auth,
        }
        impl Authenticator for Authenticate {
            type Response = Vec<u8>;
            fn process(&self, challenge: &[u8]) -> Self::Response {
                assert!(challenge == b"bar", "Invalid authenticate challenge");
                b"foo".to_vec()
            }
        }
        let session = client.authenticate("PLAIN", &Authenticate::Auth).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid authenticate command"
        );
    }

    struct Fixed(&'static [u8]);
    impl Authenticator for Fixed {
        type Response = Vec<u8>;
        fn process(&self, challenge: &[u8]) -> Self::Response {
            if challenge.is_empty() {
                self.0.to_vec()
            } else {
                Vec::new()
            }
        }
    }

    #[test]
    fn authenticate_with_initial_response() {
        let mock_stream = MockStream::new(b"a1 OK Logged in\r\n".to_vec());
        let client = Client::new(mock_stream);
        let session = client
            .authenticate_with_initial_response("PLAIN", &Fixed(b"foo"))
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 AUTHENTICATE PLAIN Zm9v\r\n".to_vec()
        );
    }

    #[test]
    fn authenticate_with_empty_initial_response() {
        let mock_stream = MockStream::new(b"a1 OK Logged in\r\n".to_vec());
        let client = Client::new(mock_stream);
        let session = client
            .authenticate_with_initial_response("EXTERNAL", &Fixed(b""))
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 AUTHENTICATE EXTERNAL =\r\n".to_vec()
        );
    }

    #[test]
    fn authenticate_with_initial_response_then_challenge() {
        // A server that answers the initial response with an error challenge (XOAUTH2) gets
        // the authenticator's answer to it, then says NO.
        let response = b"+ e30=\r\na1 NO [AUTHENTICATIONFAILED] bad token\r\n".to_vec();
        let client = Client::new(MockStream::new(response));
        let (err, client) = client
            .authenticate_with_initial_response("XOAUTH2", &Fixed(b"tok"))
            .err()
            .unwrap();
        assert!(matches!(err, Error::No(_)), "{err:?}");
        assert_eq!(
            client.stream.get_ref().written_buf,
            b"a1 AUTHENTICATE XOAUTH2 dG9r\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn id_pipelined_before_authenticate() {
        // ID's answer (its untagged data, then its completion) comes before AUTHENTICATE's;
        // both lines were written before either answer was read.
        let response = b"* ID (\"name\" \"Dovecot\")\r\na1 OK ID completed\r\n\
            a2 OK Logged in\r\n"
            .to_vec();
        let mut client = Client::new(MockStream::new(response));
        let id = client.send_command("ID (\"name\" \"x\")").unwrap();
        assert_eq!(id, 1);
        let (before, session) =
            client.authenticate_with_initial_response_after(id, "PLAIN", &Fixed(b"foo"));
        before.unwrap();
        let session = session.unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 ID (\"name\" \"x\")\r\na2 AUTHENTICATE PLAIN Zm9v\r\n".to_vec()
        );
    }

    #[test]
    fn id_refused_then_authenticate_refused_with_bad() {
        // The command before may fail (NO) without failing the login; a BAD to the initial
        // response gives the client back for the usual exchange, as without pipelining.
        let response = b"a1 NO ID not allowed\r\na2 BAD no initial response\r\n\
            + \r\na3 OK Logged in\r\n"
            .to_vec();
        let mut client = Client::new(MockStream::new(response));
        let id = client.send_command("ID NIL").unwrap();
        let (before, auth) =
            client.authenticate_with_initial_response_after(id, "PLAIN", &Fixed(b"foo"));
        assert!(matches!(before, Err(Error::No(_))), "{before:?}");
        let (err, client) = auth.err().unwrap();
        assert!(matches!(err, Error::Bad(_)), "{err:?}");
        let session = client.authenticate("PLAIN", &Fixed(b"foo")).unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 ID NIL\r\na2 AUTHENTICATE PLAIN Zm9v\r\na3 AUTHENTICATE PLAIN\r\nZm9v\r\n"
                .to_vec()
        );
    }

    #[test]
    fn unreadable_answer_before_authenticate_fails_the_login() {
        let response = b"garbage that is not IMAP\r\na2 OK Logged in\r\n".to_vec();
        let mut client = Client::new(MockStream::new(response));
        let id = client.send_command("ID NIL").unwrap();
        let (before, auth) =
            client.authenticate_with_initial_response_after(id, "PLAIN", &Fixed(b"foo"));
        assert!(matches!(before, Err(Error::Parse(_))), "{before:?}");
        assert!(matches!(auth, Err((Error::ConnectionLost, _))));
    }

    #[test]
    fn authenticate_with_initial_response_refused_returns_client() {
        // Some servers advertise SASL-IR and answer BAD to it: the client comes back, and the
        // usual exchange then works on the same connection.
        let response = b"a1 BAD Request not ending with CRLF\r\n+ \r\na2 OK Logged in\r\n".to_vec();
        let client = Client::new(MockStream::new(response));
        let (err, client) = client
            .authenticate_with_initial_response("PLAIN", &Fixed(b"foo"))
            .err()
            .unwrap();
        assert!(matches!(err, Error::Bad(_)), "{err:?}");
        let session = client.authenticate("PLAIN", &Fixed(b"foo")).unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 AUTHENTICATE PLAIN Zm9v\r\na2 AUTHENTICATE PLAIN\r\nZm9v\r\n".to_vec()
        );
    }

    #[test]
    fn pre_login_capability() {
        let response = b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n\
            a1 OK CAPABILITY completed\r\n"
            .to_vec();
        let expected_capabilities = vec![
            Capability::Imap4rev1,
            Capability::Atom(Cow::Borrowed("STARTTLS")),
            Capability::Auth(Cow::Borrowed("GSSAPI")),
            Capability::Atom(Cow::Borrowed("LOGINDISABLED")),
        ];
        let mock_stream = MockStream::new(response);
        let mut client = Client::new(mock_stream);
        let capabilities = client.capabilities().unwrap();
        assert_eq!(
            client.stream.get_ref().written_buf,
            b"a1 CAPABILITY\r\n".to_vec(),
            "Invalid capability command"
        );
        assert_eq!(capabilities.len(), 4);
        for e in expected_capabilities {
            assert!(capabilities.has(&e));
        }
    }

    #[test]
    fn login() {
        let response = b"a1 OK Logged in\r\n".to_vec();
        let username = "username";
        let password = "password";
        let command = format!("a1 LOGIN {} {}\r\n", quote!(username), quote!(password));
        let mock_stream = MockStream::new(response);
        let client = Client::new(mock_stream);
        let session = client.login(username, password).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid login command"
        );
    }

    #[test]
    fn login_quotes_special_characters() {
        let response = b"a1 OK Logged in\r\n".to_vec();
        let (username, password) = ("us\"er", "pa\\ss\"wörd");
        let command = format!("a1 LOGIN {} {}\r\n", quote!(username), quote!(password));
        let client = Client::new(MockStream::new(response));
        let session = client.login(username, password).unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            command.as_bytes().to_vec()
        );
    }

    #[test]
    fn login_refused_returns_the_client() {
        let response = b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".to_vec();
        let client = Client::new(MockStream::new(response));
        let (err, client) = client.login("user", "pass").err().unwrap();
        assert!(matches!(err, Error::No(_)), "{err:?}");
        assert_eq!(client.tag, 1);
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let mut line = SecretLine::with_capacity(8);
        line.push(b"secret");
        let mut copy = line.0.clone();
        wipe(&mut copy);
        assert_eq!(copy, vec![0u8; 6]);
        line.push_base64(b"");
        assert_eq!(line.0, b"secret");
    }

    #[test]
    fn login_validation_username() {
        let username = "username\n";
        let password = "password";
        assert_validation_error_client(
            |client| client.login(username, password),
            "LOGIN",
            "username",
            '\n',
        );
    }

    #[test]
    fn login_validation_password() {
        let username = "username";
        let password = "passw\rord";
        assert_validation_error_client(
            |client| client.login(username, password),
            "LOGIN",
            "password",
            '\r',
        );
    }

    #[test]
    fn logout() {
        let response = b"a1 OK Logout completed.\r\n".to_vec();
        let command = format!("a1 LOGOUT\r\n");
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.logout().unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid logout command"
        );
    }

    #[test]
    fn logout_with_untagged_bye() {
        let response = b"* BYE Logging out\r\na1 OK Logout completed.\r\n".to_vec();
        let command = format!("a1 LOGOUT\r\n");
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.logout().unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid logout command"
        );
    }

    #[test]
    fn logout_with_tagged_bye() {
        let response = b"a1 BYE IMAP4rev1 Server logging out\r\n".to_vec();
        let command = format!("a1 LOGOUT\r\n");
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.logout().unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid logout command"
        );
    }

    #[test]
    fn rename() {
        let response = b"a1 OK RENAME completed\r\n".to_vec();
        let current_mailbox_name = "INBOX";
        let new_mailbox_name = "NEWINBOX";
        let command = format!(
            "a1 RENAME {} {}\r\n",
            quote!(current_mailbox_name),
            quote!(new_mailbox_name)
        );
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session
            .rename(current_mailbox_name, new_mailbox_name)
            .unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid rename command"
        );
    }

    #[test]
    fn subscribe() {
        let response = b"a1 OK SUBSCRIBE completed\r\n".to_vec();
        let mailbox = "INBOX";
        let command = format!("a1 SUBSCRIBE {}\r\n", quote!(mailbox));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.subscribe(mailbox).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid subscribe command"
        );
    }

    #[test]
    fn unsubscribe() {
        let response = b"a1 OK UNSUBSCRIBE completed\r\n".to_vec();
        let mailbox = "INBOX";
        let command = format!("a1 UNSUBSCRIBE {}\r\n", quote!(mailbox));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.unsubscribe(mailbox).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid unsubscribe command"
        );
    }

    #[test]
    fn expunge() {
        let response = b"a1 OK EXPUNGE completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.expunge().unwrap();
        assert!(
            session.stream.get_ref().written_buf == b"a1 EXPUNGE\r\n".to_vec(),
            "Invalid expunge command"
        );
    }

    #[test]
    fn uid_expunge() {
        let response = b"* 2 EXPUNGE\r\n\
            * 3 EXPUNGE\r\n\
            * 4 EXPUNGE\r\n\
            a1 OK UID EXPUNGE completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.uid_expunge("2:4").unwrap();
        assert!(
            session.stream.get_ref().written_buf == b"a1 UID EXPUNGE 2:4\r\n".to_vec(),
            "Invalid expunge command"
        );
    }

    #[test]
    fn check() {
        let response = b"a1 OK CHECK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.check().unwrap();
        assert!(
            session.stream.get_ref().written_buf == b"a1 CHECK\r\n".to_vec(),
            "Invalid check command"
        );
    }

    #[test]
    fn examine() {
        let response = b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
            * OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n\
            * 1 EXISTS\r\n\
            * 1 RECENT\r\n\
            * OK [UNSEEN 1] First unseen.\r\n\
            * OK [UIDVALIDITY 1257842737] UIDs valid\r\n\
            * OK [UIDNEXT 2] Predicted next UID\r\n\
            a1 OK [READ-ONLY] Select completed.\r\n"
            .to_vec();
        let expected_mailbox = Mailbox {
            flags: vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft,
            ],
            exists: 1,
            recent: 1,
            unseen: Some(1),
            permanent_flags: vec![],
            uid_next: Some(2),
            uid_validity: Some(1257842737),
            highest_mod_seq: None,
            is_read_only: true,
        };
        let mailbox_name = "INBOX";
        let command = format!("a1 EXAMINE {}\r\n", quote!(mailbox_name));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let mailbox = session.examine(mailbox_name).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid examine command"
        );
        assert_eq!(mailbox, expected_mailbox);
    }

    #[test]
    fn examine_validation() {
        assert_validation_error_session(
            |mut session| session.examine("INB\nOX"),
            "EXAMINE",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn select() {
        let response = b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
            * OK [PERMANENTFLAGS (\\* \\Answered \\Flagged \\Deleted \\Draft \\Seen)] \
              Read-only mailbox.\r\n\
            * 1 EXISTS\r\n\
            * 1 RECENT\r\n\
            * OK [UNSEEN 1] First unseen.\r\n\
            * OK [UIDVALIDITY 1257842737] UIDs valid\r\n\
            * OK [UIDNEXT 2] Predicted next UID\r\n\
            a1 OK [READ-ONLY] Select completed.\r\n"
            .to_vec();
        let expected_mailbox = Mailbox {
            flags: vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft,
            ],
            exists: 1,
            recent: 1,
            unseen: Some(1),
            permanent_flags: vec![
                Flag::MayCreate,
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Draft,
                Flag::Seen,
            ],
            uid_next: Some(2),
            uid_validity: Some(1257842737),
            highest_mod_seq: None,
            is_read_only: true,
        };
        let mailbox_name = "INBOX";
        let command = format!("a1 SELECT {}\r\n", quote!(mailbox_name));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let mailbox = session.select(mailbox_name).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid select command"
        );
        assert_eq!(mailbox, expected_mailbox);
    }

    #[test]
    fn select_validation() {
        assert_validation_error_session(
            |mut session| session.select("INB\nOX"),
            "SELECT",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn search() {
        let response = b"* SEARCH 1 2 3 4 5\r\n\
            a1 OK Search completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let ids = session.search("Unseen").unwrap();
        let ids: HashSet<u32> = ids.iter().cloned().collect();
        assert!(
            session.stream.get_ref().written_buf == b"a1 SEARCH Unseen\r\n".to_vec(),
            "Invalid search command"
        );
        assert_eq!(ids, [1, 2, 3, 4, 5].iter().cloned().collect());
    }

    #[test]
    fn uid_search() {
        let response = b"* SEARCH 1 2 3 4 5\r\n\
            a1 OK Search completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let ids = session.uid_search("Unseen").unwrap();
        let ids: HashSet<Uid> = ids.iter().cloned().collect();
        assert!(
            session.stream.get_ref().written_buf == b"a1 UID SEARCH Unseen\r\n".to_vec(),
            "Invalid search command"
        );
        assert_eq!(ids, [1, 2, 3, 4, 5].iter().cloned().collect());
    }

    #[test]
    fn sort() {
        use extensions::sort::{SortCharset, SortCriterion};

        let response = b"* SORT 1 2 3 4 5\r\n\
            a1 OK Sort completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let ids = session
            .sort(&[SortCriterion::Arrival], SortCharset::Utf8, "ALL")
            .unwrap();
        let ids: Vec<u32> = ids.iter().cloned().collect();
        assert!(
            session.stream.get_ref().written_buf == b"a1 SORT (ARRIVAL) UTF-8 ALL\r\n".to_vec(),
            "Invalid sort command"
        );
        assert_eq!(ids, [1, 2, 3, 4, 5].iter().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn uid_sort() {
        use extensions::sort::{SortCharset, SortCriterion};

        let response = b"* SORT 1 2 3 4 5\r\n\
            a1 OK Sort completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let ids = session
            .uid_sort(
                &[SortCriterion::Reverse(&SortCriterion::Size)],
                SortCharset::UsAscii,
                "SUBJECT",
            )
            .unwrap();
        let ids: Vec<Uid> = ids.iter().cloned().collect();
        assert!(
            session.stream.get_ref().written_buf
                == b"a1 UID SORT (REVERSE SIZE) US-ASCII SUBJECT\r\n".to_vec(),
            "Invalid sort command"
        );
        assert_eq!(ids, [1, 2, 3, 4, 5].iter().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn set_acl_replace() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session
            .set_acl(
                "INBOX",
                "myuser",
                &"x".try_into().unwrap(),
                AclModifyMode::Replace,
            )
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETACL \"INBOX\" \"myuser\" x\r\n".to_vec(),
            "Invalid setacl command"
        );
    }

    #[test]
    fn set_acl_add() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session
            .set_acl(
                "INBOX",
                "myuser",
                &"x".try_into().unwrap(),
                AclModifyMode::Add,
            )
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETACL \"INBOX\" \"myuser\" +x\r\n".to_vec(),
            "Invalid setacl command"
        );
    }

    #[test]
    fn set_acl_remove() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session
            .set_acl(
                "INBOX",
                "myuser",
                &"x".try_into().unwrap(),
                AclModifyMode::Remove,
            )
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETACL \"INBOX\" \"myuser\" -x\r\n".to_vec(),
            "Invalid setacl command"
        );
    }

    #[test]
    fn delete_acl() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.delete_acl("INBOX", "myuser").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 DELETEACL \"INBOX\" \"myuser\"\r\n".to_vec(),
            "Invalid deleteacl command"
        );
    }

    #[test]
    fn get_acl() {
        let response = b"* ACL INBOX myuser lr\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.get_acl("INBOX").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETACL \"INBOX\"\r\n".to_vec(),
            "Invalid getacl command"
        );
        assert_eq!(acl.parsed().mailbox(), "INBOX");
        assert_eq!(
            acl.parsed().acls(),
            vec![AclEntry {
                identifier: "myuser".into(),
                rights: "lr".try_into().unwrap(),
            }]
        );
    }

    #[test]
    fn get_acl_invalid_no_acl_lines() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.get_acl("INBOX");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETACL \"INBOX\"\r\n".to_vec(),
            "Invalid getacl command"
        );
        assert!(matches!(acl, Err(Error::Parse(_))));
    }

    #[test]
    fn get_acl_invalid_too_many_acl_lines() {
        let response = b"* ACL INBOX myuser lr\r\n\
                * ACL INBOX myuser lr\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.get_acl("INBOX");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETACL \"INBOX\"\r\n".to_vec(),
            "Invalid getacl command"
        );
        assert!(matches!(acl, Err(Error::Parse(_))));
    }

    #[test]
    fn get_acl_multiple_users() {
        let response = b"* ACL INBOX myuser lr other_user lr\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.get_acl("INBOX").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETACL \"INBOX\"\r\n".to_vec(),
            "Invalid getacl command"
        );
        assert_eq!(acl.parsed().mailbox(), "INBOX");
        assert_eq!(
            acl.parsed().acls(),
            vec![
                AclEntry {
                    identifier: "myuser".into(),
                    rights: "lr".try_into().unwrap(),
                },
                AclEntry {
                    identifier: "other_user".into(),
                    rights: "lr".try_into().unwrap(),
                },
            ]
        );
    }

    #[test]
    fn list_rights() {
        let response = b"* LISTRIGHTS INBOX myuser lr x k\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.list_rights("INBOX", "myuser").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 LISTRIGHTS \"INBOX\" \"myuser\"\r\n".to_vec(),
            "Invalid listrights command"
        );
        assert_eq!(acl.parsed().mailbox(), "INBOX");
        assert_eq!(acl.parsed().identifier(), "myuser");
        assert_eq!(*acl.parsed().required(), "lr".try_into().unwrap());
        assert_eq!(*acl.parsed().optional(), "kx".try_into().unwrap());
    }

    #[test]
    fn list_rights_invalid_no_rights_lines() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.list_rights("INBOX", "myuser");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 LISTRIGHTS \"INBOX\" \"myuser\"\r\n".to_vec(),
            "Invalid listrights command"
        );
        assert!(matches!(acl, Err(Error::Parse(_))));
    }

    #[test]
    fn list_rights_invalid_too_many_rights_lines() {
        let response = b"* LISTRIGHTS INBOX myuser lr x k\r\n\
            * LISTRIGHTS INBOX myuser lr x k\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.list_rights("INBOX", "myuser");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 LISTRIGHTS \"INBOX\" \"myuser\"\r\n".to_vec(),
            "Invalid listrights command"
        );
        assert!(matches!(acl, Err(Error::Parse(_))));
    }

    #[test]
    fn my_rights() {
        let response = b"* MYRIGHTS INBOX lrxk\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.my_rights("INBOX").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 MYRIGHTS \"INBOX\"\r\n".to_vec(),
            "Invalid myrights command"
        );
        assert_eq!(acl.parsed().mailbox(), "INBOX");
        assert_eq!(*acl.parsed().rights(), "lrkx".try_into().unwrap())
    }

    #[test]
    fn my_rights_invalid_no_rights_lines() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.my_rights("INBOX");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 MYRIGHTS \"INBOX\"\r\n".to_vec(),
            "Invalid myrights command"
        );
        assert!(matches!(acl, Err(Error::Parse(_))));
    }

    #[test]
    fn my_rights_invalid_too_many_rights_lines() {
        let response = b"* MYRIGHTS INBOX lrxk\r\n\
            * MYRIGHTS INBOX lrxk\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let acl = session.my_rights("INBOX");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 MYRIGHTS \"INBOX\"\r\n".to_vec(),
            "Invalid myrights command"
        );
        assert!(matches!(acl, Err(Error::Parse(_))));
    }

    #[test]
    fn set_quota() {
        let response = b"* QUOTA my_root (STORAGE 10 500)\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session
            .set_quota(
                "my_root",
                &[QuotaResourceLimit {
                    name: QuotaResourceName::Storage,
                    amount: 500,
                }],
            )
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETQUOTA \"my_root\" (STORAGE 500)\r\n".to_vec(),
            "Invalid setquota command"
        );
        let quota = quota.parsed().as_ref().unwrap();
        assert_eq!(quota.root_name, "my_root");
        assert_eq!(quota.resources.len(), 1);
        assert_quota_resource(&quota.resources[0], QuotaResourceName::Storage, 500, 10);
    }

    #[test]
    fn set_quota_via_quota_resource_limit_new() {
        let response = b"* QUOTA my_root (STORAGE 10 500)\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session
            .set_quota("my_root", &[QuotaResourceLimit::new("STORAGE", 500)])
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETQUOTA \"my_root\" (STORAGE 500)\r\n".to_vec(),
            "Invalid setquota command"
        );
        let quota = quota.parsed().as_ref().unwrap();
        assert_eq!(quota.root_name, "my_root");
        assert_eq!(quota.resources.len(), 1);
        assert_quota_resource(&quota.resources[0], QuotaResourceName::Storage, 500, 10);
    }

    #[test]
    fn set_quota_no_such_quota_root() {
        let response = b"a1 NO no such quota root\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.set_quota(
            "my_root",
            &[QuotaResourceLimit {
                name: QuotaResourceName::Storage,
                amount: 500,
            }],
        );
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETQUOTA \"my_root\" (STORAGE 500)\r\n".to_vec(),
            "Invalid setquota command"
        );
        assert!(matches!(quota, Err(Error::No(_))));
    }

    #[test]
    fn set_quota_invalid_no_quota_lines() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session
            .set_quota(
                "my_root",
                &[QuotaResourceLimit {
                    name: QuotaResourceName::Storage,
                    amount: 500,
                }],
            )
            .unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETQUOTA \"my_root\" (STORAGE 500)\r\n".to_vec(),
            "Invalid setquota command"
        );
        assert_eq!(quota.parsed(), &None);
    }

    #[test]
    fn set_quota_invalid_too_many_quota_lines() {
        let response = b"* QUOTA my_root (STORAGE 10 500)\r\n\
                * QUOTA my_root2 (STORAGE 10 500)\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.set_quota(
            "my_root",
            &[QuotaResourceLimit {
                name: QuotaResourceName::Storage,
                amount: 500,
            }],
        );
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 SETQUOTA \"my_root\" (STORAGE 500)\r\n".to_vec(),
            "Invalid setquota command"
        );
        assert!(matches!(quota, Err(Error::Parse(_))));
    }

    #[test]
    fn get_quota() {
        let response = b"* QUOTA my_root ()\r\n\
            a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.get_quota("my_root").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTA \"my_root\"\r\n".to_vec(),
            "Invalid getquota command"
        );
        let quota = quota.parsed().as_ref().unwrap();
        assert_eq!(quota.root_name, "my_root");
        assert_eq!(quota.resources, vec![]);
    }

    #[test]
    fn get_quota_with_limits() {
        let response = b"* QUOTA my_root (STORAGE 10 500)\r
a1 OK completed\r
"
        .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.get_quota("my_root").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTA \"my_root\"\r\n".to_vec(),
            "Invalid getquota command"
        );
        let quota = quota.parsed().as_ref().unwrap();
        assert_eq!(quota.root_name, "my_root");
        assert_eq!(quota.resources.len(), 1);
        assert_quota_resource(&quota.resources[0], QuotaResourceName::Storage, 500, 10);
    }

    #[test]
    fn get_quota_with_invalid_no_quota_lines() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.get_quota("my_root").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTA \"my_root\"\r\n".to_vec(),
            "Invalid getquota command"
        );
        assert_eq!(quota.parsed(), &None);
    }

    #[test]
    fn get_quota_with_invalid_too_many_quota_lines() {
        let response = b"* QUOTA my_root (STORAGE 10 500)\r\n\
                * QUOTA my_root2 (STORAGE 10 500)\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.get_quota("my_root");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTA \"my_root\"\r\n".to_vec(),
            "Invalid getquota command"
        );
        assert!(matches!(quota, Err(Error::Parse(_))));
    }

    #[test]
    fn get_quota_with_no_such_quota_root() {
        let response = b"a1 NO no such quota root\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota = session.get_quota("my_root");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTA \"my_root\"\r\n".to_vec(),
            "Invalid getquota command"
        );
        assert!(matches!(quota, Err(Error::No(_))));
    }

    #[test]
    fn get_quota_root_with_no_root() {
        let response = b"* QUOTAROOT INBOX\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota_root = session.get_quota_root("INBOX").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTAROOT \"INBOX\"\r\n".to_vec(),
            "Invalid getquotaroot command"
        );
        assert_eq!(quota_root.mailbox_name(), "INBOX");
        assert_eq!(
            quota_root.quota_root_names().collect::<Vec<_>>(),
            Vec::<&str>::new()
        );
        assert_eq!(quota_root.quotas(), vec![]);
    }

    #[test]
    fn get_quota_root_no_such_mailbox() {
        let response = b"a1 NO no such mailboxd\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota_root = session.get_quota_root("INBOX");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTAROOT \"INBOX\"\r\n".to_vec(),
            "Invalid getquotaroot command"
        );
        assert!(matches!(quota_root, Err(Error::No(_))));
    }

    #[test]
    fn get_quota_root_invalid_no_quota_root_lines() {
        let response = b"a1 OK completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota_root = session.get_quota_root("INBOX");
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTAROOT \"INBOX\"\r\n".to_vec(),
            "Invalid getquotaroot command"
        );
        assert!(matches!(quota_root, Err(Error::Parse(_))));
    }

    #[test]
    fn get_quota_root_invalid_too_many_quota_root_lines() {
        let response = b"* QUOTAROOT INBOX\r\n\
                * QUOTAROOT INBOX\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota_root = session.get_quota_root("INBOX");
        println!("Resp: {:?}", quota_root);
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTAROOT \"INBOX\"\r\n".to_vec(),
            "Invalid getquotaroot command"
        );
        assert!(matches!(quota_root, Err(Error::Parse(_))));
    }

    #[test]
    fn get_quota_root_with_root() {
        let response = b"* QUOTAROOT INBOX my_root\r\n\
                * QUOTA my_root (STORAGE 10 500)\r\n\
                a1 OK completed\r\n"
            .to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let quota_root = session.get_quota_root("INBOX").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 GETQUOTAROOT \"INBOX\"\r\n".to_vec(),
            "Invalid getquotaroot command"
        );
        assert_eq!(quota_root.mailbox_name(), "INBOX");
        assert_eq!(
            quota_root.quota_root_names().collect::<Vec<_>>(),
            vec!["my_root"]
        );
        assert_eq!(quota_root.quotas().len(), 1);
        assert_eq!(quota_root.quotas().first().unwrap().root_name, "my_root");
        assert_eq!(
            quota_root.quotas().first().unwrap().resources,
            vec![QuotaResource {
                name: QuotaResourceName::Storage,
                usage: 10,
                limit: 500,
            }]
        );
    }

    #[test]
    fn capability() {
        let response = b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n\
            a1 OK CAPABILITY completed\r\n"
            .to_vec();
        let expected_capabilities = vec![
            Capability::Imap4rev1,
            Capability::Atom(Cow::Borrowed("STARTTLS")),
            Capability::Auth(Cow::Borrowed("GSSAPI")),
            Capability::Atom(Cow::Borrowed("LOGINDISABLED")),
        ];
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        let capabilities = session.capabilities().unwrap();
        assert!(
            session.stream.get_ref().written_buf == b"a1 CAPABILITY\r\n".to_vec(),
            "Invalid capability command"
        );
        assert_eq!(capabilities.len(), 4);
        for e in expected_capabilities {
            assert!(capabilities.has(&e));
        }
    }

    #[test]
    fn create() {
        let response = b"a1 OK CREATE completed\r\n".to_vec();
        let mailbox_name = "INBOX";
        let command = format!("a1 CREATE {}\r\n", quote!(mailbox_name));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.create(mailbox_name).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid create command"
        );
    }

    #[test]
    fn create_validation() {
        assert_validation_error_session(
            |mut session| session.create("INB\nOX"),
            "CREATE",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn delete() {
        let response = b"a1 OK DELETE completed\r\n".to_vec();
        let mailbox_name = "INBOX";
        let command = format!("a1 DELETE {}\r\n", quote!(mailbox_name));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.delete(mailbox_name).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid delete command"
        );
    }

    #[test]
    fn delete_validation() {
        assert_validation_error_session(
            |mut session| session.delete("INB\nOX"),
            "DELETE",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn noop() {
        let response = b"a1 OK NOOP completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.noop().unwrap();
        assert!(
            session.stream.get_ref().written_buf == b"a1 NOOP\r\n".to_vec(),
            "Invalid noop command"
        );
    }

    #[test]
    fn close() {
        let response = b"a1 OK CLOSE completed\r\n".to_vec();
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.close().unwrap();
        assert!(
            session.stream.get_ref().written_buf == b"a1 CLOSE\r\n".to_vec(),
            "Invalid close command"
        );
    }

    #[test]
    fn store() {
        generic_store(" ", |c, set, query| c.store(set, query));
    }

    #[test]
    fn uid_store() {
        generic_store(" UID ", |c, set, query| c.uid_store(set, query));
    }

    fn generic_store<F, T>(prefix: &str, op: F)
    where
        F: FnOnce(&mut Session<MockStream>, &str, &str) -> Result<T>,
    {
        let res = "* 2 FETCH (FLAGS (\\Deleted \\Seen))\r\n\
                   * 3 FETCH (FLAGS (\\Deleted))\r\n\
                   * 4 FETCH (FLAGS (\\Deleted \\Flagged \\Seen))\r\n\
                   a1 OK STORE completed\r\n";

        generic_with_uid(res, "STORE", "2.4", "+FLAGS (\\Deleted)", prefix, op);
    }

    #[test]
    fn copy() {
        generic_copy(" ", |c, set, query| c.copy(set, query))
    }

    #[test]
    fn uid_copy() {
        generic_copy(" UID ", |c, set, query| c.uid_copy(set, query))
    }

    fn generic_copy<F, T>(prefix: &str, op: F)
    where
        F: FnOnce(&mut Session<MockStream>, &str, &str) -> Result<T>,
    {
        generic_with_uid(
            "OK COPY completed\r\n",
            "COPY",
            "2:4",
            "MEETING",
            prefix,
            op,
        );
    }

    #[test]
    fn mv() {
        let response = b"* OK [COPYUID 1511554416 142,399 41:42] Moved UIDs.\r\n\
            * 2 EXPUNGE\r\n\
            * 1 EXPUNGE\r\n\
            a1 OK Move completed\r\n"
            .to_vec();
        let mailbox_name = "MEETING";
        let command = format!("a1 MOVE 1:2 {}\r\n", quote!(mailbox_name));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.mv("1:2", mailbox_name).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid move command"
        );
    }

    #[test]
    fn mv_validation_query() {
        assert_validation_error_session(
            |mut session| session.mv("1:2", "MEE\nTING"),
            "MOVE",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn uid_mv() {
        let response = b"* OK [COPYUID 1511554416 142,399 41:42] Moved UIDs.\r\n\
            * 2 EXPUNGE\r\n\
            * 1 EXPUNGE\r\n\
            a1 OK Move completed\r\n"
            .to_vec();
        let mailbox_name = "MEETING";
        let command = format!("a1 UID MOVE 41:42 {}\r\n", quote!(mailbox_name));
        let mock_stream = MockStream::new(response);
        let mut session = mock_session!(mock_stream);
        session.uid_mv("41:42", mailbox_name).unwrap();
        assert!(
            session.stream.get_ref().written_buf == command.as_bytes().to_vec(),
            "Invalid uid move command"
        );
    }

    #[test]
    fn uid_mv_validation_query() {
        assert_validation_error_session(
            |mut session| session.uid_mv("1:2", "MEE\nTING"),
            "UID MOVE",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn fetch() {
        generic_fetch(" ", |c, seq, query| c.fetch(seq, query))
    }

    #[test]
    fn fetch_validation_seq() {
        assert_validation_error_session(
            |mut session| session.fetch("\r1", "BODY[]"),
            "FETCH",
            "seq",
            '\r',
        )
    }

    #[test]
    fn fetch_validation_query() {
        assert_validation_error_session(
            |mut session| session.fetch("1", "BODY[\n]"),
            "FETCH",
            "query",
            '\n',
        )
    }

    #[test]
    fn uid_fetch() {
        generic_fetch(" UID ", |c, seq, query| c.uid_fetch(seq, query))
    }

    fn generic_fetch<F, T>(prefix: &str, op: F)
    where
        F: FnOnce(&mut Session<MockStream>, &str, &str) -> Result<T>,
    {
        generic_with_uid("OK FETCH completed\r\n", "FETCH", "1", "BODY[]", prefix, op);
    }

    fn generic_with_uid<F, T>(res: &str, cmd: &str, seq: &str, query: &str, prefix: &str, op: F)
    where
        F: FnOnce(&mut Session<MockStream>, &str, &str) -> Result<T>,
    {
        let resp = format!("a1 {}\r\n", res).as_bytes().to_vec();
        let line = format!("a1{}{} {} {}\r\n", prefix, cmd, seq, query);
        let mut session = mock_session!(MockStream::new(resp));
        let _ = op(&mut session, seq, query);
        assert!(
            session.stream.get_ref().written_buf == line.as_bytes().to_vec(),
            "Invalid command"
        );
    }

    #[test]
    fn pipelined_uid_fetches_are_sent_before_their_answers_are_read() {
        let response = "* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n\
                        * 2 FETCH (UID 8 BODY[] {2}\r\nde)\r\n\
                        a1 OK FETCH completed\r\n\
                        * 3 FETCH (UID 9 BODY[] {1}\r\nf)\r\n\
                        a2 OK FETCH completed\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7:8", "BODY.PEEK[]").unwrap();
        let second = session.uid_fetch_send("9", "BODY.PEEK[]").unwrap();
        assert_eq!((first.tag(), second.tag()), (Some(1), Some(2)));
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 UID FETCH 7:8 BODY.PEEK[]\r\na2 UID FETCH 9 BODY.PEEK[]\r\n".to_vec()
        );
        let got = session.fetch_receive(first).unwrap();
        let bodies: Vec<_> = got.iter().map(|f| (f.uid, f.body().map(<[u8]>::to_vec))).collect();
        assert_eq!(
            bodies,
            vec![(Some(7), Some(b"abc".to_vec())), (Some(8), Some(b"de".to_vec()))]
        );
        let got = session.fetch_receive(second).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got.get(0).and_then(|f| f.body()), Some(&b"f"[..]));
        // The session goes on with the next tag.
        assert_eq!(session.tag, 2);
    }

    #[test]
    fn pipelined_answers_read_out_of_order_are_a_tag_mismatch() {
        let response = "* 1 FETCH (UID 7 FLAGS ())\r\na1 OK done\r\na2 OK done\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7", "FLAGS").unwrap();
        let second = session.uid_fetch_send("8", "FLAGS").unwrap();
        match session.fetch_receive(second) {
            Err(Error::TagMismatch(TagMismatch { expect: 2, actual: Ok(1) })) => {}
            Err(other) => panic!("expected a tag mismatch, got {other:?}"),
            Ok(_) => panic!("expected a tag mismatch, got an answer"),
        }
        drop(first);
    }

    #[test]
    fn pipelined_answers_may_interleave_and_complete_out_of_order() {
        // Dovecot runs pipelined FETCHes concurrently: the second command's data (and here
        // its completion) arrives before the first one's completion.
        let response = "* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n\
                        * 2 FETCH (UID 8 BODY[] {2}\r\nde)\r\n\
                        a2 OK second done\r\n\
                        a1 OK first done\r\n\
                        * 3 FETCH (UID 9 FLAGS ())\r\n\
                        a3 NO [SERVERBUG] third\r\n\
                        a4 OK fourth\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7", "BODY.PEEK[]").unwrap();
        let second = session.uid_fetch_send("8", "BODY.PEEK[]").unwrap();
        let got = session.fetch_receive(first).unwrap();
        let uids: Vec<_> = got.iter().map(|f| f.uid).collect();
        assert_eq!(uids, vec![Some(7), Some(8)]);
        let got = session.fetch_receive(second).unwrap();
        assert_eq!(got.len(), 0);
        // A later command's failure is its own, reported when its answer is read.
        let third = session.uid_fetch_send("9", "FLAGS").unwrap();
        let fourth = session.uid_fetch_send("10", "FLAGS").unwrap();
        assert!(matches!(session.fetch_receive(third), Err(Error::No(_))));
        assert_eq!(session.fetch_receive(fourth).unwrap().len(), 0);
    }

    #[test]
    fn a_later_command_failing_first_is_reported_with_that_command() {
        let response = "a2 NO [SERVERBUG] second failed\r\n* 1 FETCH (UID 7 FLAGS ())\r\na1 OK first\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7", "FLAGS").unwrap();
        let second = session.uid_fetch_send("8", "FLAGS").unwrap();
        assert_eq!(session.fetch_receive(first).unwrap().len(), 1);
        assert!(matches!(session.fetch_receive(second), Err(Error::No(_))));
    }

    #[test]
    fn a_completion_for_a_tag_never_sent_is_still_a_mismatch() {
        let response = "a5 OK what\r\na1 OK first\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7", "FLAGS").unwrap();
        assert!(matches!(
            session.fetch_receive(first),
            Err(Error::TagMismatch(TagMismatch { expect: 1, actual: Ok(5) }))
        ));
    }

    #[test]
    fn an_answer_read_in_parts_pauses_between_responses_only() {
        // Dovecot's way: the second command's data comes before the first one's completion,
        // which is held back until the server has nothing else to run.
        let response = "* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n\
                        * 2 FETCH (UID 8 BODY[] {2}\r\nde)\r\n\
                        * 3 FETCH (UID 9 BODY[] {1}\r\nf)\r\n\
                        a1 OK first done\r\n\
                        a2 OK second done\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7:8", "BODY.PEEK[]").unwrap();
        let second = session.uid_fetch_send("9", "BODY.PEEK[]").unwrap();
        let uids = |f: &Fetches| f.iter().map(|f| f.uid).collect::<Vec<_>>();
        // One byte is enough: each part ends after the first whole response (literal and all).
        let (part, done) = session.fetch_receive_part(&first, 1).unwrap();
        assert_eq!((uids(&part), done), (vec![Some(7)], false));
        assert_eq!(part.get(0).and_then(|f| f.body()), Some(&b"abc"[..]));
        // A command can be sent between the parts.
        let third = session.uid_fetch_send("10", "FLAGS").unwrap();
        assert!(session
            .stream
            .get_ref()
            .written_buf
            .ends_with(b"a3 UID FETCH 10 FLAGS\r\n"));
        let (part, done) = session.fetch_receive_part(&first, 1).unwrap();
        assert_eq!((uids(&part), done), (vec![Some(8)], false));
        // The second command's data comes while the first one's answer is read.
        let (part, done) = session.fetch_receive_part(&first, 1).unwrap();
        assert_eq!((uids(&part), done), (vec![Some(9)], false));
        let (part, done) = session.fetch_receive_part(&first, 1).unwrap();
        assert_eq!((part.len(), done), (0, true));
        // Its completion came: the second is complete without reading more.
        let (part, done) = session.fetch_receive_part(&second, 1 << 20).unwrap();
        assert_eq!((part.len(), done), (0, true));
        drop(third);
    }

    #[test]
    fn a_part_read_into_a_given_buffer_keeps_its_bytes_there() {
        let body = vec![b'm'; 5000];
        let mut response = b"* 1 FETCH (UID 7 BODY[] {5000}\r\n".to_vec();
        response.extend_from_slice(&body);
        response.extend_from_slice(b")\r\n* 2 FETCH (UID 8 BODY[] {5000}\r\n");
        response.extend_from_slice(&body);
        response.extend_from_slice(b")\r\na1 OK done\r\n");
        let mut session = mock_session!(MockStream::new(response));
        let first = session.uid_fetch_send("7", "BODY.PEEK[]").unwrap();
        // Room for the response: the part stays in the buffer given, which comes back whole.
        let mut buffer = Vec::with_capacity(6000);
        buffer.extend_from_slice(b"old bytes are dropped");
        let address = buffer.as_ptr();
        let (part, done) = session.fetch_receive_part_into(&first, 1, buffer).unwrap();
        assert!(!done);
        let offset = {
            let body_read = part.get(0).and_then(|f| f.body()).unwrap();
            assert_eq!(body_read, &body[..]);
            assert_eq!(part.buffer().as_ptr(), address);
            body_read.as_ptr() as usize - address as usize
        };
        let buffer = part.into_buffer();
        assert_eq!(buffer.as_ptr(), address);
        assert_eq!(&buffer[offset..offset + 5000], &body[..]);
        assert!(buffer.starts_with(b"* 1 FETCH (UID 7 BODY[] {5000}\r\n"));
        // Too small a buffer grows: the part is whole all the same.
        let (part, done) = session
            .fetch_receive_part_into(&first, 1, Vec::with_capacity(8))
            .unwrap();
        assert!(!done);
        assert_eq!(part.get(0).and_then(|f| f.uid), Some(8));
        assert_eq!(part.get(0).and_then(|f| f.body()), Some(&body[..]));
        let (part, done) = session.fetch_receive_part_into(&first, 1, Vec::new()).unwrap();
        assert_eq!((part.len(), done), (0, true));
    }

    #[test]
    fn an_answer_read_in_parts_of_many_bytes_comes_whole() {
        let response = "* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n\
                        * 2 FETCH (UID 8 BODY[] {2}\r\nde)\r\n\
                        a1 NO [SERVERBUG] half done\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("7:8", "BODY.PEEK[]").unwrap();
        // The completion comes before the part is full: its failure is the answer.
        assert!(matches!(
            session.fetch_receive_part(&first, 1 << 20),
            Err(Error::No(_))
        ));
        let nothing = session.uid_fetch_send("", "BODY[]").unwrap();
        let (part, done) = session.fetch_receive_part(&nothing, 1).unwrap();
        assert_eq!((part.len(), done), (0, true));
    }

    #[test]
    fn pipelined_fetch_by_sequence_numbers() {
        let response = "* 1 FETCH (UID 7 RFC822.SIZE 3)\r\na1 OK done\r\n\
                        * 2 FETCH (UID 9 RFC822.SIZE 4)\r\na2 OK done\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.fetch_send("1", "(UID RFC822.SIZE)").unwrap();
        let second = session.fetch_send("2:*", "(UID RFC822.SIZE)").unwrap();
        assert_eq!(
            session.stream.get_ref().written_buf,
            b"a1 FETCH 1 (UID RFC822.SIZE)\r\na2 FETCH 2:* (UID RFC822.SIZE)\r\n".to_vec()
        );
        assert_eq!(session.fetch_receive(first).unwrap().get(0).and_then(|f| f.uid), Some(7));
        assert_eq!(session.fetch_receive(second).unwrap().get(0).and_then(|f| f.uid), Some(9));
    }

    #[test]
    fn pipelined_fetch_of_an_empty_set_sends_nothing() {
        let mut session = mock_session!(MockStream::new(Vec::new()));
        let pending = session.uid_fetch_send("", "BODY[]").unwrap();
        assert_eq!(pending.tag(), None);
        assert!(session.stream.get_ref().written_buf.is_empty());
        assert_eq!(session.fetch_receive(pending).unwrap().len(), 0);
    }

    #[test]
    fn pipelined_fetch_validates_its_arguments() {
        assert_validation_error_session(
            |mut session| session.uid_fetch_send("1\r\na9 DELETE INBOX", "BODY[]"),
            "UID FETCH",
            "seq",
            '\r',
        );
    }

    #[test]
    fn pipelined_fetch_answered_no_is_an_error_for_that_command() {
        let response = "a1 NO [EXPUNGEISSUED] gone\r\n* 1 FETCH (UID 9 FLAGS ())\r\na2 OK done\r\n";
        let mut session = mock_session!(MockStream::new(response.as_bytes().to_vec()));
        let first = session.uid_fetch_send("8", "FLAGS").unwrap();
        let second = session.uid_fetch_send("9", "FLAGS").unwrap();
        assert!(matches!(session.fetch_receive(first), Err(Error::No(_))));
        assert_eq!(session.fetch_receive(second).unwrap().len(), 1);
    }

    #[test]
    fn uid_fetch_validation_seq() {
        assert_validation_error_session(
            |mut session| session.uid_fetch("\r1", "BODY[]"),
            "UID FETCH",
            "seq",
            '\r',
        )
    }

    #[test]
    fn uid_fetch_validation_query() {
        assert_validation_error_session(
            |mut session| session.uid_fetch("1", "BODY[\n]"),
            "UID FETCH",
            "query",
            '\n',
        )
    }

    #[test]
    fn status_validation_mailbox() {
        assert_validation_error_session(
            |mut session| session.status("IN\nBOX", "(MESSAGES)"),
            "STATUS",
            "mailbox",
            '\n',
        )
    }

    #[test]
    fn quote_backslash() {
        assert_eq!("\"test\\\\text\"", quote!(r"test\text"));
    }

    #[test]
    fn quote_dquote() {
        assert_eq!("\"test\\\"text\"", quote!("test\"text"));
    }

    #[test]
    fn validate_random() {
        assert_eq!(
            "\"~iCQ_k;>[&\\\"sVCvUW`e<<P!wJ\"",
            &validate_str("COMMAND", "arg1", "~iCQ_k;>[&\"sVCvUW`e<<P!wJ").unwrap()
        );
    }

    #[test]
    fn validate_newline() {
        if let Err(ref e) = validate_str("COMMAND", "arg1", "test\nstring") {
            if let &Error::Validate(ref ve) = e {
                if ve.offending_char == '\n' {
                    return;
                }
            }
            panic!("Wrong error: {:?}", e);
        }
        panic!("No error");
    }

    #[test]
    #[allow(unreachable_patterns)]
    fn validate_carriage_return() {
        if let Err(ref e) = validate_str("COMMAND", "arg1", "test\rstring") {
            if let &Error::Validate(ref ve) = e {
                if ve.offending_char == '\r' {
                    return;
                }
            }
            panic!("Wrong error: {:?}", e);
        }
        panic!("No error");
    }
}

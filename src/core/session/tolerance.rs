//! Tolerance of answers outside the grammar: what becomes of the untagged responses that the
//! imap crate skipped because they did not parse (docs/reliability.md, "Tolerance").
//!
//! The crate reads such a response to its end (a line, or a line and the literals it
//! announces) and leaves it out of the answer, so the stream stays in step and the command
//! completes. Here, after each exchange, each one is noted in the protocol trace, and the
//! command fails with [`Error::Protocol`] when one of them was the very answer it asked for
//! (the `* 1 FETCH` of a FETCH, the `* LIST` of a LIST, ...): the caller then learns that the
//! answer is incomplete instead of getting less than the server sent. The session stays usable
//! in both cases: the stream is intact.
//!
//! One answer is salvaged instead ([`status_attributes`]): a one-line `* STATUS <name>
//! (<attributes>)` whose folder name does not parse (GNU Mailutils imap4d writes names with
//! spaces or parentheses unquoted). imapmail asks STATUS about one folder at a time, so the
//! last parenthesised group of such a line is that folder's attributes.

use imap_proto::{MailboxDatum, Response, StatusAttribute};

use super::Session;
use crate::core::error::{Error, Result};
use crate::core::trace::{Direction, Tracer};

/// Longest part of a skipped response shown in a trace note or an error message.
pub const EXCERPT_MAX: usize = 200;

/// The untagged responses skipped during one exchange (as `Connection::take_skipped` gives
/// them: the first 64, each cut to 1,024 bytes, and how many more).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub responses: Vec<Vec<u8>>,
    pub more: usize,
}

impl Skipped {
    pub fn new((responses, more): (Vec<Vec<u8>>, usize)) -> Skipped {
        Skipped { responses, more }
    }

    /// Notes each skipped response in the trace (the response itself was traced as it came).
    pub fn trace(&self, tracer: &Tracer) {
        if !tracer.is_active() {
            return;
        }
        for r in &self.responses {
            let note = format!("[skipped: a response that does not parse, {}]", excerpt(r));
            tracer.emit(Direction::Received, note.as_bytes());
        }
        if self.more > 0 {
            let note = format!("[skipped: {} more responses that do not parse]", self.more);
            tracer.emit(Direction::Received, note.as_bytes());
        }
    }

    /// The failure of the command `what` (the context of the exchange, "UID FETCH", "SELECT
    /// INBOX", "listing (UID FETCH)", ...) when a skipped response was its own answer; `None`
    /// when none was (the command's answer is whole).
    pub fn verdict(&self, what: &str) -> Option<Error> {
        let needed = needed_keywords(command_verb(what)?);
        if needed.is_empty() {
            return None;
        }
        if let Some(r) = self
            .responses
            .iter()
            .find(|r| response_keyword(r).is_some_and(|k| needed.contains(&k.as_str())))
        {
            return Some(Error::Protocol(format!(
                "unparseable server response: {} (skipped; the stream is intact)",
                excerpt(r)
            )));
        }
        // Responses beyond those kept cannot be told apart: the answer may lack something.
        (self.more > 0).then(|| {
            Error::Protocol(format!(
                "unparseable server responses: {} and {} more were skipped (the stream is intact)",
                self.responses.len(),
                self.more
            ))
        })
    }
}

impl Skipped {
    /// Takes out the STATUS responses that [`status_attributes`] salvages: each line and its
    /// attributes. The others stay (and a STATUS among them still fails the command).
    pub fn take_status(&mut self) -> Vec<(Vec<u8>, Vec<StatusAttribute>)> {
        let mut salvaged = Vec::new();
        self.responses.retain(|r| match status_attributes(r) {
            Some(attributes) => {
                salvaged.push((r.clone(), attributes));
                false
            }
            None => true,
        });
        salvaged
    }
}

/// The attributes of a skipped `* STATUS <name> (<attributes>)` response, one line, whose
/// folder name does not parse (`* STATUS Entr&AOk-e (renamed) (MESSAGES 1 UNSEEN 1)`, from GNU
/// Mailutils imap4d): the last parenthesised group, parsed by imap-proto as the attributes of
/// `* STATUS "x" (<attributes>)`. `None` for anything else: another response, literals, an
/// empty or garbled attribute list, text after it.
pub fn status_attributes(response: &[u8]) -> Option<Vec<StatusAttribute>> {
    let line = response.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        return None;
    }
    const PREFIX: &[u8] = b"* STATUS ";
    let head = line.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let body = line[PREFIX.len()..].strip_suffix(b")")?;
    let open = body.iter().rposition(|&b| b == b'(')?;
    let (name, attributes) = (&body[..open], &body[open + 1..]);
    let named = name
        .strip_suffix(b" ")
        .is_some_and(|n| n.iter().any(|b| !b.is_ascii_whitespace()));
    if !named || attributes.is_empty() || attributes.contains(&b')') {
        return None;
    }
    let rebuilt = [&b"* STATUS \"x\" ("[..], attributes, b")\r\n"].concat();
    match imap_proto::parser::parse_response(&rebuilt) {
        Ok((rest, Response::MailboxData(MailboxDatum::Status { status, .. })))
            if rest.is_empty() && !status.is_empty() =>
        {
            Some(status)
        }
        _ => None,
    }
}

/// The verb of the command an exchange's context names: its first upper-case word, `UID`
/// left out ("UID FETCH" -> FETCH, "listing (UID FETCH)" -> FETCH, "SELECT INBOX" -> SELECT).
pub fn command_verb(what: &str) -> Option<&str> {
    what.split_ascii_whitespace()
        .take(3)
        .map(|w| w.trim_matches(|c| c == '(' || c == ')' || c == ':'))
        .filter(|w| w.len() > 1 && w.bytes().all(|b| b.is_ascii_uppercase()))
        .find(|w| *w != "UID")
}

/// The untagged responses a command asks for: its answer is incomplete without them.
pub fn needed_keywords(verb: &str) -> &'static [&'static str] {
    match verb {
        "FETCH" => &["FETCH"],
        "SELECT" | "EXAMINE" => &["FLAGS", "EXISTS"],
        "LIST" => &["LIST"],
        "LSUB" => &["LSUB"],
        "STATUS" => &["STATUS"],
        "SEARCH" => &["SEARCH", "ESEARCH"],
        "SORT" => &["SORT", "ESEARCH"],
        "CAPABILITY" => &["CAPABILITY"],
        "NAMESPACE" => &["NAMESPACE"],
        _ => &[],
    }
}

/// The keyword of an untagged response, upper case: the word after `*` and after the message
/// number if there is one (`* 9 EXPUNGED` -> EXPUNGED, `* LIST (...)` -> LIST).
pub fn response_keyword(response: &[u8]) -> Option<String> {
    let rest = response.strip_prefix(b"* ")?;
    let mut words = rest
        .split(|&b| matches!(b, b' ' | b'\r' | b'\n' | b'(' | b'{'))
        .filter(|w| !w.is_empty());
    let mut word = words.next()?;
    if word.iter().all(u8::is_ascii_digit) {
        word = words.next()?;
    }
    Some(String::from_utf8_lossy(word).to_ascii_uppercase())
}

/// The first line of a response, at most [`EXCERPT_MAX`] bytes, for people.
fn excerpt(response: &[u8]) -> String {
    let line = response.split(|&b| b == b'\n').next().unwrap_or(response);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let cut = line.len().min(EXCERPT_MAX);
    let mut text = format!("{:?}", String::from_utf8_lossy(&line[..cut]));
    if cut < line.len() || line.len() < response.len().saturating_sub(2) {
        text.push_str(" ...");
    }
    text
}

impl Session {
    /// Ends an exchange: notes the responses skipped during it in the trace, marks the session
    /// broken when the error says the connection cannot be trusted any more, and fails the
    /// command (without breaking the session) when a skipped response was its own answer.
    pub(super) fn conclude<T>(&mut self, result: Result<T>, what: &str) -> Result<T> {
        let skipped = match self.imap.as_mut() {
            Some(imap) => Skipped::new(imap.take_skipped()),
            None => Skipped::default(),
        };
        skipped.trace(&self.trace);
        self.after_exchange(result.as_ref().err());
        match (result, skipped.verdict(what)) {
            (Ok(_), Some(e)) => Err(e.context(what)),
            (result, _) => result,
        }
    }
}

/// An answer as `imap.run` gives it: the bytes, and where the tagged completion starts.
pub(super) type RawAnswer = (Vec<u8>, usize);

impl Session {
    /// Runs the STATUS command `cmd` (as [`Session::run`] runs `imap.run(cmd)`, giving the
    /// answer and where its tagged completion starts), and salvages the STATUS responses
    /// skipped in it with [`status_attributes`]: their attributes come back with the answer, and
    /// a trace note says so. Any other skipped response is noted and judged as by
    /// [`Session::conclude`].
    pub(super) fn run_status(
        &mut self,
        cmd: &str,
        what: &str,
    ) -> Result<(RawAnswer, Vec<Vec<StatusAttribute>>)> {
        let (answer, taken) = self.run(
            |imap| {
                let answer = imap.run(cmd)?;
                Ok((answer, imap.take_skipped()))
            },
            what,
        )?;
        let mut skipped = Skipped::new(taken);
        let salvaged = skipped.take_status();
        skipped.trace(&self.trace);
        if self.trace.is_active() {
            for (r, _) in &salvaged {
                let note = format!(
                    "[read as the STATUS asked for: a response whose folder name does not parse, {}]",
                    excerpt(r)
                );
                self.trace.emit(Direction::Received, note.as_bytes());
            }
        }
        if let Some(e) = skipped.verdict(what) {
            return Err(e.context(what));
        }
        Ok((answer, salvaged.into_iter().map(|(_, a)| a).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_of_the_contexts_imapmail_uses() {
        for (what, verb) in [
            ("UID FETCH", Some("FETCH")),
            ("listing (UID FETCH)", Some("FETCH")),
            ("SELECT INBOX", Some("SELECT")),
            ("EXAMINE \"Sent\"", Some("EXAMINE")),
            ("UID STORE \\Seen", Some("STORE")),
            ("UID EXPUNGE 7", Some("EXPUNGE")),
            ("APPEND to Drafts", Some("APPEND")),
            ("CAPABILITY", Some("CAPABILITY")),
            ("reading the greeting", None),
        ] {
            assert_eq!(command_verb(what), verb, "{what}");
        }
    }

    #[test]
    fn keywords_of_responses() {
        for (r, k) in [
            (&b"* 9 EXPUNGED\r\n"[..], Some("EXPUNGED")),
            (b"* FOO {5}\r\nhello\r\n", Some("FOO")),
            (b"* 1 FETCH (UID 7 GARBAGE)\r\n", Some("FETCH")),
            (b"* list (\\Noselect) \"/\" x\n", Some("LIST")),
            (b"* 12\r\n", None),
            (b"a1 OK\r\n", None),
        ] {
            assert_eq!(response_keyword(r).as_deref(), k, "{r:?}");
        }
    }

    #[test]
    fn only_the_answer_a_command_asks_for_fails_it() {
        let skipped = |r: &[u8]| Skipped::new((vec![r.to_vec()], 0));
        // GNU Mailutils imap4d's answer to EXPUNGE: not what EXPUNGE (or a FETCH) needs.
        let expunged = skipped(b"* 9 EXPUNGED\r\n");
        assert_eq!(expunged.verdict("EXPUNGE"), None);
        assert_eq!(expunged.verdict("UID FETCH"), None);
        // A FETCH response that does not parse, in the answer to a FETCH: the answer lacks it.
        let fetch = skipped(b"* 1 FETCH (UID 7 BODY[] {3}\r\nabc GARBAGE)\r\n");
        assert!(
            matches!(fetch.verdict("UID FETCH"), Some(Error::Protocol(m)) if m.contains("* 1 FETCH (UID 7 BODY[] {3}"))
        );
        assert!(matches!(
            fetch.verdict("listing (UID FETCH)"),
            Some(Error::Protocol(_))
        ));
        assert_eq!(fetch.verdict("NOOP"), None);
        assert_eq!(fetch.verdict("UID STORE \\Seen"), None);
        let list = skipped(b"* LIST (\\HasNoChildren \"/\" broken\r\n");
        assert!(list.verdict("LIST \"\" *").is_some());
        assert_eq!(list.verdict("SELECT INBOX"), None);
        assert!(skipped(b"* 3 EXISTS garbage\r\n")
            .verdict("SELECT INBOX")
            .is_some());
        // Beyond the responses kept, nothing can be told: a command that needs an answer fails.
        let many = Skipped::new((vec![b"* X\r\n".to_vec()], 3));
        assert!(many.verdict("UID FETCH").is_some());
        assert_eq!(many.verdict("EXPUNGE"), None);
        assert_eq!(Skipped::default().verdict("UID FETCH"), None);
    }

    #[test]
    fn notes_show_the_first_line_only() {
        assert_eq!(excerpt(b"* 9 EXPUNGED\r\n"), "\"* 9 EXPUNGED\"");
        assert_eq!(excerpt(b"* FOO {5}\r\nhello\r\n"), "\"* FOO {5}\" ...");
        let long = [b"* X ".as_slice(), &[b'y'; 500], b"\r\n"].concat();
        assert!(excerpt(&long).ends_with(" ..."));
        assert!(excerpt(&long).len() < EXCERPT_MAX + 10);
    }

    #[test]
    fn a_status_line_whose_folder_name_does_not_parse() {
        use StatusAttribute as A;
        let imap4d =
            b"* STATUS Entr&AOk-e (renamed) (MESSAGES 1 UNSEEN 1 UIDNEXT 6 UIDVALIDITY 9)\r\n";
        assert!(imap_proto::parser::parse_response(imap4d).is_err());
        assert_eq!(
            status_attributes(imap4d),
            Some(vec![
                A::Messages(1),
                A::Unseen(1),
                A::UidNext(6),
                A::UidValidity(9)
            ])
        );
        assert_eq!(
            status_attributes(b"* status a (b) c (MESSAGES 4)\n"),
            Some(vec![A::Messages(4)])
        );
        for r in [
            &b"* STATUS x (MESSAGES one)\r\n"[..],
            b"* STATUS x (MESSAGES 1 GARBAGE 2)\r\n",
            b"* STATUS x (MESSAGES 1\r\n",
            b"* STATUS x (MESSAGES 1) trailing\r\n",
            b"* STATUS x ()\r\n",
            b"* STATUS (MESSAGES 1)\r\n",
            b"* STATUS  (MESSAGES 1)\r\n",
            b"* STATUS x (MESSAGES 1))\r\n",
            b"* STATUS {3}\r\nx y (MESSAGES 1)\r\n",
            b"* STATUS x (MESSAGES 1)",
            b"* LIST x (MESSAGES 1)\r\n",
            b"* 1 FETCH (UID 7)\r\n",
        ] {
            assert_eq!(
                status_attributes(r),
                None,
                "{:?}",
                String::from_utf8_lossy(r)
            );
        }
        let mut skipped = Skipped::new((
            vec![
                b"* 9 EXPUNGED\r\n".to_vec(),
                imap4d.to_vec(),
                b"* STATUS x (MESSAGES x)\r\n".to_vec(),
            ],
            0,
        ));
        let salvaged = skipped.take_status();
        assert_eq!(salvaged.len(), 1);
        assert_eq!(salvaged[0].0, imap4d.to_vec());
        // The garbled one stays, and still fails the STATUS.
        assert_eq!(skipped.responses.len(), 2);
        assert!(skipped.verdict("STATUS x").is_some());
    }
}

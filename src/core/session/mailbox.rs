//! Managing folders and messages: listing, creating, deleting, renaming and subscribing
//! folders, STATUS, flags and keywords, deleting and expunging, copying and moving, appending,
//! and waiting for new mail (IDLE, or NOOP polling).
//!
//! Commands whose answer the imap crate does not return in full (COPYUID in an untagged OK,
//! FETCH answers of STORE, LIST names with escapes) are sent raw through [`Session::command`]
//! and their answers parsed here with imap-proto.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use imap_proto::{
    AttributeValue, MailboxDatum, NameAttribute, Response, ResponseCode, StatusAttribute,
    UidSetMember,
};

use super::Session;
use crate::core::connection::{Socket, Transport};
use crate::core::error::{Error, Result};
use crate::core::message::flags;
use crate::core::mutf7;
use crate::core::reader::uid_set;
use crate::core::search::{
    check_flags, check_folder, check_keyword, flag_names, folder_arg, folder_arg_unquoted,
};

/// Attribute bits of a folder (the C API uses the same values, `EMAIL_FOLDER_*`).
pub mod folder_flags {
    /// \Noselect (or \NonExistent): the name exists only as a level of the hierarchy.
    pub const NOSELECT: u32 = 0x1;
    /// \Noinferiors: no child folder can be created under it.
    pub const NOINFERIORS: u32 = 0x2;
    /// \HasChildren.
    pub const HAS_CHILDREN: u32 = 0x4;
    /// \HasNoChildren.
    pub const HAS_NO_CHILDREN: u32 = 0x8;
    /// \Marked: probably has new messages.
    pub const MARKED: u32 = 0x10;
    /// \Unmarked.
    pub const UNMARKED: u32 = 0x20;
    /// \NonExistent (LIST-EXTENDED).
    pub const NONEXISTENT: u32 = 0x40;
    /// \Subscribed (LIST-EXTENDED).
    pub const SUBSCRIBED: u32 = 0x80;
    /// The inbox (the folder named INBOX, or XLIST's \Inbox).
    pub const INBOX: u32 = 0x100;
    /// Special use \All (XLIST \AllMail): every message.
    pub const ALL: u32 = 0x200;
    /// Special use \Archive.
    pub const ARCHIVE: u32 = 0x400;
    /// Special use \Drafts.
    pub const DRAFTS: u32 = 0x800;
    /// Special use \Flagged (XLIST \Starred).
    pub const FLAGGED: u32 = 0x1000;
    /// Special use \Junk (XLIST \Spam).
    pub const JUNK: u32 = 0x2000;
    /// Special use \Sent.
    pub const SENT: u32 = 0x4000;
    /// Special use \Trash.
    pub const TRASH: u32 = 0x8000;
    /// \Important (RFC 8457, XLIST).
    pub const IMPORTANT: u32 = 0x10000;
}

/// A folder as listed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The full name, decoded from modified UTF-7 to UTF-8.
    pub name: String,
    /// The hierarchy delimiter (usually "/" or "."); None when the server has no hierarchy.
    pub delimiter: Option<String>,
    /// `folder_flags` bits.
    pub attributes: u32,
    /// The attributes as the server wrote them, separated by spaces (e.g. `\HasNoChildren \Sent`).
    pub attribute_text: String,
}

/// The counters of a folder (STATUS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FolderStatus {
    pub messages: u32,
    pub unseen: u32,
    pub uid_next: u32,
    pub uid_validity: u32,
}

impl FolderStatus {
    fn from_attributes(status: &[StatusAttribute]) -> FolderStatus {
        let mut s = FolderStatus::default();
        for a in status {
            match *a {
                StatusAttribute::Messages(n) => s.messages = n,
                StatusAttribute::Unseen(n) => s.unseen = n,
                StatusAttribute::UidNext(n) => s.uid_next = n,
                StatusAttribute::UidValidity(n) => s.uid_validity = n,
                _ => {}
            }
        }
        s
    }
}

/// The longest a single IDLE runs before it is ended and re-issued (RFC 2177 asks for less
/// than 29 minutes; a short round also bounds how late a timeout can be when the server sends
/// keep-alive lines, which restart the socket's read timeout).
const IDLE_ROUND: Duration = Duration::from_secs(30);
/// Interval of NOOP polling on servers without IDLE.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// UIDs per STORE or EXPUNGE command (keeps command lines short).
const UIDS_PER_COMMAND: usize = 500;

/// The answer to a command sent raw: the untagged responses, then the tagged completion.
pub(super) struct Reply {
    data: Vec<u8>,
    done: usize,
}

impl Reply {
    /// The untagged responses, parsed (a line that does not parse is skipped; the imap crate
    /// already refused answers it could not parse).
    pub(super) fn untagged(&self) -> Vec<Response<'_>> {
        parse_all(self.data.get(..self.done).unwrap_or(&self.data))
    }

    /// The response code of the tagged completion (`a1 OK [COPYUID ...] ...`).
    fn done_code(&self) -> Option<ResponseCode<'_>> {
        let tail = self.data.get(self.done..)?;
        match imap_proto::parser::parse_response(tail) {
            Ok((_, Response::Done { code, .. })) => code,
            _ => None,
        }
    }

    /// Every response code of the answer: those of untagged OK/NO lines, then the tagged one.
    fn codes(&self) -> Vec<ResponseCode<'_>> {
        let mut out: Vec<ResponseCode<'_>> = self
            .untagged()
            .into_iter()
            .filter_map(|r| match r {
                Response::Data { code, .. } => code,
                _ => None,
            })
            .collect();
        out.extend(self.done_code());
        out
    }

    /// The UID the server gave the copy of `uid` (COPYUID, RFC 4315), from an untagged OK (as
    /// MOVE answers, and Exchange for COPY) or from the tagged OK.
    fn copy_uid(&self, uid: u32) -> Option<u32> {
        self.codes().iter().find_map(|c| match c {
            ResponseCode::CopyUid(_, from, to) => {
                let index = position_in_set(from, uid)?;
                nth_in_set(to, index)
            }
            _ => None,
        })
    }

    /// True when the answer reports a message gone (EXPUNGE or VANISHED).
    fn expunged_any(&self) -> bool {
        self.untagged().iter().any(|r| {
            matches!(
                r,
                Response::Expunge(_) | Response::Vanished { earlier: false, .. }
            )
        })
    }

    /// Messages reported gone (EXPUNGE lines and VANISHED ranges).
    fn expunged_count(&self) -> u32 {
        self.untagged()
            .iter()
            .map(|r| match r {
                Response::Expunge(_) => 1,
                Response::Vanished {
                    earlier: false,
                    uids,
                } => uids.iter().map(range_len).fold(0u32, u32::saturating_add),
                _ => 0,
            })
            .fold(0u32, u32::saturating_add)
    }

    /// True when a FETCH in the answer names `uid` (a STORE reports the new flags so).
    fn fetched_uid(&self, uid: u32) -> bool {
        self.untagged().iter().any(|r| match r {
            Response::Fetch(_, attrs) => attrs
                .iter()
                .any(|a| matches!(a, AttributeValue::Uid(u) if *u == uid)),
            _ => false,
        })
    }

    /// The UIDs of `* SEARCH` lines.
    pub(super) fn search_uids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for r in self.untagged() {
            if let Response::MailboxData(MailboxDatum::Search(uids)) = r {
                out.extend(uids);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// A string of the answer as the server sent it: quoted strings are unescaped (imap-proto
    /// keeps the backslashes), atoms and literals are taken as they are.
    fn unquote(&self, s: &str) -> String {
        let base = self.data.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        let quoted = at > base && at <= base + self.data.len() && self.data[at - base - 1] == b'"';
        if quoted {
            unescape(s)
        } else {
            s.to_string()
        }
    }
}

fn range_len(r: &std::ops::RangeInclusive<u32>) -> u32 {
    r.end().saturating_sub(*r.start()).saturating_add(1)
}

fn parse_all(mut rest: &[u8]) -> Vec<Response<'_>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        match imap_proto::parser::parse_response(rest) {
            Ok((next, response)) => {
                out.push(response);
                rest = next;
            }
            Err(_) => match rest.iter().position(|&b| b == b'\n') {
                Some(i) => rest = &rest[i + 1..],
                None => break,
            },
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The index of `uid` in a UID set as the server listed it (COPYUID keeps the order).
fn position_in_set(set: &[UidSetMember], uid: u32) -> Option<u64> {
    let mut index = 0u64;
    for m in set {
        match m {
            UidSetMember::Uid(u) => {
                if *u == uid {
                    return Some(index);
                }
                index += 1;
            }
            UidSetMember::UidRange(r) => {
                let (lo, hi) = if r.start() <= r.end() {
                    (*r.start(), *r.end())
                } else {
                    (*r.end(), *r.start())
                };
                if (lo..=hi).contains(&uid) {
                    return Some(index + u64::from(uid - lo));
                }
                index += u64::from(hi - lo) + 1;
            }
        }
    }
    None
}

/// The `n`th UID of a UID set (0-based).
fn nth_in_set(set: &[UidSetMember], mut n: u64) -> Option<u32> {
    for m in set {
        match m {
            UidSetMember::Uid(u) => {
                if n == 0 {
                    return Some(*u);
                }
                n -= 1;
            }
            UidSetMember::UidRange(r) => {
                let (lo, hi) = if r.start() <= r.end() {
                    (*r.start(), *r.end())
                } else {
                    (*r.end(), *r.start())
                };
                let len = u64::from(hi - lo) + 1;
                if n < len {
                    return u32::try_from(u64::from(lo) + n).ok();
                }
                n -= len;
            }
        }
    }
    None
}

/// Maps a server refusal that means "no such folder" to `Error::NotFound`, keeping the
/// server's text. ("already exists" is not a missing folder.)
pub(super) fn missing(e: Error) -> Error {
    match e {
        Error::Server(m) => {
            let lower = m.to_ascii_lowercase();
            let gone = [
                "nonexistent",
                "trycreate",
                "doesn't exist",
                "does not exist",
                "not exist",
                "no such",
                "not found",
                "unknown mailbox",
            ];
            if !lower.contains("already exist") && gone.iter().any(|g| lower.contains(g)) {
                Error::NotFound(m)
            } else {
                Error::Server(m)
            }
        }
        other => other,
    }
}

fn check_uid(uid: u32) -> Result<()> {
    if uid == 0 {
        return Err(Error::Argument(
            "UID 0 does not exist (UIDs start at 1)".into(),
        ));
    }
    Ok(())
}

fn same_folder(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

/// Bits and text of LIST attributes.
fn folder_attributes(name: &str, attrs: &[NameAttribute<'_>]) -> (u32, String) {
    use folder_flags as F;
    let mut bits = if name.eq_ignore_ascii_case("INBOX") {
        F::INBOX
    } else {
        0
    };
    let mut text = Vec::new();
    for a in attrs {
        let (bit, label): (u32, String) = match a {
            NameAttribute::NoInferiors => (F::NOINFERIORS, "\\Noinferiors".into()),
            NameAttribute::NoSelect => (F::NOSELECT, "\\Noselect".into()),
            NameAttribute::Marked => (F::MARKED, "\\Marked".into()),
            NameAttribute::Unmarked => (F::UNMARKED, "\\Unmarked".into()),
            NameAttribute::All => (F::ALL, "\\All".into()),
            NameAttribute::Archive => (F::ARCHIVE, "\\Archive".into()),
            NameAttribute::Drafts => (F::DRAFTS, "\\Drafts".into()),
            NameAttribute::Flagged => (F::FLAGGED, "\\Flagged".into()),
            NameAttribute::Junk => (F::JUNK, "\\Junk".into()),
            NameAttribute::Sent => (F::SENT, "\\Sent".into()),
            NameAttribute::Trash => (F::TRASH, "\\Trash".into()),
            NameAttribute::Extension(e) => {
                let bit = match e.to_ascii_lowercase().as_str() {
                    "\\haschildren" => F::HAS_CHILDREN,
                    "\\hasnochildren" => F::HAS_NO_CHILDREN,
                    "\\nonexistent" => F::NONEXISTENT | F::NOSELECT,
                    "\\subscribed" => F::SUBSCRIBED,
                    "\\inbox" => F::INBOX,
                    "\\allmail" => F::ALL,
                    "\\spam" => F::JUNK,
                    "\\starred" => F::FLAGGED,
                    "\\important" => F::IMPORTANT,
                    "\\noselect" => F::NOSELECT,
                    "\\noinferiors" => F::NOINFERIORS,
                    _ => 0,
                };
                (bit, e.to_string())
            }
            #[allow(unreachable_patterns)]
            _ => (0, String::new()),
        };
        bits |= bit;
        if !label.is_empty() {
            text.push(label);
        }
    }
    (bits, text.join(" "))
}

/// Lets the imap crate's IDLE bound its waits (the read timeout of the socket).
impl imap::extensions::idle::SetReadTimeout for Transport {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> imap::Result<()> {
        // None (no bound) is never wanted here: the session's timeout is restored by the
        // caller right after the wait, before the IDLE is ended.
        match timeout {
            Some(t) => self
                .set_timeout(t.max(Duration::from_millis(1)))
                .map_err(imap::Error::Io),
            None => Ok(()),
        }
    }
}

/// What a change check found: the number of messages and the highest UID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    count: u32,
    max_uid: u32,
}

impl Session {
    /// Sends a command line as it is (arguments already encoded) and reads the whole answer,
    /// tracking EXISTS and EXPUNGE.
    pub(super) fn command(&mut self, cmd: &str, what: &str) -> Result<Reply> {
        let (data, done) = self.run(|imap| imap.run(cmd), what)?;
        let reply = Reply { data, done };
        self.track(&reply);
        Ok(reply)
    }

    /// Updates the message count from the EXISTS, EXPUNGE and VANISHED lines of an answer.
    fn track(&mut self, reply: &Reply) {
        for r in reply.untagged() {
            match r {
                Response::MailboxData(MailboxDatum::Exists(n)) => self.exists = n,
                Response::Expunge(_) => self.exists = self.exists.saturating_sub(1),
                Response::Vanished {
                    earlier: false,
                    uids,
                } => {
                    let gone = uids.iter().map(range_len).fold(0u32, u32::saturating_add);
                    self.exists = self.exists.saturating_sub(gone);
                }
                _ => {}
            }
        }
    }

    /// Runs `f` on this session's set of UIDs marked \Deleted in the selected folder: what
    /// `expunge` removes.
    fn with_marks<R>(&mut self, f: impl FnOnce(&mut BTreeSet<u32>) -> R) -> R {
        f(self.deleted_marks.entry(self.folder.clone()).or_default())
    }

    /// Fails with Server when the selected folder was opened read-only (EXAMINE): servers
    /// answer a STORE there with OK and change nothing (Dovecot: "Store ignored with read-only
    /// mailbox"), which would make a flag change look done.
    fn require_writable(&mut self, what: &str) -> Result<()> {
        if self.read_only {
            return Err(Error::Server(format!(
                "{what}: folder {:?} is selected read-only; select it for writing to change flags or move messages",
                self.folder
            )));
        }
        Ok(())
    }

    /// Fails with NotFound unless a message with this UID is in the selected folder.
    ///
    /// Asks `UID FETCH n (UID)` and accepts only a FETCH carrying that very UID: some servers
    /// (GNU Mailutils imap4d) answer `UID SEARCH UID n` with nothing once UIDs and sequence
    /// numbers differ, and take a UID beyond the last as the last message's.
    fn require_exists(&mut self, uid: u32) -> Result<()> {
        let reply = self.command(&format!("UID FETCH {uid} (UID)"), "UID FETCH")?;
        if reply.fetched_uid(uid) {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "message UID {uid} does not exist in folder {:?}",
                self.folder
            )))
        }
    }

    // ----- folders -----

    /// Fails with NotFound unless a folder of that name exists (and, with `selectable`, can be
    /// selected), asking with a LIST of that name; only for non-ASCII names.
    ///
    /// Dovecot writes a missing folder's name as raw UTF-8 in its NO answer, which the imap
    /// crate cannot parse (it then drops the connection), so commands naming a non-ASCII folder
    /// that may not exist are preceded by this check.
    fn require_folder(&mut self, name: &str, selectable: bool) -> Result<()> {
        if name.is_ascii() {
            return Ok(());
        }
        let reply = self.command(
            &format!("LIST \"\" {}", folder_arg(name)),
            &format!("LIST {name}"),
        )?;
        let found = reply.untagged().into_iter().any(|r| match r {
            Response::MailboxData(MailboxDatum::List {
                name: listed,
                name_attributes,
                ..
            }) => {
                let (bits, _) = folder_attributes(name, &name_attributes);
                let usable = if selectable {
                    bits & folder_flags::NOSELECT == 0
                } else {
                    bits & folder_flags::NONEXISTENT == 0
                };
                usable && same_folder(&mutf7::decode(&reply.unquote(&listed)), name)
            }
            _ => false,
        });
        if found {
            Ok(())
        } else {
            Err(Error::NotFound(format!("folder {name:?} does not exist")))
        }
    }

    /// Selects a folder (`select`), answering NotFound for a missing non-ASCII name without
    /// risking the connection (see `require_folder`).
    pub fn select_folder(&mut self, name: &str, read_only: bool) -> Result<()> {
        check_folder(name)?;
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        self.require_folder(name, true)
            .map_err(|e| e.context(&format!("{verb} {name}")))?;
        self.select(name, read_only)
    }

    /// Lists every folder (LIST "" "*"), or only the subscribed ones (LSUB). INBOX comes
    /// first, then the others by name.
    pub fn list_folders(&mut self, subscribed_only: bool) -> Result<Vec<Folder>> {
        let (cmd, what) = if subscribed_only {
            ("LSUB \"\" \"*\"", "LSUB")
        } else {
            ("LIST \"\" \"*\"", "LIST")
        };
        let reply = self.command(cmd, what)?;
        let mut out: Vec<Folder> = Vec::new();
        for r in reply.untagged() {
            if let Response::MailboxData(MailboxDatum::List {
                name_attributes,
                delimiter,
                name,
            }) = r
            {
                let name = mutf7::decode(&reply.unquote(&name));
                let (attributes, attribute_text) = folder_attributes(&name, &name_attributes);
                let delimiter = delimiter
                    .map(|d| reply.unquote(&d))
                    .filter(|d| !d.is_empty());
                if !out.iter().any(|f| f.name == name) {
                    out.push(Folder {
                        name,
                        delimiter,
                        attributes,
                        attribute_text,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            let inbox = |f: &Folder| !f.name.eq_ignore_ascii_case("INBOX");
            inbox(a).cmp(&inbox(b)).then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Creates a folder (and, on most servers, the missing levels above it).
    pub fn create_folder(&mut self, name: &str) -> Result<()> {
        check_folder(name)?;
        self.command(
            &format!("CREATE {}", folder_arg(name)),
            &format!("CREATE {name}"),
        )
        .map(|_| ())
    }

    /// Deletes a folder. When it is the selected folder (or holds it), INBOX is selected first:
    /// servers end the session when the selected folder disappears.
    pub fn delete_folder(&mut self, name: &str) -> Result<()> {
        check_folder(name)?;
        self.require_folder(name, false)
            .map_err(|e| e.context(&format!("DELETE {name}")))?;
        let previous = self.folder.clone();
        let selected = self.holds_selected(name)?.is_some();
        if selected {
            self.select("INBOX", false)?;
        }
        let result = self
            .command(
                &format!("DELETE {}", folder_arg(name)),
                &format!("DELETE {name}"),
            )
            .map_err(missing);
        if result.is_err() && selected {
            let _ = self.select(&previous, false);
        }
        result.map(|_| ())
    }

    /// Renames a folder (with the folders below it). When it is, or holds, the selected
    /// folder, INBOX is selected during the rename and the renamed folder selected afterwards
    /// (read-write; the read iteration ends).
    pub fn rename_folder(&mut self, from: &str, to: &str) -> Result<()> {
        check_folder(from)?;
        check_folder(to)?;
        self.require_folder(from, false)
            .map_err(|e| e.context(&format!("RENAME {from}")))?;
        let previous = self.folder.clone();
        let below = if from.eq_ignore_ascii_case("INBOX") {
            None
        } else {
            self.holds_selected(from)?
        };
        if below.is_some() {
            self.select("INBOX", false)?;
        }
        let result = self
            .command(
                &format!("RENAME {} {}", folder_arg(from), folder_arg(to)),
                &format!("RENAME {from} to {to}"),
            )
            .map_err(missing);
        match (below, result) {
            (Some(rest), Ok(_)) => self.select(&format!("{to}{rest}"), false),
            (Some(_), Err(e)) => {
                let _ = self.select(&previous, false);
                Err(e)
            }
            (None, result) => result.map(|_| ()),
        }
    }

    /// When the selected folder is `name` or below it: the rest of its name after `name`
    /// ("" or a delimiter and the lower levels).
    fn holds_selected(&mut self, name: &str) -> Result<Option<String>> {
        if same_folder(&self.folder, name) {
            return Ok(Some(String::new()));
        }
        let Some(rest) = self.folder.strip_prefix(name) else {
            return Ok(None);
        };
        let rest = rest.to_string();
        let reply = self.command("LIST \"\" \"\"", "LIST")?;
        let delimiter = reply.untagged().into_iter().find_map(|r| match r {
            Response::MailboxData(MailboxDatum::List {
                delimiter: Some(d), ..
            }) => Some(reply.unquote(&d)),
            _ => None,
        });
        Ok(match delimiter {
            Some(d) if !d.is_empty() && rest.starts_with(&d) => Some(rest),
            _ => None,
        })
    }

    /// Subscribes to a folder (or unsubscribes).
    pub fn subscribe_folder(&mut self, name: &str, subscribe: bool) -> Result<()> {
        check_folder(name)?;
        let verb = if subscribe {
            "SUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        // Servers that keep subscriptions of missing folders accept UNSUBSCRIBE of any name.
        if subscribe {
            self.require_folder(name, false)
                .map_err(|e| e.context(&format!("{verb} {name}")))?;
        }
        self.command(
            &format!("{verb} {}", folder_arg(name)),
            &format!("{verb} {name}"),
        )
        .map_err(missing)
        .map(|_| ())
    }

    /// The counters of a folder without selecting it (STATUS).
    pub fn folder_status(&mut self, name: &str) -> Result<FolderStatus> {
        check_folder(name)?;
        self.require_folder(name, true)
            .map_err(|e| e.context(&format!("STATUS {name}")))?;
        let (answer, salvaged) = self
            .run_status(
                &format!(
                    "STATUS {} (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)",
                    folder_arg(name)
                ),
                &format!("STATUS {name}"),
            )
            .map_err(missing)?;
        let reply = Reply {
            data: answer.0,
            done: answer.1,
        };
        self.track(&reply);
        let encoded = mutf7::encode(name);
        let (mut exact, mut other) = (None, None);
        for r in reply.untagged() {
            if let Response::MailboxData(MailboxDatum::Status { mailbox, status }) = r {
                if same_folder(&reply.unquote(&mailbox), &encoded) {
                    exact = Some(FolderStatus::from_attributes(&status));
                } else if other.is_none() {
                    other = Some(FolderStatus::from_attributes(&status));
                }
            }
        }
        // A STATUS whose folder name did not parse (GNU Mailutils imap4d leaves names with
        // spaces unquoted) answers the one folder asked about: before a STATUS of another.
        exact
            .or_else(|| salvaged.first().map(|a| FolderStatus::from_attributes(a)))
            .or(other)
            .ok_or_else(|| {
                Error::Protocol(format!("STATUS {name}: the server sent no STATUS data"))
            })
    }

    // ----- flags -----

    /// Adds (or removes) flags (`message::flags` bits) and keywords on one message of the
    /// selected folder. A UID that does not exist gives NotFound.
    ///
    /// With UIDPLUS the STORE goes first and the UID is checked only when no FETCH for it
    /// comes back. Without UIDPLUS the UID is checked before the STORE: such a server may take
    /// a UID beyond the last as the last message's (GNU Mailutils imap4d), so it is never
    /// given a missing one.
    pub fn store_flags(&mut self, uid: u32, bits: u32, keywords: &[&str], add: bool) -> Result<()> {
        check_uid(uid)?;
        check_flags(bits)?;
        for k in keywords {
            check_keyword(k)?;
        }
        self.require_writable(&format!("UID STORE {uid}"))?;
        let mut names: Vec<&str> = flag_names(bits);
        names.extend(keywords.iter().copied());
        let sign = if add { '+' } else { '-' };
        let checked_first = !self.has_capability("UIDPLUS")?;
        if checked_first {
            self.require_exists(uid)?;
        }
        let reply = self.command(
            &format!("UID STORE {uid} {sign}FLAGS ({})", names.join(" ")),
            &format!("UID STORE {uid}"),
        )?;
        // A STORE answers with FETCH lines for the messages whose flags changed; none means
        // the UID is missing, or nothing changed (then it must still exist).
        if !checked_first && !reply.fetched_uid(uid) {
            self.require_exists(uid)?;
        }
        if bits & flags::DELETED != 0 {
            self.with_marks(|m| if add { m.insert(uid) } else { m.remove(&uid) });
        }
        Ok(())
    }

    /// Checks that the message `uid` of the selected folder is the message described (its
    /// size on the server and Message-ID), e.g. one read earlier and handed back by the host.
    pub fn check_identity(&mut self, uid: u32, size: u64, message_id: &str) -> Result<()> {
        use mailparse::MailHeaderMap;
        check_uid(uid)?;
        let found = self.run(
            |imap| {
                imap.uid_fetch(uid.to_string(), "(UID RFC822.SIZE BODY.PEEK[HEADER])")
                    .map(|fetches| {
                        fetches
                            .iter()
                            .find(|f| f.uid == Some(uid))
                            .map(|f| (f.size, f.header().map(<[u8]>::to_vec).unwrap_or_default()))
                    })
            },
            "UID FETCH",
        )?;
        let Some((server_size, header)) = found else {
            return Err(Error::NotFound(format!(
                "message UID {uid} does not exist in folder {:?}",
                self.folder
            )));
        };
        let server_id = mailparse::parse_headers(&header)
            .ok()
            .and_then(|(h, _)| h.get_first_value("Message-ID"))
            .map(|v| {
                v.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        if server_size.map(u64::from) != Some(size) || server_id != message_id {
            return Err(Error::NotFound(format!(
                "message UID {uid} of folder {:?} is another message (was it read from another folder?)",
                self.folder
            )));
        }
        Ok(())
    }

    // ----- delete, expunge, copy, move, append -----

    /// Marks a message \Deleted; `expunge` removes it.
    pub fn delete_message(&mut self, uid: u32) -> Result<()> {
        self.store_flags(uid, flags::DELETED, &[], true)
    }

    /// Removes the messages this session marked \Deleted in the selected folder and returns
    /// how many the server reported gone.
    ///
    /// With UIDPLUS, exactly those UIDs are expunged (UID EXPUNGE). Without it, a plain EXPUNGE
    /// would also remove every other message marked \Deleted (by another program, say): their
    /// \Deleted flag is removed for the time of the EXPUNGE and set again afterwards.
    pub fn expunge(&mut self) -> Result<u32> {
        let marked: Vec<u32> = self.with_marks(|m| m.iter().copied().collect());
        if marked.is_empty() {
            return Ok(0);
        }
        let gone = if self.has_capability("UIDPLUS")? {
            let mut gone = 0u32;
            for chunk in marked.chunks(UIDS_PER_COMMAND) {
                let reply = self.command(
                    &format!("UID EXPUNGE {}", uid_set(chunk.iter().copied())),
                    "UID EXPUNGE",
                )?;
                gone = gone.saturating_add(reply.expunged_count());
            }
            gone
        } else {
            self.expunge_sparing_others(&marked)?
        };
        self.with_marks(|m| m.retain(|u| !marked.contains(u)));
        Ok(gone)
    }

    fn expunge_sparing_others(&mut self, marked: &[u32]) -> Result<u32> {
        let deleted = self
            .command("UID SEARCH DELETED", "UID SEARCH DELETED")?
            .search_uids();
        let others: Vec<u32> = deleted
            .into_iter()
            .filter(|u| marked.binary_search(u).is_err())
            .collect();
        self.store_silently(&others, "-FLAGS.SILENT (\\Deleted)")?;
        let result = self
            .command("EXPUNGE", "EXPUNGE")
            .map(|r| r.expunged_count());
        let restored = self.store_silently(&others, "+FLAGS.SILENT (\\Deleted)");
        let gone = result?;
        restored
            .map_err(|e| e.context("setting \\Deleted again on the messages spared by EXPUNGE"))?;
        Ok(gone)
    }

    fn store_silently(&mut self, uids: &[u32], items: &str) -> Result<()> {
        for chunk in uids.chunks(UIDS_PER_COMMAND) {
            self.command(
                &format!("UID STORE {} {items}", uid_set(chunk.iter().copied())),
                "UID STORE",
            )?;
        }
        Ok(())
    }

    /// Copies a message into a folder; the copy's UID when the server tells (UIDPLUS), else 0.
    ///
    /// With UIDPLUS, a COPYUID in the answer shows the copy was made; without one the UID is
    /// checked afterwards (a missing UID is answered OK too). Without UIDPLUS the UID is
    /// checked before the COPY: such a server may take a UID beyond the last as the last
    /// message's (GNU Mailutils imap4d), so it is never given a missing one.
    pub fn copy_message(&mut self, uid: u32, folder: &str) -> Result<u32> {
        check_uid(uid)?;
        check_folder(folder)?;
        self.require_folder(folder, true)
            .map_err(|e| e.context(&format!("UID COPY {uid} to {folder}")))?;
        let checked_first = !self.has_capability("UIDPLUS")?;
        if checked_first {
            self.require_exists(uid)?;
        }
        let reply = self
            .command(
                &format!("UID COPY {uid} {}", folder_arg(folder)),
                &format!("UID COPY {uid} to {folder}"),
            )
            .map_err(missing)?;
        if let Some(new_uid) = reply.copy_uid(uid) {
            return Ok(new_uid);
        }
        // No COPYUID: a missing UID is answered OK too.
        if !checked_first {
            self.require_exists(uid)?;
        }
        Ok(0)
    }

    /// Moves a message into a folder; its new UID when the server tells (UIDPLUS), else 0.
    ///
    /// With MOVE, one UID MOVE. Without, UID COPY, then \Deleted, then UID EXPUNGE of that UID
    /// alone (UIDPLUS); without UIDPLUS the original stays marked \Deleted (no plain EXPUNGE,
    /// which could remove other messages) and goes with the next `expunge`. Without UIDPLUS
    /// the UID is checked before the MOVE or COPY, as in `copy_message`.
    pub fn move_message(&mut self, uid: u32, folder: &str) -> Result<u32> {
        check_uid(uid)?;
        check_folder(folder)?;
        self.require_writable(&format!("UID MOVE {uid} to {folder}"))?;
        if self.has_capability("MOVE")? {
            self.require_folder(folder, true)
                .map_err(|e| e.context(&format!("UID MOVE {uid} to {folder}")))?;
            let checked_first = !self.has_capability("UIDPLUS")?;
            if checked_first {
                self.require_exists(uid)?;
            }
            let reply = self
                .command(
                    &format!("UID MOVE {uid} {}", folder_arg(folder)),
                    &format!("UID MOVE {uid} to {folder}"),
                )
                .map_err(missing)?;
            let new_uid = reply.copy_uid(uid);
            if new_uid.is_none() && !reply.expunged_any() {
                if !checked_first {
                    self.require_exists(uid)?;
                }
                return Err(Error::Server(format!(
                    "the server answered UID MOVE {uid} with OK but the message is still in {:?}",
                    self.folder
                )));
            }
            self.with_marks(|m| m.remove(&uid));
            return Ok(new_uid.unwrap_or(0));
        }
        let new_uid = self.copy_message(uid, folder)?;
        self.command(
            &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            &format!("UID STORE {uid}"),
        )?;
        if self.has_capability("UIDPLUS")? {
            self.command(&format!("UID EXPUNGE {uid}"), "UID EXPUNGE")?;
            self.with_marks(|m| m.remove(&uid));
        } else {
            self.with_marks(|m| m.insert(uid));
        }
        Ok(new_uid)
    }

    /// Appends a message to a folder with flags (`message::flags` bits) and an internal date
    /// (Unix time; None: the server's default, now). Returns its UID when the server tells
    /// (APPENDUID), else 0.
    pub fn append(
        &mut self,
        folder: &str,
        raw: &[u8],
        bits: u32,
        internal_date: Option<i64>,
    ) -> Result<u32> {
        use imap::types::Flag;
        check_folder(folder)?;
        check_flags(bits)?;
        if raw.is_empty() {
            return Err(Error::Argument("the message is empty".into()));
        }
        self.require_folder(folder, true)
            .map_err(|e| e.context(&format!("APPEND to {folder}")))?;
        let date = match internal_date {
            None => None,
            Some(t) => Some(
                chrono::DateTime::from_timestamp(t, 0)
                    .filter(|_| (0..=253_402_300_799).contains(&t))
                    .ok_or_else(|| {
                        Error::Argument(format!(
                            "internal date {t} is outside the years 1970 to 9999"
                        ))
                    })?
                    .fixed_offset(),
            ),
        };
        let mut flag_list = Vec::new();
        for (bit, flag) in [
            (flags::SEEN, Flag::Seen),
            (flags::ANSWERED, Flag::Answered),
            (flags::FLAGGED, Flag::Flagged),
            (flags::DELETED, Flag::Deleted),
            (flags::DRAFT, Flag::Draft),
        ] {
            if bits & bit != 0 {
                flag_list.push(flag);
            }
        }
        // The imap crate puts the name between quotes itself.
        let mailbox = folder_arg_unquoted(folder);
        let outcome = self.run_core(
            |imap| {
                let mut cmd = imap.append(&mailbox, raw);
                cmd.flags(flag_list);
                if let Some(d) = date {
                    cmd.internal_date(d);
                }
                match cmd.finish() {
                    Ok(appended) => Ok(Some(appended)),
                    // Refused before the message was sent (the crate keeps no text).
                    Err(imap::Error::Append) => Ok(None),
                    Err(e) => Err(Error::from_imap(e)),
                }
            },
            &format!("APPEND to {folder}"),
        );
        match outcome.map_err(missing)? {
            Some(appended) => Ok(appended
                .uids
                .as_deref()
                .and_then(|u| nth_in_set(u, 0))
                .unwrap_or(0)),
            None => {
                // Find out why with STATUS, which keeps the server's words.
                self.folder_status(folder)
                    .map_err(|e| e.context(&format!("APPEND to {folder}")))?;
                Err(Error::Server(format!(
                    "APPEND to {folder}: the server refused the message"
                )))
            }
        }
    }

    // ----- new mail -----

    /// Waits until the server reports new or expunged messages in the selected folder, or
    /// `timeout` passes. Returns whether something changed since the session last heard from
    /// the server, and the number of messages now.
    ///
    /// IDLE when the server has it (ended and re-issued every 30 s), NOOP every 5 s otherwise.
    /// After each round the count and the highest UID are checked, so a change announced while
    /// an IDLE was being ended is not lost.
    pub fn idle(&mut self, timeout: Duration) -> Result<(bool, u32)> {
        let deadline = Instant::now() + timeout;
        let known = self.exists;
        let (start, noticed) = self.snapshot()?;
        if noticed || start.count != known {
            return Ok((true, self.exists));
        }
        let use_idle = self.has_capability("IDLE")?;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok((false, self.exists));
            }
            let round = (deadline - now).min(if use_idle { IDLE_ROUND } else { POLL_INTERVAL });
            let announced = if use_idle {
                self.idle_round(round, deadline)?
            } else {
                std::thread::sleep(round);
                false
            };
            let (now_snapshot, noticed) = self.snapshot()?;
            if announced || noticed || now_snapshot != start {
                return Ok((true, self.exists));
            }
        }
    }

    /// One IDLE of at most `round`; true when the server announced a change.
    fn idle_round(&mut self, round: Duration, deadline: Instant) -> Result<bool> {
        let restore = match &self.socket {
            Socket::Tcp(s) => s.try_clone().ok(),
            Socket::Test(_) => None,
        };
        let timeout = self.opts.timeout;
        let known = self.exists;
        let mut announced = false;
        let mut bye = None;
        let outcome = self.run(
            |imap| {
                let mut handle = imap.idle();
                handle
                    .timeout(round.max(Duration::from_millis(1)))
                    .keepalive(false);
                let result = handle.wait_while(|r| {
                    use imap::types::UnsolicitedResponse as U;
                    match r {
                        U::Exists(n) if n != known => announced = true,
                        U::Expunge(_) | U::Vanished { .. } => announced = true,
                        U::Bye { information, .. } => bye = Some(information.unwrap_or_default()),
                        _ => {}
                    }
                    !announced && bye.is_none() && Instant::now() < deadline
                });
                // The crate leaves the socket without a read timeout: restore the session's
                // before DONE is sent (when the handle is dropped).
                if let Some(s) = &restore {
                    let _ = s.set_read_timeout(Some(timeout));
                    let _ = s.set_write_timeout(Some(timeout));
                }
                drop(handle);
                result
            },
            "IDLE",
        );
        if let Some(info) = bye {
            let e = Error::Disconnected(format!("IDLE: server closed the session: {info}"));
            self.broken.get_or_insert_with(|| e.message().to_string());
            let _ = self.socket.shutdown(std::net::Shutdown::Both);
            return Err(e);
        }
        outcome?;
        Ok(announced)
    }

    /// Asks the server for news (NOOP), then for the message count and the highest UID (the
    /// sequence number and UID of `UID FETCH *`). The flag is true when the NOOP reported a
    /// message gone or a new count.
    fn snapshot(&mut self) -> Result<(Snapshot, bool)> {
        let before = self.exists;
        let noop = self.command("NOOP", "NOOP")?;
        let noticed = noop.untagged().iter().any(|r| match r {
            Response::Expunge(_) | Response::Vanished { earlier: false, .. } => true,
            Response::MailboxData(MailboxDatum::Exists(n)) => *n != before,
            _ => false,
        });
        let last = match self.command("UID FETCH * (UID)", "UID FETCH *") {
            Ok(reply) => reply
                .untagged()
                .iter()
                .filter_map(|r| match r {
                    Response::Fetch(seq, attrs) => attrs.iter().find_map(|a| match a {
                        AttributeValue::Uid(u) => Some((*seq, *u)),
                        _ => None,
                    }),
                    _ => None,
                })
                .max(),
            // Some servers refuse "*" in an empty folder.
            Err(Error::Server(_)) if self.exists == 0 => None,
            Err(e) => return Err(e),
        };
        let snapshot = match last {
            Some((seq, uid)) => Snapshot {
                count: seq,
                max_uid: uid,
            },
            None => Snapshot {
                count: 0,
                max_uid: 0,
            },
        };
        self.exists = snapshot.count;
        Ok((snapshot, noticed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_set_positions() {
        let from = vec![UidSetMember::UidRange(5..=7), UidSetMember::Uid(9)];
        let to = vec![UidSetMember::UidRange(100..=103)];
        assert_eq!(position_in_set(&from, 9), Some(3));
        assert_eq!(position_in_set(&from, 6), Some(1));
        assert_eq!(position_in_set(&from, 8), None);
        assert_eq!(nth_in_set(&to, 3), Some(103));
        assert_eq!(nth_in_set(&to, 4), None);
        let huge = vec![UidSetMember::UidRange(1..=u32::MAX)];
        assert_eq!(
            position_in_set(&huge, u32::MAX),
            Some(u64::from(u32::MAX) - 1)
        );
        assert_eq!(nth_in_set(&huge, u64::from(u32::MAX) - 1), Some(u32::MAX));
    }

    #[test]
    fn missing_folder_errors() {
        assert!(matches!(
            missing(Error::Server("[TRYCREATE] Mailbox doesn't exist: x".into())),
            Error::NotFound(_)
        ));
        assert!(matches!(
            missing(Error::Server("Mailbox doesn't exist: x".into())),
            Error::NotFound(_)
        ));
        assert!(matches!(
            missing(Error::Server(
                "[ALREADYEXISTS] Mailbox already exists".into()
            )),
            Error::Server(_)
        ));
        assert!(matches!(
            missing(Error::Server("Permission denied".into())),
            Error::Server(_)
        ));
    }

    #[test]
    fn list_names_are_unescaped_only_when_quoted() {
        let data = b"* LIST (\\HasNoChildren) \"/\" \"a\\\\b\\\"c\"\r\n* LIST () \"/\" {4}\r\na\\\"b\r\nx OK\r\n".to_vec();
        let done = data.len() - 6;
        let reply = Reply { data, done };
        let names: Vec<String> = reply
            .untagged()
            .into_iter()
            .filter_map(|r| match r {
                Response::MailboxData(MailboxDatum::List { name, .. }) => {
                    Some(reply.unquote(&name))
                }
                _ => None,
            })
            .collect();
        assert_eq!(names, vec!["a\\b\"c".to_string(), "a\\\"b".to_string()]);
    }

    #[test]
    fn attributes() {
        let attrs = [
            NameAttribute::NoSelect,
            NameAttribute::Extension("\\HasChildren".into()),
            NameAttribute::Extension("\\AllMail".into()),
            NameAttribute::Sent,
        ];
        let (bits, text) = folder_attributes("x", &attrs);
        assert_eq!(
            bits,
            folder_flags::NOSELECT
                | folder_flags::HAS_CHILDREN
                | folder_flags::ALL
                | folder_flags::SENT
        );
        assert_eq!(text, "\\Noselect \\HasChildren \\AllMail \\Sent");
        assert_eq!(folder_attributes("inbox", &[]).0, folder_flags::INBOX);
    }
}

//! The reading pipeline: listing the folder, planning fetch batches, and turning the server's
//! FETCH answers into [`Message`]s.

use std::collections::VecDeque;
use std::sync::Arc;

use imap::types::{Fetch, Flag};

use super::message::{flags, Message};
use super::pool::{BufferPool, ReturnTo};

/// What to read and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only messages without \Seen.
    pub unread_only: bool,
    /// Only headers, flags and size (no body).
    pub headers_only: bool,
    /// Set \Seen on each message read (otherwise reading never changes the server: BODY.PEEK).
    pub mark_seen: bool,
}

/// First batch size: small, so that a host reading one message does not pay for many.
pub const FIRST_BATCH: usize = 4;
/// Largest number of messages in one FETCH.
pub const MAX_BATCH: usize = 256;
/// Largest number of messages in one FETCH of headers only: a header block is a few KB, so
/// a batch stays within a few MB, and a listing needs few round trips.
pub const MAX_HEADER_BATCH: usize = 1000;
/// Byte budget of one batch (by RFC822.SIZE); a batch always holds at least one message.
pub const BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// A message known from the listing: its UID and announced size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub uid: u32,
    pub size: u64,
}

/// Listing entries in ascending UID order, each UID once: a UID listed twice (an unsolicited
/// flag update, which has no size, next to the real answer) keeps the entry with the size.
pub fn in_uid_order(mut listed: Vec<Listed>) -> Vec<Listed> {
    listed.sort_by_key(|l| (l.uid, std::cmp::Reverse(l.size)));
    listed.dedup_by_key(|l| l.uid);
    listed
}

/// State of one read iteration (read_first / read_next, or get_all).
#[derive(Debug)]
pub struct ReadIter {
    pub opts: ReadOptions,
    /// Every message of the iteration, ascending UID.
    listed: Vec<Listed>,
    /// Index in `listed` of the first message not asked for yet (the rest is pending).
    unasked: usize,
    /// UID of the last message handed out.
    last_handed: Option<u32>,
    ready: VecDeque<Message>,
    /// Listed bytes of the batches fetched so far (see [`ReadIter::ask_budget`]).
    fetched_bytes: u64,
    next_batch: usize,
    handed_out: usize,
    /// The failure of a batch fetched ahead, reported once the ready messages are handed out.
    error: Option<super::error::Error>,
    /// With `mark_seen`: UIDs handed out but not yet marked \Seen on the server. They are
    /// marked with the next command (or at the end of the iteration), so that messages fetched
    /// ahead are never marked read before the host has them.
    to_mark: Vec<u32>,
}

impl ReadIter {
    /// An iteration over the listed messages, in the order given (ascending UID).
    pub fn new(opts: ReadOptions, listed: Vec<Listed>) -> ReadIter {
        ReadIter {
            opts,
            listed,
            unasked: 0,
            last_handed: None,
            ready: VecDeque::new(),
            fetched_bytes: 0,
            next_batch: FIRST_BATCH,
            handed_out: 0,
            error: None,
            to_mark: Vec::new(),
        }
    }

    /// Adds messages listed after the iteration started (the rest of a listing read while the
    /// first batches were asked for): ascending UIDs, all above those listed already (the
    /// others are dropped).
    pub fn extend_listed(&mut self, more: Vec<Listed>) {
        let last = self.last_listed();
        self.listed
            .extend(more.into_iter().filter(|l| last.is_none_or(|u| l.uid > u)));
    }

    /// The UID of the last message listed.
    pub fn last_listed(&self) -> Option<u32> {
        self.listed.last().map(|l| l.uid)
    }

    /// The next message already fetched, if any.
    pub fn pop_ready(&mut self) -> Option<Message> {
        let m = self.ready.pop_front();
        if let Some(m) = &m {
            self.handed_out += 1;
            self.last_handed = Some(m.uid());
            if self.opts.mark_seen {
                self.to_mark.push(m.uid());
            }
        }
        m
    }

    /// Messages handed out so far.
    pub fn handed_out(&self) -> u64 {
        self.handed_out as u64
    }

    /// Messages in the iteration.
    pub fn total(&self) -> u64 {
        self.listed.len() as u64
    }

    /// The listed messages not asked for yet.
    fn pending(&self) -> &[Listed] {
        &self.listed[self.unasked.min(self.listed.len())..]
    }

    /// True when a batch should be fetched ahead now: more is pending, no error is waiting,
    /// and what is ready is at most one batch (so memory stays bounded).
    pub fn wants_prefetch(&self) -> bool {
        !self.pending().is_empty() && self.error.is_none() && self.ready.len() <= self.max_batch()
    }

    /// True when the failure of a batch fetched ahead waits to be reported.
    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// True when handed-out UIDs wait to be marked \Seen.
    pub fn has_marks(&self) -> bool {
        !self.to_mark.is_empty()
    }

    /// The UIDs handed out that still have to be marked \Seen (taken: the caller marks them).
    pub fn take_marks(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.to_mark)
    }

    /// Forgets a failure and everything fetched or asked for but not handed out: what is left
    /// to read is every listed message after the last one handed out (for a new connection).
    pub fn resume_after_last_handed_out(&mut self) {
        let after = self.last_handed;
        self.error = None;
        self.ready.clear();
        self.fetched_bytes = 0;
        self.unasked = after.map_or(0, |u| self.listed.partition_point(|l| l.uid <= u));
        self.next_batch = FIRST_BATCH;
    }

    /// Records the failure of a batch fetched ahead; no further batch is fetched.
    pub fn set_error(&mut self, e: super::error::Error) {
        self.unasked = self.listed.len();
        self.error = Some(e);
    }

    /// The recorded failure, once.
    pub fn take_error(&mut self) -> Option<super::error::Error> {
        self.error.take()
    }

    /// True when nothing is left to fetch or hand out.
    pub fn is_done(&self) -> bool {
        self.ready.is_empty() && self.pending().is_empty() && self.error.is_none()
    }

    /// Largest number of messages in one batch.
    fn max_batch(&self) -> usize {
        if self.opts.headers_only {
            MAX_HEADER_BATCH
        } else {
            MAX_BATCH
        }
    }

    /// Takes the next batch to fetch: it grows geometrically up to [`MAX_BATCH`] messages and
    /// stays within [`BATCH_BYTES`] (but always holds one message).
    pub fn take_batch(&mut self) -> Vec<Listed> {
        let mut taken = 0;
        let mut bytes = 0u64;
        for next in self.pending() {
            if taken >= self.next_batch {
                break;
            }
            if taken > 0 && !self.opts.headers_only && bytes + next.size > BATCH_BYTES {
                break;
            }
            bytes += next.size;
            taken += 1;
        }
        let batch = self.pending()[..taken].to_vec();
        self.unasked += taken;
        self.next_batch = (self.next_batch * 2).min(self.max_batch());
        batch
    }

    /// Listed bytes that may be asked for and not fetched yet: four times what was fetched so
    /// far, at least one batch's budget. Like the batch sizes, it starts small and grows, so
    /// that a host that reads a few messages and moves on (whose next command must first read
    /// every answer asked for) does not wait for many megabytes it never wanted. Reading
    /// headers only has no such budget: the listed sizes are those of whole messages, and
    /// what is asked ahead (a few thousand header blocks at most) is a few MB.
    pub fn ask_budget(&self) -> u64 {
        if self.opts.headers_only {
            return u64::MAX;
        }
        BATCH_BYTES.max(self.fetched_bytes.saturating_mul(4))
    }

    /// Takes back batches taken with [`ReadIter::take_batch`] but not asked for: they must be
    /// the last ones taken (their messages are pending again).
    pub fn give_back(&mut self, batches: &[Vec<Listed>]) {
        if let Some(first) = batches.iter().flatten().next() {
            let at = self.listed.partition_point(|l| l.uid < first.uid);
            self.unasked = self.unasked.min(at);
        }
    }

    /// Stores the fetched messages of a batch, in the batch's UID order. Messages the server
    /// did not return (expunged meanwhile) are skipped. When the answer holds several FETCH
    /// responses for one UID (an unsolicited flag update next to the requested data, as Gmail
    /// and Dovecot send), the one that carries the most message bytes wins.
    pub fn store_batch(&mut self, batch: &[Listed], fetched: Vec<Message>) {
        self.fetched_bytes = (self.fetched_bytes)
            .saturating_add(batch.iter().map(|l| l.size).fold(0, u64::saturating_add));
        let mut best: std::collections::HashMap<u32, Message> = std::collections::HashMap::new();
        for m in fetched {
            match best.get(&m.uid()) {
                Some(kept) if kept.source().len() > m.source().len() => {}
                _ => {
                    best.insert(m.uid(), m);
                }
            }
        }
        for listed in batch {
            if let Some(m) = best.remove(&listed.uid) {
                self.ready.push_back(m);
            }
        }
    }
}

/// The FETCH items for reading messages with these options. Always PEEK: \Seen is set
/// explicitly, only on messages handed out (see [`ReadIter::take_marks`]).
pub fn fetch_query(opts: &ReadOptions) -> &'static str {
    if opts.headers_only {
        "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])"
    } else {
        "(UID FLAGS RFC822.SIZE BODY.PEEK[])"
    }
}

/// The STORE that marks messages read.
pub const MARK_SEEN_ITEMS: &str = "+FLAGS.SILENT (\\Seen)";

/// The FETCH items for listing a folder with these options: the flags only when they choose
/// (unread only); a listing of every message needs UIDs and sizes, and flags would be a tenth
/// more for the server to send and for the client to parse.
pub fn list_query(opts: &ReadOptions) -> &'static str {
    if opts.unread_only {
        "(UID FLAGS RFC822.SIZE)"
    } else {
        "(UID RFC822.SIZE)"
    }
}

/// Compresses ascending UIDs into an IMAP sequence set ("1:5,7,9:12").
pub fn uid_set(uids: impl IntoIterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let push = |out: &mut String, (a, b): (u32, u32)| {
        if !out.is_empty() {
            out.push(',');
        }
        if a == b {
            out.push_str(&a.to_string());
        } else {
            out.push_str(&format!("{a}:{b}"));
        }
    };
    for uid in uids {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(uid) => Some((a, uid)),
            Some(r) => {
                push(&mut out, r);
                Some((uid, uid))
            }
            None => Some((uid, uid)),
        };
    }
    if let Some(r) = run {
        push(&mut out, r);
    }
    out
}

/// The flag bit of a system flag written in any case (`\Seen`, `\seen`, `\SEEN`); 0 for
/// other system flags (`\Recent`, `\*`, unknown ones).
fn system_flag_bit(name: &str) -> u32 {
    match name.to_ascii_lowercase().as_str() {
        "\\seen" => flags::SEEN,
        "\\answered" => flags::ANSWERED,
        "\\flagged" => flags::FLAGGED,
        "\\deleted" => flags::DELETED,
        "\\draft" => flags::DRAFT,
        _ => 0,
    }
}

/// Flag bits and keywords of a FETCH. System flags count whatever their case (some servers
/// write `\seen`); other backslash flags (`\Recent`, ...) are neither bits nor keywords.
pub fn flag_bits(list: &[Flag<'_>]) -> (u32, Vec<String>) {
    let mut bits = 0;
    let mut keywords = Vec::new();
    for f in list {
        match f {
            Flag::Seen => bits |= flags::SEEN,
            Flag::Answered => bits |= flags::ANSWERED,
            Flag::Flagged => bits |= flags::FLAGGED,
            Flag::Deleted => bits |= flags::DELETED,
            Flag::Draft => bits |= flags::DRAFT,
            Flag::Custom(k) if k.starts_with('\\') => bits |= system_flag_bit(k),
            Flag::Custom(k) => keywords.push(k.to_string()),
            _ => {}
        }
    }
    (bits, keywords)
}

/// A listing entry from an answer to [`list_query`].
pub fn listed_from_fetch(f: &Fetch<'_>, opts: &ReadOptions) -> Option<Listed> {
    let uid = f.uid?;
    if opts.unread_only && flag_bits(f.flags()).0 & flags::SEEN != 0 {
        return None;
    }
    Some(Listed {
        uid,
        size: u64::from(f.size.unwrap_or(0)),
    })
}

/// What a FETCH response carries of what [`fetch_query`] asks for with these options (the
/// message, or its header); None for a response with just flags or a size.
pub fn content<'a>(f: &'a Fetch<'_>, opts: &ReadOptions) -> Option<&'a [u8]> {
    if opts.headers_only {
        f.header()
    } else {
        f.body()
    }
}

/// A message from a FETCH answer to [`fetch_query`], its bytes copied into a buffer of `pool`
/// (to which it gives the buffer back when freed).
pub fn message_from_fetch(
    f: &Fetch<'_>,
    opts: &ReadOptions,
    pool: &Arc<BufferPool>,
) -> Option<Message> {
    let message = message_without_bytes(f, opts)?;
    let raw = content(f, opts)
        .map(|bytes| pool.copy_of(bytes))
        .unwrap_or_default();
    let at = 0..raw.len();
    Some(message.stored_in(raw, at, ReturnTo::pool(pool)))
}

/// What [`message_from_fetch`] makes of a FETCH response but the bytes: the message's bytes
/// are to be stored in it with [`Message::stored_in`].
pub fn message_without_bytes(f: &Fetch<'_>, opts: &ReadOptions) -> Option<Message> {
    let uid = f.uid?;
    let (mut bits, keywords) = flag_bits(f.flags());
    if opts.mark_seen {
        // Marked on the server when handed out (see ReadIter::take_marks).
        bits |= flags::SEEN;
    }
    let size = f
        .size
        .map(u64::from)
        .or_else(|| content(f, opts).map(|c| c.len() as u64));
    Some(Message::new(
        uid,
        bits,
        keywords,
        size.unwrap_or(0),
        Vec::new(),
        opts.headers_only,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set([1, 2, 3, 5, 7, 8, 10]), "1:3,5,7:8,10");
        assert_eq!(uid_set([42]), "42");
        assert_eq!(uid_set(Vec::<u32>::new()), "");
        assert_eq!(
            uid_set([u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }

    #[test]
    fn batches_grow_and_respect_bytes() {
        let listed = (1..=1000).map(|uid| Listed { uid, size: 1000 }).collect();
        let mut it = ReadIter::new(ReadOptions::default(), listed);
        let sizes: Vec<usize> = (0..8).map(|_| it.take_batch().len()).collect();
        assert_eq!(sizes, vec![4, 8, 16, 32, 64, 128, 256, 256]);
        let big = vec![
            Listed {
                uid: 1,
                size: BATCH_BYTES,
            },
            Listed { uid: 2, size: 10 },
        ];
        let mut it = ReadIter::new(ReadOptions::default(), big);
        assert_eq!(
            it.take_batch().len(),
            1,
            "a batch over the byte budget holds one message"
        );
        assert_eq!(it.take_batch().len(), 1);
        assert!(it.take_batch().is_empty());
    }

    #[test]
    fn system_flags_in_any_case_and_gmail_keywords() {
        let list = [
            Flag::Custom("\\seen".into()),
            Flag::Custom("\\FLAGGED".into()),
            Flag::Custom("\\Recent".into()),
            Flag::Recent,
            Flag::Custom("$label1".into()),
            Flag::Custom("OIB-Seen-[Gmail]/Important".into()),
        ];
        let (bits, keywords) = flag_bits(&list);
        assert_eq!(bits, flags::SEEN | flags::FLAGGED);
        assert_eq!(
            keywords,
            vec![
                "$label1".to_string(),
                "OIB-Seen-[Gmail]/Important".to_string()
            ]
        );
    }

    #[test]
    fn the_ask_budget_starts_at_one_batch_and_grows_with_what_was_fetched() {
        let mb = 1024 * 1024;
        let listed: Vec<Listed> = (1..=100).map(|uid| Listed { uid, size: mb }).collect();
        let mut it = ReadIter::new(ReadOptions::default(), listed.clone());
        assert_eq!(it.ask_budget(), BATCH_BYTES);
        it.store_batch(&listed[..1], Vec::new());
        assert_eq!(
            it.ask_budget(),
            BATCH_BYTES,
            "4 x 1 MB is still one batch's budget"
        );
        it.store_batch(&listed[1..4], Vec::new());
        assert_eq!(it.ask_budget(), 16 * mb);
        it.resume_after_last_handed_out();
        assert_eq!(
            it.ask_budget(),
            BATCH_BYTES,
            "a new connection starts small again"
        );
        let headers = ReadOptions {
            headers_only: true,
            ..ReadOptions::default()
        };
        assert_eq!(ReadIter::new(headers, listed).ask_budget(), u64::MAX);
    }

    #[test]
    fn batches_given_back_are_taken_again() {
        let listed: Vec<Listed> = (1..=100).map(|uid| Listed { uid, size: 10 }).collect();
        let mut it = ReadIter::new(ReadOptions::default(), listed);
        let first = it.take_batch();
        let second = it.take_batch();
        let third = it.take_batch();
        assert_eq!((first.len(), second.len(), third.len()), (4, 8, 16));
        it.give_back(&[second.clone(), third]);
        // The messages of the batches given back are pending again, from the second's first.
        let again = it.take_batch();
        assert_eq!(again.first().map(|l| l.uid), Some(5));
        let taken: usize = 4
            + again.len()
            + std::iter::from_fn(|| Some(it.take_batch()))
                .take_while(|b| !b.is_empty())
                .map(|b| b.len())
                .sum::<usize>();
        assert_eq!(taken, 100, "every message taken once");
        it.give_back(&[]);
        assert!(it.take_batch().is_empty());
    }

    #[test]
    fn a_uid_listed_twice_keeps_the_entry_with_the_size() {
        let flag_update = |uid| Listed { uid, size: 0 };
        let answer = |uid| Listed {
            uid,
            size: 100 + u64::from(uid),
        };
        let listed = vec![
            answer(9),
            flag_update(3),
            answer(3),
            answer(5),
            flag_update(9),
        ];
        assert_eq!(in_uid_order(listed), vec![answer(3), answer(5), answer(9)]);
    }

    #[test]
    fn a_flag_update_next_to_the_body_does_not_replace_it() {
        let listed = vec![Listed { uid: 7, size: 10 }, Listed { uid: 8, size: 10 }];
        let mut it = ReadIter::new(ReadOptions::default(), listed.clone());
        let body = |uid: u32| {
            Message::new(
                uid,
                0,
                Vec::new(),
                10,
                b"Subject: x\r\n\r\nbody".to_vec(),
                false,
            )
        };
        let flags_only =
            |uid: u32| Message::new(uid, flags::SEEN, Vec::new(), 0, Vec::new(), false);
        it.store_batch(
            &listed,
            vec![flags_only(8), body(7), body(8), flags_only(7)],
        );
        let got: Vec<(u32, usize)> = std::iter::from_fn(|| it.pop_ready())
            .map(|m| (m.uid(), m.source().len()))
            .collect();
        assert_eq!(got, vec![(7, 18), (8, 18)]);
    }
}

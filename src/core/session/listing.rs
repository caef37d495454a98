//! Listing the selected folder at the start of a read iteration (UIDs and sizes, in order),
//! and, when reads stream, asking for the first batches as soon as the first part of the
//! listing has come: the rest of the listing is read while the server already works on them.
//!
//! Why: a folder of 5,000 messages takes the server several milliseconds to list and the
//! client more to parse; the first message waited for all of it, plus a round trip for the
//! first batch after it. Asked for early, the first batches travel while the listing is read.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{ask, has_room, route_fetch, Imap, InFlight, Session};
use crate::core::error::{Error, Result};
use crate::core::pool::BufferPool;
use crate::core::reader::{self, in_uid_order, ReadIter, ReadOptions};

/// Listed messages enough to ask for the first batches (whose growing sizes add up to a few
/// dozen messages within the first ask budget) before the rest of the listing is read.
const FIRST_LISTED: usize = 256;

/// Bytes of listing taken in first, when the first batches are to be asked for early: about
/// [`FIRST_LISTED`] messages (a listing line is 40 to 60 bytes).
const FIRST_LISTING_BYTES: usize = 12 * 1024;

/// Bytes of answer taken in at a time after the first part (messages of the first batches may
/// come in the same parts, when a server interleaves answers): the listing is never in
/// memory whole (100,000 messages are about 5 MB of answer, and imap-proto's parsed form of
/// a FETCH response is several times its size).
const LISTING_PART_BYTES: usize = 256 * 1024;

impl Session {
    /// Starts a read iteration with these options over the selected folder: lists it and,
    /// when reads stream (pipelining on, no \Seen marks), asks for the first batches while
    /// the rest of the listing comes.
    pub(super) fn start_iteration(&mut self, opts: ReadOptions) -> Result<()> {
        self.end_iteration();
        // As a streaming read asks (see start_streaming).
        let early = self
            .reads_stream(&opts)
            .then(|| (self.depth, self.streaming_guard_limit()));
        let pool = Arc::clone(&self.pool);
        let started = self.run_core(
            move |imap| list_and_ask(imap, opts, early, &pool),
            "listing (UID FETCH)",
        )?;
        self.in_flight = started.in_flight;
        self.begin_iteration(started.iter);
        match started.refused {
            None => Ok(()),
            // Some servers answer BAD/NO to "1:*" on an empty folder.
            Some(_) if self.exists == 0 && self.in_flight.is_empty() => {
                self.begin_iteration(ReadIter::new(opts, Vec::new()));
                Ok(())
            }
            Some(refused) => {
                // The batches asked for are read (and dropped) before the next command.
                self.end_iteration();
                Err(Error::from_imap(refused).context("listing (UID FETCH)"))
            }
        }
    }
}

/// What [`list_and_ask`] leaves: the iteration over the whole listing, the batches asked for,
/// and the server's refusal of the listing (after which its whole answer was read).
struct Started {
    iter: ReadIter,
    in_flight: VecDeque<InFlight>,
    refused: Option<imap::Error>,
}

/// Lists the folder with one `UID FETCH 1:*` whose answer is read in parts (so that it is
/// never in memory whole, at any folder size) and, with `early` (depth, budget), once
/// [`FIRST_LISTED`] messages are listed, asks for the first batches of the iteration as a
/// streaming read would (up to `depth + 1` of them within `budget` listed bytes). The rest of
/// the listing is read after that; answers to those batches that come with it (a server may
/// interleave them, and Dovecot sends completions only once it has nothing else to do) go to
/// their batches, as in a streaming read.
///
/// UIDs, not sequence ranges: a client that sent a UID command must not send one with
/// sequence numbers before that command completed (RFC 9051 5.5: EXPUNGE responses may come
/// during UID FETCH and shift the numbers).
fn list_and_ask(
    imap: &mut Imap,
    opts: ReadOptions,
    early: Option<(usize, u64)>,
    pool: &Arc<BufferPool>,
) -> Result<Started> {
    let listing = imap
        .uid_fetch_send("1:*", reader::list_query(&opts))
        .map_err(Error::from_imap)?;
    // Listed before the first batches were asked for, then after.
    let mut first = Vec::with_capacity(FIRST_LISTED * 2);
    let mut rest = Vec::new();
    let mut started: Option<(ReadIter, VecDeque<InFlight>)> = None;
    let mut refused = None;
    let mut part = if early.is_some() {
        FIRST_LISTING_BYTES
    } else {
        LISTING_PART_BYTES
    };
    loop {
        let (fetches, done) = match imap.fetch_receive_part(&listing, part) {
            Ok(got) => got,
            Err(e @ (imap::Error::No(_) | imap::Error::Bad(_))) => {
                refused = Some(e);
                break;
            }
            Err(e) => return Err(Error::from_imap(e)),
        };
        // A small first part only (when reading unread messages, FIRST_LISTED of them may take
        // much of the listing).
        part = LISTING_PART_BYTES;
        match started.as_mut() {
            None => first.extend(
                fetches
                    .iter()
                    .filter_map(|f| reader::listed_from_fetch(f, &opts)),
            ),
            Some((iter, in_flight)) => {
                let last = iter.last_listed();
                for fetch in fetches.iter() {
                    let listed = reader::listed_from_fetch(fetch, &opts)
                        .filter(|l| last.is_none_or(|u| l.uid > u));
                    match listed {
                        Some(l) if reader::content(fetch, &opts).is_none() => rest.push(l),
                        _ => route_fetch(fetch, &opts, in_flight),
                    }
                }
            }
        }
        if done {
            break;
        }
        if let Some((depth, budget)) =
            early.filter(|_| started.is_none() && first.len() >= FIRST_LISTED)
        {
            let mut iter = ReadIter::new(opts, in_uid_order(std::mem::take(&mut first)));
            let mut in_flight = VecDeque::new();
            let budget = iter.ask_budget().min(budget);
            while iter.wants_prefetch() && has_room(&in_flight, depth, budget) {
                in_flight.push_back(ask(imap, iter.take_batch(), opts, pool)?);
            }
            started = Some((iter, in_flight));
        }
    }
    let (mut iter, in_flight) = match started {
        Some(started) => started,
        None => (ReadIter::new(opts, in_uid_order(first)), VecDeque::new()),
    };
    iter.extend_listed(in_uid_order(rest));
    Ok(Started {
        iter,
        in_flight,
        refused,
    })
}

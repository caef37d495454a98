//! Searching the selected folder, reading the messages found with the read iteration, and
//! counting messages.

use super::Session;
use crate::core::error::Result;
use crate::core::message::{flags, Message};
use crate::core::reader::{self, Listed, ReadIter, ReadOptions};
use crate::core::search::{Criterion, LiteralMode, SearchQuery};

/// UIDs per listing FETCH (keeps command lines short when the UIDs are scattered).
const UIDS_PER_FETCH: usize = 500;

impl Session {
    /// The UIDs of the messages of the selected folder that match, ascending.
    ///
    /// Non-ASCII values make it a `CHARSET UTF-8` search, the values sent as literals when the
    /// server has LITERAL+ (or LITERAL- for up to 4096 bytes), else as quoted 8-bit text.
    pub fn search(&mut self, query: &SearchQuery) -> Result<Vec<u32>> {
        let caps = self.capabilities()?;
        let mode = LiteralMode::from_capabilities(|c| caps.contains(c));
        let cmd = format!("UID SEARCH {}", query.to_command_args(mode));
        Ok(self.command(&cmd, "UID SEARCH")?.search_uids())
    }

    /// Starts a read iteration over the messages that match (ascending UID), and returns the
    /// first one; `read_next` continues it. `opts.unread_only` adds UNSEEN to the criteria.
    pub fn read_first_search(
        &mut self,
        query: &SearchQuery,
        opts: ReadOptions,
    ) -> Result<Option<Message>> {
        self.end_iteration();
        let mut query = query.clone();
        if opts.unread_only {
            query.push(Criterion::Flags {
                bits: flags::SEEN,
                set: false,
            })?;
        }
        let uids = self.search(&query)?;
        let listed = self.list_uids(&uids, &opts)?;
        self.begin_iteration(ReadIter::new(opts, listed));
        self.read_next()
    }

    /// UIDs and sizes of these messages (those still there), ascending.
    fn list_uids(&mut self, uids: &[u32], opts: &ReadOptions) -> Result<Vec<Listed>> {
        let opts = *opts;
        let mut out = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(UIDS_PER_FETCH) {
            let set = reader::uid_set(chunk.iter().copied());
            let mut part = self.run(
                |imap| {
                    imap.uid_fetch(&set, reader::list_query(&opts))
                        .map(|fetches| {
                            fetches
                                .iter()
                                .filter_map(|f| reader::listed_from_fetch(f, &opts))
                                .collect::<Vec<_>>()
                        })
                },
                "UID FETCH",
            )?;
            // Unsolicited FETCH lines (flag changes) may name other messages.
            part.retain(|l| chunk.binary_search(&l.uid).is_ok());
            out.extend(part);
        }
        Ok(reader::in_uid_order(out))
    }

    /// The number of messages in the selected folder (after a NOOP for news), or of unread
    /// ones (SEARCH UNSEEN).
    pub fn count(&mut self, unread_only: bool) -> Result<u32> {
        if unread_only {
            let found = self
                .command("UID SEARCH UNSEEN", "UID SEARCH UNSEEN")?
                .search_uids();
            Ok(u32::try_from(found.len()).unwrap_or(u32::MAX))
        } else {
            self.command("NOOP", "NOOP")?;
            Ok(self.exists)
        }
    }
}

//! An authenticated IMAP session: connecting securely, logging in, selecting a folder and
//! reading messages.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::connection::{self, Socket, Transport};
use super::error::{Error, Result};
use super::guard;
use super::message::Message;
use super::mutf7;
use super::options::{check_text, Security, SessionOptions};
use super::pool::{BufferPool, ReturnTo};
use super::reader::{self, Listed, ReadIter, ReadOptions};
use super::trace::{TraceCallback, Tracer};

mod listing;
pub mod mailbox;
mod search;
mod starttls;
#[doc(hidden)]
pub mod testing;
mod tolerance;

/// User name and secret (password or OAuth2 token). The secret is wiped from memory when
/// dropped and never appears in errors or traces.
pub struct Credentials {
    pub user: String,
    secret: Zeroizing<String>,
}

impl Credentials {
    pub fn new(user: &str, secret: &str) -> Credentials {
        Credentials {
            user: user.to_string(),
            secret: Zeroizing::new(secret.to_string()),
        }
    }
}

impl Clone for Credentials {
    fn clone(&self) -> Credentials {
        Credentials::new(&self.user, &self.secret)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .finish()
    }
}

pub(crate) type Imap = imap::Session<Transport>;

/// Called with (done, total) during long reads; returning true cancels.
pub type ProgressCallback = Box<dyn FnMut(u64, u64) -> bool + Send>;

/// Stack of the threads that fetch ahead: generous, since response parsing recurses.
const PREFETCH_STACK: usize = 16 * 1024 * 1024;

/// A batch being fetched on a library thread, which owns the connection meanwhile.
struct Prefetch {
    worker: std::thread::JoinHandle<(Imap, Fetched)>,
}

/// A batch whose UID FETCH was sent but whose answer is still to be read: the server sends it
/// while the answer before it is being read (pipelining), so a batch never costs a round trip.
struct InFlight {
    batch: Vec<Listed>,
    opts: ReadOptions,
    pending: imap::PendingFetch,
    /// Its messages read so far but not handed to the iteration yet: they may come with the
    /// answer of a command before it (a server may run pipelined commands concurrently and
    /// interleave their answers; Dovecot does).
    early: Vec<Message>,
    /// For each message of `batch`: its content has come (not just a flag update).
    got: Vec<bool>,
    /// Messages of `batch` whose content has not come yet.
    missing: usize,
    /// Its messages were handed to the iteration (all had come): the rest of its answer (its
    /// completion, which a server may send long after) is still to be read.
    delivered: bool,
    /// Its completion was read: nothing more of its answer is to be read.
    done: bool,
    /// Where its messages' buffers come from (see [`crate::core::pool`]).
    pool: Arc<BufferPool>,
}

impl InFlight {
    /// Notes that the content of its message at `at` (in `batch`) came.
    fn mark_got(&mut self, at: usize) {
        if let Some(got) = self.got.get_mut(at).filter(|got| !**got) {
            *got = true;
            self.missing -= 1;
        }
    }

    /// Listed size of its first message whose content has not come.
    fn next_missing_size(&self) -> Option<u64> {
        let next = (self.batch.iter().zip(&self.got)).find(|(_, got)| !**got);
        next.map(|(listed, _)| listed.size)
    }

    /// True when it can be handed to the iteration (reads that stream): its completion was
    /// read, or every message of its batch has come.
    fn complete(&self) -> bool {
        self.done || self.missing == 0
    }
}

/// What a prefetch thread hands back with the connection.
struct Fetched {
    /// The batch it read, and its messages (or the failure).
    batch: Vec<Listed>,
    result: Result<Vec<Message>>,
    /// The batches after it, asked for before this one was read, in order.
    in_flight: VecDeque<InFlight>,
    /// A failure after the batch was read (asking for the next one): reported after it.
    later: Option<Error>,
    /// Batches the thread was given to ask for and did not: back to the iteration.
    unasked: Vec<Vec<Listed>>,
}

/// A logged-in session with one folder selected.
pub struct Session {
    /// The connection; None only while a prefetch thread owns it.
    imap: Option<Imap>,
    prefetch: Option<Prefetch>,
    /// Batches asked for, not read yet, in order (only while the session holds the
    /// connection).
    in_flight: VecDeque<InFlight>,
    /// How many batches a read keeps asked for ahead of the one being read: enough to cover
    /// the round trip (see [`pipeline_depth`]).
    depth: usize,
    /// A second handle on the TCP socket, to cut the connection without going through TLS.
    socket: Socket,
    /// Where the protocol trace goes (shared with the transport).
    trace: Tracer,
    opts: SessionOptions,
    /// The capabilities after login: asked for when first needed (reading never needs them),
    /// which saves a round trip at login.
    capabilities: Option<HashSet<String>>,
    folder: String,
    exists: u32,
    iter: Option<ReadIter>,
    /// UIDs this session marked \Deleted, per folder: what `expunge` removes.
    deleted_marks: std::collections::HashMap<String, std::collections::BTreeSet<u32>>,
    progress: Option<ProgressCallback>,
    /// Set once the connection is unusable; every later call fails with it.
    broken: Option<String>,
    /// With the `reconnect` option only: what logging in again needs (wiped when dropped).
    creds: Option<Credentials>,
    /// UIDVALIDITY and mode of the selected folder: a read resumes on a new connection only
    /// if the UIDs still mean the same messages.
    uid_validity: Option<u32>,
    read_only: bool,
    /// New connections a read iteration may still make before it fails for good; restored
    /// whenever a message is handed out.
    reconnects_left: u32,
    /// Buffers for the messages read, shared with them (see [`crate::core::pool`]).
    pool: Arc<BufferPool>,
}

/// Connections in a row a read iteration tries after losing one (with `reconnect=1`).
const RECONNECTS: u32 = 3;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.opts.host)
            .field("folder", &self.folder)
            .finish()
    }
}

/// What imapmail says of itself to servers that ask (RFC 2971 ID).
const ID_COMMAND: &str = concat!(
    "ID (\"name\" \"imapmail\" \"version\" \"",
    env!("CARGO_PKG_VERSION"),
    "\")"
);

impl Session {
    /// Connects, secures the connection, logs in and selects `opts.folder`.
    pub fn open(opts: SessionOptions, creds: &Credentials) -> Result<Session> {
        check_text("user name", &creds.user)?;
        check_text("password", &creds.secret)?;
        check_text("folder", &opts.folder)?;
        if opts.host.is_empty() {
            return Err(Error::Argument("server name is empty".into()));
        }
        let tracer = Tracer::with_sinks(
            opts.trace_file.as_deref(),
            opts.trace_queue.as_ref().map(|q| &q.0),
        )?;
        Session::open_traced(opts, creds, tracer)
    }

    /// As [`Session::open`], tracing to `tracer`.
    fn open_traced(opts: SessionOptions, creds: &Credentials, tracer: Tracer) -> Result<Session> {
        let tcp = connection::connect_tcp(&opts)?;
        let transport = match opts.security {
            Security::Tls => Transport::tls(tcp, &opts, tracer.clone())?,
            Security::StartTls => {
                starttls::starttls(&opts, Transport::plain(tcp, &opts, tracer.clone()))?
            }
            Security::None => Transport::plain(tcp, &opts, tracer.clone()),
        };
        let keep = opts.reconnect.then(|| creds.clone());
        // The server's answers are parsed on a library thread with a known stack.
        let mut session =
            guard::on_parser_stack(move || Session::start(transport, tracer, opts, creds))?;
        session.creds = keep;
        Ok(session)
    }

    /// Logs in and selects `opts.folder` over a connected (and, unless STARTTLS was used, not
    /// yet greeted) transport.
    pub(crate) fn start(
        transport: Transport,
        tracer: Tracer,
        opts: SessionOptions,
        creds: &Credentials,
    ) -> Result<Session> {
        let socket = transport.socket()?;
        let mut client = imap::Client::new(transport);
        // Most servers list their capabilities in the greeting (RFC 3501 7.1): no CAPABILITY
        // command then. After STARTTLS there is no new greeting, and what came before TLS is
        // not trusted.
        let mut greeted_caps = None;
        if opts.security != Security::StartTls {
            let greeting = client
                .read_greeting()
                .map_err(|e| Error::from_imap(e).context("reading the greeting"))?;
            check_greeting(&greeting)?;
            greeted_caps = greeting_capabilities(&greeting);
        }
        let caps = match greeted_caps {
            Some(caps) => caps,
            None => client
                .capabilities()
                .map_err(|e| Error::from_imap(e).context("CAPABILITY"))
                .map(|c| capability_set(&c))?,
        };
        // The shortest exchange seen at login is the round trip, which sets how far reads ask
        // ahead (see `pipeline_depth`).
        let mut round_trip = std::time::Duration::MAX;
        // Some servers (NetEase, QQ Mail) refuse LOGIN or SELECT from clients that have not
        // said who they are (RFC 2971). The answer itself does not matter.
        let id_sent = caps.contains("ID");
        // With SASL-IR the login is one line: ID goes just before it and both are answered in
        // one round trip (pipelining, RFC 3501 5.5; ID changes nothing the login depends on).
        let method = LoginMethod::choose(&opts, &caps);
        let pipelined_id = id_sent && opts.pipelining && method.is_one_line();
        let mut id_pending = None;
        let asked = std::time::Instant::now();
        if pipelined_id {
            let tag = client
                .send_command(ID_COMMAND)
                .map_err(|e| Error::from_imap(e).context("ID"))?;
            id_pending = Some(tag);
        } else if id_sent {
            if let Err(e) = client.run_command_and_check_ok(ID_COMMAND) {
                ignore_unless_broken(Error::from_imap(e), "ID")?;
            }
            round_trip = asked.elapsed();
        }
        let (id_outcome, imap) = authenticate(client, method, creds, id_pending);
        if let Some(Err(e)) = id_outcome {
            ignore_unless_broken(Error::from_imap(e), "ID")?;
        }
        let imap = imap?;
        if pipelined_id {
            // ID and the login together: at least the round trip.
            round_trip = asked.elapsed();
        }
        let mut session = Session {
            imap: Some(imap),
            prefetch: None,
            in_flight: VecDeque::new(),
            depth: 1,
            socket,
            trace: tracer,
            capabilities: None,
            folder: String::new(),
            exists: 0,
            iter: None,
            deleted_marks: std::collections::HashMap::new(),
            progress: None,
            broken: None,
            creds: None,
            uid_validity: None,
            read_only: false,
            reconnects_left: RECONNECTS,
            pool: BufferPool::new(),
            opts,
        };
        // A server that offers ID only after login (RFC 2971 allows both) hears it then.
        if !id_sent && session.has_capability("ID")? {
            let _ = session.run(|imap| imap.run_command_and_check_ok(ID_COMMAND), "ID");
        }
        let folder = session.opts.folder.clone();
        let asked = std::time::Instant::now();
        session.select(&folder, false)?;
        session.depth = pipeline_depth(round_trip.min(asked.elapsed()));
        Ok(session)
    }

    /// Sets (or removes) the protocol trace callback; it applies at once, also to a fetch
    /// running ahead on a library thread (from which it is then called).
    pub fn set_trace_callback(&mut self, callback: Option<TraceCallback>) {
        self.trace.set_callback(callback);
    }

    /// The options the session was opened with.
    pub fn options(&self) -> &SessionOptions {
        &self.opts
    }

    /// True when the server advertises that capability (case-insensitive, e.g. "MOVE").
    ///
    /// Capabilities may change at login (RFC 3501 7.2.1), so the first call after it asks the
    /// server again (one CAPABILITY command; later calls use that answer).
    pub fn has_capability(&mut self, name: &str) -> Result<bool> {
        Ok(self.capabilities()?.contains(&name.to_ascii_uppercase()))
    }

    /// The capabilities after login (upper case), asked for on the first call.
    pub(crate) fn capabilities(&mut self) -> Result<&HashSet<String>> {
        let caps = match self.capabilities.take() {
            Some(caps) => caps,
            None => self.run(
                |imap| imap.capabilities().map(|c| capability_set(&c)),
                "CAPABILITY",
            )?,
        };
        Ok(self.capabilities.insert(caps))
    }

    /// The selected folder (UTF-8).
    pub fn current_folder(&self) -> &str {
        &self.folder
    }

    /// Number of messages in the selected folder, as last reported by the server.
    pub fn exists(&self) -> u32 {
        self.exists
    }

    /// Sets (or clears) the progress callback used by `get_all` and the read iteration.
    pub fn set_progress(&mut self, callback: Option<ProgressCallback>) {
        self.progress = callback;
    }

    /// Selects a folder (read-only with EXAMINE); ends any running read iteration.
    pub fn select(&mut self, folder: &str, read_only: bool) -> Result<()> {
        check_text("folder", folder)?;
        self.end_iteration();
        let encoded = mutf7::encode(folder);
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let what = format!("{verb} {folder}");
        let mailbox = self
            .run(
                |imap| {
                    if read_only {
                        imap.examine(&encoded)
                    } else {
                        imap.select(&encoded)
                    }
                },
                &what,
            )
            .map_err(mailbox::missing)?;
        self.exists = mailbox.exists;
        self.folder = folder.to_string();
        self.uid_validity = mailbox.uid_validity;
        self.read_only = read_only;
        Ok(())
    }

    /// Starts a read iteration over the selected folder in ascending UID order and returns its
    /// first message (None when there is none).
    pub fn read_first(&mut self, opts: ReadOptions) -> Result<Option<Message>> {
        self.start_iteration(opts)?;
        self.read_next()
    }

    /// Continues the read iteration; None when it is over (or none was started).
    ///
    /// Messages are fetched in growing batches; while the host works on one batch, the next
    /// one is fetched and parsed on a library thread, so a read rarely waits for the network.
    /// An error of a batch fetched ahead is returned after the messages already fetched.
    pub fn read_next(&mut self) -> Result<Option<Message>> {
        loop {
            let Some(iter) = self.iter.as_mut() else {
                return Ok(None);
            };
            if let Some(mut m) = iter.pop_ready() {
                m.set_folder(&self.folder);
                self.reconnects_left = RECONNECTS;
                let (done, total) = (iter.handed_out(), iter.total());
                self.start_prefetch();
                if self.report_progress(done, total) {
                    return Err(Error::Cancelled(
                        "cancelled by the progress callback".into(),
                    ));
                }
                return Ok(Some(m));
            }
            if let Some(e) = iter.take_error() {
                if self.resume_on_new_connection(&e) {
                    continue;
                }
                self.drop_iteration();
                return Err(e);
            }
            if self.prefetch.is_some() {
                self.join_prefetch();
                continue;
            }
            if has_batches_to_read(&self.in_flight) {
                // Read the batch asked for on a library thread (asking for the next one first);
                // without a thread, here.
                self.start_prefetch();
                if self.prefetch.is_none() {
                    self.settle();
                }
                continue;
            }
            if iter.is_done() {
                let result = self.flush_marks();
                self.drop_iteration();
                return result.map(|_| None);
            }
            self.start_prefetch();
            if self.prefetch.is_some() || self.iter.as_ref().is_some_and(ReadIter::has_error) {
                continue;
            }
            // No thread was started (the session is broken): the synchronous path says why.
            let Some(iter) = self.iter.as_mut() else {
                return Ok(None);
            };
            let batch = iter.take_batch();
            let opts = iter.opts;
            match self.fetch_batch(&batch, opts) {
                Ok(fetched) => {
                    if let Some(iter) = self.iter.as_mut() {
                        iter.store_batch(&batch, fetched);
                    }
                }
                Err(e) => {
                    if self.resume_on_new_connection(&e) {
                        continue;
                    }
                    self.drop_iteration();
                    return Err(e);
                }
            }
        }
    }

    /// With `reconnect=1`, after the connection was lost during a read iteration: connects,
    /// logs in and selects the folder again, and sets the iteration to go on after the last
    /// message handed out. False (the error stands) when the option is off, the failure is not
    /// a lost connection (a protocol violation would only happen again), the attempts are used
    /// up, or the folder's UIDVALIDITY changed (the UIDs no longer name the same messages).
    fn resume_on_new_connection(&mut self, e: &Error) -> bool {
        let lost = matches!(e, Error::Disconnected(_) | Error::Timeout(_) | Error::Io(_));
        if !lost || self.reconnects_left == 0 || self.iter.is_none() {
            return false;
        }
        let Some(creds) = self.creds.clone() else {
            return false;
        };
        self.reconnects_left -= 1;
        self.join_prefetch();
        self.in_flight.clear();
        let mut opts = self.opts.clone();
        opts.folder = self.folder.clone();
        let Ok(mut fresh) = Session::open_traced(opts, &creds, self.trace.clone()) else {
            return false;
        };
        if self.read_only && fresh.select(&self.folder, true).is_err() {
            fresh.close();
            return false;
        }
        if fresh.uid_validity != self.uid_validity {
            fresh.close();
            if let Some(iter) = self.iter.as_mut() {
                iter.set_error(Error::Disconnected(format!(
                    "the connection was lost and the folder {:?} changed meanwhile (UIDVALIDITY); the read cannot resume",
                    self.folder
                )));
            }
            self.reconnects_left = 0;
            return true;
        }
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        let Session {
            imap,
            socket,
            capabilities,
            exists,
            depth,
            ..
        } = fresh;
        self.imap = imap;
        self.socket = socket;
        self.capabilities = capabilities;
        self.exists = exists;
        self.depth = depth;
        self.broken = None;
        if let Some(iter) = self.iter.as_mut() {
            iter.resume_after_last_handed_out();
        }
        true
    }

    /// Reads every message of the selected folder (with these options) at once, without
    /// disturbing a running read iteration.
    pub fn get_all(&mut self, opts: ReadOptions) -> Result<Vec<Message>> {
        self.settle();
        let saved = self.iter.take();
        let result = self.collect_all(opts);
        self.end_iteration();
        self.iter = saved;
        result
    }

    /// Fetches the whole of a message read with headers only (or re-reads any message) from
    /// the selected folder, without disturbing a running read iteration. Never sets \Seen.
    pub fn load_full(&mut self, m: &Message) -> Result<Message> {
        if m.folder() != self.folder {
            return Err(Error::NotFound(format!(
                "message UID {} was read from folder {:?}, but {:?} is selected",
                m.uid(),
                m.folder(),
                self.folder
            )));
        }
        let opts = ReadOptions::default();
        let set = m.uid().to_string();
        let pool = Arc::clone(&self.pool);
        let mut fetched =
            self.run_core(|imap| fetch_messages(imap, &set, opts, &pool), "UID FETCH")?;
        let mut full = fetched.pop().ok_or_else(|| {
            Error::NotFound(format!(
                "message UID {} no longer exists in {:?}",
                m.uid(),
                self.folder
            ))
        })?;
        full.set_folder(&self.folder);
        Ok(full)
    }

    fn collect_all(&mut self, opts: ReadOptions) -> Result<Vec<Message>> {
        self.start_iteration(opts)?;
        let total = self.iter.as_ref().map_or(0, ReadIter::total);
        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        while let Some(m) = self.read_next()? {
            out.push(m);
        }
        Ok(out)
    }

    /// Logs out and closes the connection. Errors during LOGOUT are ignored: the session is
    /// gone either way.
    pub fn close(mut self) {
        // A fetch running ahead is waited for (at most one batch): the \Seen marks still to
        // send and a clean LOGOUT need the connection.
        self.settle();
        let _ = self.flush_marks();
        if self.broken.is_none() {
            if let Some(imap) = self.imap.as_mut() {
                let _ = guard::on_parser_stack(|| imap.logout().map_err(Error::from_imap));
            }
        }
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }

    /// Ends the read iteration, waiting for a fetch running ahead and marking the messages
    /// handed out \Seen when asked to (an error there is ignored: the iteration is over).
    fn end_iteration(&mut self) {
        self.settle();
        let _ = self.flush_marks();
        self.drop_iteration();
    }

    /// Makes `iter` the read iteration; the buffers of its messages are kept for reuse until
    /// it ends (see [`Session::drop_iteration`]).
    fn begin_iteration(&mut self, iter: ReadIter) {
        self.iter = Some(iter);
        self.pool.keep();
    }

    /// Forgets the read iteration; the buffers kept for its messages are freed.
    fn drop_iteration(&mut self) {
        self.iter = None;
        self.pool.release();
    }

    /// Sends the pending \Seen marks of the iteration now.
    fn flush_marks(&mut self) -> Result<()> {
        let has_marks = self.iter.as_ref().is_some_and(ReadIter::has_marks);
        if has_marks {
            self.run_core(|_| Ok(()), "UID STORE \\Seen")?;
        }
        Ok(())
    }

    fn report_progress(&mut self, done: u64, total: u64) -> bool {
        match self.progress.as_mut() {
            Some(cb) => cb(done, total),
            None => false,
        }
    }

    /// Starts reading the next batch on a library thread: the first batch already asked for,
    /// or else the next one of the iteration. Unless pipelining is off, the batches after it
    /// are asked for too, up to [`Session::depth`] ahead, so that the server never waits for
    /// us between batches; without \Seen marks to send, reads stream (see [`stream_ahead`]).
    /// Memory stays bounded: one batch ready, one being read; the answers of the batches
    /// asked for wait in the server and the socket (streaming reads take in a part at a time
    /// and stop once the batch being read is complete).
    fn start_prefetch(&mut self) {
        if self.prefetch.is_some() || self.broken.is_some() {
            return;
        }
        let Some(iter) = self.iter.as_ref() else {
            return;
        };
        if !has_batches_to_read(&self.in_flight) && !iter.wants_prefetch() {
            return;
        }
        if self.reads_stream(&iter.opts) {
            self.start_streaming();
            return;
        }
        let Some(iter) = self.iter.as_mut() else {
            return;
        };
        let Some(mut imap) = self.imap.take() else {
            return;
        };
        let mut queue = std::mem::take(&mut self.in_flight);
        let current = match queue.pop_front() {
            Some(flight) => Ahead::Asked(flight),
            None => Ahead::ToAsk(iter.take_batch(), iter.opts),
        };
        // \Seen marks need a moment with nothing outstanding (see fetch_ahead): one ahead.
        let depth = match (self.opts.pipelining, iter.opts.mark_seen) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => self.depth,
        };
        let mut next = Vec::new();
        while queue.len() + next.len() < depth && iter.wants_prefetch() {
            next.push((iter.take_batch(), iter.opts));
        }
        let marks = iter.take_marks();
        let pool = Arc::clone(&self.pool);
        let spawned = std::thread::Builder::new()
            .name("imapmail-prefetch".into())
            .stack_size(PREFETCH_STACK)
            .spawn(move || {
                guard::mark_parser_stack();
                let fetched = fetch_ahead(&mut imap, &pool, current, queue, next, &marks);
                (imap, fetched)
            });
        self.spawned(spawned);
    }

    /// [`Session::start_prefetch`] when reads stream (see [`stream_ahead`]): the thread gets
    /// the batches asked for and up to `depth + 1` more to ask for as answers come (those it
    /// does not ask for go back to the iteration).
    fn start_streaming(&mut self) {
        let guard_limit = self.streaming_guard_limit();
        let Some(iter) = self.iter.as_mut() else {
            return;
        };
        let Some(mut imap) = self.imap.take() else {
            return;
        };
        let queue = std::mem::take(&mut self.in_flight);
        let depth = self.depth;
        let budget = iter.ask_budget().min(guard_limit);
        let mut to_ask = VecDeque::new();
        while to_ask.len() <= depth && iter.wants_prefetch() {
            to_ask.push_back((iter.take_batch(), iter.opts));
        }
        let pool = Arc::clone(&self.pool);
        let spawned = std::thread::Builder::new()
            .name("imapmail-prefetch".into())
            .stack_size(PREFETCH_STACK)
            .spawn(move || {
                guard::mark_parser_stack();
                let fetched = stream_ahead(&mut imap, &pool, queue, to_ask, depth, budget);
                (imap, fetched)
            });
        self.spawned(spawned);
    }

    /// True when reads with these options stream (see [`stream_ahead`]): pipelining on, no
    /// \Seen marks to send between batches.
    fn reads_stream(&self, opts: &ReadOptions) -> bool {
        self.opts.pipelining && !opts.mark_seen
    }

    /// Most a streaming read keeps asked for, whatever its budget: half of what the stream guard
    /// lets through between two commands sent. The answers asked for last are read after the
    /// last command (size mismatches and the batch that crosses the budget have the other half).
    fn streaming_guard_limit(&self) -> u64 {
        guard::Limits::for_max_message(self.opts.max_message_bytes).max_response / 2
    }

    /// Keeps the thread started to read ahead, or records why there is none.
    fn spawned(&mut self, spawned: std::io::Result<std::thread::JoinHandle<(Imap, Fetched)>>) {
        match spawned {
            Ok(worker) => self.prefetch = Some(Prefetch { worker }),
            Err(_) => {
                // No thread to be had: the closure, and the connection it owned, is gone.
                self.broken = Some("could not start a prefetch thread".into());
                if let Some(iter) = self.iter.as_mut() {
                    iter.set_error(Error::Internal("could not start a prefetch thread".into()));
                }
            }
        }
    }

    /// Waits for the thread reading ahead (if any), takes the connection back and stores the
    /// batch (or its error) in the iteration. A batch it asked for stays in flight.
    fn join_prefetch(&mut self) {
        let Some(prefetch) = self.prefetch.take() else {
            return;
        };
        match prefetch.worker.join() {
            Ok((imap, fetched)) => {
                self.imap = Some(imap);
                self.in_flight = fetched.in_flight;
                if let Some(iter) = self.iter.as_mut() {
                    iter.give_back(&fetched.unasked);
                }
                self.store_fetched(&fetched.batch, fetched.result);
                if let Some(e) = fetched.later {
                    self.after_exchange(Some(&e));
                    if let Some(iter) = self.iter.as_mut().filter(|i| !i.has_error()) {
                        iter.set_error(e);
                    }
                }
            }
            Err(_) => {
                let e = Error::Internal("the prefetch thread panicked".into());
                self.broken = Some(e.message().to_string());
                if let Some(iter) = self.iter.as_mut() {
                    iter.set_error(e);
                }
            }
        }
    }

    /// Brings the connection back to rest before any other command: waits for the thread
    /// reading ahead, then reads the answer of a batch still in flight into the iteration (or
    /// drops it when the iteration is gone).
    fn settle(&mut self) {
        self.join_prefetch();
        while !self.in_flight.is_empty() {
            if self.broken.is_some() {
                self.in_flight.clear();
                return;
            }
            let Some(imap) = self.imap.as_mut() else {
                self.in_flight.clear();
                return;
            };
            let queue = &mut self.in_flight;
            let result = guard::on_parser_stack(|| read_rest_of_oldest(imap, queue));
            let Some(flight) = self.in_flight.pop_front() else {
                return;
            };
            if flight.delivered {
                // Handed out already: only a broken connection matters now.
                if let Err(e) = result.as_ref() {
                    self.after_exchange(Some(&e.clone().context("UID FETCH")));
                }
            } else {
                self.store_fetched(&flight.batch, result.map(|()| flight.early));
            }
        }
    }

    /// Hands the answer of a batch to the iteration (its messages, or its failure, which also
    /// marks the session broken when the connection cannot be trusted any more).
    fn store_fetched(&mut self, batch: &[Listed], result: Result<Vec<Message>>) {
        let result = self.conclude(result.map_err(|e| e.context("UID FETCH")), "UID FETCH");
        if let Some(iter) = self.iter.as_mut() {
            match result {
                Ok(messages) => iter.store_batch(batch, messages),
                Err(e) => iter.set_error(e),
            }
        }
    }

    fn fetch_batch(&mut self, batch: &[Listed], opts: ReadOptions) -> Result<Vec<Message>> {
        let set = reader::uid_set(batch.iter().map(|l| l.uid));
        let pool = Arc::clone(&self.pool);
        self.run_core(|imap| fetch_messages(imap, &set, opts, &pool), "UID FETCH")
    }

    /// Runs one exchange with the server through the imap crate, mapping its error.
    pub(crate) fn run<T: Send>(
        &mut self,
        f: impl FnOnce(&mut Imap) -> imap::Result<T> + Send,
        what: &str,
    ) -> Result<T> {
        self.run_core(|imap| f(imap).map_err(Error::from_imap), what)
    }

    /// Runs one exchange with the server: waits for a fetch running ahead, tracks EXISTS, and
    /// marks the session broken when the connection cannot be trusted any more.
    pub(crate) fn run_core<T: Send>(
        &mut self,
        f: impl FnOnce(&mut Imap) -> Result<T> + Send,
        what: &str,
    ) -> Result<T> {
        self.settle();
        if let Some(reason) = &self.broken {
            return Err(Error::Disconnected(format!(
                "the connection was lost earlier ({reason}); close the session and start a new one"
            )));
        }
        let marks = self
            .iter
            .as_mut()
            .map(ReadIter::take_marks)
            .unwrap_or_default();
        let Some(imap) = self.imap.as_mut() else {
            return Err(Error::Internal("no connection".into()));
        };
        let result = guard::on_parser_stack(|| {
            mark_seen(imap, &marks)
                .map_err(|e| e.context("UID STORE \\Seen"))
                .and_then(|_| f(imap).map_err(|e| e.context(what)))
        });
        self.conclude(result, what)
    }

    fn after_exchange(&mut self, error: Option<&Error>) {
        if let Some(imap) = self.imap.as_mut() {
            for u in imap.take_all_unsolicited() {
                match u {
                    imap::types::UnsolicitedResponse::Exists(n) => self.exists = n,
                    imap::types::UnsolicitedResponse::Expunge(_) => {
                        self.exists = self.exists.saturating_sub(1);
                    }
                    _ => {}
                }
            }
        }
        if let Some(e) = error {
            if e.breaks_connection() && self.broken.is_none() {
                self.broken = Some(e.message().to_string());
                let _ = self.socket.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// Marks messages read (\Seen) on the server; nothing to do for an empty list.
fn mark_seen(imap: &mut Imap, uids: &[u32]) -> Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    imap.uid_store(
        reader::uid_set(uids.iter().copied()),
        reader::MARK_SEEN_ITEMS,
    )
    .map(|_| ())
    .map_err(Error::from_imap)
}

/// Fetches the messages of a UID set with the read options.
fn fetch_messages(
    imap: &mut Imap,
    set: &str,
    opts: ReadOptions,
    pool: &Arc<BufferPool>,
) -> Result<Vec<Message>> {
    imap.uid_fetch(set, reader::fetch_query(&opts))
        .map(|fetches| messages_of(&fetches, &opts, pool))
        .map_err(Error::from_imap)
}

/// The messages of a FETCH answer.
fn messages_of(
    fetches: &imap::types::Fetches,
    opts: &ReadOptions,
    pool: &Arc<BufferPool>,
) -> Vec<Message> {
    fetches
        .iter()
        .filter_map(|f| reader::message_from_fetch(f, opts, pool))
        .collect()
}

/// True when a batch in flight has not been handed to the iteration yet (the others wait only
/// for the rest of their answers).
fn has_batches_to_read(in_flight: &VecDeque<InFlight>) -> bool {
    in_flight.iter().any(|f| !f.delivered)
}

/// The batch a prefetch thread reads: one already asked for, or one it asks for itself.
enum Ahead {
    Asked(InFlight),
    ToAsk(Vec<Listed>, ReadOptions),
}

/// Sends the UID FETCH of a batch without reading the answer.
fn ask(
    imap: &mut Imap,
    batch: Vec<Listed>,
    opts: ReadOptions,
    pool: &Arc<BufferPool>,
) -> Result<InFlight> {
    let set = reader::uid_set(batch.iter().map(|l| l.uid));
    let pending = imap
        .uid_fetch_send(&set, reader::fetch_query(&opts))
        .map_err(Error::from_imap)?;
    Ok(InFlight {
        got: vec![false; batch.len()],
        missing: batch.len(),
        batch,
        opts,
        pending,
        early: Vec::new(),
        delivered: false,
        done: false,
        pool: Arc::clone(pool),
    })
}

/// Reads the rest of the answer of the oldest batch in `queue`: its messages go to it, those
/// of later batches to them (a server may interleave the answers).
fn read_rest_of_oldest(imap: &mut Imap, queue: &mut VecDeque<InFlight>) -> Result<()> {
    while queue.front().is_some_and(|f| !f.done) {
        read_part(imap, queue, 0, PART_BYTES)?;
    }
    Ok(())
}

/// The work of a prefetch thread: asks for the batches `next` (after those already in
/// `queue`), then reads `current` (pipelining). \Seen marks are sent when no fetch is
/// outstanding: first when nothing was asked for yet, otherwise right after `current` was read
/// (the caller then keeps `queue` empty), and `next` is asked for after them.
fn fetch_ahead(
    imap: &mut Imap,
    pool: &Arc<BufferPool>,
    current: Ahead,
    mut queue: VecDeque<InFlight>,
    next: Vec<(Vec<Listed>, ReadOptions)>,
    marks: &[u32],
) -> Fetched {
    let mut marks_sent = marks.is_empty();
    let current = match current {
        Ahead::Asked(flight) => flight,
        Ahead::ToAsk(batch, opts) => {
            let asked = mark_seen(imap, marks)
                .map_err(|e| e.context("UID STORE \\Seen"))
                .and_then(|()| ask(imap, batch.clone(), opts, pool));
            match asked {
                Ok(flight) => {
                    marks_sent = true;
                    flight
                }
                Err(e) => {
                    return Fetched {
                        batch,
                        result: Err(e),
                        in_flight: queue,
                        later: None,
                        unasked: Vec::new(),
                    }
                }
            }
        }
    };
    let mut later = None;
    let mut next = next.into_iter();
    let mut ask_next =
        |imap: &mut Imap, queue: &mut VecDeque<InFlight>, later: &mut Option<Error>| {
            for (batch, opts) in next.by_ref() {
                match ask(imap, batch, opts, pool) {
                    Ok(flight) => queue.push_back(flight),
                    Err(e) => {
                        *later = Some(e.context("UID FETCH"));
                        break;
                    }
                }
            }
        };
    if marks_sent {
        ask_next(imap, &mut queue, &mut later);
    }
    queue.push_front(current);
    let result = read_rest_of_oldest(imap, &mut queue);
    let (batch, result) = match queue.pop_front() {
        Some(flight) => (flight.batch, result.map(|()| flight.early)),
        None => (Vec::new(), result.map(|()| Vec::new())),
    };
    if result.is_ok() && !marks_sent {
        match mark_seen(imap, marks) {
            Ok(()) => ask_next(imap, &mut queue, &mut later),
            Err(e) => later = Some(e.context("UID STORE \\Seen")),
        }
    }
    if later.is_none() && next.len() > 0 {
        // Not asked for (the batch before failed): the iteration ends with that failure, so
        // these messages are not silently skipped.
        later = Some(Error::Internal("the batch before failed".into()));
    }
    Fetched {
        batch,
        result,
        in_flight: queue,
        later,
        unasked: Vec::new(),
    }
}

/// Bytes of answer taken in at a time at most (see [`read_part`]): small enough that a
/// streaming read hands a batch out soon after its last message came, large enough that
/// parsing stays cheap.
const PART_BYTES: usize = 1024 * 1024;

/// The work of a prefetch thread when reads stream (pipelining on, no \Seen marks): hands
/// back the first batch not handed out yet as soon as all its messages have come, without
/// waiting for its command's completion, and keeps up to `depth + 1` batches not yet handed
/// out asked for (within `budget` listed bytes, but always one), asking from `to_ask` as the
/// answers come.
///
/// Why not wait for completions: a server may hold them back while it has other commands to
/// run (Dovecot answers `b1 b2 b3 b4 OK1 OK2 OK3 OK4`), so a client that waits for them
/// before asking for more leaves the server idle a round trip each time its queue runs dry.
/// Here the completion of a batch handed out is read later, with the answers after it.
fn stream_ahead(
    imap: &mut Imap,
    pool: &Arc<BufferPool>,
    mut queue: VecDeque<InFlight>,
    mut to_ask: VecDeque<(Vec<Listed>, ReadOptions)>,
    depth: usize,
    budget: u64,
) -> Fetched {
    let mut later = None;
    // Asked for once: no room for more comes while this thread reads (only a batch handed
    // out makes some).
    while later.is_none() && has_room(&queue, depth, budget) {
        let Some((batch, opts)) = to_ask.pop_front() else {
            break;
        };
        match ask(imap, batch, opts, pool) {
            Ok(flight) => queue.push_back(flight),
            Err(e) => later = Some(e.context("UID FETCH")),
        }
    }
    loop {
        // Batches are handed out in order: the first one not handed out, once complete.
        let Some(first) = queue.iter().position(|f| !f.delivered) else {
            // Nothing was asked for (asking failed): report that.
            return Fetched {
                batch: Vec::new(),
                result: Ok(Vec::new()),
                in_flight: queue,
                later,
                unasked: to_ask.into_iter().map(|(b, _)| b).collect(),
            };
        };
        if queue[first].complete() {
            return hand_out(queue, first, None, later, to_ask);
        }
        // Answers are read in the order of the commands: through the oldest one whose
        // completion has not come (it may be a batch already handed out).
        let Some(reading) = queue.iter().position(|f| !f.done) else {
            // Unreachable: a flight whose completion came is complete.
            queue[first].done = true;
            continue;
        };
        // A part of one response: a part waiting for bytes the server will not send before
        // its completions would wait for them, and those may be held back (see above).
        match read_part(imap, &mut queue, reading, 1) {
            Ok(()) => {}
            // The server refused a batch already handed out (after sending all of it):
            // nothing is missing.
            Err(Error::Server(_)) if queue[reading].delivered => {}
            Err(e) => return hand_out(queue, first, Some(e), later, to_ask),
        }
    }
}

/// True when a streaming read may ask for one more batch: none is waiting to be handed out, or
/// at most `depth` are, holding less than `budget` listed bytes.
fn has_room(queue: &VecDeque<InFlight>, depth: usize, budget: u64) -> bool {
    let waiting = || queue.iter().filter(|f| !f.delivered);
    let bytes: u64 = waiting().flat_map(|f| &f.batch).map(|l| l.size).sum();
    let count = waiting().count();
    count == 0 || (count <= depth && bytes < budget)
}

/// What a streaming prefetch thread hands back: the batch `queue[first]` with its messages, or
/// with `failure` (which ended the answer being read) instead.
fn hand_out(
    mut queue: VecDeque<InFlight>,
    first: usize,
    failure: Option<Error>,
    later: Option<Error>,
    to_ask: VecDeque<(Vec<Listed>, ReadOptions)>,
) -> Fetched {
    let flight = &mut queue[first];
    flight.delivered = true;
    let batch = flight.batch.clone();
    let messages = std::mem::take(&mut flight.early);
    while queue.front().is_some_and(|f| f.delivered && f.done) {
        queue.pop_front();
    }
    Fetched {
        batch,
        result: failure.map_or(Ok(messages), Err),
        in_flight: queue,
        later,
        unasked: to_ask.into_iter().map(|(b, _)| b).collect(),
    }
}

/// Reads the next part of the answer of `queue[reading]` (or its end) and routes the messages
/// in it to the batches they belong to. On a failure the command's answer is over too.
///
/// Whole messages are read one response at a time, each into a buffer from the pool sized for
/// the message expected next, which the message keeps: its bytes are not copied out of the
/// answer (a copy of every message was a tenth of a read's CPU). Headers are read `bytes` at a
/// time (at most [`PART_BYTES`]) into a reused buffer and copied out: a buffer each would hold
/// several times their size.
fn read_part(
    imap: &mut Imap,
    queue: &mut VecDeque<InFlight>,
    reading: usize,
    bytes: usize,
) -> Result<()> {
    let flight = &queue[reading];
    let opts = flight.opts;
    let pool = Arc::clone(&flight.pool);
    let received = if opts.headers_only {
        let bytes = bytes.clamp(1, PART_BYTES);
        let buffer = pool.buffer(bytes.saturating_add(HEADER_PART_BYTES));
        imap.fetch_receive_part_into(&flight.pending, bytes, buffer)
    } else {
        let buffer = pool.buffer(next_response_bytes(queue, reading));
        imap.fetch_receive_part_into(&flight.pending, 1, buffer)
    };
    match received {
        Ok((fetches, done)) => {
            queue[reading].done = done;
            if let Some(buffer) = route_part(fetches, &opts, queue) {
                pool.give_back(buffer);
            }
            Ok(())
        }
        Err(e) => {
            queue[reading].done = true;
            Err(Error::from_imap(e))
        }
    }
}

/// Room for the response expected next while reading the answer of `queue[reading]`: the
/// first message whose content has not come, in this batch or a later one (the batch being
/// read may be one handed out, waiting for its completion while the next batches' answers
/// come), by its listed size, and the response's other items. The size is the server's word:
/// at most [`RESPONSE_ROOM_MAX`] is reserved up front (a larger message grows its buffer as it
/// comes, within the stream guard's limits).
fn next_response_bytes(queue: &VecDeque<InFlight>, reading: usize) -> usize {
    let size = queue
        .iter()
        .skip(reading)
        .filter(|f| !f.delivered)
        .find_map(InFlight::next_missing_size)
        .unwrap_or(0);
    usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(RESPONSE_ROOM_MAX)
        .saturating_add(RESPONSE_ITEMS_BYTES)
}

/// Room of a part of header responses beyond the bytes it pauses after (one response when
/// reads stream): most header blocks fit; the buffer goes back to the pool for the next part
/// (header blocks are copied out).
const HEADER_PART_BYTES: usize = 16 * 1024;

/// Most room reserved for a message before its bytes come (see [`next_response_bytes`]).
const RESPONSE_ROOM_MAX: usize = 16 * 1024 * 1024;

/// Room a response needs besides the message it carries (`* n FETCH (UID .. RFC822.SIZE ..
/// FLAGS (..) BODY[] {..}` and the closing parenthesis), for [`next_response_bytes`].
const RESPONSE_ITEMS_BYTES: usize = 1024;

/// Puts each message of a part of an answer with the batch it belongs to (not handed out yet),
/// noting which messages' content has come; anything else (a flag update of another message,
/// or of one handed out) is dropped. A part of one response whose message is routed keeps the
/// part's buffer as the message's; otherwise the buffer is handed back.
fn route_part(
    fetches: imap::types::Fetches,
    opts: &ReadOptions,
    queue: &mut VecDeque<InFlight>,
) -> Option<Vec<u8>> {
    let keeper = match fetches.get(0) {
        // Header blocks are copied out (see read_part).
        Some(fetch) if fetches.len() == 1 && !opts.headers_only => {
            keeper(fetch, fetches.buffer(), opts, queue)
        }
        _ => None,
    };
    if let Some((flight_no, at, message, range)) = keeper {
        let mut buffer = fetches.into_buffer();
        if buffer.capacity()
            > buffer
                .len()
                .saturating_mul(2)
                .saturating_add(RESPONSE_ITEMS_BYTES)
        {
            // Reserved for a size the server announced and did not send: a message holds
            // what it weighs (this copies the little that came).
            buffer.shrink_to_fit();
        }
        let flight = &mut queue[flight_no];
        flight.mark_got(at);
        let to = ReturnTo::pool(&flight.pool);
        flight.early.push(message.stored_in(buffer, range, to));
        return None;
    }
    for fetch in fetches.iter() {
        route_fetch(fetch, opts, queue);
    }
    Some(fetches.into_buffer())
}

/// For a part of this one response: the batch (in `queue`) and place in it of its message,
/// the message without its bytes, and where its bytes are in `buffer` (the part's). None when
/// the response has no content or belongs to no batch waiting for it.
fn keeper(
    fetch: &imap::types::Fetch<'_>,
    buffer: &[u8],
    opts: &ReadOptions,
    queue: &VecDeque<InFlight>,
) -> Option<(usize, usize, Message, std::ops::Range<usize>)> {
    let range = place_within(buffer, reader::content(fetch, opts)?)?;
    let (flight_no, at) = waiting_for(queue, fetch.uid?)?;
    let message = reader::message_without_bytes(fetch, opts)?;
    Some((flight_no, at, message, range))
}

/// Where `part` lies in `whole`, when it is a subslice of it.
fn place_within(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The batch in `queue`, not handed out yet, that holds the message `uid`, and its place in it.
fn waiting_for(queue: &VecDeque<InFlight>, uid: u32) -> Option<(usize, usize)> {
    queue.iter().enumerate().find_map(|(flight_no, f)| {
        let at = (!f.delivered)
            .then(|| f.batch.binary_search_by_key(&uid, |l| l.uid).ok())
            .flatten()?;
        Some((flight_no, at))
    })
}

/// [`route_part`] for one FETCH response, its message copied out of the part.
fn route_fetch(fetch: &imap::types::Fetch<'_>, opts: &ReadOptions, queue: &mut VecDeque<InFlight>) {
    let Some((flight_no, at)) = fetch.uid.and_then(|uid| waiting_for(queue, uid)) else {
        return;
    };
    let flight = &mut queue[flight_no];
    let Some(message) = reader::message_from_fetch(fetch, opts, &flight.pool) else {
        return;
    };
    if reader::content(fetch, opts).is_some() {
        flight.mark_got(at);
    }
    flight.early.push(message);
}

/// Batches a read keeps asked for ahead, for a measured round trip: one on a LAN or loopback,
/// up to eight (32 MB of 4 MB batches) from 14 ms: what a server sending 800 MB/s needs in its
/// queue at 20 ms, with room to spare. The batches asked for do not cost the client memory
/// (their answers wait in the server and the socket); a read stopped early reads them before
/// the next command.
fn pipeline_depth(round_trip: std::time::Duration) -> usize {
    let ms = round_trip.as_millis() as usize;
    (1 + ms / 2).min(8)
}

fn capability_set(caps: &imap::types::Capabilities) -> HashSet<String> {
    capability_list(caps.iter())
}

fn capability_list<'a>(
    caps: impl IntoIterator<Item = &'a imap_proto::types::Capability<'a>>,
) -> HashSet<String> {
    use imap_proto::types::Capability;
    caps.into_iter()
        .map(|c| match c {
            Capability::Imap4rev1 => "IMAP4REV1".to_string(),
            Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
            Capability::Atom(a) => a.to_ascii_uppercase(),
        })
        .collect()
}

/// The capabilities a greeting lists in a `[CAPABILITY ...]` response code (RFC 3501 7.1), if
/// it does and they include IMAP4rev1 (a greeting that lists less is not trusted to be the
/// full list).
fn greeting_capabilities(line: &[u8]) -> Option<HashSet<String>> {
    use imap_proto::types::{Response, ResponseCode, Status};
    let Ok((
        _,
        Response::Data {
            status: Status::Ok,
            code: Some(ResponseCode::Capabilities(caps)),
            ..
        },
    )) = imap_proto::parser::parse_response(line)
    else {
        return None;
    };
    let set = capability_list(&caps);
    set.contains("IMAP4REV1").then_some(set)
}

fn check_greeting(line: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(line);
    let upper = text.to_ascii_uppercase();
    if upper.starts_with("* OK") {
        Ok(())
    } else if upper.starts_with("* PREAUTH") {
        Err(Error::Auth(
            "server greeted with PREAUTH (already authenticated); imapmail only logs in itself"
                .into(),
        ))
    } else if upper.starts_with("* BYE") {
        Err(Error::Connect(format!(
            "server refused the connection: {}",
            text.trim_end()
        )))
    } else {
        Err(Error::Protocol(format!(
            "not an IMAP greeting: {:?}",
            truncate(&text, 200)
        )))
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

struct PlainAuth<'a>(&'a Credentials);

impl imap::Authenticator for PlainAuth<'_> {
    type Response = Zeroizing<Vec<u8>>;
    fn process(&self, _challenge: &[u8]) -> Self::Response {
        // Sized up front: a growing Vec would leave copies of the secret behind.
        let mut v = Zeroizing::new(Vec::with_capacity(
            self.0.user.len() + self.0.secret.len() + 2,
        ));
        v.push(0);
        v.extend_from_slice(self.0.user.as_bytes());
        v.push(0);
        v.extend_from_slice(self.0.secret.as_bytes());
        v
    }
}

struct XOAuth2<'a>(&'a Credentials);

impl imap::Authenticator for XOAuth2<'_> {
    type Response = Zeroizing<Vec<u8>>;
    fn process(&self, challenge: &[u8]) -> Self::Response {
        if !challenge.is_empty() {
            // A challenge after the token is the server's JSON error: answer with an empty line
            // so that it sends its tagged NO.
            return Zeroizing::new(Vec::new());
        }
        // Built in place in a buffer sized up front (format! would grow, copy and leave copies
        // of the token behind).
        let parts: [&[u8]; 5] = [
            b"user=",
            self.0.user.as_bytes(),
            b"\x01auth=Bearer ",
            self.0.secret.as_bytes(),
            b"\x01\x01",
        ];
        let mut v = Zeroizing::new(Vec::with_capacity(parts.iter().map(|p| p.len()).sum()));
        for p in parts {
            v.extend_from_slice(p);
        }
        v
    }
}

/// How a session logs in, chosen once from the options and the server's capabilities: the
/// login itself and the decision to send a command unanswered before it both follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginMethod {
    /// `AUTHENTICATE XOAUTH2` (the `xoauth2` option); `initial_response`: SASL-IR offered.
    XOAuth2 { initial_response: bool },
    /// `AUTHENTICATE PLAIN` (offered by the server).
    Plain { initial_response: bool },
    /// `LOGIN`.
    Login,
    /// Neither: the server disables LOGIN and offers no AUTH=PLAIN.
    Disabled,
}

impl LoginMethod {
    fn choose(opts: &SessionOptions, caps: &HashSet<String>) -> LoginMethod {
        let initial_response = caps.contains("SASL-IR");
        if opts.xoauth2 {
            LoginMethod::XOAuth2 { initial_response }
        } else if caps.contains("AUTH=PLAIN") {
            LoginMethod::Plain { initial_response }
        } else if caps.contains("LOGINDISABLED") {
            LoginMethod::Disabled
        } else {
            LoginMethod::Login
        }
    }

    /// True when the login is one `AUTHENTICATE` line with its initial response (SASL-IR),
    /// which lets a command go just before it without waiting for its answer.
    fn is_one_line(self) -> bool {
        matches!(
            self,
            LoginMethod::XOAuth2 {
                initial_response: true
            } | LoginMethod::Plain {
                initial_response: true
            }
        )
    }
}

/// A failed command whose answer does not matter (ID): an error only when the connection is
/// no longer usable.
fn ignore_unless_broken(e: Error, what: &str) -> Result<()> {
    if e.breaks_connection() {
        Err(e.context(what))
    } else {
        Ok(())
    }
}

/// Logs in. `pending` is the tag of a command sent just before and not answered yet (only
/// with a one-line login, see [`LoginMethod::is_one_line`]): its outcome comes first.
fn authenticate(
    client: imap::Client<Transport>,
    method: LoginMethod,
    creds: &Credentials,
    pending: Option<u32>,
) -> (Option<imap::Result<()>>, Result<Imap>) {
    let (mechanism, (before, result)) = match method {
        LoginMethod::XOAuth2 { initial_response } => (
            "AUTHENTICATE XOAUTH2",
            sasl(
                client,
                "XOAUTH2",
                &XOAuth2(creds),
                initial_response,
                pending,
            ),
        ),
        LoginMethod::Plain { initial_response } => (
            "AUTHENTICATE PLAIN",
            sasl(
                client,
                "PLAIN",
                &PlainAuth(creds),
                initial_response,
                pending,
            ),
        ),
        LoginMethod::Disabled => {
            return (
                None,
                Err(Error::Auth(
                    "server disables LOGIN (LOGINDISABLED) and offers no AUTH=PLAIN".into(),
                )),
            );
        }
        LoginMethod::Login => (
            "LOGIN",
            (None, client.login(&creds.user, creds.secret.as_str())),
        ),
    };
    let result = result.map_err(|(e, _client)| match Error::from_imap(e) {
        Error::Server(m) => Error::Auth(format!("server refused {mechanism}: {m}")),
        other => other.context(mechanism),
    });
    (before, result)
}

type Login = std::result::Result<Imap, (imap::Error, imap::Client<Transport>)>;

/// One SASL exchange. With SASL-IR (RFC 4959) the first answer goes with the command, a round
/// trip less. Some servers (Coremail, NetEase's 126/163) advertise SASL-IR and answer BAD to
/// it: then the usual exchange follows on the same connection. A NO is the server refusing the
/// credentials, final either way. `initial_response` comes from the [`LoginMethod`], which
/// also decided whether `pending` (a command not answered yet) could be sent.
// The result is the imap crate's own login result, passed through.
#[allow(clippy::result_large_err)]
fn sasl<A: imap::Authenticator>(
    client: imap::Client<Transport>,
    mechanism: &str,
    authenticator: &A,
    initial_response: bool,
    pending: Option<u32>,
) -> (Option<imap::Result<()>>, Login) {
    if !initial_response {
        return (None, client.authenticate(mechanism, authenticator));
    }
    let (before, first) = match pending {
        Some(tag) => {
            let (before, first) =
                client.authenticate_with_initial_response_after(tag, mechanism, authenticator);
            (Some(before), first)
        }
        None => (
            None,
            client.authenticate_with_initial_response(mechanism, authenticator),
        ),
    };
    let login = match first {
        Err((imap::Error::Bad(_), client)) => client.authenticate(mechanism, authenticator),
        other => other,
    };
    (before, login)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> HashSet<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_login_method_follows_the_options_and_capabilities() {
        let plain = SessionOptions::new("h", 143, Security::None);
        let mut oauth = plain.clone();
        oauth.xoauth2 = true;
        let cases = [
            (&plain, &["IMAP4REV1"][..], LoginMethod::Login, false),
            (&plain, &["SASL-IR"], LoginMethod::Login, false),
            (&plain, &["LOGINDISABLED"], LoginMethod::Disabled, false),
            (
                &plain,
                &["AUTH=PLAIN", "LOGINDISABLED"],
                LoginMethod::Plain {
                    initial_response: false,
                },
                false,
            ),
            (
                &plain,
                &["AUTH=PLAIN", "SASL-IR"],
                LoginMethod::Plain {
                    initial_response: true,
                },
                true,
            ),
            (
                &oauth,
                &["AUTH=PLAIN"],
                LoginMethod::XOAuth2 {
                    initial_response: false,
                },
                false,
            ),
            (
                &oauth,
                &["SASL-IR", "LOGINDISABLED"],
                LoginMethod::XOAuth2 {
                    initial_response: true,
                },
                true,
            ),
        ];
        for (opts, list, method, one_line) in cases {
            let chosen = LoginMethod::choose(opts, &caps(list));
            assert_eq!(chosen, method, "{list:?}");
            assert_eq!(chosen.is_one_line(), one_line, "{list:?}");
        }
    }

    #[test]
    fn the_pipeline_depth_follows_the_round_trip() {
        let depth = |ms| pipeline_depth(std::time::Duration::from_millis(ms));
        assert_eq!((depth(0), depth(1), depth(4), depth(10)), (1, 1, 3, 6));
        assert_eq!((depth(14), depth(20), depth(500)), (8, 8, 8));
    }
}

#[cfg(test)]
mod pool_tests {
    use super::testing::{open_over_stream, ScriptedServer, TAG_PLACEHOLDER};
    use super::*;

    fn tagged(text: &str) -> Vec<u8> {
        let mut line = TAG_PLACEHOLDER.to_vec();
        line.extend_from_slice(text.as_bytes());
        line
    }

    /// A folder of three messages of `size` bytes, read by a session over a scripted server
    /// (which answers the batch with `section`: `BODY[]`, or `BODY[HEADER]` for headers only).
    fn session_with_three_messages(size: usize, section: &str) -> Session {
        session_listing_three_messages(size, size, section)
    }

    /// As [`session_with_three_messages`], with `listed` as the size the listing announces.
    fn session_listing_three_messages(size: usize, listed: usize, section: &str) -> Session {
        let body = |uid: u32| {
            let mut m = format!("Subject: {uid}\r\n\r\n").into_bytes();
            m.resize(size, b'x');
            m
        };
        let mut listing = Vec::new();
        let mut batch = Vec::new();
        for uid in 1..=3 {
            listing.extend(format!("* {uid} FETCH (UID {uid} RFC822.SIZE {listed})\r\n").bytes());
            batch.extend(
                format!(
                    "* {uid} FETCH (UID {uid} RFC822.SIZE {size} FLAGS () {section} {{{size}}}\r\n"
                )
                .bytes(),
            );
            batch.extend(body(uid));
            batch.extend_from_slice(b")\r\n");
        }
        listing.extend(tagged(" OK listed\r\n"));
        batch.extend(tagged(" OK fetched\r\n"));
        let answers = vec![
            b"* OK [CAPABILITY IMAP4rev1] ready\r\n".to_vec(),
            tagged(" OK logged in\r\n"),
            [
                &b"* CAPABILITY IMAP4rev1\r\n"[..],
                &tagged(" OK listed\r\n"),
            ]
            .concat(),
            [
                &b"* 3 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n"[..],
                &tagged(" OK selected\r\n"),
            ]
            .concat(),
            listing,
            batch,
            [&b"* BYE bye\r\n"[..], &tagged(" OK out\r\n")].concat(),
        ];
        let opts = SessionOptions::new("scripted.invalid", 143, Security::None);
        open_over_stream(
            ScriptedServer::new(answers),
            opts,
            &Credentials::new("u", "p"),
        )
        .expect("session")
    }

    #[test]
    fn a_read_keeps_the_buffers_of_freed_messages_until_it_ends() {
        let mut s = session_with_three_messages(20_000, "BODY[]");
        let first = s.read_first(ReadOptions::default()).unwrap().unwrap();
        assert_eq!(first.source().len(), 20_000);
        drop(first);
        // The buffer its response was read into: the message and the response's other items.
        let one = s.pool.kept_bytes();
        // (a copy out of the response would have held exactly the message's bytes).
        assert!(
            (20_001..=20_000 + RESPONSE_ITEMS_BYTES).contains(&one),
            "kept {one}"
        );
        let second = s.read_next().unwrap().unwrap();
        let third = s.read_next().unwrap().unwrap();
        assert_eq!((second.uid(), third.uid()), (2, 3));
        drop(second);
        assert_eq!(s.pool.kept_bytes(), 2 * one);
        assert!(s.read_next().unwrap().is_none());
        assert_eq!(s.pool.kept_bytes(), 0, "freed when the read is over");
        drop(third);
        assert_eq!(s.pool.kept_bytes(), 0, "not kept after the read");
        s.close();
    }

    #[test]
    fn a_whole_message_keeps_the_buffer_it_was_read_into_and_a_header_block_is_copied() {
        let mut s = session_with_three_messages(20_000, "BODY[]");
        let whole = s.read_first(ReadOptions::default()).unwrap().unwrap();
        assert_eq!(whole.source().len(), 20_000);
        // The response's buffer: room for the FETCH line and the closing parenthesis too.
        assert!(whole.storage_capacity() > 20_000 + 40);
        s.close();
        let mut s = session_with_three_messages(20_000, "BODY[HEADER]");
        let headers_only = ReadOptions {
            headers_only: true,
            ..ReadOptions::default()
        };
        let header = s.read_first(headers_only).unwrap().unwrap();
        assert_eq!(header.source().len(), 20_000);
        // A copy of its bytes alone: a get_all of header blocks holds what they weigh.
        assert_eq!(header.storage_capacity(), 20_000);
        s.close();
    }

    #[test]
    fn a_message_smaller_than_its_listed_size_does_not_hold_the_room_reserved_for_it() {
        let mut s = session_listing_three_messages(20_000, 10_000_000, "BODY[]");
        let first = s.read_first(ReadOptions::default()).unwrap().unwrap();
        assert_eq!(first.source().len(), 20_000);
        let held = first.storage_capacity();
        assert!((20_000..40_000).contains(&held), "holds {held} bytes");
        s.close();
    }
}

//! The stream guard: a lexical follower of the server's byte stream that enforces limits before
//! the imap crate buffers or parses anything.
//!
//! The imap crate reads a line or a literal of any announced length into memory, and its parser
//! (imap-proto) recurses once per parenthesis level: a BODYSTRUCTURE nested ~190 levels deep
//! (under 2 KB) overflows a 1 MiB stack and aborts the process. Every byte read from the server
//! goes through [`Guard::feed`] first, which follows the syntax of IMAP responses just enough to
//! know where lines, quoted strings, parentheses and literals are:
//!
//! - parentheses nest at most [`MAX_DEPTH`] levels within one response;
//! - a response line, literals excluded, is at most [`MAX_LINE`] bytes (a `* SEARCH`, `* SORT`
//!   or `* ESEARCH` line, a flat list of numbers, at most [`MAX_NUMBERS_LINE`]);
//! - a literal (`{n}` or `~{n}`) is at most `max_message_bytes`;
//! - everything the server sends in answer to one command is at most
//!   [`Limits::max_response`] bytes.
//!
//! Over a limit, the read fails with an `io::Error` whose inner error is a
//! [`GuardError`](super::error::GuardError) carrying `Error::Protocol` or `Error::TooLarge`, and
//! the transport drops the connection.
//!
//! The follower agrees with the imap crate on what is a literal: a `{n}` (or `~{n}`) followed by
//! CRLF, or by a bare LF, at the end of a line of response data (a bare LF ends a line wherever
//! CRLF does: docs/reliability.md, "Tolerance"). In a status response (`* OK`, `a1 NO`, `* BYE`,
//! ... and `+` continuation requests) the rest of the line is human-readable text, where neither
//! parentheses nor `{n}` mean anything. Literal data is skipped in bulk (not looked at), so the
//! guard costs a few instructions per read plus one step per byte of protocol text.

use super::error::Error;

/// Deepest parenthesis nesting accepted in one response.
pub const MAX_DEPTH: u32 = 64;
/// Longest response line accepted, literals excluded.
pub const MAX_LINE: u64 = 1024 * 1024;
/// Longest `* SEARCH` / `* SORT` / `* ESEARCH` line accepted (a flat list of numbers, about
/// 8 million UIDs).
pub const MAX_NUMBERS_LINE: u64 = 64 * 1024 * 1024;

/// The limits of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_depth: u32,
    pub max_line: u64,
    pub max_literal: u64,
    /// Everything read between two writes of the client (one command's answer).
    pub max_response: u64,
}

impl Limits {
    /// The limits for a largest message (literal) of `max_message_bytes`.
    pub fn for_max_message(max_message_bytes: u64) -> Limits {
        Limits {
            max_depth: MAX_DEPTH,
            max_line: MAX_LINE,
            max_literal: max_message_bytes,
            // Three: with pipelining, what is read between two writes is the rest of one
            // batch and, from a server that interleaves answers, part of the next; each may
            // be a single message of max_message_bytes.
            max_response: max_message_bytes.saturating_mul(3).max(64 * 1024 * 1024),
        }
    }
}

/// Where the guard is in the server's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Response data: parentheses, quoted strings and literals count.
    Data,
    /// Inside a quoted string of response data.
    Quoted,
    /// Just after a backslash inside a quoted string.
    Escape,
    /// Human-readable text to the end of the line.
    Text,
}

/// Progress towards a literal announcement `{n}` CR LF at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lit {
    None,
    /// After `{` and `digits` digits of value `n`.
    Digits {
        n: u64,
        digits: u8,
    },
    /// After `}`.
    Closed(u64),
    /// After `}` CR.
    ClosedCr(u64),
}

/// The head of a line: the tag (or `*`) and the next word decide whether it is status text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    /// Nothing of the line yet.
    Start,
    /// In the first word.
    First,
    /// In the second word; `len` letters of it are in `word`.
    Second { len: u8 },
    /// Decided.
    Done,
}

/// Things a [`Sink`] learns from the follower (used by the protocol trace).
pub trait Sink {
    /// Bytes of line text (including the line end).
    fn text(&mut self, bytes: &[u8]);
    /// `n` bytes of literal data (not shown).
    fn literal(&mut self, n: usize);
    /// A physical line ended (after its LF); `literal_follows` when it announced a literal.
    fn line_end(&mut self, literal_follows: bool);
}

/// A sink that ignores everything (the guard alone).
pub struct NoSink;

impl Sink for NoSink {
    #[inline(always)]
    fn text(&mut self, _: &[u8]) {}
    #[inline(always)]
    fn literal(&mut self, _: usize) {}
    #[inline(always)]
    fn line_end(&mut self, _: bool) {}
}

/// The lexical follower of one connection's incoming bytes.
#[derive(Debug, Clone)]
pub struct Guard {
    limits: Limits,
    mode: Mode,
    lit: Lit,
    head: Head,
    word: [u8; 8],
    depth: u32,
    /// Bytes of the current line, literals excluded.
    line: u64,
    line_max: u64,
    /// Literal bytes still to come.
    literal_left: u64,
    /// Bytes read since the client last wrote.
    response: u64,
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        Guard {
            limits,
            mode: Mode::Data,
            lit: Lit::None,
            head: Head::Start,
            word: [0; 8],
            depth: 0,
            line: 0,
            line_max: limits.max_line,
            literal_left: 0,
            response: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The client wrote something: a new answer starts.
    #[inline]
    pub fn on_write(&mut self) {
        self.response = 0;
    }

    /// Follows `data` (just read from the server). An error means a limit is exceeded: the
    /// connection must be dropped, since the follower's state is no longer meaningful.
    #[inline]
    pub fn feed<S: Sink>(&mut self, data: &[u8], sink: &mut S) -> Result<(), Error> {
        self.response += data.len() as u64;
        if self.response > self.limits.max_response {
            return Err(Error::TooLarge(format!(
                "the server sent more than {} bytes in answer to one command (limit: three times max_message_bytes, at least 64 MiB)",
                self.limits.max_response
            )));
        }
        let mut rest = data;
        while !rest.is_empty() {
            if self.literal_left > 0 {
                let n = (self.literal_left.min(rest.len() as u64)) as usize;
                self.literal_left -= n as u64;
                sink.literal(n);
                rest = &rest[n..];
                continue;
            }
            let used = if self.mode == Mode::Text {
                self.text_run(rest, sink)?
            } else {
                self.data_run(rest, sink)?
            };
            rest = &rest[used..];
        }
        Ok(())
    }

    /// Follows status text up to and including the line end. Returns the bytes used.
    #[inline]
    fn text_run<S: Sink>(&mut self, data: &[u8], sink: &mut S) -> Result<usize, Error> {
        match memchr_lf(data) {
            Some(i) => {
                self.grow_line(i as u64 + 1)?;
                sink.text(&data[..=i]);
                self.end_line(sink);
                Ok(i + 1)
            }
            None => {
                self.grow_line(data.len() as u64)?;
                sink.text(data);
                Ok(data.len())
            }
        }
    }

    /// Follows response data up to the end of the line, the start of a literal, or the switch
    /// to status text. Returns the bytes used.
    fn data_run<S: Sink>(&mut self, data: &[u8], sink: &mut S) -> Result<usize, Error> {
        // Look no further than one byte past the line limit, so that the first limit exceeded
        // in the stream is the one reported, however the bytes were cut into reads.
        let room = self.line_max.saturating_sub(self.line);
        let data = &data[..(data.len() as u64).min(room.saturating_add(1)) as usize];
        let mut i = 0;
        while i < data.len() {
            if self.head == Head::Done && self.lit == Lit::None {
                // Skip in bulk what cannot change the state.
                let table = match self.mode {
                    Mode::Data => &DATA_SPECIAL,
                    Mode::Quoted => &QUOTED_SPECIAL,
                    _ => &ALL_SPECIAL,
                };
                match data[i..].iter().position(|&b| table[b as usize]) {
                    Some(skip) => i += skip,
                    None => break,
                }
            }
            let b = data[i];
            i += 1;
            if self.head != Head::Done && self.follow_head(b) {
                // Status text from here on: nothing in it nests or announces anything.
                self.grow_line(i as u64)?;
                sink.text(&data[..i]);
                return Ok(i);
            }
            match self.mode {
                Mode::Quoted => match b {
                    b'"' => self.mode = Mode::Data,
                    b'\\' => self.mode = Mode::Escape,
                    b'\n' => return self.line_end_in_data(data, i, sink),
                    _ => {}
                },
                Mode::Escape => {
                    if b == b'\n' {
                        return self.line_end_in_data(data, i, sink);
                    }
                    self.mode = Mode::Quoted;
                }
                _ => {
                    match b {
                        b'(' => {
                            self.depth += 1;
                            if self.depth > self.limits.max_depth {
                                return Err(Error::Protocol(format!(
                                    "the server's response nests parentheses more than {} levels deep (limit {})",
                                    self.depth - 1,
                                    self.limits.max_depth
                                )));
                            }
                        }
                        b')' => self.depth = self.depth.saturating_sub(1),
                        b'"' => self.mode = Mode::Quoted,
                        b'\n' => return self.line_end_in_data(data, i, sink),
                        _ => {}
                    }
                    self.lit = match (self.lit, b) {
                        (_, b'{') => Lit::Digits { n: 0, digits: 0 },
                        (Lit::Digits { n, digits }, b'0'..=b'9') => Lit::Digits {
                            n: n.saturating_mul(10).saturating_add(u64::from(b - b'0')),
                            digits: digits.saturating_add(1),
                        },
                        (Lit::Digits { n, digits }, b'}') if digits > 0 => Lit::Closed(n),
                        (Lit::Closed(n), b'\r') => Lit::ClosedCr(n),
                        _ => Lit::None,
                    };
                    continue;
                }
            }
            self.lit = Lit::None;
        }
        self.grow_line(data.len() as u64)?;
        sink.text(data);
        Ok(data.len())
    }

    /// A LF at `data[i - 1]` in response data: a literal starts, or the line ends.
    fn line_end_in_data<S: Sink>(
        &mut self,
        data: &[u8],
        i: usize,
        sink: &mut S,
    ) -> Result<usize, Error> {
        self.grow_line(i as u64)?;
        sink.text(&data[..i]);
        // `{n}` CRLF, or `{n}` and a bare LF (a LF ends a line wherever CRLF does).
        if let (Lit::ClosedCr(n) | Lit::Closed(n), Mode::Data) = (self.lit, self.mode) {
            if n > self.limits.max_literal {
                return Err(Error::TooLarge(format!(
                    "the server announced a literal of {n} bytes, over max_message_bytes ({})",
                    self.limits.max_literal
                )));
            }
            self.lit = Lit::None;
            self.literal_left = n;
            sink.line_end(true);
            // The line goes on after the literal.
            return Ok(i);
        }
        self.end_line(sink);
        Ok(i)
    }

    fn end_line<S: Sink>(&mut self, sink: &mut S) {
        self.mode = Mode::Data;
        self.lit = Lit::None;
        self.head = Head::Start;
        self.depth = 0;
        self.line = 0;
        self.line_max = self.limits.max_line;
        sink.line_end(false);
    }

    #[inline]
    fn grow_line(&mut self, n: u64) -> Result<(), Error> {
        self.line += n;
        if self.line > self.line_max {
            return Err(Error::Protocol(format!(
                "the server sent a line longer than {} bytes (literals excluded)",
                self.line_max
            )));
        }
        Ok(())
    }

    /// Watches the first two words of a line. Returns true when the line turns out to be status
    /// text (a `+` continuation request, or a tag or `*` followed by OK, NO, BAD, BYE or
    /// PREAUTH), which switches to [`Mode::Text`] for the rest of the line.
    #[inline]
    fn follow_head(&mut self, b: u8) -> bool {
        match self.head {
            Head::Start => {
                if b == b'+' {
                    return self.switch_to_text();
                }
                self.head = Head::First;
                self.follow_head(b)
            }
            Head::First => {
                if b == b' ' {
                    self.head = Head::Second { len: 0 };
                } else if !is_word_byte(b) {
                    self.head = Head::Done;
                }
                false
            }
            Head::Second { len } => {
                if b.is_ascii_alphabetic() && (len as usize) < self.word.len() {
                    self.word[len as usize] = b.to_ascii_uppercase();
                    self.head = Head::Second { len: len + 1 };
                    return false;
                }
                self.head = Head::Done;
                let word = &self.word[..len as usize];
                if matches!(b, b' ' | b'\r' | b'\n' | b'[') || !b.is_ascii_alphabetic() {
                    if matches!(word, b"OK" | b"NO" | b"BAD" | b"BYE" | b"PREAUTH")
                        && matches!(b, b' ' | b'\r' | b'[')
                    {
                        return self.switch_to_text();
                    }
                    if matches!(word, b"SEARCH" | b"SORT" | b"ESEARCH") {
                        self.line_max = MAX_NUMBERS_LINE.max(self.limits.max_line);
                    }
                }
                false
            }
            Head::Done => false,
        }
    }

    fn switch_to_text(&mut self) -> bool {
        self.head = Head::Done;
        self.mode = Mode::Text;
        self.depth = 0;
        self.lit = Lit::None;
        true
    }
}

/// The first LF in `data`, eight bytes at a time.
#[inline]
fn memchr_lf(data: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = LO * b'\n' as u64;
    let mut chunks = data.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w) ^ LF;
        if (x.wrapping_sub(LO) & !x & HI) != 0 {
            break;
        }
        base += 8;
    }
    data[base..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| p + base)
}

const fn table(specials: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < specials.len() {
        t[specials[i] as usize] = true;
        i += 1;
    }
    t
}

/// Bytes that matter in response data (outside a literal announcement in progress).
static DATA_SPECIAL: [bool; 256] = table(b"()\"{\n");
/// Bytes that matter in a quoted string.
static QUOTED_SPECIAL: [bool; 256] = table(b"\"\\\n");
static ALL_SPECIAL: [bool; 256] = [true; 256];

/// Bytes of a tag or `*` (anything but space, parentheses, quotes, braces and line ends).
#[inline]
fn is_word_byte(b: u8) -> bool {
    !matches!(b, b' ' | b'(' | b')' | b'"' | b'{' | b'\r' | b'\n')
}

/// Stack of the library threads that exchange with the server and parse its answers.
pub const PARSER_STACK: usize = 16 * 1024 * 1024;

thread_local! {
    static ON_PARSER_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (an exchange with the server, whose answers the imap crate parses recursively) on a
/// library thread with a [`PARSER_STACK`] stack, and waits for it. Even within the guard's
/// limits, 64 nesting levels take about 1.2 MiB of stack in a debug build (350 KiB optimised):
/// more than a host thread may have (1 MiB on Windows). Runs `f` in place when already on such
/// a thread. A panic in `f` becomes `Error::Internal`.
pub fn on_parser_stack<T: Send>(f: impl FnOnce() -> Result<T, Error> + Send) -> Result<T, Error> {
    if ON_PARSER_STACK.with(|c| c.get()) {
        return f();
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("imapmail-io".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || {
                ON_PARSER_STACK.with(|c| c.set(true));
                f()
            })
            .map_err(|e| Error::Internal(format!("cannot start a library thread: {e}")))?;
        worker
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("a library thread panicked".into())))
    })
}

/// Marks the current thread as one with a [`PARSER_STACK`] stack (a thread the library made).
pub fn mark_parser_stack() {
    ON_PARSER_STACK.with(|c| c.set(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: 4,
            max_line: 100,
            max_literal: 1000,
            max_response: 1 << 20,
        }
    }

    /// Feeds `data` in chunks of every size from 1 to 7 and whole; all must agree.
    fn feed_all(data: &[u8]) -> Result<(), Error> {
        let mut first = None;
        for chunk in [1usize, 2, 3, 5, 7, usize::MAX] {
            let mut g = Guard::new(limits());
            let r = data
                .chunks(chunk.min(data.len().max(1)))
                .try_for_each(|c| g.feed(c, &mut NoSink));
            match &first {
                None => first = Some(r),
                Some(f) => assert_eq!(
                    f,
                    &r,
                    "chunk {chunk} disagrees on {:?}",
                    String::from_utf8_lossy(data)
                ),
            }
        }
        first.unwrap_or(Ok(()))
    }

    #[test]
    fn counts_parentheses_outside_quotes_and_literals() {
        assert!(feed_all(b"* 1 FETCH (A (B (C)))\r\n").is_ok());
        assert!(matches!(
            feed_all(b"* 1 FETCH (A (B (C (D (E)))))\r\n"),
            Err(Error::Protocol(_))
        ));
        // Quoted parentheses and escaped quotes do not count.
        assert!(feed_all(b"* 1 FETCH (A \"((((((\\\"(((((\" B)\r\n").is_ok());
        // Nesting is per line: many shallow lines are fine.
        assert!(feed_all(&b"* 1 FETCH (A (B (C)))\r\n".repeat(50)).is_ok());
        // Literal data is not looked at.
        assert!(feed_all(b"* 1 FETCH (BODY[] {12}\r\n((((((((((((\r\n)\r\n").is_ok());
        // ... but the line goes on after it.
        assert!(matches!(
            feed_all(b"* 1 FETCH ((({2}\r\nab ((()))\r\n"),
            Err(Error::Protocol(_))
        ));
        // Binary literals.
        assert!(feed_all(b"* 1 FETCH (BINARY[] ~{6}\r\n((((((\r\n)\r\n").is_ok());
        assert!(feed_all(b"* 1 FETCH (BODY[] {0}\r\n)\r\n").is_ok());
    }

    #[test]
    fn a_bare_lf_ends_a_line_and_a_literal_announcement() {
        // The literal after `{12}` LF is skipped as after `{12}` CRLF: its parentheses do not
        // count, and the line goes on after it.
        assert!(feed_all(b"* 1 FETCH (BODY[] {12}\n((((((((((((\n)\n* 2 EXISTS\n").is_ok());
        assert!(matches!(
            feed_all(b"* 1 FETCH ((({2}\nab ((()))\n"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            feed_all(b"* 1 FETCH (BODY[] {1001}\n"),
            Err(Error::TooLarge(_))
        ));
        // Lines end at a bare LF: nesting and length start afresh.
        assert!(feed_all(&b"* 1 FETCH (A (B (C)))\n".repeat(50)).is_ok());
        assert!(feed_all(&b"* OK ((((((((\n".repeat(50)).is_ok());
        let mut sink = Lines::default();
        let mut g = Guard::new(limits());
        g.feed(b"* 1 FETCH (BODY[] {3}\nabc)\na1 OK done\n", &mut sink)
            .unwrap();
        assert_eq!(sink.0, vec![true, false, false]);
    }

    /// Records the line ends the follower reports.
    #[derive(Default)]
    struct Lines(Vec<bool>);

    impl Sink for Lines {
        fn text(&mut self, _: &[u8]) {}
        fn literal(&mut self, _: usize) {}
        fn line_end(&mut self, literal_follows: bool) {
            self.0.push(literal_follows);
        }
    }

    #[test]
    fn status_text_is_not_syntax() {
        assert!(feed_all(b"* OK [ALERT] ((((((((( {5000}\r\n* OK done\r\n").is_ok());
        assert!(feed_all(b"a1 NO (((((((\"\r\n").is_ok());
        assert!(feed_all(b"+ ((((((((( {99999}\r\n").is_ok());
        assert!(feed_all(b"* bye ((((((((\r\n").is_ok());
        // A `{n}` ending status text is not a literal: the next line is followed as usual.
        assert!(matches!(
            feed_all(b"* OK see {5}\r\n* 1 FETCH (((((()))))\r\n"),
            Err(Error::Protocol(_))
        ));
        // Words that only start like a status are data.
        assert!(matches!(
            feed_all(b"* OKAY ((((((\r\n"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            feed_all(b"* 1 OK ((((((\r\n"),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn limits_lines_and_literals() {
        assert!(feed_all(&[b'x'; 99]).is_ok());
        assert!(matches!(feed_all(&[b'x'; 101]), Err(Error::Protocol(_))));
        assert!(matches!(
            feed_all(&[b"(((".as_slice(), &[b'x'; 200]].concat()),
            Err(Error::Protocol(_))
        ));
        // Literal data does not count towards the line.
        let mut big = b"* 1 FETCH (BODY[] {900}\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'y', 900));
        big.extend_from_slice(b")\r\n");
        assert!(feed_all(&big).is_ok());
        assert!(matches!(
            feed_all(b"* 1 FETCH (BODY[] {1001}\r\n"),
            Err(Error::TooLarge(_))
        ));
        assert!(matches!(
            feed_all(b"* 1 FETCH (BODY[] {4294967295}\r\n"),
            Err(Error::TooLarge(_))
        ));
        assert!(matches!(
            feed_all(b"* 1 FETCH (BODY[] {99999999999999999999999999}\r\n"),
            Err(Error::TooLarge(_))
        ));
        // Not literals: no CRLF right after, or inside quotes.
        assert!(feed_all(b"* 1 FETCH (X \"{4294967295}\r\n").is_ok());
        assert!(feed_all(b"* 1 FETCH (X {4294967295} )\r\n").is_ok());
        // Search results may be longer.
        let mut search = b"* SEARCH".to_vec();
        search.extend_from_slice(&b" 1".repeat(500));
        search.extend_from_slice(b"\r\n");
        assert!(feed_all(&search).is_ok());
    }

    #[test]
    fn first_limit_reached_is_reported_in_every_chunking() {
        // Found by fuzzing: a long line, then deep nesting past the line limit.
        let mut data = vec![b'A'; 150];
        data.extend_from_slice(&[b'('; 120]);
        assert!(matches!(feed_all(&data), Err(Error::Protocol(m)) if m.contains("line longer")));
        let mut data = vec![b'A'; 10];
        data.extend_from_slice(&[b'('; 120]);
        assert!(matches!(feed_all(&data), Err(Error::Protocol(m)) if m.contains("nests")));
    }

    #[test]
    fn limits_one_answer() {
        let mut g = Guard::new(Limits {
            max_response: 100,
            ..limits()
        });
        let line = b"* 1 EXISTS\r\n";
        for _ in 0..8 {
            g.feed(line, &mut NoSink).unwrap();
        }
        g.on_write();
        for _ in 0..8 {
            g.feed(line, &mut NoSink).unwrap();
        }
        assert!(matches!(
            g.feed(&[b'\n'; 10], &mut NoSink),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn runs_on_a_big_stack() {
        /// Uses about 8 KiB of stack per level.
        fn deep(n: u32) -> u64 {
            let buf = std::hint::black_box([n as u8; 8192]);
            if n == 0 {
                u64::from(buf[0])
            } else {
                deep(n - 1) + u64::from(buf[100])
            }
        }
        // About 4 MiB: more than a test thread's stack, well within the parser stack.
        let r =
            on_parser_stack(|| Ok((std::thread::current().name().map(str::to_string), deep(500))));
        assert_eq!(r.map(|(name, _)| name), Ok(Some("imapmail-io".to_string())));
        let nested = on_parser_stack(|| {
            on_parser_stack(|| Ok(std::thread::current().name().map(str::to_string)))
        });
        assert_eq!(nested, Ok(Some("imapmail-io".to_string())));
        let panicked: Result<(), Error> = on_parser_stack(|| panic!("boom"));
        assert!(matches!(panicked, Err(Error::Internal(_))));
    }

    /// Cost of the guard (run with `cargo test --release --lib guard::tests::throughput -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn throughput() {
        fn measure(name: &str, data: &[u8], chunk: usize) {
            let mut g = Guard::new(Limits {
                max_response: u64::MAX,
                ..Limits::for_max_message(256 << 20)
            });
            let rounds = (400 << 20) / data.len().max(1) + 1;
            let t = std::time::Instant::now();
            for _ in 0..rounds {
                for c in data.chunks(chunk) {
                    g.feed(std::hint::black_box(c), &mut NoSink).unwrap();
                }
                g.on_write();
            }
            let secs = t.elapsed().as_secs_f64();
            let mb = (rounds * data.len()) as f64 / (1 << 20) as f64;
            eprintln!(
                "{name}: {mb:.0} MiB in {:.3} s = {:.0} MiB/s",
                secs,
                mb / secs
            );
        }
        // Messages of 100 KiB, as the benchmark reads them (the literal is skipped in bulk).
        let mut fetch = Vec::new();
        let body = vec![b'x'; 100 * 1024];
        for i in 0..16 {
            fetch.extend(
                format!(
                    "* {i} FETCH (UID {i} FLAGS (\\Seen) RFC822.SIZE 102400 BODY[] {{102400}}\r\n"
                )
                .into_bytes(),
            );
            fetch.extend_from_slice(&body);
            fetch.extend_from_slice(b")\r\n");
        }
        fetch.extend_from_slice(b"a1 OK done\r\n");
        measure("FETCH of 100 KiB messages, 16 KiB reads", &fetch, 16 * 1024);
        // Headers-only reading: small literals, protocol text matters more.
        let mut headers = Vec::new();
        for i in 0..1000 {
            headers.extend(format!("* {i} FETCH (UID {i} FLAGS (\\Seen $Junk) RFC822.SIZE 5120 BODY[HEADER] {{700}}\r\n").into_bytes());
            headers.extend_from_slice(&[b'h'; 700]);
            headers.extend_from_slice(b")\r\n");
        }
        measure(
            "FETCH of 700-byte headers, 16 KiB reads",
            &headers,
            16 * 1024,
        );
        // Worst case: protocol text only (a folder listing), every byte stepped through.
        let mut listing = Vec::new();
        for i in 0..10_000 {
            listing.extend(
                format!("* {i} FETCH (UID {i} FLAGS (\\Seen \"x\") RFC822.SIZE 5120)\r\n")
                    .into_bytes(),
            );
        }
        measure(
            "listing lines (all protocol text), 16 KiB reads",
            &listing,
            16 * 1024,
        );
        let text =
            b"* OK [ALERT] some long human readable text that goes on and on\r\n".repeat(1000);
        measure("status text lines, 16 KiB reads", &text, 16 * 1024);
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            on_parser_stack(|| Ok(())).unwrap();
        }
        eprintln!(
            "thread overhead of one exchange on the parser stack: {:?}",
            t.elapsed() / 1000
        );
    }

    #[test]
    fn default_limits() {
        let l = Limits::for_max_message(256 << 20);
        assert_eq!(
            (l.max_depth, l.max_line, l.max_literal, l.max_response),
            (64, 1 << 20, 256 << 20, 768 << 20)
        );
        assert_eq!(Limits::for_max_message(1024).max_response, 64 << 20);
    }
}

//! A queued protocol trace (`trace_queue` option): the tracer appends each line, the host takes
//! them one at a time from its own thread whenever it likes, so no host code ever runs on a
//! library thread. Bounded in lines and bytes: when full, new lines are counted and dropped,
//! and the host is told how many before the next line it takes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use zeroize::Zeroize;

use super::trace::Direction;

/// Largest number of lines the `trace_queue` option accepts.
pub const TRACE_QUEUE_MAX_LINES: u64 = 100_000;
/// Bytes a queue holds at most, whatever its line count (a line is at most about 16 KiB).
pub const TRACE_QUEUE_MAX_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    dropped: u64,
}

/// The queue shared by a session's tracer (writer) and the host (reader).
#[derive(Debug)]
pub struct TraceQueue {
    inner: Mutex<Inner>,
    max_lines: usize,
}

impl TraceQueue {
    /// A queue of at most `max_lines` lines (and [`TRACE_QUEUE_MAX_BYTES`]).
    pub fn new(max_lines: usize) -> TraceQueue {
        TraceQueue {
            inner: Mutex::new(Inner::default()),
            max_lines,
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a line as the trace file writes it (`C: ` or `S: ` then the line), or counts
    /// it as dropped when the queue is full. The first line accepted after drops is preceded
    /// by a line saying how many were dropped, so the gap shows where it happened.
    pub fn push(&self, direction: Direction, line: &[u8]) {
        let prefix: &[u8] = match direction {
            Direction::Sent => b"C: ",
            Direction::Received => b"S: ",
        };
        let mut inner = self.inner();
        let gap = (inner.dropped > 0).then(|| dropped_line(inner.dropped));
        let entries = 1 + usize::from(gap.is_some());
        let size = prefix.len() + line.len() + gap.as_ref().map_or(0, Vec::len);
        if inner.lines.len() + entries > self.max_lines
            || inner.bytes + size > TRACE_QUEUE_MAX_BYTES
        {
            inner.dropped += 1;
            return;
        }
        if let Some(gap) = gap {
            inner.lines.push_back(gap);
            inner.dropped = 0;
        }
        let mut record = Vec::with_capacity(prefix.len() + line.len());
        record.extend_from_slice(prefix);
        record.extend_from_slice(line);
        inner.bytes += size;
        inner.lines.push_back(record);
    }

    /// Takes the oldest line, None when empty. Lines dropped after the last one queued are
    /// reported by a `-- N line(s) dropped: the trace queue was full` line once the queue is
    /// empty.
    pub fn pop(&self) -> Option<Vec<u8>> {
        let mut inner = self.inner();
        match inner.lines.pop_front() {
            Some(line) => {
                inner.bytes -= line.len();
                Some(line)
            }
            None if inner.dropped > 0 => Some(dropped_line(std::mem::take(&mut inner.dropped))),
            None => None,
        }
    }
}

fn dropped_line(n: u64) -> Vec<u8> {
    format!("-- {n} line(s) dropped: the trace queue was full").into_bytes()
}

impl Drop for TraceQueue {
    fn drop(&mut self) {
        // Lines may hold server data (folder names, addresses): wipe them like the trace buffers.
        for line in self.inner().lines.iter_mut() {
            line.zeroize();
        }
    }
}

/// A queue in a [`super::SessionOptions`]: shared, compared by identity.
#[derive(Debug, Clone)]
pub struct SharedTraceQueue(pub Arc<TraceQueue>);

impl PartialEq for SharedTraceQueue {
    fn eq(&self, other: &SharedTraceQueue) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedTraceQueue {}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: Option<Vec<u8>>) -> Option<String> {
        v.map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn lines_come_out_in_order_with_their_direction() {
        let q = TraceQueue::new(10);
        assert_eq!(text(q.pop()), None);
        q.push(Direction::Received, b"* OK ready");
        q.push(Direction::Sent, b"a1 LOGIN <redacted>");
        assert_eq!(text(q.pop()).as_deref(), Some("S: * OK ready"));
        assert_eq!(text(q.pop()).as_deref(), Some("C: a1 LOGIN <redacted>"));
        assert_eq!(text(q.pop()), None);
    }

    #[test]
    fn a_full_queue_counts_what_it_drops_and_says_where() {
        let q = TraceQueue::new(3);
        for i in 0..5 {
            q.push(Direction::Received, format!("line {i}").as_bytes());
        }
        assert_eq!(text(q.pop()).as_deref(), Some("S: line 0"));
        assert_eq!(text(q.pop()).as_deref(), Some("S: line 1"));
        // Room for the gap line and one more: line 5 follows the 3 dropped.
        q.push(Direction::Sent, b"line 5");
        assert_eq!(text(q.pop()).as_deref(), Some("S: line 2"));
        assert_eq!(
            text(q.pop()).as_deref(),
            Some("-- 2 line(s) dropped: the trace queue was full")
        );
        assert_eq!(text(q.pop()).as_deref(), Some("C: line 5"));
        assert_eq!(text(q.pop()), None);
        // Drops at the end are reported once the queue is empty.
        for i in 0..5 {
            q.push(Direction::Received, format!("again {i}").as_bytes());
        }
        for want in ["S: again 0", "S: again 1", "S: again 2"] {
            assert_eq!(text(q.pop()).as_deref(), Some(want));
        }
        assert_eq!(
            text(q.pop()).as_deref(),
            Some("-- 2 line(s) dropped: the trace queue was full")
        );
        assert_eq!(text(q.pop()), None);
    }

    #[test]
    fn bytes_are_bounded_whatever_the_line_count() {
        let q = TraceQueue::new(TRACE_QUEUE_MAX_LINES as usize);
        let line = vec![b'x'; 16 * 1024];
        for _ in 0..1000 {
            q.push(Direction::Received, &line);
        }
        let kept = TRACE_QUEUE_MAX_BYTES / (line.len() + 3);
        let mut n = 0;
        while let Some(l) = q.pop() {
            if l.starts_with(b"--") {
                let want = format!(
                    "-- {} line(s) dropped: the trace queue was full",
                    1000 - kept
                );
                assert_eq!(String::from_utf8(l).unwrap(), want);
                assert!(q.pop().is_none());
                break;
            }
            n += 1;
        }
        assert_eq!(n, kept);
    }
}

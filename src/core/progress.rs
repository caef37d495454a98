//! Progress that another thread can read while a session works: the (done, total) of the
//! current or last read, kept apart from the session so that reading it never waits for the
//! session's lock (a host polls it from its own thread instead of being called back).

use std::sync::Mutex;

use super::session::ProgressCallback;

/// The last (done, total) reported by a session's read. Reading and writing it only takes a
/// lock held for the copy of two numbers, never across network work.
#[derive(Debug, Default)]
pub struct ProgressMeter {
    counts: Mutex<(u64, u64)>,
}

impl ProgressMeter {
    /// A meter at (0, 0).
    pub fn new() -> ProgressMeter {
        ProgressMeter::default()
    }

    /// Records a report.
    pub fn set(&self, done: u64, total: u64) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = (done, total);
    }

    /// Back to (0, 0): a new read starts.
    pub fn reset(&self) {
        self.set(0, 0);
    }

    /// The last report, done and total taken together (never from two different reports).
    pub fn get(&self) -> (u64, u64) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A session progress callback that records each report in `meter`, then asks `next` (the
/// host's callback, if any) whether to cancel.
pub fn metered(
    meter: std::sync::Arc<ProgressMeter>,
    mut next: Option<ProgressCallback>,
) -> ProgressCallback {
    Box::new(move |done, total| {
        meter.set(done, total);
        next.as_mut().is_some_and(|cb| cb(done, total))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn records_reports_and_forwards_cancellation() {
        let meter = Arc::new(ProgressMeter::new());
        assert_eq!(meter.get(), (0, 0));
        let mut quiet = metered(Arc::clone(&meter), None);
        assert!(!quiet(3, 10));
        assert_eq!(meter.get(), (3, 10));
        let mut cancel_at_5 = metered(Arc::clone(&meter), Some(Box::new(|done, _| done >= 5)));
        assert!(!cancel_at_5(4, 10));
        assert!(cancel_at_5(5, 10));
        assert_eq!(meter.get(), (5, 10));
        meter.reset();
        assert_eq!(meter.get(), (0, 0));
    }

    #[test]
    fn a_reader_thread_sees_whole_pairs() {
        let meter = Arc::new(ProgressMeter::new());
        let writer = {
            let meter = Arc::clone(&meter);
            std::thread::spawn(move || {
                for i in 0..20_000u64 {
                    meter.set(i, i * 2);
                }
            })
        };
        for _ in 0..20_000 {
            let (done, total) = meter.get();
            assert_eq!(total, done * 2, "a torn pair: ({done}, {total})");
        }
        writer.join().unwrap();
    }
}

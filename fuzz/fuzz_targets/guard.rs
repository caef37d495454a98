//! The stream guard alone: any bytes, in any chunking, are followed without panicking, and every
//! chunking gives the same verdict.
#![no_main]

use imapmail::core::guard::{Guard, Limits, NoSink};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let chunk = (data[0] as usize % 17) + 1;
    let data = &data[1..];
    let limits = Limits {
        max_depth: 8,
        max_line: 200,
        max_literal: 300,
        max_response: 1 << 20,
    };
    let mut whole = Guard::new(limits);
    let a = whole.feed(data, &mut NoSink);
    let mut parts = Guard::new(limits);
    let b = data
        .chunks(chunk)
        .try_for_each(|c| parts.feed(c, &mut NoSink));
    assert_eq!(a, b);
});

//! The options string: any input is accepted or rejected with an Argument error, never a panic;
//! an accepted string gives settings within their documented bounds.
#![no_main]

use imapmail::core::{Error, Security, SessionOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut o = SessionOptions::new("h", 0, Security::Tls);
    match o.apply(text) {
        Ok(()) => {
            let ms = o.timeout.as_millis();
            assert!((1..=24 * 3600 * 1000).contains(&ms), "timeout {ms}");
            assert!(o.max_message_bytes >= 1024 && o.max_message_bytes <= 1 << 40);
            assert!(!o.folder.is_empty());
            assert!(
                !o.folder.contains(['\r', '\n', '\0']),
                "folder {:?}",
                o.folder
            );
        }
        Err(Error::Argument(m)) => assert!(!m.is_empty()),
        Err(e) => panic!("not an argument error: {e:?}"),
    }
});

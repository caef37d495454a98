//! Whole sessions against server bytes from the fuzz input: the input is the server's side of
//! the conversation, answers separated by 0xFF bytes (the first is the greeting; each command
//! the client sends releases the next answer, with `A########` replaced by the command's tag).
//! The session logs in, selects, reads every message (touching every decoded field), reads the
//! folder again headers-only, loads one body and closes. Nothing may panic, hang or abort.
#![no_main]

use imapmail::core::session::testing::{open_over_stream, ScriptedServer};
use imapmail::core::{Credentials, ReadOptions, Security, SessionOptions};
use libfuzzer_sys::fuzz_target;

fn touch(m: &imapmail::core::Message) {
    let h = m.header();
    let _ = (h.subject.len(), h.from.display(), h.to.len());
    let b = m.body();
    let _ = (b.text.len(), b.html.len(), b.attachments.len());
}

fuzz_target!(|data: &[u8]| {
    let answers: Vec<Vec<u8>> = data.split(|&b| b == 0xff).map(<[u8]>::to_vec).collect();
    let mut server = ScriptedServer::new(answers);
    // Small reads now and then, to cut lines and literals at every place.
    server.chunk = if data.len().is_multiple_of(3) { 7 } else { 0 };
    let mut opts = SessionOptions::new("fuzz.invalid", 143, Security::None);
    opts.max_message_bytes = 1 << 20;
    let creds = Credentials::new("user", "pass");
    let Ok(mut s) = open_over_stream(server, opts, &creds) else {
        return;
    };
    let mut first = None;
    let mut next = s.read_first(ReadOptions::default());
    for _ in 0..1000 {
        match next {
            Ok(Some(m)) => {
                touch(&m);
                if first.is_none() {
                    first = Some(m);
                }
            }
            _ => break,
        }
        next = s.read_next();
    }
    let headers = ReadOptions {
        headers_only: true,
        ..ReadOptions::default()
    };
    if let Ok(all) = s.get_all(headers) {
        all.iter().for_each(touch);
        if let Some(m) = all.first() {
            if let Ok(full) = s.load_full(m) {
                touch(&full);
            }
        }
    }
    s.close();
});

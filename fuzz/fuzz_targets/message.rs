//! Message decoding: the core model and every accessor, then the same bytes through the C
//! accessors. Nothing may panic, hang or abort, whatever the bytes.
#![no_main]

use imapmail::core::message::RecipientKind;
use imapmail::core::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = Message::from_raw(data.to_vec());
    let h = m.header();
    let _ = (
        &h.subject,
        h.from.display(),
        &h.date,
        h.timestamp,
        &h.message_id,
        m.header_fields().len(),
    );
    for kind in [
        RecipientKind::To,
        RecipientKind::Cc,
        RecipientKind::Bcc,
        RecipientKind::ReplyTo,
    ] {
        for a in m.recipients(kind) {
            let _ = a.display();
        }
    }
    let _ = m.header_value("subject");
    let _ = m.header_value("X-Nope");
    let b = m.body();
    let _ = (b.text.len(), b.html.len(), &b.error);
    for a in &b.attachments {
        let _ = (
            &a.name,
            &a.content_type,
            &a.content_id,
            a.inline,
            a.data.len(),
        );
        let _ = imapmail::core::files::sanitize_file_name(&a.name);
    }
    imapmail::ffi::session::testing::exercise_message_accessors(data.to_vec());
});

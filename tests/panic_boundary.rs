//! A panic inside an export is caught at the C boundary: the export returns its failure value,
//! `email_last_error()` is `EMAIL_ERR_INTERNAL`, and the process goes on. Needs the test-only
//! `test-hooks` feature (`cargo test --features test-hooks --test panic_boundary`), whose
//! option `debug_panic=1` panics inside `email_start_session_ex`.

use std::ffi::{CStr, CString};

use imapmail::ffi::error::*;
use imapmail::ffi::session::*;

#[test]
fn a_panic_inside_an_export_is_an_internal_error() {
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new("u").unwrap(),
        CString::new("p").unwrap(),
    );
    let o = CString::new("timeout_ms=1000;debug_panic=1").unwrap();
    for _ in 0..3 {
        let s = unsafe {
            email_start_session_ex(
                h.as_ptr(),
                9,
                u.as_ptr(),
                p.as_ptr(),
                EMAIL_SECURITY_NONE,
                o.as_ptr(),
            )
        };
        assert!(s.is_null());
        assert_eq!(email_last_error(), EMAIL_ERR_INTERNAL);
        let msg = unsafe { CStr::from_ptr(email_last_error_message()) }
            .to_string_lossy()
            .into_owned();
        assert!(
            msg.contains("caught panic") && msg.contains("debug_panic"),
            "{msg}"
        );
    }
    // The process and the library go on: the next call works normally.
    let o = CString::new("colour=blue").unwrap();
    let s = unsafe { email_start_session_ex(h.as_ptr(), 9, u.as_ptr(), p.as_ptr(), 0, o.as_ptr()) };
    assert!(s.is_null());
    assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
}

//! Text conversion for hosts that do not speak UTF-8 natively: `email_copy_utf16` (Windows
//! wide strings, WINDEV Unicode strings, .NET, Java) and `email_copy_utf8` (copying a string
//! returned by imapmail into a buffer the host owns).
//!
//! Both follow the same shape: they return the number of units the complete copy needs,
//! including the terminating NUL, so a host can call once with `capacity` 0 to size its buffer,
//! then again to fill it.

use std::ffi::{c_char, CStr};

use crate::ffi::status::set_last_error;
use crate::ffi::util::{boundary, Failure};

/// Runs a copy function: its result, or 0 with the failure recorded. A success leaves this
/// thread's last error as it was, like the error getters: a host converts the string of
/// `email_last_error_message()` with these functions, and recording a success would free it.
fn copy_call(body: impl FnOnce() -> Result<usize, Failure>) -> usize {
    boundary(0, || match body() {
        Ok(n) => n,
        Err(f) => {
            set_last_error(f.code, &f.message);
            0
        }
    })
}

/// Reads the NUL-terminated source as bytes.
///
/// # Safety
/// `utf8` must be NULL or point to a NUL-terminated string.
unsafe fn source<'a>(utf8: *const c_char) -> Result<&'a [u8], Failure> {
    if utf8.is_null() {
        return Err(Failure::argument("utf8 is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(utf8) }.to_bytes())
}

/// Writes `units` into `buf` (at most `capacity` units, the last one always 0) and returns the
/// number of units the complete copy needs, terminator included.
///
/// # Safety
/// `buf` must be NULL or point to `capacity` writable units.
unsafe fn fill<T: Copy + Default>(
    units: impl Iterator<Item = T>,
    buf: *mut T,
    capacity: usize,
) -> usize {
    let writable = if buf.is_null() { 0 } else { capacity };
    let mut needed = 0usize;
    for unit in units {
        if needed + 1 < writable {
            // SAFETY: needed + 1 < capacity, within the caller's buffer.
            unsafe { buf.add(needed).write(unit) };
        }
        needed += 1;
    }
    if writable > 0 {
        let at = needed.min(writable - 1);
        // SAFETY: at < capacity.
        unsafe { buf.add(at).write(T::default()) };
    }
    needed + 1
}

/// Converts a UTF-8 string (for example one returned by imapmail) to UTF-16, as Windows wide
/// strings, WINDEV Unicode strings, .NET and Java use. Characters outside the Basic
/// Multilingual Plane become surrogate pairs; invalid UTF-8 bytes become U+FFFD.
///
/// Returns the number of UTF-16 units the complete conversion needs, including the terminating
/// 0: call with `capacity` 0 (and `buf` NULL) to size the buffer, then again to fill it. Writes
/// at most `capacity` units to `buf`, always terminated by 0 when `capacity` > 0 (a buffer that
/// is too small receives a truncated copy, possibly ending in half of a surrogate pair). The
/// result is complete when the return value is at most `capacity`.
///
/// Returns 0 when `utf8` is NULL (then `email_last_error()` is `EMAIL_ERR_ARGUMENT`, and `buf`
/// is set to an empty string when `capacity` > 0). A success does not change
/// `email_last_error()` / `email_last_error_message()`, so the text of the latter can be
/// converted with this function.
///
/// # Safety
/// `utf8` must be NULL or NUL-terminated; `buf` must be NULL or point to `capacity` writable
/// `uint16_t`.
#[no_mangle]
pub unsafe extern "C" fn email_copy_utf16(
    utf8: *const c_char,
    buf: *mut u16,
    capacity: usize,
) -> usize {
    copy_call(|| {
        // SAFETY: forwarded contract.
        let bytes = match unsafe { source(utf8) } {
            Ok(b) => b,
            Err(f) => {
                // SAFETY: forwarded contract.
                unsafe { fill(std::iter::empty(), buf, capacity) };
                return Err(f);
            }
        };
        let text = String::from_utf8_lossy(bytes);
        // SAFETY: forwarded contract.
        Ok(unsafe { fill(text.encode_utf16(), buf, capacity) })
    })
}

/// Copies a UTF-8 string (for example one returned by imapmail, which stays owned by imapmail)
/// into a buffer owned by the host. Invalid UTF-8 is copied as it is.
///
/// Returns the number of bytes the complete copy needs, including the terminating NUL: call with
/// `capacity` 0 (and `buf` NULL) to size the buffer, then again to fill it. Writes at most
/// `capacity` bytes, always NUL-terminated when `capacity` > 0; a buffer that is too small
/// receives a copy cut at a character boundary, so it never ends in part of a character. The
/// copy is complete when the return value is at most `capacity`.
///
/// Returns 0 when `utf8` is NULL (then `email_last_error()` is `EMAIL_ERR_ARGUMENT`, and `buf`
/// is set to an empty string when `capacity` > 0). A success does not change
/// `email_last_error()` / `email_last_error_message()`.
///
/// # Safety
/// `utf8` must be NULL or NUL-terminated; `buf` must be NULL or point to `capacity` writable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn email_copy_utf8(
    utf8: *const c_char,
    buf: *mut c_char,
    capacity: usize,
) -> usize {
    copy_call(|| {
        // SAFETY: forwarded contract.
        let bytes = match unsafe { source(utf8) } {
            Ok(b) => b,
            Err(f) => {
                // SAFETY: forwarded contract.
                unsafe { fill(std::iter::empty(), buf, capacity) };
                return Err(f);
            }
        };
        // Cut a truncated copy at a character boundary (never inside a UTF-8 sequence).
        let mut keep = bytes.len();
        if !buf.is_null() && capacity > 0 && bytes.len() >= capacity {
            keep = capacity - 1;
            while keep > 0 && bytes.get(keep).is_some_and(|b| b & 0xC0 == 0x80) {
                keep -= 1;
            }
        }
        let writable = if buf.is_null() { 0 } else { capacity };
        if writable > 0 {
            let n = keep.min(writable - 1);
            // SAFETY: n + 1 <= capacity bytes in the caller's buffer; the source has n bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, n);
                buf.add(n).write(0);
            }
        }
        Ok(bytes.len() + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::{
        email_last_error, email_last_error_message, EMAIL_ERR_ARGUMENT, EMAIL_OK,
    };

    const SAMPLE: &std::ffi::CStr = c"a\u{e9}\u{20ac}\u{1F600}\u{1D11E}"; // a é € 😀 𝄞

    fn utf16(src: &std::ffi::CStr, capacity: usize) -> (usize, Vec<u16>) {
        let mut buf = vec![0xAAAAu16; capacity + 2];
        let n = unsafe { email_copy_utf16(src.as_ptr(), buf.as_mut_ptr(), capacity) };
        (n, buf)
    }

    #[test]
    fn utf16_sizes_and_fills_with_surrogates() {
        let expected: Vec<u16> = "a\u{e9}\u{20ac}\u{1F600}\u{1D11E}".encode_utf16().collect();
        assert_eq!(expected.len(), 7); // two surrogate pairs
        set_last_error(EMAIL_OK, "");
        let needed = unsafe { email_copy_utf16(SAMPLE.as_ptr(), std::ptr::null_mut(), 0) };
        assert_eq!(needed, 8);
        assert_eq!(email_last_error(), EMAIL_OK);
        let (n, buf) = utf16(SAMPLE, 8);
        assert_eq!(n, 8);
        assert_eq!(&buf[..7], &expected[..]);
        assert_eq!(buf[7], 0);
        assert_eq!(buf[8], 0xAAAA, "wrote past capacity");
        assert_eq!(&buf[3..5], &[0xD83D, 0xDE00]);
    }

    #[test]
    fn utf16_truncates_and_terminates() {
        let (n, buf) = utf16(SAMPLE, 4);
        assert_eq!(n, 8);
        assert_eq!(&buf[..4], &[u16::from(b'a'), 0xE9, 0x20AC, 0]);
        assert_eq!(buf[4], 0xAAAA);
        let (n, buf) = utf16(SAMPLE, 1);
        assert_eq!((n, buf[0], buf[1]), (8, 0, 0xAAAA));
        // A non-NULL buffer with capacity 0 is not touched.
        let (n, buf) = utf16(SAMPLE, 0);
        assert_eq!((n, buf[0]), (8, 0xAAAA));
    }

    #[test]
    fn utf16_empty_and_invalid() {
        let (n, buf) = utf16(c"", 3);
        assert_eq!((n, buf[0]), (1, 0));
        let (n, buf) = utf16(c"x\xffy", 8);
        assert_eq!(n, 4);
        assert_eq!(&buf[..4], &[u16::from(b'x'), 0xFFFD, u16::from(b'y'), 0]);
    }

    #[test]
    fn null_source_is_an_argument_error() {
        let mut buf = [0x41u16; 4];
        let n = unsafe { email_copy_utf16(std::ptr::null(), buf.as_mut_ptr(), 4) };
        assert_eq!((n, buf[0]), (0, 0));
        assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
        let mut b8 = [0x41 as c_char; 4];
        let n = unsafe { email_copy_utf8(std::ptr::null(), b8.as_mut_ptr(), 4) };
        assert_eq!((n, b8[0]), (0, 0));
        assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
        let n = unsafe { email_copy_utf8(SAMPLE.as_ptr(), std::ptr::null_mut(), 0) };
        assert_eq!(n, SAMPLE.to_bytes().len() + 1);
        assert_eq!(
            email_last_error(),
            EMAIL_ERR_ARGUMENT,
            "a success keeps the last error"
        );
    }

    #[test]
    fn the_last_error_message_can_be_converted() {
        set_last_error(EMAIL_ERR_ARGUMENT, "m\u{1F600}ssage");
        let p = email_last_error_message();
        let needed = unsafe { email_copy_utf16(p, std::ptr::null_mut(), 0) };
        assert_eq!(needed, 9);
        // The message is still alive and unchanged after the first call.
        assert_eq!(email_last_error_message(), p);
        let mut buf = vec![0u16; needed];
        assert_eq!(
            unsafe { email_copy_utf16(p, buf.as_mut_ptr(), needed) },
            needed
        );
        assert_eq!(
            String::from_utf16(&buf[..needed - 1]).unwrap(),
            "m\u{1F600}ssage"
        );
        let mut b8 = vec![0 as c_char; 16];
        assert_eq!(unsafe { email_copy_utf8(p, b8.as_mut_ptr(), 16) }, 11);
        assert_eq!(email_last_error(), EMAIL_ERR_ARGUMENT);
    }

    fn utf8(src: &std::ffi::CStr, capacity: usize) -> (usize, Vec<u8>) {
        let mut buf = vec![0xAAu8; capacity + 2];
        let n = unsafe { email_copy_utf8(src.as_ptr(), buf.as_mut_ptr().cast(), capacity) };
        (n, buf)
    }

    #[test]
    fn utf8_copies_and_cuts_at_character_boundaries() {
        let bytes = SAMPLE.to_bytes(); // 1 + 2 + 3 + 4 + 4 = 14 bytes
        assert_eq!(bytes.len(), 14);
        let (n, buf) = utf8(SAMPLE, 15);
        assert_eq!(n, 15);
        assert_eq!(&buf[..14], bytes);
        assert_eq!((buf[14], buf[15]), (0, 0xAA));
        // Room for 9 bytes + NUL: "aé€" is 6 bytes, the emoji (4 bytes) would end at 10: cut.
        let (n, buf) = utf8(SAMPLE, 10);
        assert_eq!(n, 15);
        assert_eq!(&buf[..7], "a\u{e9}\u{20ac}\0".as_bytes());
        assert_eq!(buf[10], 0xAA);
        // Exactly the emoji fits: 10 bytes + NUL.
        let (_, buf) = utf8(SAMPLE, 11);
        assert_eq!(&buf[..11], "a\u{e9}\u{20ac}\u{1F600}\0".as_bytes());
        let (n, buf) = utf8(SAMPLE, 1);
        assert_eq!((n, buf[0], buf[1]), (15, 0, 0xAA));
        let (n, buf) = utf8(SAMPLE, 0);
        assert_eq!((n, buf[0]), (15, 0xAA));
    }
}

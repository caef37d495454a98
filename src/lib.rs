//! imapmail: read and manage mail kept on an IMAP server, from C, C++, WINDEV and any FFI host.
//!
//! The crate has two layers:
//! - [`core`]: a safe Rust client that knows nothing of C (connection and security, session,
//!   the reading pipeline, the message model, errors as an enum);
//! - [`ffi`]: the thin C ABI shell (one file per C type) that checks arguments, converts strings,
//!   maps errors to status codes and stops panics at the boundary.

#![deny(unsafe_op_in_unsafe_fn)]

/// The safe core (not part of the C header).
///
/// cbindgen:ignore
pub mod core;
pub mod ffi;

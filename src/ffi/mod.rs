//! The C ABI shell. Each file holds the exports of one C type; this module holds the shared
//! machinery: the panic boundary, argument checks, handle registries and error recording.

// First, so that the status codes open the generated header.
mod status;

pub mod error;
pub mod list;
pub mod message;
pub mod search;
pub mod session;
pub mod strings;
pub mod text;
mod util;

/// The C type of every signed integer result: statuses (`EMAIL_OK`, `EMAIL_OUT`, negative
/// `EMAIL_ERR_*`), 0/1 answers and counts. It is pointer-sized (`intptr_t` in the header: 4 bytes
/// in 32-bit builds, 8 in 64-bit ones) so that a host reading the whole result register (64-bit
/// WINDEV's `API()`, which reads a "system int") sees the same value as one reading 32 bits.
/// cbindgen writes it as `intptr_t` (see cbindgen.toml).
pub type IntPtr = isize;

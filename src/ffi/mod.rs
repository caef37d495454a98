//! The C ABI shell. Each file holds the exports of one C type; this module holds the shared
//! machinery: the panic boundary, argument checks, handle registries and error recording.

pub mod error;
pub mod list;
pub mod message;
pub mod search;
pub mod session;
pub mod strings;
pub mod text;
mod util;

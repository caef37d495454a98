//! The safe Rust core: nothing in here knows about C.

pub mod connection;
pub mod error;
pub mod files;
pub mod guard;
pub mod message;
pub mod mutf7;
pub mod options;
pub mod pool;
pub mod progress;
pub mod reader;
pub mod search;
pub mod session;
pub mod trace;
pub mod trace_queue;

pub use error::{Error, Result};
pub use message::{Address, Attachment, Message};
pub use options::{Security, SessionOptions};
pub use reader::ReadOptions;
pub use session::{Credentials, Session};

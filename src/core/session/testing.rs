//! Test hooks (not part of the API): a session over an arbitrary byte stream, and a scripted
//! in-memory server to drive it, for fuzzing and tests.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use super::{Credentials, Session};
use crate::core::connection::Transport;
use crate::core::error::Result;
use crate::core::options::{Security, SessionOptions};
use crate::core::trace::Tracer;

/// Opens a session (greeting, CAPABILITY, login, SELECT) over `stream`, which plays the server.
/// The security mode is ignored: the stream is used as it is.
pub fn open_over_stream<S: Read + Write + Send + 'static>(
    stream: S,
    mut opts: SessionOptions,
    creds: &Credentials,
) -> Result<Session> {
    opts.security = Security::None;
    let tracer = Tracer::with_sinks(
        opts.trace_file.as_deref(),
        opts.trace_queue.as_ref().map(|q| &q.0),
    )?;
    let transport = Transport::test(Box::new(stream), &opts, tracer.clone());
    crate::core::guard::on_parser_stack(move || Session::start(transport, tracer, opts, creds))
}

/// The placeholder for the tag of the command being answered, as in recorded transcripts.
pub const TAG_PLACEHOLDER: &[u8] = b"A########";

/// A scripted server: the first answer (the greeting) is there from the start; each line the
/// client writes releases the next answer, with [`TAG_PLACEHOLDER`] replaced by the tag of the
/// client's last command. When the script runs out, reads give the end of the stream.
#[derive(Debug, Default)]
pub struct ScriptedServer {
    answers: VecDeque<Vec<u8>>,
    out: Vec<u8>,
    pos: usize,
    line: Vec<u8>,
    tag: Vec<u8>,
    /// Largest number of bytes handed out per read (0: no limit).
    pub chunk: usize,
    /// Everything the client wrote.
    pub written: Vec<u8>,
}

impl ScriptedServer {
    pub fn new(answers: impl IntoIterator<Item = Vec<u8>>) -> ScriptedServer {
        let mut s = ScriptedServer {
            answers: answers.into_iter().collect(),
            ..ScriptedServer::default()
        };
        s.release();
        s
    }

    fn release(&mut self) {
        if let Some(next) = self.answers.pop_front() {
            let answer = replace_all(&next, TAG_PLACEHOLDER, &self.tag);
            self.out.drain(..self.pos);
            self.pos = 0;
            self.out.extend_from_slice(&answer);
        }
    }
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

impl Read for ScriptedServer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = buf.len().min(self.out.len() - self.pos);
        if self.chunk > 0 {
            n = n.min(self.chunk);
        }
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for ScriptedServer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        for &b in buf {
            self.line.push(b);
            if b == b'\n' {
                if let Some(sp) = self.line.iter().position(|&c| c == b' ') {
                    self.tag = self.line[..sp].to_vec();
                }
                self.line.clear();
                self.release();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

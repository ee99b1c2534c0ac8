//! JSON-RPC over stdio with `Content-Length` framing, feeding an `lsp_server::Connection`.
//!
//! lsp-server's own stdio transport stops reading at the first frame that is not valid JSON (and
//! sizes its buffer from the header unchecked), which would take an editor's whole session down
//! for one bad message. This reader skips such a frame with a note on stderr and goes on.

use std::io::{self, BufRead, Read, Write};
use std::thread;

use crossbeam_channel::{Sender, bounded};
use lsp_server::{Connection, Message};

/// A frame larger than this is skipped: a policy is at most 1 MiB, so no real message is near.
const MAX_FRAME: usize = 64 << 20;

/// The running transport: join the writer to be sure every answer is flushed before exiting.
pub struct Transport {
    writer: thread::JoinHandle<()>,
}

impl Transport {
    /// Wait until every message sent has been written (the connection's sender must be dropped).
    pub fn finish(self) {
        let _ = self.writer.join();
    }
}

pub fn stdio() -> (Connection, Transport) {
    let (to_writer, from_server) = bounded::<Message>(16);
    let (to_server, from_reader) = bounded::<Message>(16);
    let writer = thread::spawn(move || {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        for msg in from_server {
            if msg.write(&mut out).is_err() {
                // The client is gone; nothing more can be said to it.
                break;
            }
        }
        let _ = out.flush();
    });
    // The reader is never joined: after `exit` the process ends while it may still wait on stdin.
    thread::spawn(move || {
        let stdin = io::stdin();
        read_loop(&mut stdin.lock(), &to_server);
    });
    let conn = Connection {
        sender: to_writer,
        receiver: from_reader,
    };
    (conn, Transport { writer })
}

/// Read frames until end of input (or the `exit` notification), passing every message on.
fn read_loop(input: &mut impl BufRead, to_server: &Sender<Message>) {
    loop {
        let body = match read_frame(input) {
            Ok(Some(body)) => body,
            Ok(None) => return,
            Err(Frame::Skip(why)) => {
                eprintln!("allot lsp: skipped a message: {why}");
                continue;
            }
            Err(Frame::Fatal(why)) => {
                eprintln!("allot lsp: cannot read the client's messages: {why}");
                return;
            }
        };
        let msg = match serde_json::from_slice::<Message>(&body) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("allot lsp: skipped a message that is no JSON-RPC message: {e}");
                continue;
            }
        };
        let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
        if to_server.send(msg).is_err() || exit {
            return;
        }
    }
}

enum Frame {
    /// This frame is unusable but the stream is still in step.
    Skip(String),
    /// The stream cannot be followed any more (closed mid-frame, no length).
    Fatal(String),
}

/// One frame's body; `Ok(None)` at a clean end of input.
fn read_frame(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, Frame> {
    let mut length: Option<usize> = None;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let n = input
            .take(8192)
            .read_until(b'\n', &mut line)
            .map_err(|e| Frame::Fatal(e.to_string()))?;
        if n == 0 {
            return if first {
                Ok(None)
            } else {
                Err(Frame::Fatal("input ended inside a header".into()))
            };
        }
        first = false;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let Some(length) = length else {
        return Err(Frame::Fatal(
            "a message without a valid Content-Length".into(),
        ));
    };
    if length > MAX_FRAME {
        // Read past it to stay in step with the next frame.
        let skipped = io::copy(&mut input.take(length as u64), &mut io::sink())
            .map_err(|e| Frame::Fatal(e.to_string()))?;
        if skipped < length as u64 {
            return Err(Frame::Fatal("input ended inside a message".into()));
        }
        return Err(Frame::Skip(format!("{length} bytes is too large")));
    }
    let mut body = vec![0; length];
    input
        .read_exact(&mut body)
        .map_err(|e| Frame::Fatal(format!("input ended inside a message: {e}")))?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Message> {
        let (tx, rx) = bounded(100);
        read_loop(&mut io::Cursor::new(input), &tx);
        drop(tx);
        rx.into_iter().collect()
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn bad_frames_are_skipped_and_good_ones_read() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = [
            frame("{not json"),
            frame("[1, 2]"),
            frame(good),
            frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
            frame(good),
        ]
        .concat();
        let got = frames(input.as_bytes());
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(&got[1], Message::Notification(n) if n.method == "exit"));
    }

    #[test]
    fn truncated_and_headerless_input_ends_quietly() {
        assert!(frames(b"Content-Length: 100\r\n\r\n{}").is_empty());
        assert!(frames(b"garbage\r\n\r\n{}").is_empty());
        assert!(frames(b"").is_empty());
        assert!(frames(b"Content-Length: 99999999999\r\n\r\n").is_empty());
    }
}

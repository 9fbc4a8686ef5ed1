//! The second process of a cross-process benchmark: started pinned to a
//! CPU, killed with the benchmark if that dies, talked to by lines on its
//! stdin and stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A running peer.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `cmd` on `cpu` (any CPU with `None`), dying with its parent,
    /// and waits for its `ready` line.
    pub fn spawn(cmd: &mut Command, cpu: Option<usize>) -> Peer {
        crate::pin_command(cmd, cpu);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut peer = Peer {
            child,
            stdin,
            stdout,
        };
        let line = peer.line();
        assert_eq!(line, "ready", "the peer did not get ready");
        peer
    }

    /// The pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line it prints.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .expect("read from the peer");
        assert!(n > 0, "the peer ended early");
        line.trim().to_owned()
    }

    /// Sends one line and reads one back.
    pub fn ask(&mut self, request: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{request}").expect("write to the peer");
        stdin.flush().expect("flush to the peer");
        self.line()
    }

    /// Sends `n`, reads back a duration in nanoseconds: what reopen
    /// benchmarks measure in the peer.
    pub fn timed(&mut self, n: u64) -> Duration {
        let answer = self.ask(&n.to_string());
        Duration::from_nanos(
            answer
                .parse()
                .unwrap_or_else(|_| panic!("the peer said {answer:?}")),
        )
    }

    /// Closes its stdin (peers end then) and waits for it.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for the peer");
        assert!(status.success(), "the peer failed: {status}");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

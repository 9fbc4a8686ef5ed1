//! Keys: read from the terminal in raw mode, here rather than by
//! crossterm, whose reader retries a read that returns end-of-file forever
//! (a terminal that hung up, its window closed, must end the view).

use std::io::{IsTerminal, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// q, Esc, Ctrl-C, Ctrl-D, or the terminal hung up.
    Quit,
    /// ↓, Tab, j.
    Next,
    /// ↑, Shift-Tab, k.
    Previous,
    /// PgDn, Space.
    PageDown,
    /// PgUp.
    PageUp,
    /// Home.
    Home,
    /// End.
    End,
}

/// The keyboard: the terminal on stdin, else the controlling terminal,
/// else none (then only a signal or the deadline ends the view).
pub enum Keyboard {
    /// Standard input is the terminal.
    Stdin(std::io::Stdin),
    /// The controlling terminal, opened.
    Tty(std::fs::File),
    /// No terminal to read.
    None,
}

impl Keyboard {
    pub fn open() -> Keyboard {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Keyboard::Stdin(stdin);
        }
        std::fs::File::open("/dev/tty").map_or(Keyboard::None, Keyboard::Tty)
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Keyboard::Stdin(stdin) => Some(stdin.as_fd()),
            Keyboard::Tty(tty) => Some(tty.as_fd()),
            Keyboard::None => None,
        }
    }

    /// Waits up to `timeout` for keys, or for `also` to be readable, and
    /// returns the keys and whether `also` is.
    pub fn wait(&mut self, timeout: Duration, also: Option<BorrowedFd<'_>>) -> (Vec<Key>, bool) {
        let timespec = rustix::event::Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let fds: Vec<BorrowedFd<'_>> = self.fd().into_iter().chain(also).collect();
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
            .collect();
        let ready = if polled.is_empty() {
            std::thread::sleep(timeout);
            Ok(0)
        } else {
            rustix::event::poll(&mut polled, Some(&timespec))
        };
        match ready {
            Ok(0) | Err(rustix::io::Errno::INTR) => return (Vec::new(), false),
            Ok(_) => {}
            Err(_) => return (vec![Key::Quit], false),
        }
        let also_ready = also.is_some()
            && polled
                .last()
                .is_some_and(|p| p.revents().contains(PollFlags::IN));
        let keyboard = match self.fd() {
            Some(_) => polled[0].revents(),
            None => return (Vec::new(), also_ready),
        };
        if keyboard.is_empty() {
            return (Vec::new(), also_ready);
        }
        if !keyboard.contains(PollFlags::IN) {
            // Hung up or gone, with nothing left to read.
            return (vec![Key::Quit], also_ready);
        }
        (self.read_keys(), also_ready)
    }

    /// Reads what the terminal has sent, as keys.
    fn read_keys(&mut self) -> Vec<Key> {
        let mut buf = [0u8; 64];
        let n = match self {
            Keyboard::Stdin(stdin) => stdin.lock().read(&mut buf),
            Keyboard::Tty(tty) => tty.read(&mut buf),
            Keyboard::None => Ok(0),
        };
        match n {
            Ok(0) => vec![Key::Quit],
            Ok(n) => parse_keys(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Vec::new(),
            Err(_) => vec![Key::Quit],
        }
    }
}

/// The keys in what the terminal sent (raw mode: bytes, and escape
/// sequences for the arrows and paging keys). Unknown input is skipped.
pub fn parse_keys(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let key = match bytes[i] {
            b'q' | b'Q' | 0x03 | 0x04 => Some(Key::Quit),
            b'\t' | b'j' => Some(Key::Next),
            b'k' => Some(Key::Previous),
            b' ' => Some(Key::PageDown),
            0x1b if i + 1 == bytes.len() => Some(Key::Quit),
            0x1b if matches!(bytes[i + 1], b'[' | b'O') => {
                // CSI or SS3: parameters, then one final byte in 0x40..=0x7e.
                let start = i + 2;
                let end = bytes[start..]
                    .iter()
                    .position(|b| (0x40..=0x7e).contains(b))
                    .map_or(bytes.len() - 1, |p| start + p);
                let key = match &bytes[start..=end.min(bytes.len() - 1)] {
                    b"A" => Some(Key::Previous),
                    b"B" => Some(Key::Next),
                    b"Z" => Some(Key::Previous),
                    b"5~" => Some(Key::PageUp),
                    b"6~" => Some(Key::PageDown),
                    b"H" | b"1~" | b"7~" => Some(Key::Home),
                    b"F" | b"4~" | b"8~" => Some(Key::End),
                    _ => None,
                };
                i = end;
                key
            }
            // Esc followed by something else (Alt+key): Esc.
            0x1b => Some(Key::Quit),
            _ => None,
        };
        keys.extend(key);
        i += 1;
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_raw_bytes_and_sequences() {
        use Key::*;
        assert_eq!(parse_keys(b"q"), [Quit]);
        assert_eq!(parse_keys(b"\x1b"), [Quit], "Esc alone");
        assert_eq!(parse_keys(b"\x03"), [Quit], "Ctrl-C in raw mode");
        assert_eq!(
            parse_keys(b"\x1b[B\x1b[A\x1bOB\t\x1b[Z"),
            [Next, Previous, Next, Next, Previous]
        );
        assert_eq!(
            parse_keys(b"\x1b[5~\x1b[6~\x1b[H\x1b[4~"),
            [PageUp, PageDown, Home, End]
        );
        assert_eq!(parse_keys(b"x\x1b[1;5Cj"), [Next], "unknown keys skipped");
        assert_eq!(parse_keys(b"\x1b["), Vec::<Key>::new(), "a cut sequence");
    }
}

//! A three-step exchange over one segment, proving writes travel both ways
//! between two live processes:
//!
//! 1. the creator writes `ping NONCE` at [`PING`] and [`CREATOR_TAIL`] in
//!    the second-to-last byte, before the opener starts;
//! 2. the opener checks both, writes `pong NONCE` at [`PONG`] and
//!    [`OPENER_TAIL`] in the last byte, sets [`FLAG`] to 1;
//! 3. the creator checks the pong, writes `bye NONCE` at [`BYE`], sets [`FLAG`]
//!    to 2; the opener reads the bye and reports it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shmem::ShBytes;

/// Offset of the creator's first message.
pub const PING: usize = 0;
/// Offset of the opener's answer.
pub const PONG: usize = 64;
/// Offset of the progress flag (a `u32`).
pub const FLAG: usize = 128;
/// Offset of the creator's last message.
pub const BYE: usize = 192;
/// Smallest segment the exchange fits in.
pub const MIN_SIZE: usize = 256;

/// What the creator writes in the second-to-last byte: proof that the
/// opener mapped the whole length, 4 GiB and beyond included.
pub const CREATOR_TAIL: u8 = 0xC3;
/// What the opener writes in the last byte.
pub const OPENER_TAIL: u8 = 0x3C;

const TIMEOUT: Duration = Duration::from_secs(60);

fn put(mem: &ShBytes, at: usize, text: &str) {
    let mut field = [0u8; 64];
    field[..text.len()].copy_from_slice(text.as_bytes());
    mem[at..at + 64].copy_from_slice(&field);
}

/// The text at `at`, up to its first NUL.
pub fn get(mem: &ShBytes, at: usize) -> String {
    let field = mem[at..at + 64].to_vec();
    let end = field.iter().position(|&b| b == 0).unwrap_or(64);
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn flag(mem: &ShBytes) -> &AtomicU32 {
    // SAFETY: the flag's bytes are only ever reached as this u32 view; the
    // messages and tails are copied elsewhere in the segment.
    unsafe { mem.atomic::<AtomicU32>(FLAG) }.expect("flag word in bounds and aligned")
}

/// Waits for the flag to reach `value` while `peer_alive` says the other
/// side can still set it.
fn await_flag(
    mem: &ShBytes,
    value: u32,
    mut peer_alive: impl FnMut() -> bool,
) -> Result<(), String> {
    let start = std::time::Instant::now();
    while flag(mem).load(Ordering::Acquire) != value {
        if !peer_alive() {
            return Err(format!("the peer ended before setting the flag to {value}"));
        }
        if start.elapsed() > TIMEOUT {
            return Err(format!(
                "timed out after {TIMEOUT:?} waiting for flag {value}"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Step 1, before the opener starts.
pub fn creator_start(mem: &ShBytes, nonce: &str) {
    put(mem, PING, &format!("ping {nonce}"));
    mem.store(mem.len() - 2, CREATOR_TAIL);
    flag(mem).store(0, Ordering::Release);
}

/// Step 3: waits for the opener's pong, checks it, says bye.
/// Returns an error message instead of panicking, for use in peer programs.
pub fn creator_finish(
    mem: &ShBytes,
    nonce: &str,
    peer_alive: impl FnMut() -> bool,
) -> Result<(), String> {
    await_flag(mem, 1, peer_alive)?;
    let pong = get(mem, PONG);
    if pong != format!("pong {nonce}") {
        return Err(format!("creator expected 'pong {nonce}', found {pong:?}"));
    }
    let tail = mem.load(mem.len() - 1);
    if tail != Some(OPENER_TAIL) {
        return Err(format!(
            "creator expected {OPENER_TAIL:#x} in the last byte, found {tail:x?}"
        ));
    }
    put(mem, BYE, &format!("bye {nonce}"));
    flag(mem).store(2, Ordering::Release);
    Ok(())
}

/// Step 2 and the end of step 3, on the opener's side: returns the bye text.
pub fn opener(mem: &ShBytes, nonce: &str) -> Result<String, String> {
    let ping = get(mem, PING);
    if ping != format!("ping {nonce}") {
        return Err(format!("opener expected 'ping {nonce}', found {ping:?}"));
    }
    let tail = mem.load(mem.len() - 2);
    if tail != Some(CREATOR_TAIL) {
        return Err(format!(
            "opener expected {CREATOR_TAIL:#x} in the second-to-last byte, found {tail:x?}"
        ));
    }
    mem.store(mem.len() - 1, OPENER_TAIL);
    put(mem, PONG, &format!("pong {nonce}"));
    flag(mem).store(1, Ordering::Release);
    await_flag(mem, 2, || true)?;
    Ok(get(mem, BYE))
}

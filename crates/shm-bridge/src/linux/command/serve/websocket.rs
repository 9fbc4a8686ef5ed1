//! `GET /api/ws`: each fresh sample pushed as one text message (the
//! document of `/api/telemetry`), at the game's rate or the `rate` the
//! client asks for, whichever is lower. A client that falls behind skips
//! to the latest sample; one that stops reading is dropped, and no other
//! client, nor the game, waits for it. What clients send is read and let go:
//! nothing can be written through the server.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;

use super::feed::Latest;

/// How long one message may take to leave before its client is dropped as
/// one that stopped reading.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a client may stay silent, not even answering pings, before it
/// is taken for gone.
const SILENT: Duration = Duration::from_secs(30);
/// The largest message a client may send (they are ignored anyway).
pub const MAX_INCOMING: usize = 4096;

/// The rate a client may ask for: `?rate=HZ`, 1 to 1000.
pub fn gap_of(rate: Option<u32>) -> Result<Option<Duration>, String> {
    match rate {
        None => Ok(None),
        Some(hz @ 1..=1000) => Ok(Some(Duration::from_secs(1) / hz)),
        Some(hz) => Err(format!("rate={hz}: ask for 1 to 1000 messages a second")),
    }
}

/// Serves one client until it goes, stops reading, or the server stops;
/// `_slot` is its place among the clients served at once.
pub async fn serve(
    mut socket: WebSocket,
    mut latest: Latest,
    gap: Option<Duration>,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    // What the client first sees is the sample now, fresh or not.
    latest.mark_changed();
    let mut heard = Instant::now();
    let mut pinged = false;
    let mut next_allowed = Instant::now();
    loop {
        tokio::select! {
            changed = latest.changed() => {
                if changed.is_err() {
                    break;
                }
                if let Some(gap) = gap {
                    // At most one message per gap: the latest when it ends.
                    tokio::time::sleep_until(next_allowed).await;
                    next_allowed = Instant::now() + gap;
                }
                let text = latest.borrow_and_update().text.clone();
                match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await {
                    Ok(Ok(())) => {}
                    // Gone, or not reading: let go of it.
                    Ok(Err(_)) | Err(_) => return,
                }
            }
            incoming = socket.recv() => match incoming {
                // A ping is answered by the library; anything else is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {
                    heard = Instant::now();
                    pinged = false;
                }
            },
            _ = tokio::time::sleep_until(heard + SILENT) => {
                // Asked, and no answer for as long again: gone (a phone
                // that slept without closing the connection).
                if pinged {
                    return;
                }
                let ping = socket.send(Message::Ping(Default::default()));
                if !matches!(tokio::time::timeout(SEND_TIMEOUT, ping).await, Ok(Ok(()))) {
                    return;
                }
                pinged = true;
                heard = Instant::now();
            }
            _ = stopping.changed() => break,
        }
    }
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
}

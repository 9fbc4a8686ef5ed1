//! The connections: accepted one by one, at most [`MAX_CONNECTIONS`]
//! handled at once (more are told 503 and closed), each with a deadline for
//! its request head and for the whole exchange, one request each (no
//! keep-alive to hold a place open). A WebSocket leaves this count when it
//! is upgraded and takes one of the clients' places instead.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// HTTP connections handled at once.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may take in all (a WebSocket leaves this clock once
/// it is upgraded).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest request head (with its headers).
const MAX_HEAD: usize = 16 * 1024;
/// After the accept queue's trouble (no descriptors left, say): a pause
/// before the next accept, so that the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// What a connection over the limit is told.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\nshm-bridge: too busy\n";

/// Serves `router` on `listener` until `stopping` says so.
pub async fn serve(listener: TcpListener, router: Router, mut stopping: watch::Receiver<bool>) {
    let places = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let service = TowerToHyperService::new(router);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            _ = stopping.changed() => return,
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            // Whatever fits in the socket's buffer now; never waited for.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let mut stop = stopping.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .keep_alive(false)
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = tokio::time::timeout(EXCHANGE_TIMEOUT, connection.as_mut()) => {}
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
                }
            }
            drop(place);
        });
    }
}

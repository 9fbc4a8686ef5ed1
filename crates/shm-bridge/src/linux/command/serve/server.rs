//! The connections: accepted one by one, at most [`MAX_CONNECTIONS`]
//! handled at once (more are told 503 and closed), each with a deadline for
//! its request head and one for the whole connection, so that no client
//! holds a place for long. A WebSocket leaves this count (and that
//! deadline) when it is upgraded, and takes one of the clients' places instead.

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
/// How long a connection may last, its requests and the pauses between
/// them (a WebSocket leaves this clock once it is upgraded).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// The socket's send buffer: at a phone's 50 ms of Wi-Fi, room for some
/// 5 MB/s, far beyond what telemetry needs.
const SEND_BUFFER: usize = 256 * 1024;
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
        let place = match places.clone().try_acquire_owned() {
            Ok(place) => place,
            Err(_) => {
                // Connections accepted in a burst may be done but not yet
                // run: let them, then look again.
                tokio::task::yield_now().await;
                match places.clone().try_acquire_owned() {
                    Ok(place) => place,
                    Err(_) => {
                        // Whatever fits in the socket's buffer now; never waited for.
                        let _ = stream.try_write(BUSY);
                        continue;
                    }
                }
            }
        };
        let _ = stream.set_nodelay(true);
        // A bounded buffer: a client that stops reading fills it within a
        // second or so and is dropped (see the WebSocket's send timeout),
        // where the kernel would otherwise grow it to megabytes.
        let _ = rustix::net::sockopt::set_socket_send_buffer_size(&stream, SEND_BUFFER);
        let service = service.clone();
        let mut stop = stopping.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection.as_mut()) => {}
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
                }
            }
            drop(place);
        });
    }
}

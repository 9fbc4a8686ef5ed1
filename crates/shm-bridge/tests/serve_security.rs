//! `shm-bridge serve` against clients it should not trust: off the loopback
//! every request needs the token (kept private in the user's config
//! directory); nothing can be written through it; 10,000 connections
//! opened and dropped, malformed HTTP and WebSocket frames, a flood of
//! half-sent requests and a client that never reads leave it serving the
//! others; a bounded number of clients. ACC's pages are written here (no
//! Wine: what the server does with a client does not depend on who wrote
//! the pages).
#![cfg(target_os = "linux")]

mod serve_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serve_common::*;
use shm_bridge::scenario::FilePages;
use shm_tests::wine::ShmDir;

/// ACC's pages, frame `n` written (the files go with the pages).
fn pages_at(n: u32) -> (FilePages, ShmDir) {
    let dir = ShmDir::new();
    let mut pages = acc_pages(&dir);
    pages.write(n).unwrap();
    (pages, dir)
}

/// `serve` of ACC in `dir` on `listen`, its token kept under `config`.
fn serve_acc(dir: &ShmDir, listen: &str, config: &std::path::Path, more: &[&str]) -> Served {
    let d = dir.arg();
    let args = [
        &["--game", "acc", "--tmpfs", &d, "--listen", listen][..],
        more,
    ]
    .concat();
    serve(&args, config)
}

/// The request head of a WebSocket upgrade of `path`.
fn upgrade(addr: SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

/// The server still serves others: the frame's telemetry, at once.
fn still_serving(served: &Served, n: u32) {
    let response = get(served.addr, &served.path("/api/telemetry"));
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(update_of(&response.json()), Some(n));
}

/// What a phone's camera reads from the QR code printed in `output`: its
/// text blocks (each character two modules, one above the other; the ink
/// is light) drawn as an image, four pixels a module, and decoded.
fn scan_qr_code(output: &str) -> String {
    let rows: Vec<Vec<char>> = output
        .lines()
        .skip_while(|l| !l.starts_with("Scan this"))
        .skip(1)
        .take_while(|l| !l.starts_with("The token"))
        .map(|l| l.chars().collect())
        .collect();
    let width = rows.iter().map(Vec::len).max().expect("a QR code");
    const SCALE: usize = 4;
    let light = |x: usize, y: usize| {
        let top = y.is_multiple_of(2);
        match rows[y / 2].get(x) {
            Some('\u{2588}') => true,
            Some('\u{2580}') => top,
            Some('\u{2584}') => !top,
            _ => false,
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(
        width * SCALE,
        rows.len() * 2 * SCALE,
        |x, y| {
            if light(x / SCALE, y / SCALE) { 255 } else { 0 }
        },
    );
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in {output}");
    grids[0].decode().expect("a readable QR code").1
}

#[test]
fn off_the_loopback_every_request_needs_the_kept_token() {
    let config = tempfile::tempdir().unwrap();
    let (_pages, dir) = pages_at(100);
    let mut served = serve_acc(&dir, "0.0.0.0:0", config.path(), &[]);
    let token = served.token.clone().expect("a token in the URL");
    let kept = config.path().join("shm-bridge/serve-token");
    assert_eq!(std::fs::read_to_string(&kept).unwrap().trim(), token);
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let said = served.run.expect_line("token in the URL is kept", TIMEOUT);
    assert!(said.contains(&kept.display().to_string()), "{said}");
    let output = served.run.output();
    assert_eq!(scan_qr_code(&output), served.url, "the QR code in {output}");

    let addr = served.addr;
    let bearer = format!("Bearer {token}");
    let wrong_bearer = "Bearer 00000000000000000000000000000000".to_owned();
    let short = &token[..token.len() - 1];
    for path in ["/", "/api/telemetry", "/api/ws", "/nothing", "/?token="] {
        assert_eq!(get(addr, path).status, 401, "{path} without the token");
        let wrong = format!("{path}?token=wrong");
        assert_eq!(get(addr, &wrong).status, 401, "{wrong}");
        let short = format!("{path}?token={short}");
        assert_eq!(get(addr, &short).status, 401, "{short}");
        let longer = format!("{path}?token={token}0");
        assert_eq!(get(addr, &longer).status, 401, "{longer}");
        let response = request(addr, "GET", path, &[("Authorization", &wrong_bearer)]);
        assert_eq!(response.status, 401, "{path} with a wrong bearer");
        let response = exchange(addr, upgrade(addr, path, "").as_bytes());
        assert_eq!(response.status, 401, "{path} upgraded without the token");
    }
    let response = request(addr, "POST", "/api/telemetry", &[("Content-Length", "0")]);
    assert_eq!(response.status, 401);

    assert_eq!(get(addr, &format!("/?token={token}")).status, 200);
    still_serving(&served, 100);
    let response = request(addr, "GET", "/api/telemetry", &[("Authorization", &bearer)]);
    assert_eq!(response.status, 200);
    let mut socket = websocket(addr, &served.path("/api/ws"));
    assert_eq!(update_of(&next_document(&mut socket)), Some(100));
    drop(socket);
    served.stop();

    // Kept: the next start has the same token.
    let again = serve_acc(&dir, "0.0.0.0:0", config.path(), &[]);
    assert_eq!(again.token.as_deref(), Some(token.as_str()));
    again.stop();

    // A token others may read is no secret: refused, saying what to do.
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(SHM_BRIDGE)
        .args(["serve", "--game", "acc", "--listen", "0.0.0.0:0", "--tmpfs"])
        .arg(&dir.path)
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn nothing_can_be_written_through_the_server() {
    let config = tempfile::tempdir().unwrap();
    let (_pages, dir) = pages_at(200);
    let before: Vec<Vec<u8>> = dir
        .entries()
        .iter()
        .map(|f| std::fs::read(dir.path.join(f)).unwrap())
        .collect();
    let served = serve_acc(&dir, "127.0.0.1:0", config.path(), &[]);
    let body = r#"{"telemetry":{"gear":6,"speed_kmh":1}}"#;
    let length = body.len().to_string();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in ["/", "/api/telemetry", "/api/ws"] {
            let raw = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: {length}\r\nConnection: close\r\n\r\n{body}"
            );
            let response = exchange(served.addr, raw.as_bytes());
            assert_eq!(response.status, 405, "{method} {path}: {response:?}");
        }
    }
    // What a WebSocket client sends is let go.
    let mut socket = websocket(served.addr, "/api/ws");
    next_document(&mut socket);
    socket
        .send(tungstenite::Message::text(body))
        .expect("send text");
    socket
        .send(tungstenite::Message::binary(vec![0u8; 2048]))
        .expect("send bytes");
    socket.flush().unwrap();
    still_serving(&served, 200);
    let after: Vec<Vec<u8>> = dir
        .entries()
        .iter()
        .map(|f| std::fs::read(dir.path.join(f)).unwrap())
        .collect();
    assert!(before == after, "the pages changed");
    drop(socket);
    served.stop();
}

/// Sends `raw` on a new connection and reads whatever comes back until the
/// server closes it; says whether it did within `within`.
fn closed_after(addr: SocketAddr, raw: &[u8], within: Duration) -> (bool, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(within)).unwrap();
    let _ = stream.write_all(raw);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // Reset by the server: closed too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (true, got),
            Err(_) => return (false, got),
        }
    }
}

#[test]
fn many_connections_and_malformed_requests_leave_it_serving_others() {
    let config = tempfile::tempdir().unwrap();
    let (mut pages, dir) = pages_at(300);
    let served = serve_acc(&dir, "127.0.0.1:0", config.path(), &[]);
    let addr = served.addr;
    // A client that stays through all of it, answering pings as a
    // browser does.
    let watcher = Reading::start(addr, "/api/ws");
    watcher.next();

    // 10,000 connections opened and dropped, some after half a request.
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..2500 {
                    let mut stream = TcpStream::connect(addr).expect("connect");
                    if (i + t) % 3 == 0 {
                        let _ = stream.write_all(b"GET /api/tele");
                    }
                }
            });
        }
    });
    let spent = started.elapsed();
    wait_for(
        "serving after the connections",
        Duration::from_secs(10),
        || get(addr, "/api/telemetry").status == 200,
    );
    still_serving(&served, 300);

    let patience = Duration::from_secs(20);
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 << 10)
    );
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\x01\x02\xff\xfe garbage\r\n\r\n".to_vec()),
        ("no version", b"GET /\r\n\r\n".to_vec()),
        (
            "a bad method",
            b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("HTTP/9", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec()),
        ("a bad header", b"GET / HTTP/1.1\r\nHost x\r\n\r\n".to_vec()),
        ("a huge header", huge_header.into_bytes()),
        (
            "two lengths",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello"
                .to_vec(),
        ),
        (
            "a bad chunk",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n".to_vec(),
        ),
        (
            "a path of 100 KB",
            format!("GET /{} HTTP/1.1\r\n\r\n", "x".repeat(100 << 10)).into_bytes(),
        ),
        (
            "an upgrade without a key",
            upgrade(addr, "/api/ws", "")
                .replace("Sec-WebSocket-Key", "X")
                .into_bytes(),
        ),
        (
            "an upgrade of version 99",
            upgrade(addr, "/api/ws", "")
                .replace("Version: 13", "Version: 99")
                .into_bytes(),
        ),
        (
            "a rate that is no number",
            upgrade(addr, "/api/ws?rate=fast", "").into_bytes(),
        ),
    ];
    for (what, raw) in &malformed {
        let (closed, got) = closed_after(addr, raw, patience);
        assert!(closed, "{what}: the connection stayed open");
        let text = String::from_utf8_lossy(&got);
        assert!(
            got.is_empty() || text.starts_with("HTTP/1.1 4"),
            "{what}: {text}"
        );
        still_serving(&served, 300);
    }

    // Malformed WebSocket frames, each on a connection of its own after a
    // proper handshake: the server closes that one.
    let frames: Vec<(&str, Vec<u8>)> = vec![
        ("an unmasked frame", vec![0x81, 0x02, b'h', b'i']),
        ("a reserved opcode", vec![0x83, 0x80, 0, 0, 0, 0]),
        ("reserved bits", vec![0xF1, 0x80, 0, 0, 0, 0]),
        (
            "a length of 2^63",
            vec![
                0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,
            ],
        ),
        (
            "a control frame of 126 bytes",
            [&[0x89u8, 0xFE, 0, 126, 0, 0, 0, 0][..], &[0u8; 126]].concat(),
        ),
        (
            "text that is not UTF-8",
            vec![0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28],
        ),
        (
            "a message over the limit",
            [&[0x82u8, 0xFE, 0x27, 0x10, 0, 0, 0, 0][..], &[0u8; 10_000]].concat(),
        ),
    ];
    for (what, frame) in &frames {
        let mut raw = upgrade(addr, "/api/ws", "").into_bytes();
        raw.extend_from_slice(frame);
        let (closed, got) = closed_after(addr, &raw, patience);
        assert!(closed, "{what}: the connection stayed open");
        assert!(
            got.starts_with(b"HTTP/1.1 101"),
            "{what}: {:?}",
            String::from_utf8_lossy(&got)
        );
        still_serving(&served, 300);
    }

    // A flood of half-sent requests takes every place; the next client is
    // told 503 at once, and the places come back when their time is up.
    let floods: Vec<TcpStream> = (0..80)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
            s
        })
        .collect();
    let busy = get(addr, "/api/telemetry");
    assert_eq!(busy.status, 503, "{busy:?}");
    wait_for("the places of half-sent requests freed", patience, || {
        get(addr, "/api/telemetry").status == 200
    });
    drop(floods);
    still_serving(&served, 300);

    // The watcher was served all along (its connection holds no place).
    pages.write(301).unwrap();
    assert_eq!(update_of(&watcher.next()), Some(301));
    drop(watcher);
    served.stop();
    eprintln!("10,000 connections opened and dropped in {spent:?}");
}

/// A WebSocket client whose receive buffer is as small as the kernel
/// allows, which never reads.
fn stalled_client(addr: SocketAddr) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    let socket = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    sockopt::set_socket_recv_buffer_size(&socket, 1024).unwrap();
    rustix::net::connect(&socket, &addr).unwrap();
    let mut stream = TcpStream::from(socket);
    stream
        .write_all(upgrade(addr, "/api/ws", "").as_bytes())
        .unwrap();
    stream
}

#[test]
fn a_client_that_never_reads_is_dropped_and_the_others_keep_up() {
    let config = tempfile::tempdir().unwrap();
    let dir = ShmDir::new();
    let mut pages = acc_pages(&dir);
    pages.write(1).unwrap();
    let served = serve_acc(&dir, "127.0.0.1:0", config.path(), &["--max-clients", "3"]);
    let addr = served.addr;

    // The game writes 200 frames a second.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU32::new(1));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut n = 1;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                pages.write(n).unwrap();
                written.store(n, Ordering::Relaxed);
                let next = start + Duration::from_millis(5) * n;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
    };

    let mut stalled = stalled_client(addr);
    let mut reader = websocket(addr, "/api/ws");
    // The stalled client holds a place; with it and the reader, one is left.
    let third = websocket(addr, "/api/ws");
    let refused = exchange(addr, upgrade(addr, "/api/ws", "").as_bytes());
    assert_eq!(
        refused.status, 503,
        "a client over --max-clients: {refused:?}"
    );
    drop(third);

    let window = Duration::from_secs(5);
    let start = Instant::now();
    let first = written.load(Ordering::Relaxed);
    let mut got = 0usize;
    while start.elapsed() < window {
        let doc = next_document(&mut reader);
        if update_of(&doc).is_some_and(|u| u > first) {
            got += 1;
        }
    }
    let frames = written.load(Ordering::Relaxed) - first;
    assert!(
        got * 10 >= frames as usize * 9,
        "the reader got {got} of {frames} frames while a client did not read"
    );

    // The stalled client was let go: what it is sent ends.
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let ended = loop {
        match stalled.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    assert!(ended, "the client that never read is still being sent to");
    // Its place is free again.
    wait_for("a place for a new client", TIMEOUT, || {
        exchange(addr, upgrade(addr, "/api/ws", "").as_bytes()).status == 101
    });
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    drop(reader);
    served.stop();
}

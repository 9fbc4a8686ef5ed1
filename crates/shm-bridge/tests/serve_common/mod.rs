//! What the tests of `shm-bridge serve` share: starting it and reading the
//! URL it prints, plain HTTP and WebSocket clients of our own, the ACC
//! stand-in under Wine through the bridge, and ACC's pages written from the
//! test itself where Wine adds nothing.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use shm_bridge::core::presets::Presets;
use shm_bridge::scenario::FilePages;
use shm_bridge::titles::ac::synthetic::SESSION;
use shm_tests::wine::{self, Running, ShmDir};

pub const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
/// Longer than anything here takes when it works.
pub const TIMEOUT: Duration = Duration::from_secs(60);
pub const TITLE: &str = "Assetto Corsa Competizione";

/// A `shm-bridge serve` (or `launch --serve`) running, and where.
#[derive(Debug)]
pub struct Served {
    pub run: Running,
    /// The first URL it printed.
    pub url: String,
    /// Its address and port.
    pub addr: SocketAddr,
    /// The token in the URL, if there is one.
    pub token: Option<String>,
}

/// `shm-bridge serve ARGS` with `XDG_CONFIG_HOME=config`, once it printed its URL.
pub fn serve(args: &[&str], config: &Path) -> Served {
    let mut command = Command::new(SHM_BRIDGE);
    command
        .arg("serve")
        .args(args)
        .env("XDG_CONFIG_HOME", config);
    served(Running::spawn(&mut command))
}

/// A program that serves, once it printed its URL.
pub fn served(mut run: Running) -> Served {
    let line = run.expect_line("  http://", TIMEOUT);
    let url = line.trim().to_owned();
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, tail) = rest.split_once('/').expect("a path");
    // An address of this machine's; the tests only ever reach the loopback.
    let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let token = tail.strip_prefix("?token=").map(str::to_owned);
    Served {
        run,
        url,
        addr,
        token,
    }
}

impl Served {
    /// The loopback URL of `path`, with the token when there is one.
    pub fn path(&self, path: &str) -> String {
        match &self.token {
            Some(t) if path.contains('?') => format!("{path}&token={t}"),
            Some(t) => format!("{path}?token={t}"),
            None => path.to_owned(),
        }
    }

    /// Stops it with SIGINT; its exit code must be 0. Returns its output.
    pub fn stop(mut self) -> String {
        self.run.signal(rustix::process::Signal::INT);
        let code = self.run.wait_exit(TIMEOUT);
        let out = self.run.output();
        assert_eq!(code, Some(0), "{out}");
        out
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `raw` and reads the response to its end (the server closes each
/// connection after one response; a `Content-Length` ends it sooner).
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(raw).expect("send the request");
    read_response(&mut stream)
}

/// Reads one HTTP response from `stream`.
pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut head_end = None;
    loop {
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
            // Switching protocols: what follows is the WebSocket's.
            if head.starts_with("HTTP/1.1 101") {
                break;
            }
            let length = head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|len| bytes.len() >= end + 4 + len) {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "reading the response: {e}; so far {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        }
        head_end = head_end.or_else(|| bytes.windows(4).position(|w| w == b"\r\n\r\n"));
    }
    let end = head_end
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Response {
        status,
        head,
        body: bytes[end + 4..].to_vec(),
    }
}

/// `METHOD path` with `headers`.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    exchange(addr, raw.as_bytes())
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[])
}

/// A WebSocket client of `path` (the token in it if needed).
pub fn websocket(addr: SocketAddr, path: &str) -> tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (socket, response) = tungstenite::client(format!("ws://{addr}{path}"), stream)
        .unwrap_or_else(|e| panic!("WebSocket handshake of {path}: {e}"));
    assert_eq!(response.status(), 101);
    socket
}

/// The next document of a frame the game wrote (the pages of a bridge
/// whose game has not written yet are all zero: a game in its menus).
pub fn next_frame(socket: &mut tungstenite::WebSocket<TcpStream>) -> Value {
    loop {
        let doc = next_document(socket);
        if doc["telemetry"]["status"] == "live" {
            return doc;
        }
    }
}

/// The next document a WebSocket client is sent.
pub fn next_document(socket: &mut tungstenite::WebSocket<TcpStream>) -> Value {
    loop {
        match socket.read().expect("a message") {
            tungstenite::Message::Text(text) => {
                return serde_json::from_str(text.as_str()).expect("a JSON document");
            }
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {}
            other => panic!("not a document: {other:?}"),
        }
    }
}

/// A WebSocket client that reads all the time, as a browser does, so it
/// answers the server's pings however long a test leaves it alone (the
/// server drops a client silent for a minute). Its documents queue up.
pub struct Reading {
    documents: std::sync::mpsc::Receiver<Value>,
}

impl Reading {
    /// Connects to `path` and starts reading.
    pub fn start(addr: SocketAddr, path: &str) -> Reading {
        let mut socket = websocket(addr, path);
        // Quiet for longer than TIMEOUT is fine: the server pings.
        socket.get_ref().set_read_timeout(None).unwrap();
        let (send, documents) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Ends when the server closes or the test drops the `Reading`.
            while let Ok(message) = socket.read() {
                if let tungstenite::Message::Text(text) = message {
                    let doc = serde_json::from_str(text.as_str()).expect("a JSON document");
                    if send.send(doc).is_err() {
                        break;
                    }
                }
            }
        });
        Reading { documents }
    }

    /// The next document it was sent; panics if none comes within
    /// [`TIMEOUT`] or the connection closes first.
    pub fn next(&self) -> Value {
        self.documents
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("no document: {e}"))
    }
}

/// The update counter of a document's telemetry.
pub fn update_of(doc: &Value) -> Option<u32> {
    doc["telemetry"]["update"]
        .as_u64()
        .and_then(|u| u32::try_from(u).ok())
}

/// ACC through the bridge under Wine: the bridge's pages in a directory of
/// their own, and the stand-in writing the scenario into them.
#[derive(Debug)]
pub struct Game {
    // Dropped in this order: the programs, their directory, the lock.
    standin: Option<Running>,
    bridge: Running,
    pub dir: ShmDir,
    _alone: MutexGuard<'static, ()>,
}

/// Held by the test whose game runs: ACC's mappings are named alike in
/// every game, so one bridge of the tests' Wine prefix has them at a time.
static ONE_GAME: Mutex<()> = Mutex::new(());

/// The prefix for the test's game alone (a failed test's lock is free too).
pub fn one_game() -> MutexGuard<'static, ()> {
    ONE_GAME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Game {
    /// Starts the bridge for ACC, once its pages exist.
    pub fn bridge() -> Game {
        let alone = one_game();
        let dir = ShmDir::new();
        let bridge = wine::bridge_title("acc", &dir);
        Game {
            dir,
            bridge,
            standin: None,
            _alone: alone,
        }
    }

    /// Holds frame `n` (a stand-in writing before is stopped first); returns
    /// once it is written.
    pub fn hold(&mut self, n: u32) {
        self.drive(&["--frame", &n.to_string()], "holding it");
    }

    /// Writes the scenario at `hz` for `seconds`; returns once it writes.
    pub fn run(&mut self, hz: u32, seconds: u32) {
        self.drive(
            &["--rate", &hz.to_string(), "--seconds", &seconds.to_string()],
            "frames at",
        );
    }

    fn drive(&mut self, args: &[&str], says: &str) {
        self.stop_standin();
        let mut standin = Running::spawn(wine::scenario("acc").args(args));
        standin.expect_line(says, TIMEOUT);
        self.standin = Some(standin);
    }

    fn stop_standin(&mut self) {
        if let Some(mut standin) = self.standin.take() {
            standin.signal(rustix::process::Signal::KILL);
            standin.wait_exit(TIMEOUT);
        }
    }

    /// Ends the stand-in and the bridge, which must exit cleanly.
    pub fn end(mut self) {
        self.stop_standin();
        self.bridge.signal(rustix::process::Signal::INT);
        let code = self.bridge.wait_exit(TIMEOUT);
        assert_eq!(code, Some(0), "{}", self.bridge.output());
    }
}

/// ACC's pages written from this process (no Wine), as its bridge's files.
pub fn acc_pages(dir: &ShmDir) -> FilePages {
    let presets = Presets::builtin();
    let specs = presets.find("acc").unwrap().specs().unwrap();
    FilePages::create(&dir.path, &specs, &SESSION).expect("make ACC's pages")
}

/// Waits until `ready` holds, checking every 20 ms; panics with `what`
/// after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where a test leaves what a person would look at (screenshots):
/// `target/test-output/serve`.
pub fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("test-output/serve");
    std::fs::create_dir_all(&dir).expect("make the test output directory");
    dir
}

//! The dashboard page of `shm-bridge serve` in headless Chromium (Debian's),
//! driven through its DevTools protocol by a small client of our own, with
//! ACC's stand-in under real Wine through the bridge: at a phone's 390×844
//! and a tablet's 1280×800 it shows the stand-in's gear and speed within a
//! second of their change, read from the DOM; a screenshot of each is left
//! in `target/test-output/serve/`; it keeps updating for 10 s with no error
//! in the console; it reconnects by itself to a restarted server, and says
//! when no game is running.
#![cfg(target_os = "linux")]

mod serve_common;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use serve_common::*;
use shm_bridge::model::gear_label;
use shm_bridge::scenario::Scenario;
use shm_bridge::titles::ac::synthetic::SESSION;
use shm_tests::wine::Running;

/// Chromium, headless, with its DevTools protocol on a port of its own.
struct Browser {
    run: Running,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut run = Running::spawn(
            Command::new("chromium")
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--remote-debugging-port=0",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg("about:blank"),
        );
        let line = run.expect_line("DevTools listening on ws://", TIMEOUT);
        let port = line
            .split("ws://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Browser {
            run,
            port,
            _profile: profile,
        }
    }

    /// The protocol of the page Chromium opened.
    fn page(&self) -> DevTools {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let targets = get(addr, "/json/list").json();
        let url = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap_or_else(|| panic!("no page in {targets}"))
            .to_owned();
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let (socket, _) = tungstenite::client(url.as_str(), stream).unwrap();
        DevTools {
            socket,
            next_id: 0,
            errors: Vec::new(),
            loaded: false,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.run.signal(rustix::process::Signal::TERM);
        let _ = self.run.wait_exit(TIMEOUT);
    }
}

/// A client of Chromium's DevTools protocol: commands and their results;
/// the console's errors and the page's exceptions collected from its events.
struct DevTools {
    socket: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
    errors: Vec<String>,
    /// Whether the page has loaded since the last navigation.
    loaded: bool,
}

impl DevTools {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(tungstenite::Message::text(message.to_string()))
            .unwrap();
        loop {
            let text = match self.socket.read().expect("a DevTools message") {
                tungstenite::Message::Text(text) => text,
                _ => continue,
            };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == id {
                assert!(reply["error"].is_null(), "{method}: {reply}");
                return reply["result"].clone();
            }
            self.note(&reply);
        }
    }

    /// Opens `url` and waits for its page to load.
    fn navigate(&mut self, url: &str) {
        self.loaded = false;
        self.call("Page.navigate", json!({ "url": url }));
        while !self.loaded {
            let message = self.socket.read().expect("a DevTools message");
            if let tungstenite::Message::Text(text) = message {
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                self.note(&event);
            }
        }
    }

    /// Keeps the errors an event tells of, and whether the page loaded.
    fn note(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Page.loadEventFired") => self.loaded = true,
            Some("Runtime.exceptionThrown") => self.errors.push(params.to_string()),
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                self.errors.push(params.to_string())
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                self.errors.push(params["entry"].to_string())
            }
            _ => {}
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// What the dashboard shows: (gear, speed, idle title or null, stale).
    fn shown(&mut self) -> (String, String, Option<String>, bool) {
        let v = self.eval(
            "JSON.stringify([document.getElementById('gear').textContent, \
             document.getElementById('speed').textContent, \
             document.getElementById('idle').hidden ? null : \
             document.getElementById('idletitle').textContent, \
             document.body.className === 'stale'])",
        );
        let v: Value = serde_json::from_str(v.as_str().unwrap()).unwrap();
        (
            v[0].as_str().unwrap().to_owned(),
            v[1].as_str().unwrap().to_owned(),
            v[2].as_str().map(str::to_owned),
            v[3].as_bool().unwrap(),
        )
    }

    /// Waits until the dashboard shows frame `n`'s gear and speed; returns
    /// how long that took.
    fn until_frame_shown(&mut self, n: u32, within: Duration) -> Duration {
        let want = expected_shown(n);
        let start = Instant::now();
        loop {
            let (gear, speed, idle, _) = self.shown();
            if (gear.as_str(), speed.as_str()) == (want.0.as_str(), want.1.as_str())
                && idle.is_none()
            {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "frame {n} ({want:?}) not shown within {within:?}: the page shows {gear} {speed}, idle {idle:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Frame `n`'s gear and speed as the page shows them.
fn expected_shown(n: u32) -> (String, String) {
    let t = SESSION.expected(n);
    (
        gear_label(t.gear.unwrap()),
        format!("{}", t.speed_kmh.unwrap().round()),
    )
}

#[test]
fn the_dashboard_shows_the_game_on_a_phone_and_a_tablet_and_keeps_up() {
    // Frames of other gears and speeds (the scenario's straight).
    let (a, b) = (100, 400);
    assert_ne!(expected_shown(a).0, expected_shown(b).0);
    assert_ne!(expected_shown(a).1, expected_shown(b).1);

    let config = tempfile::tempdir().unwrap();
    let mut game = Game::bridge();
    game.hold(a);
    let dir = game.dir.arg();
    let served = serve(
        &["--game", "acc", "--tmpfs", &dir, "--listen", "127.0.0.1:0"],
        config.path(),
    );
    let browser = Browser::start();
    let mut page = browser.page();
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        page.call(domain, json!({}));
    }
    let out = output_dir();
    let mut shown = a;
    for (width, height, mobile) in [(390, 844, true), (1280, 800, false)] {
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        page.navigate(&served.url);
        page.until_frame_shown(shown, Duration::from_secs(10));
        let next = if shown == a { b } else { a };
        game.hold(next);
        let took = page.until_frame_shown(next, Duration::from_secs(1));
        eprintln!("{width}x{height}: frame {next} shown {took:?} after it was written");
        shown = next;
        let shot = page.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let file = out.join(format!("dashboard-{width}x{height}.png"));
        std::fs::write(&file, png).unwrap();
        eprintln!("screenshot: {}", file.display());
    }

    // The game drives: the page follows for 10 s, every value one of a
    // frame the game wrote, with no error in the console.
    game.run(60, 30);
    let start = Instant::now();
    let mut speeds = std::collections::BTreeSet::new();
    while start.elapsed() < Duration::from_secs(10) {
        let (gear, speed, idle, stale) = page.shown();
        assert!(idle.is_none() && !stale, "{idle:?} stale {stale}");
        let g: i32 = gear.parse().unwrap_or_else(|_| panic!("gear {gear}"));
        assert!((1..=7).contains(&g), "gear {gear}");
        speeds.insert(speed);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        speeds.len() >= 20,
        "the speed shown changed {} times in 10 s",
        speeds.len()
    );
    assert!(page.errors.is_empty(), "console errors: {:?}", page.errors);

    // A server that restarts is reconnected to by itself.
    let port = served.addr.port().to_string();
    served.stop();
    let deadline = Instant::now() + TIMEOUT;
    while !page.shown().3 {
        assert!(
            Instant::now() < deadline,
            "the page never said it lost the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let listen = format!("127.0.0.1:{port}");
    let served = serve(
        &["--game", "acc", "--tmpfs", &dir, "--listen", &listen],
        config.path(),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, _, idle, stale) = page.shown();
        if !stale && idle.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "the page did not reconnect");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The game and its bridge go: the page says no game is running.
    game.end();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if page.shown().2.as_deref() == Some("No game running") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page never said no game is running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    served.stop();
    drop(browser);
}

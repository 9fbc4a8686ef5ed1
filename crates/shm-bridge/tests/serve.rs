//! `shm-bridge serve` with ACC's stand-in under real Wine through the
//! bridge: `/api/telemetry` is `watch --once --json` of the same frame; a
//! WebSocket client gets nine in ten of the game's frames; a Mosquitto
//! broker started here gets the model and the retained status, also after
//! it was restarted; `launch --serve` serves while the game runs.
#![cfg(target_os = "linux")]

mod serve_common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use serve_common::*;
use shm_bridge::model::Telemetry;
use shm_bridge::scenario::{Scenario, differences};
use shm_bridge::titles::ac::synthetic::SESSION;
use shm_tests::wine::{self, Running};

/// The model a document must hold for its frame.
fn check_model(doc: &Value) -> u32 {
    let got: Telemetry = serde_json::from_value(doc["telemetry"].clone()).expect("the model");
    let n = got
        .update
        .and_then(|u| u32::try_from(u).ok())
        .expect("an update counter");
    let want = Telemetry {
        title: Some(TITLE.into()),
        ..SESSION.expected(n)
    };
    let wrong = differences(&got, &want);
    assert!(wrong.is_empty(), "frame {n}: {wrong:?}");
    n
}

fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/telemetry.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn api_telemetry_is_watch_once_json_of_the_same_frame_and_the_page_is_served() {
    let config = tempfile::tempdir().unwrap();
    let mut game = Game::bridge();
    let dir = game.dir.arg();
    let served = serve(
        &["--game", "acc", "--tmpfs", &dir, "--listen", "127.0.0.1:0"],
        config.path(),
    );
    // The bridge's pages before the game writes: no session.
    let before = get(served.addr, "/api/telemetry");
    assert_eq!(before.status, 200, "{before:?}");
    assert_eq!(before.json()["telemetry"]["status"], "menu");

    game.hold(4321);
    let watch = |dir: &str| {
        let out = Command::new(SHM_BRIDGE)
            .args(["watch", "--game", "acc", "--once", "--json", "--tmpfs", dir])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    wait_for("the held frame served", TIMEOUT, || {
        update_of(&get(served.addr, "/api/telemetry").json()) == Some(4321)
    });
    let api = get(served.addr, "/api/telemetry");
    assert_eq!(api.status, 200);
    assert_eq!(api.header("content-type"), Some("application/json"));
    let watched = watch(&dir);
    assert_eq!(
        String::from_utf8(api.body.clone()).unwrap(),
        watched.trim_end()
    );
    let doc = api.json();
    assert!(schema().is_valid(&doc), "{doc}");
    assert_eq!(check_model(&doc), 4321);

    let page = get(served.addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains("id=\"gear\"") && html.contains("/api/ws"),
        "{html}"
    );

    game.end();
    // The bridge is gone with its pages: no game, said with 503.
    wait_for("no game running", TIMEOUT, || {
        get(served.addr, "/api/telemetry").status == 503
    });
    let gone = get(served.addr, "/api/telemetry").json();
    assert!(gone["telemetry"].is_null(), "{gone}");
    assert_eq!(gone["missing"].as_array().map(Vec::len), Some(3), "{gone}");
    served.stop();
}

/// Frames a WebSocket client of `path` gets in `window`: the update of each.
fn frames_over(served: &Served, path: &str, window: Duration) -> Vec<u32> {
    let mut socket = websocket(served.addr, &served.path(path));
    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < window {
        got.push(check_model(&next_frame(&mut socket)));
    }
    socket.close(None).unwrap();
    got
}

#[test]
fn a_websocket_client_gets_nine_in_ten_frames_at_the_games_rate_or_its_own() {
    let config = tempfile::tempdir().unwrap();
    let mut game = Game::bridge();
    let served = serve(
        &[
            "--game",
            "acc",
            "--tmpfs",
            &game.dir.arg(),
            "--listen",
            "127.0.0.1:0",
        ],
        config.path(),
    );
    game.run(60, 40);
    let got = frames_over(&served, "/api/ws", Duration::from_secs(5));
    let distinct: BTreeSet<u32> = got.iter().copied().collect();
    assert_eq!(distinct.len(), got.len(), "a frame sent twice: {got:?}");
    let (first, last) = (got[0], *got.last().unwrap());
    let written = last - first + 1;
    assert!(written >= 250, "the stand-in wrote {written} frames in 5 s");
    assert!(
        got.len() * 10 >= written as usize * 9,
        "{} of {written} frames: {got:?}",
        got.len()
    );
    // A client that asks for 10 a second gets about that.
    let slow = frames_over(&served, "/api/ws?rate=10", Duration::from_secs(3));
    assert!(
        (25..=32).contains(&slow.len()),
        "{} messages: {slow:?}",
        slow.len()
    );
    assert_eq!(get(served.addr, "/api/ws?rate=0").status, 400);
    served.stop();
    game.end();
}

/// A free port of the loopback (the broker is told to listen on it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Mosquitto on `port`, with its configuration in `dir`, once it listens.
fn mosquitto(dir: &Path, port: u16) -> Running {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        ),
    )
    .unwrap();
    // Debian puts it in /usr/sbin, which a user's PATH may lack.
    let program = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("mosquitto");
    let mut broker = Running::spawn(Command::new(program).arg("-c").arg(&conf));
    broker.expect_line(
        &format!("Opening ipv4 listen socket on port {port}"),
        TIMEOUT,
    );
    broker.expect_line("running", TIMEOUT);
    broker
}

/// A message a subscriber got.
#[derive(Debug)]
struct Got {
    topic: String,
    payload: Vec<u8>,
    retained: bool,
}

/// A subscriber of `shm-bridge/#`, its messages on a channel.
fn subscribe(port: u16, id: &str) -> mpsc::Receiver<Got> {
    use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut connection) = Client::new(options, 16);
    client.subscribe("shm-bridge/#", QoS::AtLeastOnce).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _client = client;
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let got = Got {
                        topic: p.topic.clone(),
                        payload: p.payload.to_vec(),
                        retained: p.retain,
                    };
                    if tx.send(got).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // The broker is gone: this subscriber's test is over.
                Err(_) => return,
            }
        }
    });
    rx
}

/// Waits for a message on `topic` that `fits`.
fn expect(rx: &mpsc::Receiver<Got>, topic: &str, fits: impl Fn(&Got) -> bool) -> Got {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(got) if got.topic == topic && fits(&got) => return got,
            Ok(_) => {}
            Err(e) => panic!("no fitting message on {topic}: {e}"),
        }
    }
}

const TELEMETRY: &str = "shm-bridge/assetto-corsa-competizione/telemetry";
const STATUS: &str = "shm-bridge/status";

/// Telemetry messages in `window`, each checked against its frame.
fn telemetry_over(rx: &mpsc::Receiver<Got>, window: Duration) -> usize {
    let end = Instant::now() + window;
    let mut count = 0;
    while let Ok(got) = rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
        if got.topic == TELEMETRY {
            let doc: Value = serde_json::from_slice(&got.payload).unwrap();
            check_model(&doc);
            count += 1;
        }
    }
    count
}

#[test]
fn mosquitto_gets_the_model_and_the_retained_status_across_a_broker_restart() {
    let config = tempfile::tempdir().unwrap();
    let broker_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut broker = mosquitto(broker_dir.path(), port);
    let mut game = Game::bridge();
    game.run(60, 60);
    let mqtt = format!("mqtt://127.0.0.1:{port}");
    let dir = game.dir.arg();
    let args = [
        "--game",
        "acc",
        "--tmpfs",
        &dir,
        "--listen",
        "127.0.0.1:0",
        "--mqtt",
        &mqtt,
        "--mqtt-rate",
        "20",
    ];
    let mut served = serve(&args, config.path());

    let watcher = subscribe(port, "test-watcher");
    let online = expect(&watcher, STATUS, |g| g.payload == b"online");
    // Published live, or retained if it came first: a fresh subscriber
    // gets it retained.
    let _ = online;
    let late = subscribe(port, "test-late");
    let retained = expect(&late, STATUS, |_| true);
    assert!(
        retained.retained && retained.payload == b"online",
        "{retained:?}"
    );
    let count = telemetry_over(&watcher, Duration::from_secs(2));
    assert!(
        (30..=44).contains(&count),
        "{count} messages in 2 s at 20 a second"
    );

    // The broker restarts, without what it retained: serve connects again
    // and says online again; telemetry goes on.
    broker.signal(rustix::process::Signal::TERM);
    broker.wait_exit(TIMEOUT);
    let mut broker = mosquitto(broker_dir.path(), port);
    served.run.expect_line("reached again", TIMEOUT);
    let after = subscribe(port, "test-after-restart");
    let retained = expect(&after, STATUS, |_| true);
    assert!(
        retained.retained && retained.payload == b"online",
        "{retained:?}"
    );
    expect(&after, TELEMETRY, |_| true);
    assert!(telemetry_over(&after, Duration::from_secs(1)) >= 15);

    // A clean stop says offline, retained.
    served.stop();
    let last = expect(&after, STATUS, |_| true);
    assert_eq!(last.payload, b"offline");
    let fresh = subscribe(port, "test-after-stop");
    let retained = expect(&fresh, STATUS, |_| true);
    assert!(
        retained.retained && retained.payload == b"offline",
        "{retained:?}"
    );

    // A serve that is killed leaves its last will: offline.
    let served = serve(&args, config.path());
    expect(&fresh, STATUS, |g| g.payload == b"online");
    served.run.signal(rustix::process::Signal::KILL);
    expect(&fresh, STATUS, |g| g.payload == b"offline");

    game.end();
    broker.signal(rustix::process::Signal::TERM);
    broker.wait_exit(TIMEOUT);
}

#[test]
fn launch_serve_serves_the_game_while_it_runs() {
    let _alone = one_game();
    let config = tempfile::tempdir().unwrap();
    let dir = shm_tests::wine::ShmDir::new();
    let mut launch = Command::new(SHM_BRIDGE);
    launch
        .args([
            "launch",
            "--game",
            "acc",
            "--serve",
            "--listen",
            "127.0.0.1:0",
            "--tmpfs",
        ])
        .arg(&dir.path)
        .arg("--exe")
        .arg(wine::exe("shm-bridge"))
        .args(["--", "wine"])
        .arg(wine::exe("sim-standin"))
        .args([
            "scenario",
            "--game",
            "acc",
            "--rate",
            "60",
            "--seconds",
            "6",
        ])
        .env("WINEPREFIX", wine::prefix())
        .env("WINEDEBUG", "-all")
        .env("XDG_CONFIG_HOME", config.path());
    let mut served = served(Running::spawn(&mut launch));
    served.run.expect_line("frames at 60 Hz", TIMEOUT);
    let mut socket = websocket(served.addr, "/api/ws");
    let first = check_model(&next_frame(&mut socket));
    let later = (0..30)
        .map(|_| check_model(&next_frame(&mut socket)))
        .last()
        .unwrap();
    assert!(later > first, "{first} then {later}");
    assert_eq!(
        served.run.wait_exit(TIMEOUT),
        Some(0),
        "{}",
        served.run.output()
    );
    assert_eq!(dir.entries(), Vec::<String>::new());
    // Stopped with the game.
    assert!(std::net::TcpStream::connect(served.addr).is_err());
    let _: SocketAddr = served.addr;
}

#[test]
fn options_that_cannot_work_are_refused_before_anything_runs() {
    let config = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(SHM_BRIDGE)
            .args(args)
            .env("XDG_CONFIG_HOME", config.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let (code, err) = run(&["serve", "--game", "acc", "--listen", &port]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the port is taken"), "{err}");
    let (code, err) = run(&["serve", "--map", "unknown_page", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not decode"), "{err}");
    for bad in [
        &["serve", "--game", "acc", "--mqtt", "http://broker"][..],
        &["serve", "--game", "acc", "--listen", "localhost:80"],
        &["serve", "--game", "acc", "--mqtt-rate", "0"],
        &["serve", "--game", "acc", "--max-clients", "0"],
    ] {
        let (code, err) = run(bad);
        assert_eq!(code, Some(2), "{bad:?}: {err}");
    }
    let (code, err) = run(&[
        "launch", "--game", "acc", "--listen", "0.0.0.0", "--", "wine", "game.exe",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("go with --serve"), "{err}");
}

//! `shm-bridge serve` (and `launch --serve`): a title's live telemetry for
//! phones, tablets and other machines. One thread reads the pages
//! ([`feed`]) and writes each fresh sample once as JSON; a one-thread async
//! runtime serves it ([`server`], [`api`]) as a dashboard page ([`page`]),
//! `/api/telemetry` and a WebSocket ([`websocket`]), and publishes it to an
//! MQTT broker ([`mqtt`]). Off the loopback, every request must show the
//! token kept for the user ([`token`]); the URL with it is printed, and as a
//! QR code ([`announce`]).

mod announce;
mod api;
mod feed;
mod mqtt;
mod page;
mod server;
mod token;
mod websocket;

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::{Semaphore, watch};

use crate::cli::companion::{ServeArgs, ServeOptions};
use crate::linux::watch::Source;
use crate::linux::{places, presets_file};

/// Runs `shm-bridge serve` until SIGINT, SIGTERM or SIGHUP.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let presets = presets_file::load(&args.common)?;
    if !args.maps.sizes.is_empty() {
        bail!("serve reads each file whole: drop --size");
    }
    // Before anything starts, so that a signal is never lost.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    let source = Source::resolve(&args.maps, &presets, places::places(&args.common))?;
    let serving = Serving::start(source, &args.serving)?;
    if let Some(signal) = signals.forever().next() {
        note!(
            "shm-bridge: {}: stopping",
            signal_hook::low_level::signal_name(signal).unwrap_or("signal")
        );
    }
    serving.stop()?;
    Ok(ExitCode::SUCCESS)
}

/// A server running on a thread of its own.
#[derive(Debug)]
pub struct Serving {
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
}

impl Serving {
    /// Serves `source` as `options` say: listens, takes the first sample,
    /// prints the URL, and serves on another thread until [`Serving::stop`].
    pub fn start(source: Source, options: &ServeOptions) -> Result<Serving> {
        let title = source.watched.title.clone();
        if source.watched.family.is_none() {
            bail!(
                "serve shows the decoded telemetry, and shm-bridge does not decode {title}'s \
                 pages (`shm-bridge watch --json` shows their bytes)"
            );
        }
        let listen = match options.listen {
            Some(addr) => addr,
            None => ServeOptions::DEFAULT_LISTEN
                .parse()
                .expect("the default address parses"),
        };
        let token = if listen.ip().is_loopback() {
            None
        } else {
            Some(token::kept()?)
        };
        let listener = bind(listen)?;
        let bound = listener.local_addr().context("the address listened on")?;
        let rate = options.rate.unwrap_or(ServeOptions::DEFAULT_RATE);
        let (feed, latest) = feed::Feed::start(source, Duration::from_secs(1) / rate)?;
        let (stop, stopping) = watch::channel(false);
        let app = api::App {
            latest: latest.clone(),
            token: token.as_ref().map(|(t, _)| t.clone()),
            clients: Arc::new(Semaphore::new(
                options
                    .max_clients
                    .unwrap_or(ServeOptions::DEFAULT_MAX_CLIENTS) as usize,
            )),
            stopping: stopping.clone(),
        };
        let mqtt = options.mqtt.clone().map(|url| {
            let rate = options.mqtt_rate.unwrap_or(ServeOptions::DEFAULT_MQTT_RATE);
            let client_id = format!("shm-bridge-{}-{}", std::process::id(), bound.port());
            mqtt::publish(
                url,
                title.clone(),
                latest,
                rate,
                client_id,
                stopping.clone(),
            )
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the server's runtime")?;
        let text = announce::text(&title, bound, token.as_ref().map(|(t, p)| (t, p.as_path())));
        let thread = std::thread::Builder::new()
            .name("serve".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mqtt = mqtt.map(tokio::spawn);
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server::serve(listener, api::router(app), stopping).await,
                        Err(e) => note!("shm-bridge: cannot serve on {bound}: {e}"),
                    }
                    if let Some(mqtt) = mqtt {
                        let _ = mqtt.await;
                    }
                });
                drop(feed);
            })
            .context("starting the server's thread")?;
        outln!("{text}").context("writing the URL")?;
        Ok(Serving { stop, thread })
    }

    /// Stops serving: clients are closed, the MQTT broker told `offline`.
    pub fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the server's thread panicked"))
    }
}

/// A listening socket on `addr`, for the async runtime.
fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let listener = TcpListener::bind(addr).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the port is taken (another serve?); give another --listen ADDR:PORT".to_owned()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "no interface of this machine has that address".to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges; pick one above".to_owned()
            }
            _ => e.to_string(),
        };
        anyhow::anyhow!("cannot listen on {addr}: {why}")
    })?;
    listener
        .set_nonblocking(true)
        .context("making the socket non-blocking")?;
    Ok(listener)
}

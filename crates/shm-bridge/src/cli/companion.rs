//! The Linux companion's command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::maps::MapArgs;
use super::values;

/// Bridges the named shared memory of Windows games under Wine/Proton to
/// Linux programs: launches the bridge in the game's prefix, shows what is
/// bridged, decodes live telemetry, and cleans up.
#[derive(Debug, Parser)]
#[command(name = "shm-bridge", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Steam launch option: `shm-bridge launch --game acc -- %command%`.
    /// Puts the bridge exe in front of the game in its own prefix, so the
    /// mappings exist before the game starts and go when it ends.
    Launch(LaunchArgs),
    /// Lists the bridged files in the tmpfs: size, who maps them, whether
    /// they are being written. Only your own files, unless --other-users.
    List(ListArgs),
    /// Shows a title's live telemetry, decoded (raw bytes for unknown layouts);
    /// without --game or --map, the title whose mappings are bridged now.
    Watch(WatchArgs),
    /// Records a title's telemetry, decoded, one row per fresh sample at the
    /// game's rate: CSV for spreadsheets, JSON lines for scripts.
    Record(RecordArgs),
    /// Serves a title's live telemetry to phones, tablets and other machines:
    /// a dashboard page, a JSON API and a WebSocket (on 127.0.0.1 unless
    /// --listen says otherwise, then with a token), and MQTT with --mqtt.
    Serve(ServeArgs),
    /// Removes files a bridge left behind (it was killed); keeps files that
    /// a live process still maps, unless --force.
    Clean(CleanArgs),
    /// Runs a sim stand-in under Wine through the bridge and watches its
    /// telemetry for a few seconds: the whole chain, no game needed.
    Demo(DemoArgs),
    /// For Windows tools in a prefix of their own (CrewChief, SimHub): while
    /// the game's pages exist, maps them under their names in that prefix,
    /// with a process of the game's exe name there; ends when the pages go.
    Attach(AttachArgs),
    /// Says what is missing: Wine, the bridge exe, a tmpfs, a valid presets
    /// file, and what Flatpak Steam needs when it is there.
    Doctor(CommonArgs),
    /// Prints the known titles and their mappings (built-in and yours).
    Games(CommonArgs),
}

/// Options every command shares.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// The tmpfs directory the mappings' files are in (default: /dev/shm;
    /// list, watch and clean then also look in Flatpak Steam's own /dev/shm).
    #[arg(long, value_name = "DIR", global = true)]
    pub tmpfs: Option<PathBuf>,

    /// A presets file of your own (default: $XDG_CONFIG_HOME/shm-bridge/presets.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub presets: Option<PathBuf>,
}

impl CommonArgs {
    /// The tmpfs directory the mappings' files are in by default.
    pub const DEFAULT_TMPFS: &'static str = "/dev/shm";

    /// `--tmpfs`, else [`CommonArgs::DEFAULT_TMPFS`].
    pub fn tmpfs(&self) -> &Path {
        self.tmpfs
            .as_deref()
            .unwrap_or(Path::new(Self::DEFAULT_TMPFS))
    }
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    #[command(flatten)]
    pub maps: MapArgs,
    #[command(flatten)]
    pub common: CommonArgs,

    /// The bridge exe to use (default: found beside this program or in
    /// $XDG_DATA_HOME/shm-bridge).
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,

    /// Serve the game's telemetry while it runs, as `shm-bridge serve` does
    /// (with its --listen, --mqtt... options).
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub serving: ServeOptions,

    /// The game's command: `%command%` in Steam, or `wine GAME.exe ...`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Every file in the tmpfs, not only known and bridged ones.
    #[arg(long)]
    pub all: bool,
    /// Other users' files too. Left out by default: anyone may put a file
    /// in the tmpfs under any name, and a name may hold terminal escape
    /// sequences (names are always printed escaped).
    #[arg(long)]
    pub other_users: bool,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub maps: MapArgs,
    /// Print one sample and exit.
    #[arg(long)]
    pub once: bool,
    /// Print samples as JSON (with --once: one object).
    #[arg(long)]
    pub json: bool,
    /// Samples a second with --json (default 10; a title's update event
    /// adds one on each frame).
    #[arg(long, value_name = "HZ", requires = "json", conflicts_with = "once",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: Option<u32>,
    /// Stop after this many seconds (with --once: wait at most this long
    /// for the mappings to appear).
    #[arg(long, value_name = "SECONDS", value_parser = values::seconds, allow_negative_numbers = true)]
    pub seconds: Option<Duration>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub maps: MapArgs,
    /// The file to write: a new one (an existing file is never
    /// overwritten), or `-` for standard output.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The rows' format (default: jsonl for a .jsonl or .json file, else csv).
    #[arg(long, value_enum)]
    pub format: Option<RecordFormat>,
    /// Stop after this many seconds (default: at Ctrl-C).
    #[arg(long, value_name = "SECONDS", value_parser = values::seconds, allow_negative_numbers = true)]
    pub seconds: Option<Duration>,
    /// Looks a second for a fresh sample, for titles without an update
    /// event (those with one are recorded on each of its frames).
    #[arg(long, value_name = "HZ", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub rate: u32,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// How `record` writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordFormat {
    /// Comma-separated values, a header first; an empty cell is a value
    /// the title does not publish.
    Csv,
    /// One JSON object per line, as `watch --json` writes them (without
    /// the pages), valid against the JSON Schema.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub maps: MapArgs,
    #[command(flatten)]
    pub serving: ServeOptions,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// How `serve` (and `launch --serve`) serves the telemetry.
#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// The address and port to serve on. Any address but a loopback one
    /// (127.0.0.1, ::1) needs the token printed with the URL. [default: 127.0.0.1:8765]
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = values::listen_address)]
    pub listen: Option<std::net::SocketAddr>,
    /// Publish the telemetry to this MQTT broker: mqtt://HOST[:PORT].
    #[arg(long, value_name = "URL", value_parser = values::mqtt_url)]
    pub mqtt: Option<values::MqttUrl>,
    /// Telemetry messages a second to the MQTT broker [default: 10].
    #[arg(long, value_name = "HZ", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub mqtt_rate: Option<u32>,
    /// WebSocket clients served at once; more are turned away [default: 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_clients: Option<u32>,
    /// Looks a second for a fresh sample, for titles without an update event
    /// (those with one are served on each of its frames) [default: 500].
    #[arg(long, value_name = "HZ", value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub rate: Option<u32>,
}

impl ServeOptions {
    /// Where `serve` listens without --listen.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8765";
    /// `--mqtt-rate` without it.
    pub const DEFAULT_MQTT_RATE: u32 = 10;
    /// `--max-clients` without it.
    pub const DEFAULT_MAX_CLIENTS: u32 = 16;
    /// `--rate` without it.
    pub const DEFAULT_RATE: u32 = 500;

    /// Whether any option was given (`launch` takes them with --serve only).
    pub fn given(&self) -> bool {
        self.listen.is_some()
            || self.mqtt.is_some()
            || self.mqtt_rate.is_some()
            || self.max_clients.is_some()
            || self.rate.is_some()
    }
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    #[command(flatten)]
    pub maps: MapArgs,
    /// Remove files even while a process maps them.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    #[command(flatten)]
    pub maps: MapArgs,
    /// The tools' Wine prefix (the WINEPREFIX they run in).
    #[arg(long, value_name = "DIR", required = true)]
    pub prefix: PathBuf,
    /// The exe name tools look for (default: the title's, from the presets);
    /// `none` for no stand-in process.
    #[arg(long, value_name = "NAME.exe")]
    pub stand_in: Option<String>,
    /// The bridge exe to use (default: where `launch` looks).
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the stand-in drives (at least 2, at most 3600 seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 8, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub seconds: u32,
    /// Where shm-bridge.exe and sim-standin.exe are (default: where `launch` looks).
    #[arg(long, value_name = "DIR")]
    pub exe_dir: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

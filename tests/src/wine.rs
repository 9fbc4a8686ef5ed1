//! Running this project's Windows programs under the real Wine.
//!
//! `cargo xtask test` builds them for x86_64-pc-windows-gnu, boots a
//! private prefix under `target/`, and passes both locations in
//! `SHM_BRIDGE_WIN_DIR` and `WINEPREFIX`; without those, the same places
//! are derived from where this test binary lives.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/` of this build: test binaries live in `target/<profile>/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("test binaries live in target/<profile>/deps")
        .to_owned()
}

/// Where the Windows programs are.
pub fn windows_dir() -> PathBuf {
    std::env::var_os("SHM_BRIDGE_WIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("x86_64-pc-windows-gnu/debug"))
}

/// The Windows program `name` (without `.exe`); panics with what to run if
/// it was not built.
pub fn exe(name: &str) -> PathBuf {
    let path = windows_dir().join(format!("{name}.exe"));
    assert!(
        path.exists() && windows_dir().join("bcryptprimitives.dll").exists(),
        "{} is missing: build the Windows side first with `cargo xtask build-windows` \
         (or run everything with `cargo xtask test`)",
        path.display()
    );
    path
}

/// The Wine prefix the tests share, its services started (for tests that
/// start Wine through another program, such as `shm-bridge launch`).
pub fn prefix() -> PathBuf {
    let prefix = std::env::var_os("WINEPREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wine-prefix"));
    start_services(&prefix);
    prefix
}

/// `wine EXE` in the tests' prefix, quiet.
pub fn command(exe: &Path) -> Command {
    command_in(&prefix(), exe)
}

/// `wine EXE` in the prefix `prefix`, quiet.
pub fn command_in(prefix: &Path, exe: &Path) -> Command {
    start_services(prefix);
    let mut cmd = Command::new("wine");
    cmd.arg(exe)
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all");
    cmd
}

/// Starts the Wine services of `prefix` (`services.exe`, `rpcss.exe`...),
/// with nothing of ours as their input and output, once per prefix in this
/// process. The first Wine program of a wineserver's session starts them,
/// and Wine 10 hands them that program's stderr, which they hold for as
/// long as they run: a test reading that program's output to its end (as
/// `Command::output` does) would wait for ever.
fn start_services(prefix: &Path) {
    static STARTED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if started.iter().any(|p| p == prefix) {
        return;
    }
    // A program that prints a line and exits; whether it ran is for the
    // test's own commands to find out.
    let _ = Command::new("wine")
        .arg(exe("sim-standin"))
        .arg("empty")
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    started.push(prefix.to_owned());
}

/// A prefix of one test's own, booted fresh (several seconds), whose
/// wineserver is stopped and directory removed on drop.
#[derive(Debug)]
pub struct PrivatePrefix {
    /// Its directory.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrivatePrefix {
    /// Boots a new prefix, for tests that kill everything in theirs.
    pub fn boot() -> PrivatePrefix {
        let dir = tempfile::Builder::new()
            .prefix("wine-prefix-")
            .tempdir_in(target_dir())
            .expect("create a prefix directory in the target directory");
        let path = dir.path().to_owned();
        let status = Command::new("wineboot")
            .arg("-i")
            .env("WINEPREFIX", &path)
            .env("WINEDEBUG", "-all")
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run wineboot");
        assert!(status.success(), "wineboot failed in {}", path.display());
        PrivatePrefix { path, _dir: dir }
    }

    /// Boots a new prefix and removes its `Z:` drive, as some users' prefixes lack one.
    pub fn without_z_drive() -> PrivatePrefix {
        let prefix = PrivatePrefix::boot();
        let z = prefix.path.join("dosdevices/z:");
        std::fs::remove_file(&z).unwrap_or_else(|e| panic!("remove {}: {e}", z.display()));
        prefix
    }
}

impl PrivatePrefix {
    /// Ends its wineserver and every Wine process in it; whether
    /// `wineserver -k` succeeded.
    pub fn stop_wineserver(&self) -> bool {
        Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", &self.path)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for PrivatePrefix {
    /// The wineserver goes first; then the directory, with the field.
    fn drop(&mut self) {
        let _ = self.stop_wineserver();
    }
}

/// A Unix path as the `Z:` drive of a default prefix shows it.
pub fn z_path(path: &Path) -> String {
    format!("Z:{}", path.display().to_string().replace('/', "\\"))
}

/// The bridge exe for the title `game`, its pages in `dir`, once they all
/// exist (the bridge a racer starts before the game).
pub fn bridge_title(game: &str, dir: &ShmDir) -> Running {
    let mut bridge =
        Running::spawn(command(&exe("shm-bridge")).args(["--game", game, "--tmpfs", &dir.arg()]));
    bridge.expect_line("mappings exist", std::time::Duration::from_secs(60));
    bridge
}

/// The game stand-in writing `game`'s known session (`sim-standin
/// scenario`); its options follow.
pub fn scenario(game: &str) -> Command {
    let mut standin = command(&exe("sim-standin"));
    standin.args(["scenario", "--game", game]);
    standin
}

/// A program under test, its output read line by line as it comes.
#[derive(Debug)]
pub struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    transcript: Vec<String>,
}

impl Running {
    /// Starts `cmd` with stdout and stderr captured (both feed the lines).
    pub fn spawn(cmd: &mut Command) -> Running {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        for (stream, tag) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, ""),
            (Box::new(stderr), "stderr: "),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(format!("{tag}{line}")).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child,
            lines,
            transcript: Vec::new(),
        }
    }

    /// The Linux pid (for Wine programs, `$!` of `wine` is the program's own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for a line containing `needle`; panics with all output so far
    /// if the program ends or `timeout` passes first.
    pub fn expect_line(&mut self, needle: &str, timeout: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?} within {timeout:?}; output so far:\n{}",
                    self.output()
                ),
            }
        }
    }

    /// Everything printed so far (lines already read, then the rest waiting).
    pub fn output(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.transcript.push(line);
        }
        self.transcript.join("\n")
    }

    /// Sends a Unix signal.
    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).expect("a real pid");
        rustix::process::kill_process(pid, signal).expect("send signal");
    }

    /// Waits for the exit (panicking after `timeout`) and returns the code.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                // Collect what is left of the output for failure messages.
                std::thread::sleep(std::time::Duration::from_millis(50));
                let _ = self.output();
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let out = self.output();
                panic!("still running after {timeout:?}; output:\n{out}");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `cmd` to its end and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A private directory in `/dev/shm` (so on a tmpfs), removed on drop.
#[derive(Debug)]
pub struct ShmDir {
    /// Its path.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl ShmDir {
    /// Makes a fresh one.
    pub fn new() -> ShmDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("shm-test-dir-")
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir_in("/dev/shm")
            .expect("create a test dir in /dev/shm");
        ShmDir {
            path: dir.path().to_owned(),
            _dir: dir,
        }
    }

    /// Names of the entries it holds, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .expect("read test dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The path as a string, for command lines.
    pub fn arg(&self) -> String {
        self.path.display().to_string()
    }
}

impl Default for ShmDir {
    fn default() -> Self {
        Self::new()
    }
}

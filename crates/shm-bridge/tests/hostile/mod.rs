//! What the tests of hostile tmpfs contents and hostile input share:
//! running the companion with a deadline, the other user's shell, a tmpfs
//! shared like `/dev/shm`, and `launch` with a stand-in for the exe.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use shm_bridge::titles::ac::{Graphics, Physics, synthetic};
use shm_tests::nonce;
use shm_tests::tmpfs::Tmpfs;
use shm_tests::wine::ShmDir;

pub const SHM_BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
/// The other local user: a uid no account has, as an attacker's would be.
pub const STRANGER: u32 = 61_235;
/// Longer than anything here takes when it works.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Fails with the reason when not root.
pub fn need_root(why: &str) {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test {why} and so needs root (CI runs as root)"
    );
}

/// What a finished program did.
pub struct Ran {
    pub status: ExitStatus,
    pub out: Vec<u8>,
    pub err: String,
    /// Its peak resident memory, bytes (the kernel's count: anonymous
    /// memory and the pages of files it mapped).
    pub peak: u64,
}

impl Ran {
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    /// Exited by itself (no signal), with `code`, and without a panic.
    pub fn assert_exit(&self, code: i32, what: &str) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{what}: {} (signal {:?}); stderr: {}",
            self.status,
            self.status.signal(),
            self.err
        );
        assert!(!self.err.contains("panicked"), "{what}: {}", self.err);
    }
}

/// Runs `cmd` to its end, killing it (and failing) after `timeout`.
pub fn run_within(cmd: &mut Command, timeout: Duration) -> Ran {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let read = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = read(Box::new(child.stdout.take().expect("piped")));
    let err = read(Box::new(child.stderr.take().expect("piped")));
    let (status, peak) = wait_measured(&mut child, timeout, &format!("{cmd:?}"));
    Ran {
        status,
        peak,
        out: out.join().expect("stdout reader"),
        err: String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned(),
    }
}

/// Waits for `child` as [`wait_within`] does, and returns its peak
/// resident memory with its status: `wait4` reports them for this one
/// child (`getrusage` would mix in every child of the test process).
pub fn wait_measured(child: &mut Child, timeout: Duration, what: &str) -> (ExitStatus, u64) {
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + timeout;
    loop {
        let mut status: libc::c_int = 0;
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        let flags = if Instant::now() > deadline {
            let _ = child.kill();
            0
        } else {
            libc::WNOHANG
        };
        // SAFETY: `status` and `usage` are valid for writes for the call;
        // `pid` is our child, which nothing else waits for.
        let done = unsafe { libc::wait4(pid, &mut status, flags, usage.as_mut_ptr()) };
        assert!(
            done >= 0,
            "wait4 {what}: {}",
            std::io::Error::last_os_error()
        );
        if flags == 0 {
            panic!("{what} still ran after {timeout:?}: it hung");
        }
        if done == pid {
            // SAFETY: zeroed is a valid rusage, and wait4 filled it in.
            let usage = unsafe { usage.assume_init() };
            let peak_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
            return (ExitStatus::from_raw(status), peak_kib * 1024);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `child`, killing it and failing after `timeout`.
pub fn wait_within(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran after {timeout:?}: it hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn companion(args: &[&str]) -> Command {
    let mut c = Command::new(SHM_BRIDGE);
    c.args(args);
    c
}

/// A tmpfs mounted like `/dev/shm`: every user may make files, only in
/// their own name (sticky).
pub fn shared_tmpfs(size: &str) -> Tmpfs {
    use std::os::unix::fs::PermissionsExt;
    let t = Tmpfs::mount_in(&std::env::temp_dir(), size);
    std::fs::set_permissions(&t.path, std::fs::Permissions::from_mode(0o1777)).unwrap();
    t
}

/// A shell loop run as the other user, in a process group of its own,
/// killed with all it started on drop.
pub struct Attacker(Child);

impl Attacker {
    pub fn start(dir: &Path, script: &str) -> Attacker {
        let child = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .uid(STRANGER)
            .gid(STRANGER)
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the other user's shell");
        Attacker(child)
    }

    /// Runs `script` as the other user to its end.
    pub fn once(dir: &Path, script: &str) {
        let mut a = Attacker::start(dir, script);
        let status = wait_within(&mut a.0, PATIENCE, script);
        assert!(status.success(), "{script}: {status}");
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let Some(group) = rustix::process::Pid::from_raw(self.0.id() as i32) else {
            return;
        };
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.0.wait();
        // What the shell had started (an `mv` in the tmpfs) may still be
        // dying; the tmpfs cannot be unmounted until it is gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while rustix::process::test_kill_process_group(group).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// ACC's three pages in `dir`, `physics` and `graphics` as given.
pub fn acc_pages(dir: &Path, physics: &Physics, graphics: &Graphics) {
    let mut page = vec![0u8; 2048];
    physics.encode(&mut page);
    std::fs::write(dir.join("acpmf_physics"), &page).unwrap();
    page.fill(0);
    graphics.encode(&mut page);
    std::fs::write(dir.join("acpmf_graphics"), &page).unwrap();
    page.fill(0);
    synthetic::statics().encode(&mut page);
    std::fs::write(dir.join("acpmf_static"), &page).unwrap();
}

/// A stand-in for the bridge exe that `launch` checks for and puts in the
/// command; the commands here never run it (`/bin/sh` is the "launcher").
pub struct FakeExe(PathBuf);

impl FakeExe {
    pub fn new() -> FakeExe {
        let dir = std::env::temp_dir().join(format!("shm-test-exe-{}", nonce()));
        std::fs::create_dir(&dir).unwrap();
        let exe = dir.join("shm-bridge.exe");
        std::fs::write(&exe, b"MZ").unwrap();
        FakeExe(exe)
    }

    pub fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for FakeExe {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `launch` with `args` before `--`, and a game command that runs the
/// shell `script` in `dir` (the bridge's arguments are inserted before
/// `game.exe`).
pub fn launch(exe: &FakeExe, dir: &ShmDir, args: &[&str], script: &str) -> Command {
    let mut c = Command::new(SHM_BRIDGE);
    c.arg("launch")
        .args(args)
        .args(["--exe", &exe.arg(), "--tmpfs", &dir.arg(), "--"])
        .args(["/bin/sh", "-c", script, "game.exe"])
        // What the "game" makes lands in the test's directory.
        .current_dir(&dir.path)
        .env_remove("WINEPREFIX")
        .env_remove("STEAM_COMPAT_DATA_PATH");
    c
}

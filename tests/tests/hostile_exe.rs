//! shm-bridge.exe under real Wine in a tmpfs it shares with another local
//! user, who plants files, markers, links, FIFOs and sockets at the names
//! it bridges, and with a user who kills it or presses Ctrl-C at the worst
//! moment. The tmpfs is mounted by each test and open to every user, as
//! `/dev/shm` is (mode 1777); the other user is a uid no account has.
//! These tests need root (to mount and to act as another user), as CI has.
#![cfg(target_os = "linux")]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use shm_tests::nonce;
use shm_tests::standin::START;
use shm_tests::tmpfs::Tmpfs;
use shm_tests::wine::{self, PrivatePrefix, Running};

/// A user id no account has: the other local user.
const STRANGER: u32 = 61_235;

/// A tmpfs of `size`, writable by every user with the sticky bit, as `/dev/shm` is.
fn shared_tmpfs(size: &str) -> Tmpfs {
    let tmpfs = Tmpfs::mount_in(&std::env::temp_dir(), size);
    std::fs::set_permissions(&tmpfs.path, std::fs::Permissions::from_mode(0o1777)).unwrap();
    tmpfs
}

/// Runs the shell command `script` as the other user; it must succeed.
fn as_stranger(script: &str) {
    let out = Command::new("sh")
        .args(["-c", script])
        .uid(STRANGER)
        .gid(STRANGER)
        .current_dir("/")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `shm-bridge.exe ARGS --tmpfs DIR`, run to its end (which must come
/// within a minute): its exit code and what it printed.
fn exe(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut run = spawn_exe(dir, args);
    let code = run.wait_exit(START);
    (code, run.output())
}

/// `shm-bridge.exe ARGS --tmpfs DIR`, not waited for.
fn spawn_exe(dir: &Path, args: &[&str]) -> Running {
    Running::spawn(
        wine::command(&wine::exe("shm-bridge"))
            .args(args)
            .arg("--tmpfs")
            .arg(dir),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A marker's text naming `inode`, as shm-bridge writes them.
fn marker_text(name: &str, inode: u64) -> String {
    format!("shm-bridge marker 1\nname={name}\ninode={inode}\nsize=2048\n")
}

#[test]
fn another_users_file_at_a_bridged_name_is_refused_not_mapped() {
    let t = shared_tmpfs("16m");
    let file = t.path.join("acpmf_physics");
    as_stranger(&format!("umask 0; : > {}", file.display()));
    let (code, err) = exe(&t.path, &["-m", "acpmf_physics", "-s", "2048"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("belongs to uid {STRANGER}")) && err.contains("Refusing"),
        "{err}"
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.len(), meta.uid()), (0, STRANGER), "left as it was");
    assert_eq!(
        entries(&t.path),
        ["acpmf_physics"],
        "no marker, nothing else"
    );
}

#[test]
fn a_forged_marker_never_makes_the_exe_delete_a_users_file() {
    let t = shared_tmpfs("16m");
    let file = t.path.join("acpmf_physics");
    std::fs::write(&file, b"precious").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let inode = std::fs::metadata(&file).unwrap().ino();
    let marker = t.path.join(".acpmf_physics.shm-bridge");
    as_stranger(&format!(
        "printf '{}' > {}",
        marker_text("acpmf_physics", inode).replace('\n', "\\n"),
        marker.display()
    ));
    let (code, err) = exe(&t.path, &["-m", "acpmf_physics", "-s", "2048"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("belongs to uid {STRANGER}")), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
    let (code, out) = exe(&t.path, &["-m", "acpmf_physics", "--clean-up"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("left alone"), "{out}");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
}

#[test]
fn files_are_never_readable_by_another_user_not_even_for_a_moment() {
    let t = shared_tmpfs("256m");
    let file = t.path.join("telemetry");
    let stop = t.path.join("stop");
    // The other user opens the name in a tight loop while the bridge makes it.
    let reader = Command::new("perl")
        .args([
            "-e",
            r#"my ($p, $s) = @ARGV; $| = 1; print "looking\n";
               until (-e $s) { if (open(my $f, "<", $p)) { print "opened\n"; exit 1 } }
               print "never\n""#,
        ])
        .arg(&file)
        .arg(&stop)
        .uid(STRANGER)
        .gid(STRANGER)
        .current_dir("/")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Three times over: the moment to catch is short.
    for _ in 0..3 {
        let mut bridge = spawn_exe(&t.path, &["-m", "telemetry", "-s", "134217728"]);
        bridge.expect_line("mappings exist", START);
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        bridge.signal(Signal::INT);
        assert_eq!(bridge.wait_exit(START), Some(0), "{}", bridge.output());
    }
    std::fs::write(&stop, b"").unwrap();
    let out = reader.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "looking\nnever\n");
    std::fs::remove_file(&stop).unwrap();
    assert!(entries(&t.path).is_empty(), "{:?}", entries(&t.path));
}

/// Starts a bridge of a 512 MiB mapping `name`, SIGKILLs it the moment
/// `sign` appears in the tmpfs, and says what was left.
fn kill_when_it_appears(t: &Tmpfs, name: &str, sign: &str) -> Vec<String> {
    let mut bridge = spawn_exe(&t.path, &["-m", name, "-s", "536870912"]);
    let deadline = Instant::now() + START;
    while !t.path.join(sign).exists() {
        assert!(bridge.is_running(), "{}", bridge.output());
        assert!(Instant::now() < deadline, "{sign} never appeared");
        std::thread::sleep(Duration::from_micros(200));
    }
    bridge.signal(Signal::KILL);
    bridge.wait_exit(START);
    entries(&t.path)
}

#[test]
fn a_bridge_killed_while_making_its_files_leaves_only_what_clean_up_removes() {
    let t = shared_tmpfs("1g");
    let name = format!("shm-test-{}", nonce());
    let marker = format!(".{name}.shm-bridge");
    for sign in [&name, &marker] {
        let left = kill_when_it_appears(&t, &name, sign);
        // The file has a name only once its marker names it.
        if left.contains(&name) {
            let text = std::fs::read_to_string(t.path.join(&marker)).unwrap();
            let inode = std::fs::metadata(t.path.join(&name)).unwrap().ino();
            assert!(text.contains(&format!("inode={inode}\n")), "{text}");
        }
        let (code, out) = exe(&t.path, &["-m", &name, "--clean-up"]);
        assert_eq!(code, Some(0), "{out}");
        assert!(
            entries(&t.path).is_empty(),
            "killed at {sign}: {left:?}, then {out}"
        );
    }
}

#[test]
fn ctrl_c_before_the_game_starts_means_the_game_is_not_started() {
    let t = shared_tmpfs("3200m");
    // A prefix of its own: a game started by mistake ends with its wineserver.
    let prefix = PrivatePrefix::boot();
    let standin = wine::exe("sim-standin").display().to_string();
    // The signal is sent when the bridge says it is about to reserve 3 GiB,
    // which takes a second or two; Wine turns it into a Ctrl-C event in
    // milliseconds, but a loaded machine has been seen to take longer than
    // the reservation. Then the game starts and the Ctrl-C stops the bridge
    // alone (also checked): the attempt is made again, up to five times.
    for attempt in 1..=5 {
        let name = format!("shm-test-{}", nonce());
        let mut bridge = Running::spawn(
            wine::command_in(&prefix.path, &wine::exe("shm-bridge"))
                .args(["-m", &name, "-s", "3221225472", "--tmpfs"])
                .arg(&t.path)
                .args(["--", &standin, "counter", "--map", &name, "--size", "64"]),
        );
        bridge.expect_line("tmpfs", START);
        bridge.signal(Signal::INT);
        assert_eq!(bridge.wait_exit(START), Some(130), "{}", bridge.output());
        let out = bridge.output();
        // Ends a game started by mistake, and with it its mapping.
        prefix.stop_wineserver();
        assert!(entries(&t.path).is_empty(), "{:?}", entries(&t.path));
        if out.contains("it was not started") {
            assert!(!out.contains("already existed"), "the game ran: {out}");
            return;
        }
        assert!(
            out.contains("keeps running without the bridge"),
            "attempt {attempt}, neither stopped before the game nor after: {out}"
        );
    }
    panic!("in five attempts the Ctrl-C never came before the game started");
}

#[test]
fn a_second_bridge_does_not_take_over_a_live_bridges_files() {
    let t = shared_tmpfs("16m");
    let name = format!("shm-test-{}", nonce());
    let mut first = spawn_exe(&t.path, &["-m", &name, "-s", "4096"]);
    first.expect_line("mappings exist", START);
    let before = entries(&t.path);
    let (code, err) = exe(&t.path, &["-m", &name, "-s", "4096"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("still running") && err.contains(&format!("pid {}", first.pid())),
        "{err}"
    );
    assert_eq!(
        entries(&t.path),
        before,
        "the first bridge's files are as they were"
    );
    first.signal(Signal::INT);
    assert_eq!(first.wait_exit(START), Some(0), "{}", first.output());
    assert!(entries(&t.path).is_empty(), "{:?}", entries(&t.path));
}

#[test]
fn the_tmpfs_check_is_made_on_the_directory_a_path_leads_to() {
    let t = shared_tmpfs("16m");
    let disk = std::env::temp_dir().join(format!("shm-test-disk-{}", nonce()));
    std::fs::create_dir(&disk).unwrap();
    let into_disk = t.path.join("to-disk");
    std::os::unix::fs::symlink(&disk, &into_disk).unwrap();
    let into_tmpfs: PathBuf = std::env::temp_dir().join(format!("shm-test-link-{}", nonce()));
    std::os::unix::fs::symlink(&t.path, &into_tmpfs).unwrap();
    let dotdot = PathBuf::from(format!("/dev/shm/../..{}", disk.display()));
    for refused in [&dotdot, &into_disk] {
        let (code, err) = exe(refused, &["-m", "x", "-s", "4096"]);
        assert_eq!(code, Some(1), "{}: {err}", refused.display());
        assert!(err.contains("not a tmpfs"), "{}: {err}", refused.display());
    }
    let doubled = PathBuf::from(format!("/{}", t.path.display()));
    for accepted in [&into_tmpfs, &doubled] {
        let mut b = spawn_exe(accepted, &["-m", "x", "-s", "4096"]);
        b.expect_line("mappings exist", START);
        assert!(t.path.join("x").is_file(), "{}", accepted.display());
        b.signal(Signal::INT);
        assert_eq!(b.wait_exit(START), Some(0), "{}", b.output());
    }
    let left_on_disk = std::fs::read_dir(&disk).unwrap().count();
    std::fs::remove_dir(&disk).unwrap();
    std::fs::remove_file(&into_tmpfs).unwrap();
    assert_eq!(left_on_disk, 0, "nothing went to disk");
}

#[test]
fn sizes_that_add_up_past_what_a_machine_can_map_are_refused() {
    let t = shared_tmpfs("16m");
    let huge = "9223372036854775807";
    let (code, err) = exe(&t.path, &["-m", "a", "b", "c", "-s", huge, huge, "3"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("add up to more than any machine can map"),
        "{err}"
    );
    assert!(entries(&t.path).is_empty());
}

#[test]
fn links_fifos_and_sockets_at_a_name_are_refused_and_never_followed() {
    let t = shared_tmpfs("16m");
    // A dangling link at the marker's name: writing it would create the target.
    let victim = std::env::temp_dir().join(format!("shm-test-victim-{}", nonce()));
    std::os::unix::fs::symlink(&victim, t.path.join(".a.shm-bridge")).unwrap();
    let (code, err) = exe(&t.path, &["-m", "a", "-s", "4096"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!victim.exists(), "the link was followed");
    // A FIFO and a socket: not regular files, said so.
    let fifo = t.path.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let _socket = std::os::unix::net::UnixListener::bind(t.path.join("socket")).unwrap();
    for (name, kind) in [("fifo", "a FIFO"), ("socket", "a socket")] {
        let (code, err) = exe(&t.path, &["-m", name, "-s", "4096"]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains("not a regular file") && err.contains(kind),
            "{name}: {err}"
        );
    }
    // Clean-up of a link, even with our marker naming its target: the
    // target stays (Wine's DeleteFile would remove it).
    let target = t.path.join("target");
    std::fs::write(&target, b"precious").unwrap();
    std::os::unix::fs::symlink(&target, t.path.join("b")).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();
    std::fs::write(t.path.join(".b.shm-bridge"), marker_text("b", inode)).unwrap();
    let (code, out) = exe(&t.path, &["-m", "b", "--clean-up"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("symbolic link"), "{out}");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
}

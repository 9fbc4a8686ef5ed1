//! Project tasks: `cargo xtask <task>`.
//!
//! - `setup`: installs what a fresh Debian/Ubuntu machine lacks (Wine, the
//!   MinGW linker, bwrap for the tests, rustup targets), asking for nothing
//!   that is there.
//! - `build-windows`: builds the Windows programs and puts the
//!   bcryptprimitives shim beside them.
//! - `test`: setup, then every test: Linux, Windows under Wine, checks of
//!   the other OSes, lints, the library's checks (ThreadSanitizer, docs for
//!   every OS, `shmem_checks`); fails if the tests left anything in `/dev/shm`,
//!   a SysV segment, a tmpfs mount or an installed copy behind.
//! - `demo`: setup, build, and run `shm-bridge demo`.
//! - `install [--prefix DIR]`: builds release binaries and installs them.
//! - `bench [--runs N] [--huge-pages]`: builds the Windows side for
//!   release, runs every benchmark N times (3 by default) and prints the
//!   report of BENCHMARKS.md; `--huge-pages` (root) reserves 64 MiB of
//!   HugeTLB pages and lets shared memory ask for transparent huge pages
//!   for the run, and puts both settings back after.

use std::collections::BTreeSet;
use std::env;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod shmem_checks;

const WINDOWS: &str = "x86_64-pc-windows-gnu";
/// Targets whose backends must at least compile here.
const CHECK_ONLY: [&str; 3] = [
    "x86_64-apple-darwin",
    "aarch64-linux-android",
    "x86_64-unknown-freebsd",
];
/// How long each fuzz target runs in `cargo xtask test` (CI); by hand,
/// `cargo xtask fuzz 3600` runs each for an hour.
const FUZZ_SECONDS_CI: u64 = 60;
const APT_PACKAGES: [&str; 3] = ["wine", "wine64", "gcc-mingw-w64-x86-64"];

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["setup"] => setup(true),
        ["build-windows"] => build_windows(false).map(drop),
        ["test"] => test(),
        ["lint"] => lint(),
        ["demo", rest @ ..] => demo(rest),
        ["fuzz"] => fuzz(FUZZ_SECONDS_CI),
        ["fuzz", seconds] => fuzz(
            seconds
                .parse()
                .context("usage: cargo xtask fuzz [SECONDS per target]")?,
        ),
        ["install", rest @ ..] => install(rest),
        ["bench", rest @ ..] => bench(rest),
        _ => bail!(
            "usage: cargo xtask <setup | build-windows | test | lint | fuzz [SECONDS] | demo | install [--prefix DIR] | bench [--runs N] [--huge-pages]>"
        ),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

/// The target directory, absolute: a relative `CARGO_TARGET_DIR` is taken
/// from where `cargo xtask` was started, as cargo takes it, and passed on
/// absolute, since the benchmarks run in their package's directory.
fn target_dir() -> PathBuf {
    let dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    std::path::absolute(&dir).unwrap_or(dir)
}

fn cargo() -> Command {
    let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    if env::var_os("CARGO_TARGET_DIR").is_some() {
        c.env("CARGO_TARGET_DIR", target_dir());
    }
    c
}

fn run_cmd(cmd: &mut Command) -> Result<()> {
    eprintln!("+ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", show(cmd));
    }
    Ok(())
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    current_uid() == Some(0)
}

/// Installs missing apt packages and rustup targets.
fn setup(all_targets: bool) -> Result<()> {
    let mut packages: Vec<&str> = Vec::new();
    if !(have("wine") && have("wineserver") && have("x86_64-w64-mingw32-gcc")) {
        packages.extend(APT_PACKAGES);
    }
    // The tests' stand-in for Steam's container is a bwrap sandbox, as the real one is.
    if all_targets && !have("bwrap") {
        packages.push("bubblewrap");
    }
    if all_targets {
        packages.extend(shmem_checks::missing_packages());
    }
    if !packages.is_empty() {
        let missing = packages.join(" ");
        if !have("apt-get") {
            bail!(
                "missing: {missing} (Wine 64-bit, the MinGW-w64 linker x86_64-w64-mingw32-gcc, \
                 bwrap for the tests); install your distribution's packages for them, then rerun"
            );
        }
        let sudo: &[&str] = if is_root() {
            &[]
        } else if have("sudo") {
            &["sudo"]
        } else {
            bail!("missing: {missing}; as root run: apt-get install {missing}");
        };
        let apt = |args: &[&str]| {
            let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
            if !sudo.is_empty() {
                c.arg("apt-get");
            }
            c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            c
        };
        run_cmd(&mut apt(&["update", "-q"]))?;
        let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
        install.args(&packages);
        run_cmd(&mut install)?;
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the Windows target (https://rustup.rs)")?;
    let installed = String::from_utf8_lossy(&installed.stdout).into_owned();
    let wanted: Vec<&str> = if all_targets {
        std::iter::once(WINDOWS).chain(CHECK_ONLY).collect()
    } else {
        vec![WINDOWS]
    };
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        run_cmd(
            Command::new("rustup")
                .args(["target", "add"])
                .args(&missing),
        )?;
    }
    let components = Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()?;
    let components = String::from_utf8_lossy(&components.stdout).into_owned();
    for component in ["clippy", "rustfmt"] {
        if all_targets && !components.lines().any(|l| l.starts_with(component)) {
            run_cmd(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

/// The Windows programs, with the shim beside them.
fn build_windows(release: bool) -> Result<PathBuf> {
    let mut build = cargo();
    build.args([
        "build",
        "--target",
        WINDOWS,
        "--workspace",
        "--exclude",
        "xtask",
        "--bins",
    ]);
    if release {
        build.arg("--release");
    }
    run_cmd(&mut build)?;
    let dir = target_dir()
        .join(WINDOWS)
        .join(if release { "release" } else { "debug" });
    install_shim(&dir)?;
    Ok(dir)
}

fn install_shim(dir: &Path) -> Result<()> {
    let dll = dir.join("bcryptprimitives.dll");
    let source = root().join("tools/bcryptprimitives/bcryptprimitives.c");
    let fresh = dll
        .metadata()
        .and_then(|d| Ok(d.modified()? >= source.metadata()?.modified()?))
        .unwrap_or(false);
    if !fresh {
        run_cmd(Command::new(root().join("tools/build-shim")).arg(&dll))?;
    }
    Ok(())
}

/// A Wine prefix of our own, booted once.
fn wine_prefix() -> Result<PathBuf> {
    let prefix = target_dir().join("wine-prefix");
    if !prefix.join("system.reg").exists() {
        eprintln!(
            "booting a Wine prefix in {} (once; takes a while)",
            prefix.display()
        );
        run_cmd(
            Command::new("wineboot")
                .arg("-i")
                .env("WINEPREFIX", &prefix)
                .env("WINEDEBUG", "-all"),
        )?;
        run_cmd(
            Command::new("wineserver")
                .arg("-w")
                .env("WINEPREFIX", &prefix),
        )?;
    }
    Ok(prefix)
}

/// What tests could leave behind: `/dev/shm` entries, SysV segments, the
/// tmpfs mounts, links and installed copies of the bridge some tests make.
fn leftovers() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for dir in ["/opt", "/usr/local/share", "/run"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("shm-bridge-test-") || name.starts_with("shm-test-") {
                found.insert(format!("{dir}/{name}"));
            }
        }
    }
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
        for mount_point in mounts.lines().filter_map(|l| l.split(' ').nth(1)) {
            if mount_point.contains("shm-test-") {
                found.insert(format!("a tmpfs mounted on {mount_point}"));
            }
        }
    }
    // Shared memory of this user only: another user's programs (a desktop
    // session's browser, when the tests run as root) come and go meanwhile.
    let me = current_uid();
    if let Ok(dir) = std::fs::read_dir("/dev/shm") {
        for entry in dir.flatten() {
            if entry.metadata().is_ok_and(|m| Some(m.uid()) == me) {
                found.insert(format!("/dev/shm/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/sysvipc/shm") {
        for line in text.lines().skip(1) {
            // key shmid perms size cpid lpid nattch uid gid cuid ...
            let fields: Vec<&str> = line.split_whitespace().collect();
            let creator = fields.get(9).and_then(|uid| uid.parse().ok());
            if let Some(shmid) = fields.get(1).filter(|_| creator == me) {
                found.insert(format!("SysV segment {shmid}"));
            }
        }
    }
    found
}

/// This process's user: `/proc/self` belongs to it.
fn current_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

fn test() -> Result<()> {
    setup(true)?;
    let before = leftovers();
    let windows_dir = build_windows(false)?;
    let prefix = wine_prefix()?;
    // Keep the wineserver up between the tests' Wine programs: each start
    // then takes about 25 ms instead of 300 (Debian's default is to exit).
    // (It fails when one runs already, which serves as well.)
    let _ = Command::new("wineserver")
        .arg("-p")
        .env("WINEPREFIX", &prefix)
        .status();
    let path = path_with_wine_fixed_heap()?;
    let with_wine = |c: &mut Command| {
        c.env("PATH", &path)
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .env("SHM_BRIDGE_WIN_DIR", &windows_dir);
    };
    let result = (|| {
        let mut host = cargo();
        host.args(["test", "--workspace"]);
        with_wine(&mut host);
        run_cmd(&mut host)?;
        let mut windows = cargo();
        windows.args([
            "test",
            "--target",
            WINDOWS,
            "-p",
            "shmem",
            "-p",
            "shm-bridge",
            "-p",
            "shm-tests",
        ]);
        with_wine(&mut windows);
        run_cmd(&mut windows)?;
        lint()?;
        shmem_checks::run()?;
        fuzz(FUZZ_SECONDS_CI)
    })();
    let _ = Command::new("wineserver")
        .arg("-k")
        .env("WINEPREFIX", &prefix)
        .status();
    result?;
    let left: Vec<String> = leftovers().difference(&before).cloned().collect();
    if !left.is_empty() {
        bail!("the tests left behind: {}", left.join(", "));
    }
    eprintln!("xtask: every test passed; nothing was left in /dev/shm, SysV or mounted");
    Ok(())
}

fn lint() -> Result<()> {
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "xtask",
        "--all-targets",
        "--target",
        WINDOWS,
        "--",
        "-D",
        "warnings",
    ]))?;
    for target in CHECK_ONLY {
        run_cmd(cargo().args([
            "clippy",
            "-p",
            "shmem",
            "--all-targets",
            "--target",
            target,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    Ok(())
}

/// Runs every fuzz target for `seconds` (cargo fuzz needs the nightly
/// toolchain; both are installed if missing). A crash fails the run and
/// leaves its input in fuzz/artifacts/TARGET/.
fn fuzz(seconds: u64) -> Result<()> {
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()?;
    if !String::from_utf8_lossy(&toolchains.stdout).contains("nightly") {
        run_cmd(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let has_cargo_fuzz = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        run_cmd(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let list = Command::new("cargo")
        .args(["+nightly", "fuzz", "list"])
        .current_dir(root())
        .output()
        .context("cargo fuzz list")?;
    let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    if targets.is_empty() {
        bail!(
            "cargo fuzz list found no targets: {}",
            String::from_utf8_lossy(&list.stderr)
        );
    }
    for target in &targets {
        run_cmd(
            Command::new("cargo")
                .args(["+nightly", "fuzz", "run", target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=4096")
                .current_dir(root()),
        )?;
    }
    eprintln!(
        "xtask: {} fuzz targets ran {seconds} s each without a crash",
        targets.len()
    );
    Ok(())
}

/// `PATH` with tools/wine-fixed-heap first, so that every `wine` started
/// goes through it: it keeps Debian's Wine from losing one start in 5,000 to
/// where Linux puts its heap (the script says how).
fn path_with_wine_fixed_heap() -> Result<std::ffi::OsString> {
    Ok(env::join_paths(
        std::iter::once(root().join("tools/wine-fixed-heap"))
            .chain(env::split_paths(&env::var_os("PATH").unwrap_or_default())),
    )?)
}

fn demo(rest: &[&str]) -> Result<()> {
    setup(false)?;
    let windows_dir = build_windows(false)?;
    let mut run = cargo();
    // The README's first command should not fail by Wine's 1 in 5,000.
    run.env("PATH", path_with_wine_fixed_heap()?);
    run.args([
        "run",
        "--quiet",
        "-p",
        "shm-bridge",
        "--",
        "demo",
        "--exe-dir",
    ])
    .arg(&windows_dir)
    .args(rest);
    run_cmd(&mut run)
}

/// The benchmarks (`benches/`, see BENCHMARKS.md), `runs` times over, then
/// their report. Not part of `test`: they take minutes and want a quiet
/// machine.
fn bench(rest: &[&str]) -> Result<()> {
    let mut runs = 3;
    let mut huge_pages = false;
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .context("usage: cargo xtask bench [--runs N] [--huge-pages]")?;
            }
            "--huge-pages" => huge_pages = true,
            other => bail!(
                "unknown argument {other}; usage: cargo xtask bench [--runs N] [--huge-pages]"
            ),
        }
    }
    setup(false)?;
    let windows_dir = build_windows(true)?;
    run_cmd(cargo().args(["bench", "-p", "shm-benches", "--no-run"]))?;
    let _settings = if huge_pages {
        Some(HugePageSettings::apply()?)
    } else {
        None
    };
    let names: Vec<String> = (1..=runs).map(|i| format!("run{i}")).collect();
    for name in &names {
        // This run's extra measurements start afresh.
        let _ = std::fs::remove_file(target_dir().join("shm-bench").join(format!("{name}.jsonl")));
        let mut bench = cargo();
        bench
            .args(["bench", "-p", "shm-benches", "--", "--save-baseline", name])
            .env("SHM_BENCH_RUN", name)
            .env("SHM_BRIDGE_WIN_DIR", &windows_dir)
            .env("WINEDEBUG", "-all")
            // The bridge benches start Wine hundreds of times: one lost start
            // would end the whole run.
            .env("PATH", path_with_wine_fixed_heap()?);
        run_cmd(&mut bench)?;
    }
    run_cmd(
        cargo()
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "shm-benches",
                "--bin",
                "bench-report",
                "--",
            ])
            .args(&names),
    )
}

/// HugeTLB pages and transparent huge pages for shared memory, set for the
/// benchmarks and put back as they were on drop.
struct HugePageSettings {
    pages: String,
    shmem_enabled: Option<String>,
}

const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";
const SHMEM_ENABLED: &str = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";

impl HugePageSettings {
    fn apply() -> Result<HugePageSettings> {
        if !is_root() {
            bail!("--huge-pages changes {NR_HUGEPAGES} and {SHMEM_ENABLED}: run as root");
        }
        let pages = std::fs::read_to_string(NR_HUGEPAGES)?.trim().to_owned();
        let shmem_enabled = std::fs::read_to_string(SHMEM_ENABLED).ok().and_then(|s| {
            let start = s.find('[')? + 1;
            Some(s[start..start + s[start..].find(']')?].to_owned())
        });
        let settings = HugePageSettings {
            pages,
            shmem_enabled,
        };
        // 32 pages of 2 MiB: the 16 MiB segments and room to spare.
        std::fs::write(NR_HUGEPAGES, "32").context(NR_HUGEPAGES)?;
        if settings.shmem_enabled.is_some() {
            std::fs::write(SHMEM_ENABLED, "advise").context(SHMEM_ENABLED)?;
        }
        eprintln!("xtask: {NR_HUGEPAGES} = 32, {SHMEM_ENABLED} = advise for the benchmarks");
        Ok(settings)
    }
}

impl Drop for HugePageSettings {
    fn drop(&mut self) {
        let _ = std::fs::write(NR_HUGEPAGES, &self.pages);
        if let Some(old) = &self.shmem_enabled {
            let _ = std::fs::write(SHMEM_ENABLED, old);
        }
        eprintln!(
            "xtask: {NR_HUGEPAGES} = {}, {SHMEM_ENABLED} = {} again",
            self.pages,
            self.shmem_enabled.as_deref().unwrap_or("(absent)")
        );
    }
}

fn install(rest: &[&str]) -> Result<()> {
    let prefix = match rest {
        [] => env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local"))
            .context("HOME is not set; pass --prefix DIR")?,
        ["--prefix", dir] => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask install [--prefix DIR]"),
    };
    setup(false)?;
    let windows_dir = build_windows(true)?;
    run_cmd(cargo().args(["build", "--release", "-p", "shm-bridge"]))?;
    let bin = prefix.join("bin");
    let data = prefix.join("share/shm-bridge");
    std::fs::create_dir_all(&bin)?;
    std::fs::create_dir_all(&data)?;
    copy(
        &target_dir().join("release/shm-bridge"),
        &bin.join("shm-bridge"),
    )?;
    for file in ["shm-bridge.exe", "sim-standin.exe", "bcryptprimitives.dll"] {
        copy(&windows_dir.join(file), &data.join(file))?;
    }
    eprintln!(
        "installed {} and the Windows side in {}; check with: shm-bridge doctor",
        bin.join("shm-bridge").display(),
        data.display()
    );
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    eprintln!("  {}", to.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end-of-run check sees this user's files and SysV segments, and
    /// not another user's (as root: the tests need root anyway).
    #[test]
    fn leftovers_are_this_users_shared_memory() {
        let file = format!("xtask-test-{}", std::process::id());
        let path = Path::new("/dev/shm").join(&file);
        std::fs::write(&path, b"left").unwrap();
        let theirs = Path::new("/dev/shm").join(format!("{file}-theirs"));
        std::fs::write(&theirs, b"someone else's").unwrap();
        std::os::unix::fs::chown(&theirs, Some(61_234), Some(61_234)).unwrap();
        let made = Command::new("ipcmk").args(["-M", "4096"]).output().unwrap();
        let said = String::from_utf8_lossy(&made.stdout);
        let shmid = said.trim().rsplit(' ').next().unwrap().to_owned();
        let found = leftovers();
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(&theirs).unwrap();
        assert!(
            Command::new("ipcrm")
                .args(["-m", &shmid])
                .status()
                .unwrap()
                .success()
        );
        assert!(found.contains(&format!("/dev/shm/{file}")), "{found:?}");
        assert!(
            found.contains(&format!("SysV segment {shmid}")),
            "{said} {found:?}"
        );
        assert!(!found.iter().any(|f| f.ends_with("-theirs")), "{found:?}");
    }
}

//! The `shmem` library's own steps of `cargo xtask test`, beyond the
//! workspace's tests and lints: what its interop tests need installed,
//! ThreadSanitizer over the tests that share one segment between threads,
//! its docs for every OS without a warning, and the stub backend's build.

use std::process::Command;

use anyhow::{Context, Result};

use crate::process::{cargo, have, root, run as run_cmd, target_dir};

/// Debian packages of the interop tests (`interop/`): AFL++ with its
/// compiler (afl-cc, afl-showmap) and clang beneath it, and Python 3.
pub(crate) fn missing_packages() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !(have("afl-cc") && have("afl-showmap")) {
        missing.push("afl++");
    }
    if !have("clang") {
        missing.push("clang");
    }
    if !have("python3") {
        missing.push("python3");
    }
    missing
}

/// Targets the docs are built for: every OS the library has a backend on.
const DOC_TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-pc-windows-gnu",
    "x86_64-apple-darwin",
    "aarch64-linux-android",
    "x86_64-unknown-freebsd",
];

/// A target with no backend: the crate must build there and answer `Unsupported`.
const NO_BACKEND: &str = "wasm32-unknown-unknown";

/// The library's steps; the rustup parts they need are added first.
pub(crate) fn run() -> Result<()> {
    rustup(&["target", "add", NO_BACKEND])?;
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()?;
    if String::from_utf8_lossy(&toolchains.stdout).contains("nightly") {
        rustup(&["component", "add", "rust-src", "--toolchain", "nightly"])?;
    } else {
        rustup(&["toolchain", "install", "nightly", "--profile", "minimal"])?;
        rustup(&["component", "add", "rust-src", "--toolchain", "nightly"])?;
    }
    thread_sanitizer()?;
    for target in DOC_TARGETS {
        run_cmd(
            cargo()
                .args(["doc", "-p", "shmem", "--no-deps", "--target", target])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }
    run_cmd(cargo().args([
        "clippy", "-p", "shmem", "--target", NO_BACKEND, "--", "-D", "warnings",
    ]))?;
    eprintln!("xtask: shmem: ThreadSanitizer quiet, docs clean for every OS, stub backend builds");
    Ok(())
}

/// The tests that use one segment from several threads (`crates/shmem/tests/threads.rs`,
/// a race of two threads among them), built with ThreadSanitizer and a
/// standard library built with it too (else its own atomics look like
/// races); any report fails the run.
fn thread_sanitizer() -> Result<()> {
    let host = "x86_64-unknown-linux-gnu";
    run_cmd(
        Command::new("cargo")
            .args(["+nightly", "test", "-Zbuild-std", "--target", host])
            .args(["-p", "shmem", "--test", "threads"])
            .arg("--target-dir")
            .arg(target_dir().join("tsan"))
            .env("RUSTFLAGS", "-Zsanitizer=thread")
            .env("TSAN_OPTIONS", "halt_on_error=1")
            .env_remove("RUSTDOCFLAGS")
            .current_dir(root()),
    )
    .context("ThreadSanitizer over shmem's threads tests")
}

fn rustup(args: &[&str]) -> Result<()> {
    run_cmd(Command::new("rustup").args(args))
}

//! AFL++ (Debian's 4.04c) and shmem sharing coverage maps, both ways: a C
//! target built with `afl-cc` writes its coverage into our map, given only
//! its id in `__AFL_SHM_ID`; and afl-showmap's map, given to a target
//! built on our `StdShMemProvider`, is opened whole without being told its
//! size. `cargo xtask test` installs `afl++` and `clang`.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

use shm_interop::AFL_EDGES;
use shmem::{ShMem, ShMemProvider, StdShMemProvider};

/// AFL's default map size (`MAP_SIZE`).
const MAP_SIZE: usize = 65536;

/// A target whose paths depend on its input's first bytes.
const TARGET_C: &str = r#"
#include <stdio.h>
int main(int argc, char **argv) {
  char buf[16] = {0};
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  if (n > 1 && buf[0] == 'A') {
    if (buf[1] == 'B') puts("AB"); else puts("A");
  } else {
    puts("other");
  }
  return 0;
}
"#;

fn tool(name: &str) -> &str {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{name} is missing: install AFL++ (`apt-get install afl++ clang`, which `cargo xtask setup` does)"
    );
    name
}

fn work_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles the target with Debian's afl-cc.
fn afl_target(dir: &Path) -> PathBuf {
    let source = dir.join("target.c");
    std::fs::write(&source, TARGET_C).unwrap();
    let binary = dir.join("target");
    let out = Command::new(tool("afl-cc"))
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .env("AFL_QUIET", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "afl-cc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    binary
}

#[test]
fn an_afl_target_writes_its_coverage_into_our_map() {
    let dir = work_dir("afl-target");
    let target = afl_target(&dir);
    let map = StdShMemProvider::new()
        .unwrap()
        .new_shmem(MAP_SIZE)
        .unwrap();
    let mut coverage = Vec::new();
    for (input, says) in [("AB", "AB"), ("zz", "other")] {
        let file = dir.join(format!("input-{input}"));
        std::fs::write(&file, input).unwrap();
        map.fill(0);
        let out = Command::new(&target)
            .arg(&file)
            .env("__AFL_SHM_ID", map.id().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), says);
        let bytes = map.to_vec();
        let edges = bytes.iter().filter(|&&b| b != 0).count();
        assert!(
            edges > 0,
            "input {input:?}: the target wrote no coverage into our map"
        );
        coverage.push(bytes);
    }
    assert_ne!(
        coverage[0], coverage[1],
        "two paths, the same coverage bytes"
    );
}

#[test]
fn afl_showmaps_map_opens_whole_in_a_shmem_target() {
    let dir = work_dir("afl-showmap");
    let out_file = dir.join("map.txt");
    let out = Command::new(tool("afl-showmap"))
        .arg("-r")
        .arg("-o")
        .arg(&out_file)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_shmem-peer"))
        .arg("afl-target")
        // The peer is not instrumented: run it without the fork server.
        .env("AFL_NO_FORKSRV", "1")
        .env("AFL_SKIP_BIN_CHECK", "1")
        .env("AFL_MAP_SIZE", MAP_SIZE.to_string())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "afl-showmap: {said}");
    let tuples = std::fs::read_to_string(&out_file).unwrap();
    let expected: Vec<String> = AFL_EDGES
        .iter()
        .map(|(edge, count)| format!("{edge:06}:{count}"))
        .collect();
    let seen: Vec<&str> = tuples.lines().collect();
    assert_eq!(seen, expected, "afl-showmap saw: {tuples}\n{said}");
}

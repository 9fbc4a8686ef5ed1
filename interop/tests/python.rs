//! Python's `multiprocessing.shared_memory` and shmem's named segments, in
//! two processes, both ways: Python opens our segment by name, and we
//! open Python's. Python is Debian's `python3`, with nothing but its
//! standard library.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use shm_interop::{CREATOR_AT, CREATOR_MARK, OPENER_AT, OPENER_MARK};
use shmem::NamedShMem;

fn name(which: &str) -> String {
    format!("shmem-py-{which}-{}", std::process::id())
}

/// Python's side of each test. Python 3.11's resource tracker would unlink
/// a segment it merely opened when the interpreter exits (fixed by
/// `track=False` in 3.13): an opener unregisters it, as Python's own
/// documentation of the issue advises.
const PYTHON: &str = r#"
import sys
from multiprocessing import resource_tracker, shared_memory
role, name, c_at, c_mark, o_at, o_mark = sys.argv[1:]
c_at, o_at, c_mark, o_mark = int(c_at), int(o_at), c_mark.encode(), o_mark.encode()
if role == "open":
    shm = shared_memory.SharedMemory(name=name)
    resource_tracker.unregister(shm._name, "shared_memory")
    if bytes(shm.buf[c_at:c_at + len(c_mark)]) != c_mark:
        sys.exit("python: the creator's mark is missing")
    shm.buf[o_at:o_at + len(o_mark)] = o_mark
    print("python opened", shm.size)
    shm.close()
else:
    shm = shared_memory.SharedMemory(name=name, create=True, size=4096)
    shm.buf[c_at:c_at + len(c_mark)] = c_mark
    print("ready", flush=True)
    sys.stdin.readline()
    answer = bytes(shm.buf[o_at:o_at + len(o_mark)])
    shm.close()
    shm.unlink()
    if answer != o_mark:
        sys.exit("python: the opener's answer is missing: %r" % answer)
    print("python saw", answer.decode())
"#;

fn python(role: &str, name: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PYTHON, role, name])
        .arg(CREATOR_AT.to_string())
        .arg(std::str::from_utf8(CREATOR_MARK).unwrap())
        .arg(OPENER_AT.to_string())
        .arg(std::str::from_utf8(OPENER_MARK).unwrap());
    cmd
}

#[test]
fn python_opens_our_named_segment() {
    let name = name("ours");
    let mem = NamedShMem::create(&name, 4096).unwrap();
    mem[CREATOR_AT..CREATOR_AT + CREATOR_MARK.len()].copy_from_slice(CREATOR_MARK);
    let out = python("open", &name).output().expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python3 failed: {stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "python opened 4096"
    );
    assert_eq!(
        mem[OPENER_AT..OPENER_AT + OPENER_MARK.len()].to_vec(),
        OPENER_MARK
    );
    assert!(
        NamedShMem::open(&name).is_ok(),
        "Python left our segment in place"
    );
}

#[test]
fn we_open_pythons_named_segment() {
    let name = name("theirs");
    let mut child = python("create", &name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "python did not start");
    {
        let mem = NamedShMem::open(&name).unwrap();
        assert_eq!(mem.len(), 4096);
        assert_eq!(
            mem[CREATOR_AT..CREATOR_AT + CREATOR_MARK.len()].to_vec(),
            CREATOR_MARK
        );
        mem[OPENER_AT..OPENER_AT + OPENER_MARK.len()].copy_from_slice(OPENER_MARK);
    }
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(line.trim(), "python saw opened there");
    assert!(
        NamedShMem::open(&name).is_err(),
        "Python removed its segment"
    );
}

//! Names for the platform groups the backends are chosen by, so that each
//! choice reads as what it means and is written once.

use cfg_aliases::cfg_aliases;

fn main() {
    // docs.rs and `cargo xtask doc` build the docs with `--cfg docsrs`, which
    // marks each backend with the systems it exists on.
    println!("cargo::rustc-check-cfg=cfg(docsrs)");
    cfg_aliases! {
        // Linux and Android: memfd, sealing, abstract sockets, SO_PEERCRED.
        linux_like: { any(target_os = "linux", target_os = "android") },
        // macOS, iOS and the other Apple systems: a 30-byte shm_open, no MSG_NOSIGNAL.
        apple: { target_vendor = "apple" },
        // Named POSIX objects and System V segments: every Unix but Android,
        // which has neither /dev/shm nor SysV.
        named_unix: { all(unix, not(target_os = "android")) },
        // Received descriptors can be made close-on-exec by recvmsg itself.
        cmsg_cloexec: { any(target_os = "linux", target_os = "android", target_os = "freebsd") },
        // No backend: the stub that answers `Unsupported`.
        no_backend: { not(any(unix, windows)) },
    }
}

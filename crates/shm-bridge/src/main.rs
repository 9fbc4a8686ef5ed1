//! `shm-bridge`: the bridge exe on Windows (under Wine), its companion on Linux.

fn main() -> std::process::ExitCode {
    #[cfg(windows)]
    return shm_bridge::win::main();
    #[cfg(unix)]
    return shm_bridge::linux::main();
}

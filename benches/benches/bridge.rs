#[cfg(target_os = "linux")]
fn main() {}
#[cfg(not(target_os = "linux"))]
fn main() {}

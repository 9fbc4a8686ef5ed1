//! Where shm-bridge keeps things in the user's home, by the XDG base
//! directory rules (a relative `XDG_*_HOME` is ignored, as the spec says).

use std::path::PathBuf;

/// `$XDG_CONFIG_HOME/shm-bridge`: the user's presets file.
pub fn config() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("shm-bridge"))
}

/// `$XDG_DATA_HOME/shm-bridge`: where `cargo xtask install` puts the Windows side.
pub fn data() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("shm-bridge"))
}

/// `$XDG_CACHE_HOME/shm-bridge`: the demo's Wine prefix.
pub fn cache() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("shm-bridge"))
}

//! [`ShMemName`]: names that unrelated programs use to meet.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, ShMemError};

/// The Windows object namespace a name was given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// `Local\`: the session's namespace, the same objects as an unprefixed name.
    Local,
    /// `Global\`: the machine-wide namespace, a different directory of objects.
    Global,
}

/// Longest name part (after the namespace) accepted on this platform.
///
/// Linux: a file name in `/dev/shm` (`NAME_MAX`). macOS: `shm_open` refuses
/// names over 30 characters (`PSHMNAMLEN` 31, with the leading slash).
/// Windows: object names are kept within `MAX_PATH` with their namespace.
pub const MAX_NAME_LEN: usize = if cfg!(target_vendor = "apple") {
    30
} else if cfg!(windows) {
    248
} else {
    255
};

/// A validated segment name, such as `acpmf_physics` or `Local\IRSDKMemMapFileName`.
///
/// The same rules hold on every OS, because names travel between worlds:
/// a Windows game under Wine names a mapping, and a Linux program opens the
/// file of the same name. A name is:
/// - an optional namespace, `Local\` or `Global\` (any case), which selects
///   the Windows object namespace and is not part of the [`base`](Self::base)
///   (the file name on Linux);
/// - then a base of 1 to [`MAX_NAME_LEN`] bytes with no `/`, `\`, NUL or
///   `..`, that is not `.`: whatever the name, its file stays in its directory.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ShMemName {
    full: String,
    base_start: usize,
    namespace: Option<Namespace>,
}

impl ShMemName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self> {
        let invalid = |reason| ShMemError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        let (namespace, base_start) = split_namespace(name);
        let base = &name[base_start..];
        if base.is_empty() {
            return Err(invalid("the name is empty"));
        }
        if base.contains('\0') {
            return Err(invalid("it contains a NUL character"));
        }
        if base.contains('/') {
            return Err(invalid("it contains '/'; a name cannot hold a path"));
        }
        if base.contains('\\') {
            return Err(invalid(
                "it contains '\\'; only a leading Local\\ or Global\\ namespace may have one",
            ));
        }
        if base == "." || base.contains("..") {
            return Err(invalid("'.' and '..' name directories, not segments"));
        }
        if base.len() > MAX_NAME_LEN {
            return Err(invalid(if cfg!(target_vendor = "apple") {
                "it is longer than the 30 bytes macOS allows"
            } else {
                "it is longer than this OS allows (255 bytes, 248 on Windows)"
            }));
        }
        Ok(ShMemName {
            full: name.to_owned(),
            base_start,
            namespace,
        })
    }

    /// The name as given, namespace included: what Windows calls the object.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The name without its namespace: the file name on Linux.
    pub fn base(&self) -> &str {
        &self.full[self.base_start..]
    }

    /// The Windows namespace it was given in, if any.
    pub fn namespace(&self) -> Option<Namespace> {
        self.namespace
    }
}

/// A name no live process uses: prefix, pid, a per-process counter and
/// clock noise (so a recycled pid does not meet its predecessor's leftovers).
#[cfg_attr(target_os = "android", allow(dead_code))]
pub(crate) fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn split_namespace(name: &str) -> (Option<Namespace>, usize) {
    for (prefix, ns) in [
        ("local\\", Namespace::Local),
        ("global\\", Namespace::Global),
    ] {
        if name.len() >= prefix.len()
            && name.is_char_boundary(prefix.len())
            && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return (Some(ns), prefix.len());
        }
    }
    (None, 0)
}

impl fmt::Display for ShMemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for ShMemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.full, f)
    }
}

impl FromStr for ShMemName {
    type Err = ShMemError;
    fn from_str(s: &str) -> Result<Self> {
        ShMemName::new(s)
    }
}

impl AsRef<str> for ShMemName {
    fn as_ref(&self) -> &str {
        &self.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_split_off() {
        let n = ShMemName::new("Local\\IRSDKMemMapFileName").unwrap();
        assert_eq!(n.base(), "IRSDKMemMapFileName");
        assert_eq!(n.namespace(), Some(Namespace::Local));
        let g = ShMemName::new("GLOBAL\\$rFactor2SMMP_Telemetry$").unwrap();
        assert_eq!(g.base(), "$rFactor2SMMP_Telemetry$");
        assert_eq!(g.namespace(), Some(Namespace::Global));
        let plain = ShMemName::new("acpmf_physics").unwrap();
        assert_eq!(plain.base(), "acpmf_physics");
        assert_eq!(plain.namespace(), None);
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            "Local\\",
            "a/b",
            "/abs",
            "a\0b",
            "a\\b",
            "Local\\a\\b",
            "x\\Local",
            ".",
            "..",
            "Global\\..",
            "a..b",
            &long,
        ] {
            let err = ShMemName::new(bad).unwrap_err();
            assert!(
                matches!(err, ShMemError::InvalidName { .. }),
                "{bad:?} gave {err}"
            );
        }
        assert!(ShMemName::new(&"x".repeat(MAX_NAME_LEN)).is_ok());
    }
}

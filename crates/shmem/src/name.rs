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
/// Unix: a file name in `/dev/shm` (`NAME_MAX`, 255 bytes). macOS accepts
/// the same names, although its `shm_open` refuses names over 30 bytes
/// (`PSHMNAMLEN` is 31, with the leading slash): longer ones are shortened
/// on the way to the kernel, see [`ShMemName::os_base`]. Windows: object
/// names are kept within `MAX_PATH` with their namespace.
pub const MAX_NAME_LEN: usize = if cfg!(windows) { 248 } else { 255 };

/// Longest POSIX object name (without the leading slash) that macOS's
/// `shm_open` takes.
pub(crate) const APPLE_SHM_NAME_MAX: usize = 30;

/// A validated segment name, such as `acpmf_physics` or `Local\IRSDKMemMapFileName`.
///
/// The same rules hold on every OS, because names travel between worlds:
/// a Windows game under Wine names a mapping, and a Linux program opens the
/// file of the same name. A name is:
/// - an optional namespace, `Local\` or `Global\` (any case), which selects
///   the Windows object namespace and is not part of the [`base`](Self::base)
///   (the file name on Linux);
/// - then a base of 1 to [`MAX_NAME_LEN`] bytes with no `/`, `\`, `..` or
///   control character (NUL, newline...), that is not `.`: whatever the
///   name, its file stays in its directory and prints on one line.
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
        if base.chars().any(char::is_control) {
            return Err(invalid(
                "it contains a control character (a newline, a tab...), which no file name should",
            ));
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
            return Err(invalid(
                "it is longer than this OS allows (255 bytes, 248 on Windows)",
            ));
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

    /// The base as this OS's POSIX shared memory calls it.
    ///
    /// The base itself everywhere but on macOS, whose `shm_open` takes 30
    /// bytes at most. There a longer base becomes its first bytes, a `~`
    /// and 12 characters of a 60-bit hash of the whole base (FNV-1a, fixed
    /// for all versions): every process computes the same short name from
    /// the same long one, and two long names that differ anywhere, even
    /// only past the kept part, get different short names (a collision
    /// needs two names of the same hash, about one chance in 10^18 per
    /// pair).
    pub fn os_base(&self) -> std::borrow::Cow<'_, str> {
        if cfg!(apple) {
            shorten(self.base(), APPLE_SHM_NAME_MAX)
        } else {
            std::borrow::Cow::Borrowed(self.base())
        }
    }
}

/// `name` if it fits in `max` bytes; otherwise its longest prefix that
/// leaves room for `~` and 12 hash characters, then those.
pub(crate) fn shorten(name: &str, max: usize) -> std::borrow::Cow<'_, str> {
    const HASH_CHARS: usize = 12;
    if name.len() <= max {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut keep = max.saturating_sub(HASH_CHARS + 1);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    // FNV-1a, 64 bits: simple, and the same in every process and release.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(max);
    out.push_str(&name[..keep]);
    out.push('~');
    for i in 0..HASH_CHARS {
        out.push(ALPHABET[((hash >> (5 * i)) & 31) as usize] as char);
    }
    std::borrow::Cow::Owned(out)
}

/// A name no live process uses: prefix, pid, a per-process counter and
/// clock noise (so a recycled pid does not meet its predecessor's leftovers).
#[cfg_attr(not(named_unix), allow(dead_code))]
pub(crate) fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // The pid of the first call, not a `getpid` per name: a forked child may
    // reuse its parent's, but not with the same time to the nanosecond, and a
    // name taken anyway fails to create (`O_EXCL`) and the callers try anew.
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // `PREFIX-PID-COUNTER-NANOS` (nanos in hex), written by hand into one
    // allocation: this runs for every segment a provider creates.
    let mut name = String::with_capacity(prefix.len() + 3 * 21);
    name.push_str(prefix);
    for (n, radix) in [
        (u64::from(*PID.get_or_init(std::process::id)), 10),
        (COUNTER.fetch_add(1, Ordering::Relaxed), 10),
        (u64::from(nanos), 16),
    ] {
        name.push('-');
        push_digits(&mut name, n, radix);
    }
    name
}

impl ShMemName {
    /// A fresh [`unique_name`] with this `prefix` (a valid base without a
    /// namespace), valid by construction: no check, no copy.
    #[cfg(named_unix)]
    pub(crate) fn unique(prefix: &str) -> ShMemName {
        let full = unique_name(prefix);
        debug_assert!(ShMemName::new(&full).is_ok_and(|n| n.namespace.is_none()));
        ShMemName {
            full,
            base_start: 0,
            namespace: None,
        }
    }
}

/// Appends `n` in base `radix` (at most 16), lowercase.
fn push_digits(out: &mut String, mut n: u64, radix: u64) {
    let mut digits = [0u8; 64];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
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
            "a\nb",
            "tab\there",
            "bell\u{7}",
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

    #[test]
    fn long_names_are_shortened_uniquely_and_the_same_way_every_time() {
        let short = "acpmf_physics";
        assert_eq!(shorten(short, 30), short);
        let exactly = "x".repeat(30);
        assert_eq!(shorten(&exactly, 30), exactly);

        let a = "$rFactor2SMMP_Telemetry$_and_then_some_more";
        let b = "$rFactor2SMMP_Telemetry$_and_then_some_mord";
        let (sa, sb) = (shorten(a, 30), shorten(b, 30));
        assert_eq!(sa.len(), 30, "{sa}");
        assert!(sa.starts_with("$rFactor2SMMP_Tel~"), "{sa}");
        assert_ne!(sa, sb, "names differing only at the end stay apart");
        assert_eq!(sa, shorten(a, 30), "deterministic");
        // Pinned: other processes and other releases must compute the same.
        assert_eq!(
            shorten("shmem-123456-7890123456-3b9ac9ff", 30),
            "shmem-123456-7890~ph5jsltlkul4"
        );

        // Multi-byte characters are never cut in half.
        let wide = "é".repeat(20);
        let sw = shorten(&wide, 30);
        assert!(sw.len() <= 30, "{sw}");
        assert!(sw.starts_with(&"é".repeat(8)), "{sw}");

        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            let long = format!("a-rather-long-segment-name-number-{i}");
            assert!(seen.insert(shorten(&long, 30).into_owned()), "{long}");
        }
    }

    #[test]
    fn unique_names_are_prefix_pid_counter_nanos_and_valid() {
        let a = unique_name("shmem");
        let b = unique_name("Local\\shmem");
        assert_ne!(a, b);
        for name in [&a, &b] {
            assert!(ShMemName::new(name).is_ok(), "{name}");
        }
        #[cfg(named_unix)]
        {
            let made = ShMemName::unique("shmem");
            assert_eq!(Some(made.clone()), ShMemName::new(made.as_str()).ok());
        }
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.len(), 4, "{a}");
        assert_eq!(parts[0], "shmem");
        assert_eq!(parts[1], std::process::id().to_string());
        let counter: u64 = parts[2].parse().unwrap();
        // Other tests make names too, at the same time: later, not next.
        assert!(
            b.split('-').nth(2).unwrap().parse::<u64>().unwrap() > counter,
            "{b}"
        );
        assert!(u32::from_str_radix(parts[3], 16).unwrap() < 1_000_000_000);
        let mut digits = String::new();
        push_digits(&mut digits, 0, 10);
        push_digits(&mut digits, u64::MAX, 16);
        push_digits(&mut digits, 1234567890, 10);
        assert_eq!(digits, "0ffffffffffffffff1234567890");
    }
}

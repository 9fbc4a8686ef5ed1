//! [`ShMemId`]: what another process needs to reopen a segment, as text.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Result, ShMemError};
use crate::name::ShMemName;

/// Identifies a segment so that another process can map it again.
///
/// Its text form (`Display` / `FromStr`) is how ids travel: on a command
/// line, in an environment variable, in a file.
///
/// | backend | text | who can reopen |
/// |---|---|---|
/// | memfd | `memfd:PID:FD:INODE` | processes of the same user, while the creator lives |
/// | POSIX | `posix:NAME`, or `/NAME` as `shm_open` and LibAFL write it | anyone the file mode lets in, until unlinked |
/// | SysV | `SHMID` (plain number, as AFL tools expect), or `sysv:SHMID` | while any process has it attached |
/// | POSIX, in a directory | `file:/PATH` | anyone the file mode lets in, until unlinked |
/// | Windows | `windows:NAME` | processes of the same session (or `Global\`), while a handle is open |
/// | served | `served:SERVICE:KEY` | processes of the same user connected to that service, while any holds it |
/// | private | `private:N` | nobody: private memory of [`NopShMemProvider`](crate::NopShMemProvider) |
///
/// A plain number is a SysV id; where it could also be a descriptor of
/// this process (LibAFL's memfd provider names segments by descriptor),
/// the SysV provider (`SysvShMemProvider`) refuses it rather than guess.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShMemId {
    /// An anonymous memfd, reopened through `/proc/PID/fd/FD`; the inode
    /// guards against a recycled fd number.
    Memfd {
        /// The creator's pid.
        pid: u32,
        /// The descriptor number in the creator.
        fd: i32,
        /// The memfd's inode, checked on reopen.
        inode: u64,
    },
    /// A POSIX shared memory object (a file in `/dev/shm` on Linux).
    Posix(ShMemName),
    /// A file in a directory of the caller's choice (a tmpfs, usually),
    /// mapped as a POSIX object would be.
    File(PathBuf),
    /// A System V segment id, as returned by `shmget`.
    SysV(i32),
    /// A named Windows file mapping (pagefile- or file-backed).
    Windows(ShMemName),
    /// Private memory of a [`NopShMemProvider`](crate::NopShMemProvider),
    /// which no other process or mapping reaches; its number only tells
    /// segments apart.
    Private(u64),
    /// A segment held by a segment service (`ShMemService`, on Unix),
    /// reopened by asking that service for its descriptor.
    Served {
        /// The service instance that holds it: a random tag chosen when the
        /// service started, so that an id never reaches another service's
        /// segment of the same key.
        service: u64,
        /// The segment's number in that service; never reused.
        key: u64,
    },
}

impl ShMemId {
    /// The backend this id belongs to, as written before the `:`.
    pub fn backend(&self) -> &'static str {
        match self {
            ShMemId::Memfd { .. } => "memfd",
            ShMemId::Posix(_) => "posix",
            ShMemId::File(_) => "file",
            ShMemId::SysV(_) => "sysv",
            ShMemId::Windows(_) => "windows",
            ShMemId::Served { .. } => "served",
            ShMemId::Private(_) => "private",
        }
    }

    /// The id as LibAFL's fixed `ShMemId` holds it: its text, NUL-padded
    /// to 20 bytes (`ShMemId::from_array` on their side). Fails for ids of
    /// 20 bytes of text or more, which LibAFL cannot hold: SysV and short
    /// POSIX ids fit, memfd and served ids usually do not.
    pub fn to_libafl_bytes(&self) -> Result<[u8; LIBAFL_ID_LEN]> {
        let text = self.to_string();
        let mut bytes = [0u8; LIBAFL_ID_LEN];
        if text.len() >= LIBAFL_ID_LEN {
            return Err(ShMemError::InvalidId {
                id: text,
                reason: format!(
                    "LibAFL's ids hold at most {} bytes of text; use a SysV or POSIX \
                     segment with a short name to share it with LibAFL",
                    LIBAFL_ID_LEN - 1
                ),
            });
        }
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(bytes)
    }

    /// Parses LibAFL's fixed `ShMemId` (`as_array()` on their side): its
    /// text up to the first NUL.
    pub fn from_libafl_bytes(bytes: &[u8; LIBAFL_ID_LEN]) -> Result<Self> {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(LIBAFL_ID_LEN);
        let text = std::str::from_utf8(&bytes[..end]).map_err(|_| ShMemError::InvalidId {
            id: String::from_utf8_lossy(&bytes[..end]).into_owned(),
            reason: "a LibAFL id is text; these bytes are not UTF-8".into(),
        })?;
        text.parse()
    }

    #[cfg_attr(no_backend, allow(dead_code))]
    pub(crate) fn wrong_backend(&self, expected: &'static str) -> ShMemError {
        ShMemError::WrongBackend {
            id: self.to_string(),
            expected,
        }
    }
}

impl fmt::Display for ShMemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShMemId::Memfd { pid, fd, inode } => write!(f, "memfd:{pid}:{fd}:{inode}"),
            ShMemId::Posix(name) => write!(f, "posix:{name}"),
            ShMemId::File(path) => write!(f, "file:{}", path.display()),
            ShMemId::SysV(id) => write!(f, "{id}"),
            ShMemId::Windows(name) => write!(f, "windows:{name}"),
            ShMemId::Served { service, key } => write!(f, "served:{service:016x}:{key}"),
            ShMemId::Private(n) => write!(f, "private:{n}"),
        }
    }
}

impl fmt::Debug for ShMemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShMemId({self})")
    }
}

impl FromStr for ShMemId {
    type Err = ShMemError;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| ShMemError::InvalidId {
            id: text.to_owned(),
            reason: reason.to_owned(),
        };
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return parse_shmid(text)
                .map(ShMemId::SysV)
                .ok_or_else(|| invalid("a SysV id must be a number from 0 to 2147483647"));
        }
        if let Some(name) = text.strip_prefix('/') {
            // `shm_open`'s form, which LibAFL's POSIX ids take (`/libafl_PID_N`).
            if name.contains('/') {
                return Err(invalid(
                    "a POSIX id is /NAME, one name; a file in a directory is file:/PATH",
                ));
            }
            return ShMemName::new(name)
                .map(ShMemId::Posix)
                .map_err(|e| invalid(&e.to_string()));
        }
        let (backend, rest) = text.split_once(':').ok_or_else(|| {
            invalid(
                "expected BACKEND:VALUE (memfd:, posix:, file:, sysv:, windows:, served:, private:), \
                 /NAME for a POSIX object, or a SysV number",
            )
        })?;
        match backend {
            "memfd" => {
                let mut parts = rest.split(':');
                let (Some(pid), Some(fd), Some(inode), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(invalid("a memfd id is memfd:PID:FD:INODE"));
                };
                let pid = parse_decimal::<u32>(pid)
                    .filter(|&p| p > 0)
                    .ok_or_else(|| invalid("the pid must be a positive number"))?;
                let fd = parse_decimal::<i32>(fd)
                    .ok_or_else(|| invalid("the fd must be a number from 0 to 2147483647"))?;
                let inode = parse_decimal::<u64>(inode)
                    .ok_or_else(|| invalid("the inode must be a number"))?;
                Ok(ShMemId::Memfd { pid, fd, inode })
            }
            "posix" => ShMemName::new(rest)
                .map(ShMemId::Posix)
                .map_err(|e| invalid(&e.to_string())),
            "file" => {
                if !rest.starts_with('/') || rest.contains('\0') {
                    return Err(invalid("a file id is file:/ABSOLUTE/PATH"));
                }
                Ok(ShMemId::File(PathBuf::from(rest)))
            }
            "windows" => ShMemName::new(rest)
                .map(ShMemId::Windows)
                .map_err(|e| invalid(&e.to_string())),
            "sysv" => parse_shmid(rest)
                .map(ShMemId::SysV)
                .ok_or_else(|| invalid("a SysV id must be a number from 0 to 2147483647")),
            "served" => {
                let Some((service, key)) = rest.split_once(':') else {
                    return Err(invalid("a served id is served:SERVICE:KEY"));
                };
                let service = parse_hex_u64(service)
                    .ok_or_else(|| invalid("the service must be 1 to 16 hexadecimal digits"))?;
                let key =
                    parse_decimal::<u64>(key).ok_or_else(|| invalid("the key must be a number"))?;
                Ok(ShMemId::Served { service, key })
            }
            "private" => parse_decimal::<u64>(rest)
                .map(ShMemId::Private)
                .ok_or_else(|| invalid("a private id is private:NUMBER")),
            _ => Err(invalid(
                "unknown backend; expected memfd:, posix:, file:, sysv:, windows:, served: or private:",
            )),
        }
    }
}

/// Length of LibAFL's fixed id (`[u8; 20]`), NUL padding included.
pub const LIBAFL_ID_LEN: usize = 20;

/// An id in a fixed-size, `Copy` form, for protocols that keep ids in
/// shared memory (as LibAFL's LLMP does): its text, NUL-padded to
/// [`FixedShMemId::LEN`] bytes, with no pointer or length to go stale. It
/// is plain bytes ([`bytemuck::Pod`]): write it with
/// [`ShBytes::write`](crate::ShBytes::write), read it with
/// [`ShBytes::read`](crate::ShBytes::read), and turn it back into an id
/// with [`FixedShMemId::id`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FixedShMemId(#[cfg_attr(feature = "serde", serde(with = "fixed_bytes"))] [u8; 64]);

impl FixedShMemId {
    /// Bytes it takes: ids of up to `LEN - 1` bytes of text fit.
    pub const LEN: usize = 64;

    /// The fixed form of `id`; fails if its text is `LEN` bytes or longer
    /// (long POSIX names and directory paths).
    pub fn new(id: &ShMemId) -> Result<Self> {
        let text = id.to_string();
        if text.len() >= Self::LEN {
            return Err(ShMemError::InvalidId {
                id: text,
                reason: format!(
                    "a fixed-size id holds at most {} bytes of text",
                    Self::LEN - 1
                ),
            });
        }
        let mut bytes = [0u8; 64];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(FixedShMemId(bytes))
    }

    /// The id it holds; an error for bytes that are no id (written by
    /// another program, or torn by a concurrent write).
    pub fn id(&self) -> Result<ShMemId> {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(Self::LEN);
        let text = std::str::from_utf8(&self.0[..end]).map_err(|_| ShMemError::InvalidId {
            id: String::from_utf8_lossy(&self.0[..end]).into_owned(),
            reason: "a fixed-size id holds text; these bytes are not UTF-8".into(),
        })?;
        text.parse()
    }
}

impl fmt::Debug for FixedShMemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(Self::LEN);
        write!(
            f,
            "FixedShMemId({:?})",
            String::from_utf8_lossy(&self.0[..end])
        )
    }
}

impl TryFrom<&ShMemId> for FixedShMemId {
    type Error = ShMemError;
    fn try_from(id: &ShMemId) -> Result<Self> {
        FixedShMemId::new(id)
    }
}

/// Serde for the fixed id's bytes (arrays over 32 elements have no serde impls).
#[cfg(feature = "serde")]
mod fixed_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        bytes.as_slice().serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let v = Vec::<u8>::deserialize(d)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("a fixed-size id is 64 bytes"))
    }
}

/// Ids travel as their text in serde formats too.
#[cfg(feature = "serde")]
impl serde::Serialize for ShMemId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ShMemId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Digits only (no sign, no spaces), within the type's range.
fn parse_decimal<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// 1 to 16 hexadecimal digits, nothing else.
fn parse_hex_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn parse_shmid(s: &str) -> Option<i32> {
    parse_decimal::<i32>(s).filter(|&v| v >= 0)
}

/// An id with the size to map: everything needed to reopen a segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ShMemDescription {
    /// The segment's id.
    pub id: ShMemId,
    /// How many bytes to map.
    pub size: usize,
}

impl ShMemDescription {
    /// The two environment variables that describe this segment to a child:
    /// `NAME` holds the id, `NAME_SIZE` the size. Pass them with
    /// [`std::process::Command::envs`]; that is the sound way, as it changes
    /// no environment of this process.
    pub fn env_vars(&self, env_name: &str) -> [(String, String); 2] {
        [
            (env_name.to_owned(), self.id.to_string()),
            (size_var(env_name), self.size.to_string()),
        ]
    }

    /// Reads the description that [`env_vars`](Self::env_vars) wrote, from
    /// this process's environment.
    pub fn from_env(env_name: &str) -> Result<Self> {
        let id_text = read_env(env_name.to_owned())?;
        let size_text = read_env(size_var(env_name))?;
        Self::from_env_values(env_name, &id_text, &size_text)
    }

    /// Parses the values of `env_name` and `env_name_SIZE` as
    /// [`env_vars`](Self::env_vars) wrote them, from text read elsewhere
    /// (another process's environment, a file); errors name the variable.
    pub fn from_env_values(env_name: &str, id_text: &str, size_text: &str) -> Result<Self> {
        let id = parse_env_id(env_name, id_text)?;
        let size = parse_decimal::<usize>(size_text)
            .filter(|&s| s > 0)
            .ok_or_else(|| ShMemError::Env {
                var: size_var(env_name),
                reason: format!("{size_text:?} is not a positive size in bytes"),
            })?;
        Ok(ShMemDescription { id, size })
    }
}

/// The id in `env_name`, and the size in `env_name_SIZE` if that is set.
pub(crate) fn from_env_maybe_sized(env_name: &str) -> Result<(ShMemId, Option<usize>)> {
    let id_text = read_env(env_name.to_owned())?;
    let size_var = size_var(env_name);
    match std::env::var(&size_var) {
        Err(std::env::VarError::NotPresent) => Ok((parse_env_id(env_name, &id_text)?, None)),
        _ => {
            let size_text = read_env(size_var)?;
            let description = ShMemDescription::from_env_values(env_name, &id_text, &size_text)?;
            Ok((description.id, Some(description.size)))
        }
    }
}

fn read_env(var: String) -> Result<String> {
    std::env::var(&var).map_err(|e| ShMemError::Env {
        reason: match e {
            std::env::VarError::NotPresent => {
                "is not set; the parent should pass the segment with write_to_env or env_vars"
                    .into()
            }
            std::env::VarError::NotUnicode(_) => "is not valid UTF-8".into(),
        },
        var,
    })
}

fn parse_env_id(env_name: &str, id_text: &str) -> Result<ShMemId> {
    id_text.parse().map_err(|e: ShMemError| ShMemError::Env {
        var: env_name.to_owned(),
        reason: e.to_string(),
    })
}

fn size_var(env_name: &str) -> String {
    format!("{env_name}_SIZE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_text() {
        let ids = [
            ShMemId::Memfd {
                pid: 42,
                fd: 7,
                inode: 123_456,
            },
            ShMemId::Posix(ShMemName::new("shmem-1-2").unwrap()),
            ShMemId::SysV(98_311),
            ShMemId::File(PathBuf::from("/dev/shm/acpmf_static")),
            ShMemId::Windows(ShMemName::new("Local\\acpmf_physics").unwrap()),
            ShMemId::Served { service: 0, key: 0 },
            ShMemId::Served {
                service: 0x0123_4567_89ab_cdef,
                key: 42,
            },
            ShMemId::Served {
                service: u64::MAX,
                key: u64::MAX,
            },
            ShMemId::Private(7),
        ];
        for id in ids {
            let text = id.to_string();
            assert_eq!(text.parse::<ShMemId>().unwrap(), id, "{text}");
        }
        assert_eq!("sysv:5".parse::<ShMemId>().unwrap(), ShMemId::SysV(5));
        assert_eq!(
            ShMemId::SysV(5).to_string(),
            "5",
            "AFL tools read a bare number"
        );
    }

    #[test]
    fn served_ids_have_a_fixed_text_form() {
        let id = ShMemId::Served {
            service: 0xabc,
            key: 7,
        };
        assert_eq!(id.to_string(), "served:0000000000000abc:7");
        assert_eq!(id.backend(), "served");
        assert_eq!("served:ABC:7".parse::<ShMemId>().unwrap(), id, "any case");
        assert_eq!("served:abc:7".parse::<ShMemId>().unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_errors() {
        for bad in [
            "",
            "memfd",
            "memfd:1:2",
            "memfd:0:2:3",
            "memfd:1:-2:3",
            "memfd:1:2:3:4",
            "memfd:x:2:3",
            "posix:",
            "posix:a/b",
            "file:relative",
            "windows:a\\b",
            "sysv:-1",
            "99999999999",
            "sysv: 5",
            "nope:1",
            "+5",
            "served",
            "served:",
            "served:1",
            "served:1:",
            "served::1",
            "served:1:2:3",
            "served:g:1",
            "served:12345678901234567:1",
            "served:ff:-1",
            "served:ff:+1",
            "served:ff:18446744073709551616",
            "served:0x1:1",
            "/",
            "/a/b",
            "/..",
            "private:",
            "private:-1",
        ] {
            let err = bad.parse::<ShMemId>().unwrap_err();
            assert!(
                matches!(err, ShMemError::InvalidId { .. }),
                "{bad:?}: {err}"
            );
        }
    }
}

#[cfg(test)]
mod libafl_forms {
    use super::*;

    #[test]
    fn libafl_posix_ids_parse_as_posix_names() {
        let id: ShMemId = "/libafl_1234_5678".parse().unwrap();
        assert_eq!(
            id,
            ShMemId::Posix(ShMemName::new("libafl_1234_5678").unwrap())
        );
    }

    #[test]
    fn ids_fit_libafls_twenty_bytes_or_say_why_not() {
        let bytes = ShMemId::SysV(98_311).to_libafl_bytes().unwrap();
        assert_eq!(&bytes[..6], b"98311\0");
        assert_eq!(
            ShMemId::from_libafl_bytes(&bytes).unwrap(),
            ShMemId::SysV(98_311)
        );
        let long = ShMemId::Memfd {
            pid: 4_000_000,
            fd: 1000,
            inode: 123_456_789,
        };
        let err = long.to_libafl_bytes().unwrap_err();
        assert!(err.to_string().contains("at most 19 bytes"), "{err}");
        let name = ShMemId::Posix(ShMemName::new("libafl_12_34").unwrap());
        let bytes = name.to_libafl_bytes().unwrap();
        assert_eq!(ShMemId::from_libafl_bytes(&bytes).unwrap(), name);
    }

    #[test]
    fn fixed_ids_are_plain_bytes_that_round_trip() {
        let id = ShMemId::Served {
            service: u64::MAX,
            key: 42,
        };
        let fixed = FixedShMemId::new(&id).unwrap();
        let copy = fixed;
        assert_eq!(copy.id().unwrap(), id);
        assert_eq!(bytemuck::bytes_of(&fixed).len(), FixedShMemId::LEN);
        let long = ShMemId::File(PathBuf::from(format!("/{}", "d".repeat(80))));
        assert!(FixedShMemId::new(&long).is_err());
        let garbage: FixedShMemId = bytemuck::cast([0xFFu8; 64]);
        assert!(garbage.id().is_err());
    }
}

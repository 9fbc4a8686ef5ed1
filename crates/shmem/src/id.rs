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
/// | POSIX | `posix:NAME` | anyone the file mode lets in, until unlinked |
/// | SysV | `SHMID` (plain number, as AFL tools expect), or `sysv:SHMID` | while any process has it attached |
/// | POSIX, in a directory | `file:/PATH` | anyone the file mode lets in, until unlinked |
/// | Windows | `windows:NAME` | processes of the same session (or `Global\`), while a handle is open |
/// | served | `served:SERVICE:KEY` | processes of the same user connected to that service, while any holds it |
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
    /// A segment held by a segment service ([`ShMemService`](crate::ShMemService)),
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
        }
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
        let (backend, rest) = text.split_once(':').ok_or_else(|| {
            invalid(
                "expected BACKEND:VALUE (memfd:, posix:, file:, sysv:, windows:, served:) or a SysV number",
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
            _ => Err(invalid(
                "unknown backend; expected memfd:, posix:, file:, sysv:, windows: or served:",
            )),
        }
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
        let read = |var: String| {
            std::env::var(&var).map_err(|e| ShMemError::Env {
                reason: match e {
                    std::env::VarError::NotPresent => {
                        "is not set; the parent should pass the segment with write_to_env or env_vars".into()
                    }
                    std::env::VarError::NotUnicode(_) => "is not valid UTF-8".into(),
                },
                var,
            })
        };
        let id_text = read(env_name.to_owned())?;
        let size_text = read(size_var(env_name))?;
        Self::from_env_values(env_name, &id_text, &size_text)
    }

    /// Parses the values of `env_name` and `env_name_SIZE` as
    /// [`env_vars`](Self::env_vars) wrote them, from text read elsewhere
    /// (another process's environment, a file); errors name the variable.
    pub fn from_env_values(env_name: &str, id_text: &str, size_text: &str) -> Result<Self> {
        let id = id_text.parse().map_err(|e: ShMemError| ShMemError::Env {
            var: env_name.to_owned(),
            reason: e.to_string(),
        })?;
        let size = parse_decimal::<usize>(size_text)
            .filter(|&s| s > 0)
            .ok_or_else(|| ShMemError::Env {
                var: size_var(env_name),
                reason: format!("{size_text:?} is not a positive size in bytes"),
            })?;
        Ok(ShMemDescription { id, size })
    }
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
        ] {
            let err = bad.parse::<ShMemId>().unwrap_err();
            assert!(
                matches!(err, ShMemError::InvalidId { .. }),
                "{bad:?}: {err}"
            );
        }
    }
}

//! Each user's secret: the part of the default service name that other
//! users cannot know, kept in a file of a directory private to the user.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::error::{Result, ShMemError};

/// Hexadecimal digits of the secret: 64 random bits.
const DIGITS: usize = 16;

/// The user's secret, read from `user_dir()/service-key`, which is made
/// (atomically, owner-only) by the first process that needs it; `None`
/// for a user with no home directory it can write.
pub(crate) fn secret() -> Result<Option<String>> {
    let Some(dir) = private_dir()? else {
        return Ok(None);
    };
    let path = dir.join("service-key");
    if let Some(secret) = read(&path)? {
        return Ok(Some(secret));
    }
    // Written whole under a name of our own, then linked into place: a
    // reader never sees half a key, and of two processes making one at
    // once, one wins and both use its key.
    let tmp = dir.join(format!("service-key.{}.tmp", std::process::id()));
    let _ = rustix::fs::unlink(&tmp);
    let made = (|| -> std::io::Result<()> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::open(&tmp, flags, Mode::from_raw_mode(0o600))?;
        std::fs::File::from(fd).write_all(fresh().as_bytes())?;
        match rustix::fs::link(&tmp, &path) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
            Err(e) => Err(e.into()),
        }
    })();
    let _ = rustix::fs::unlink(&tmp);
    made.map_err(|e| key_error(&path, "cannot create", Some(e)))?;
    read(&path)?
        .ok_or_else(|| key_error(&path, "cannot read back", None))
        .map(Some)
}

/// The key at `path`, if there is one; an error if it is not a plain file
/// of this user that only this user can read, or does not hold a key.
fn read(path: &Path) -> Result<Option<String>> {
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(key_error(path, "cannot open", Some(e.into()))),
    };
    let st =
        rustix::fs::fstat(&fd).map_err(|e| key_error(path, "cannot inspect", Some(e.into())))?;
    let plain =
        rustix::fs::FileType::from_raw_mode(st.st_mode as _) == rustix::fs::FileType::RegularFile;
    if !plain || st.st_uid != rustix::process::geteuid().as_raw() || st.st_mode as u32 & 0o077 != 0
    {
        return Err(key_error(
            path,
            "is not a file of this user that only this user can read; remove it",
            None,
        ));
    }
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(64)
        .read_to_string(&mut text)
        .map_err(|e| key_error(path, "cannot read", Some(e)))?;
    let key = text.trim();
    if key.len() != DIGITS || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(key_error(path, "does not hold a key; remove it", None));
    }
    Ok(Some(key.to_ascii_lowercase()))
}

/// 64 bits no other user can predict: SipHash under the standard
/// library's random keys (seeded from the OS), over the time and the pid.
fn fresh() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!("{:016x}", hasher.finish())
}

/// `~/.cache/shmem` of this user, made owner-only if missing: the home
/// directory is the user's entry in the password database (not `$HOME`,
/// which differs between a user's processes under `sudo` and the like).
/// Refused if it is not a directory of this user closed to others.
pub(crate) fn user_dir() -> Result<PathBuf> {
    let home = home_dir()?;
    make_dirs(&home)?;
    checked_dir(home.join(".cache").join("shmem"))
}

/// [`user_dir`], or `None` where the user has no home directory it can
/// write; an error if the directory exists and is not private.
fn private_dir() -> Result<Option<PathBuf>> {
    let Ok(home) = home_dir() else {
        return Ok(None);
    };
    if make_dirs(&home).is_err() {
        return Ok(None);
    }
    checked_dir(home.join(".cache").join("shmem")).map(Some)
}

/// Makes `home/.cache/shmem`, owner-only, where missing.
fn make_dirs(home: &Path) -> Result<()> {
    let dir = home.join(".cache").join("shmem");
    for d in [home.join(".cache"), dir] {
        match rustix::fs::mkdir(&d, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(key_error(&d, "cannot create", Some(e.into()))),
        }
    }
    Ok(())
}

/// `dir`, if it is a directory of this user closed to others.
fn checked_dir(dir: PathBuf) -> Result<PathBuf> {
    let st =
        rustix::fs::lstat(&dir).map_err(|e| key_error(&dir, "cannot inspect", Some(e.into())))?;
    let is_dir =
        rustix::fs::FileType::from_raw_mode(st.st_mode as _) == rustix::fs::FileType::Directory;
    if !is_dir || st.st_uid != rustix::process::geteuid().as_raw() || st.st_mode as u32 & 0o077 != 0
    {
        return Err(key_error(
            &dir,
            "is not a directory of this user closed to others",
            None,
        ));
    }
    Ok(dir)
}

/// This user's home directory, from the password database.
fn home_dir() -> Result<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let uid = rustix::process::geteuid().as_raw();
    let mut buf = vec![0u8; 4096];
    // SAFETY: zeroes are a valid `passwd` (null pointers, zero ids).
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r fills `pw` with pointers into `buf`, which outlives
    // their use below, and sets `found` to `&pw` or null.
    let rc =
        unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() || pw.pw_dir.is_null() {
        return Err(ShMemError::Service {
            service: format!("shmem-service-{uid}"),
            reason: format!(
                "user {uid} has no entry with a home directory in the password database, \
                 where this user's service key lives; name a service with SHMEM_SERVICE"
            ),
            source: (rc != 0).then(|| std::io::Error::from_raw_os_error(rc)),
        });
    }
    // SAFETY: `pw_dir` points to a NUL-terminated string inside `buf`.
    let dir = unsafe { CStr::from_ptr(pw.pw_dir) };
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())))
}

fn key_error(path: &Path, what: &str, source: Option<std::io::Error>) -> ShMemError {
    ShMemError::Service {
        service: "(this user's default)".into(),
        reason: format!("{} {what}", path.display()),
        source,
    }
}

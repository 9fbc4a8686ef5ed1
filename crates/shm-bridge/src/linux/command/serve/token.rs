//! The token a client off this machine must show: made once from the
//! kernel's random numbers and kept in the user's config directory, readable
//! by the user alone, so that the URL a phone bookmarked keeps working.
//! Removing the file makes a new one at the next start (and locks out
//! everyone who had the old).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::linux::{untrusted, xdg};

/// The file's name in `$XDG_CONFIG_HOME/shm-bridge`.
pub const FILE: &str = "serve-token";
/// Random bytes in a token made here (128 bits), written as hex.
const BYTES: usize = 16;
/// The shortest token accepted from the file (a user may write their own).
const SHORTEST: usize = 16;

/// A secret a request must carry.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// The token as it goes in a URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `given` is the token, in a time that does not depend on
    /// where they differ.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        let differ = a
            .iter()
            .zip(b)
            .fold(a.len() ^ b.len(), |acc, (x, y)| acc | usize::from(x ^ y));
        std::hint::black_box(differ) == 0
    }
}

/// The token kept for the user, made now if there is none; with the file.
pub fn kept() -> Result<(Token, PathBuf)> {
    let dir = xdg::config()
        .context("no config directory to keep the token in: set HOME (or XDG_CONFIG_HOME)")?;
    let path = dir.join(FILE);
    Ok((load_or_make(&dir, &path)?, path))
}

/// The token in `path`, or a new one written there (`dir` made if need be).
fn load_or_make(dir: &Path, path: &Path) -> Result<Token> {
    match open_existing(path) {
        Ok(file) => return read(file, path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot make {}", dir.display()))?;
    let token = Token(new_secret()?);
    let made = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    match made {
        Ok(mut file) => {
            file.write_all(format!("{}\n", token.0).as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            note!(
                "shm-bridge: made a token for serving beyond this machine, kept in {} \
                 (remove the file for a new one)",
                path.display()
            );
            Ok(token)
        }
        // Another serve made it first: theirs is the one.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read(
            open_existing(path).with_context(|| format!("cannot read {}", path.display()))?,
            path,
        ),
        Err(e) => Err(e).with_context(|| format!("cannot make {}", path.display())),
    }
}

/// Opens the file without following a link.
fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// The token in an opened file: the user's own regular file, which no one
/// else may read or write.
fn read(mut file: File, path: &Path) -> Result<Token> {
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{} is not a regular file; remove it for a new token",
            path.display()
        );
    }
    if meta.uid() != untrusted::me() {
        bail!(
            "{} belongs to uid {}, not to you; remove it for a new token",
            path.display(),
            meta.uid()
        );
    }
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} may be read or written by others (mode {:o}): the token in it is no secret. \
             Remove it for a new token, or `chmod 600` it to keep this one",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
    let mut text = String::new();
    Read::by_ref(&mut file)
        .take(1024)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {} (the token is text)", path.display()))?;
    let token = text.trim();
    if token.len() < SHORTEST
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!(
            "{} does not hold a token (at least {SHORTEST} letters, digits, - or _); remove it \
             for a new one",
            path.display()
        );
    }
    Ok(Token(token.to_owned()))
}

/// 128 random bits from the kernel, as hex.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; BYTES];
    let mut filled = 0;
    while filled < BYTES {
        filled +=
            rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty())
                .context("the kernel gave no random numbers for the token")?;
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_made_once_private_and_kept() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("shm-bridge");
        let path = dir.join(FILE);
        let first = load_or_make(&dir, &path).unwrap();
        assert_eq!(first.as_str().len(), 32);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let again = load_or_make(&dir, &path).unwrap();
        assert_eq!(first.as_str(), again.as_str());
        assert!(first.matches(again.as_str()));
        assert!(!first.matches(&again.as_str()[1..]));
        assert!(!first.matches(""));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_make(&dir, &path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");

        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &path).unwrap();
        assert!(load_or_make(&dir, &path).is_err());
        std::fs::remove_file(&path).unwrap();

        std::fs::write(&path, "short\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = load_or_make(&dir, &path).unwrap_err().to_string();
        assert!(err.contains("does not hold a token"), "{err}");
        std::fs::write(&path, "my-own-token-of-the-users_1\n").unwrap();
        assert_eq!(
            load_or_make(&dir, &path).unwrap().as_str(),
            "my-own-token-of-the-users_1"
        );
        let other = load_or_make(&dir, &dir.join("other")).unwrap();
        assert_ne!(other.as_str(), first.as_str());
    }
}

//! [`ServiceName`]: where a service listens, and each user's default one.

use std::fmt;

use crate::error::{Result, ShMemError};

pub(crate) mod key;

pub(crate) use key::user_dir;

/// The environment variable that names the service
/// [`ShMemProvider::new`](crate::ShMemProvider::new) uses; unset, each user
/// has one default service.
pub const SERVICE_ENV: &str = "SHMEM_SERVICE";

/// The name of a service: its socket.
///
/// Either a plain name of 1 to 64 letters, digits, `.`, `_` or `-` (not
/// starting with `.`), which lives at this OS's usual place (see the
/// module docs), or an absolute path of a socket file.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServiceName(String);

impl ServiceName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self> {
        let invalid = |reason| ShMemError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.starts_with('/') {
            if name.contains('\0') {
                return Err(invalid("it contains a NUL character"));
            }
            if name.split('/').any(|part| part == "..") {
                return Err(invalid("a service path may not contain '..'"));
            }
            return Ok(ServiceName(name.to_owned()));
        }
        if name.is_empty() || name.len() > 64 {
            return Err(invalid("a service name has 1 to 64 characters"));
        }
        if name.starts_with('.') {
            return Err(invalid("a service name may not start with '.'"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(invalid(
                "a service name has only letters, digits, '.', '_' and '-' (or is an absolute path)",
            ));
        }
        Ok(ServiceName(name.to_owned()))
    }

    /// This user's default service, `shmem-service-UID-SECRET`.
    ///
    /// The secret is 16 random hexadecimal digits kept in a file only this
    /// user can read (`~/.cache/shmem/service-key`, the home directory
    /// being the user's entry in the password database; made on first use): a
    /// name other users cannot know, so none of them can take it first
    /// (the socket of a Linux service is an abstract name, which any user
    /// may bind) and leave this user's programs without a service.
    ///
    /// A user with no home directory it can write (some service accounts,
    /// Android apps) has no place for the key: its default is then the
    /// guessable `shmem-service-UID`; set [`SERVICE_ENV`] to a name of
    /// your own (or a socket path in a private directory) there.
    pub fn for_user() -> Result<Self> {
        let uid = rustix::process::geteuid().as_raw();
        Ok(ServiceName(match key::secret()? {
            Some(secret) => format!("shmem-service-{uid}-{secret}"),
            None => format!("shmem-service-{uid}"),
        }))
    }

    /// The service named by [`SERVICE_ENV`], else [`ServiceName::for_user`].
    pub fn from_env() -> Result<Self> {
        match std::env::var(SERVICE_ENV) {
            Ok(name) => Self::new(&name).map_err(|e| ShMemError::Env {
                var: SERVICE_ENV.to_owned(),
                reason: e.to_string(),
            }),
            Err(std::env::VarError::NotPresent) => Self::for_user(),
            Err(std::env::VarError::NotUnicode(_)) => Err(ShMemError::Env {
                var: SERVICE_ENV.to_owned(),
                reason: "is not valid UTF-8".into(),
            }),
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The socket file of this service, where it is a file.
    pub fn socket_path(&self) -> Result<Option<std::path::PathBuf>> {
        Ok(match super::socket::Address::of(self)? {
            super::socket::Address::Path(path) => Some(path),
            super::socket::Address::Abstract(_) => None,
        })
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if cfg!(linux_like) && !self.0.starts_with('/') {
            write!(f, "@{}", self.0)
        } else {
            f.write_str(&self.0)
        }
    }
}

impl fmt::Debug for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceName({self})")
    }
}

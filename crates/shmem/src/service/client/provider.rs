//! The served provider, [`ServedShMemProvider`], and its segments.

use std::os::fd::AsFd;
use std::sync::Arc;

#[cfg(doc)]
use super::super::ShMemService;
use super::super::wire::Request;
use super::super::{ServiceName, ServiceStats};
use super::connection::{Connection, Link};
use super::shared::SharedConnection;
use crate::error::{Result, ShMemError, check_size};
use crate::id::ShMemId;
use crate::unix::{Mapping, base_page, fork};
use crate::{ReadOnlyShMem, ShMem, ShMemProvider};

/// Maps a served object: anonymous memory of base pages, mapped plainly
/// (readable only, if asked).
pub(super) fn map_served(
    fd: impl AsFd,
    size: usize,
    id: &ShMemId,
    read_only: bool,
) -> Result<Mapping> {
    let options = if read_only {
        crate::MapOptions::new().read_only()
    } else {
        crate::MapOptions::new()
    };
    Mapping::map_fd(fd, size, base_page(), &options, id)
}

/// Creates segments in a [`ShMemService`] and reopens them by id through it.
///
/// The service creates each segment (a memfd on Linux, ashmem on Android,
/// an anonymous POSIX object elsewhere) and passes its descriptor over a
/// Unix socket; this provider maps it. A create is one round trip; a
/// release is one message the service does not answer. When the service
/// runs in this very process, the provider skips the socket and updates
/// the service's books directly: then a create costs what the system calls
/// for the segment cost. Clones share one connection, and each segment
/// holds it too: the connection, and with it the references, lives while
/// any of them does.
///
/// [`ShMemProvider::new`] connects to the service named by the
/// `SHMEM_SERVICE` environment variable, or this user's default one, and
/// starts it in a thread of this process if none runs.
#[derive(Clone, Debug)]
pub struct ServedShMemProvider {
    conn: Arc<SharedConnection>,
    name: ServiceName,
}

impl ServedShMemProvider {
    /// Connects to the service `name`; fails if none runs there.
    pub fn connect(name: &ServiceName) -> Result<Self> {
        Ok(ServedShMemProvider {
            conn: Arc::new(SharedConnection::new(Connection::open(name, false)?)),
            name: name.clone(),
        })
    }

    /// Connects to the service `name`, starting it in a thread of this
    /// process if none runs (it then lives as long as this process).
    pub fn connect_or_start(name: &ServiceName) -> Result<Self> {
        Ok(ServedShMemProvider {
            conn: Arc::new(SharedConnection::new(Connection::open(name, true)?)),
            name: name.clone(),
        })
    }

    /// The name of the service this provider talks to.
    pub fn service_name(&self) -> ServiceName {
        self.name.clone()
    }

    /// Whether this provider reaches its service directly, the service
    /// running in this process, rather than through its socket.
    pub fn is_local(&self) -> bool {
        self.conn
            .lock()
            .is_ok_and(|conn| matches!(conn.link, Link::Local(_)))
    }

    /// Opens `size` bytes of the segment `id` names through the service.
    fn open(&mut self, id: ShMemId, size: usize, read_only: bool) -> Result<ServedShMem> {
        let ShMemId::Served { service, key } = id else {
            return Err(id.wrong_backend("served"));
        };
        let size = check_size(size)?;
        let mut conn = self.conn.lock()?;
        conn.ready()?;
        if service != conn.service {
            return Err(ShMemError::NotFound {
                segment: format!(
                    "{id} (service {} is another instance, {:016x}: the one that held it has ended)",
                    conn.name, conn.service
                ),
            });
        }
        let request = Request::Open {
            key,
            size: size as u64,
        };
        conn.segment(&self.conn, request, size, read_only)
    }

    /// The service's counters, as it reports them now.
    pub fn service_stats(&mut self) -> Result<ServiceStats> {
        self.conn.lock()?.stats()
    }
}

/// As LibAFL's: a provider from [`ShMemProvider::new`].
///
/// # Panics
/// If no service can be reached or started; call `new` to handle that.
impl Default for ServedShMemProvider {
    fn default() -> Self {
        Self::new().unwrap_or_else(|e| panic!("ServedShMemProvider::default: {e}"))
    }
}

impl ShMemProvider for ServedShMemProvider {
    type ShMem = ServedShMem;

    fn new() -> Result<Self> {
        Self::connect_or_start(&ServiceName::from_env()?)
    }

    fn new_shmem(&mut self, size: usize) -> Result<ServedShMem> {
        let size = check_size(size)?;
        let mut conn = self.conn.lock()?;
        conn.ready()?;
        let request = Request::Create { size: size as u64 };
        conn.segment(&self.conn, request, size, false)
    }

    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<ServedShMem>> {
        self.open(id, size, true).map(ReadOnlyShMem::new)
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<ServedShMem> {
        self.open(id, size, false)
    }

    /// Asks the service to set this process's references aside for the
    /// child about to be forked. Call it right before `fork`.
    fn pre_fork(&mut self) -> Result<()> {
        self.conn.lock()?.pre_fork()
    }

    /// In the child: connects anew and takes over the references set aside
    /// by [`pre_fork`](ShMemProvider::pre_fork). A child that skips this
    /// does it on its first use of the provider or a segment, but without
    /// `pre_fork` in the parent it can only re-register the segments the
    /// service still has.
    fn post_fork(&mut self, is_child: bool) -> Result<()> {
        let mut conn = self.conn.lock()?;
        if is_child {
            if conn.generation != fork::generation() {
                conn.after_fork_in_child()?;
            }
        } else {
            conn.fork_token = None;
        }
        Ok(())
    }
}

/// A segment a [`ShMemService`] holds, mapped in this process.
///
/// Dropping it unmaps it and gives its reference back to the service, in
/// one message that needs no answer; the service frees the segment when
/// no reference is left anywhere.
#[derive(Debug)]
pub struct ServedShMem {
    map: Mapping,
    id: ShMemId,
    key: u64,
    service: u64,
    conn: Arc<SharedConnection>,
}

impl ServedShMem {
    pub(super) fn new(
        map: Mapping,
        id: ShMemId,
        key: u64,
        service: u64,
        conn: &Arc<SharedConnection>,
    ) -> Self {
        ServedShMem {
            map,
            id,
            key,
            service,
            conn: Arc::clone(conn),
        }
    }
}

crate::segment_impls!(ServedShMem);

impl ShMem for ServedShMem {
    fn id(&self) -> ShMemId {
        self.id.clone()
    }
}

impl Drop for ServedShMem {
    fn drop(&mut self) {
        // A child whose parent's thread held the lock at fork cannot give
        // the reference back; the service takes it when the parent's
        // connection closes.
        if let Ok(mut conn) = self.conn.lock() {
            conn.release(self.service, self.key);
        }
    }
}

//! What a service holds and who refers to it: the bookkeeping, apart from
//! any socket, shared by the event loop and by clients in the same process.
//!
//! Each segment counts its references, and each client the references it
//! holds per segment. A client's references go when it releases them or
//! goes away; a segment whose count reaches zero is freed (its descriptor
//! closed; the kernel frees the memory once the last mapping is gone).
//! References a parent set aside for a child about to be forked wait under
//! a token until the child adopts them.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::wire::{MAX_ADOPTED, Refusal};
use super::{ServiceName, ServiceStats};
use crate::error::ShMemError;

/// Most fork snapshots one client may leave unclaimed; older ones go.
const MAX_SNAPSHOTS_PER_CLIENT: usize = 64;
/// Most unclaimed fork snapshots in all; older ones go.
const MAX_SNAPSHOTS: usize = 4096;

struct Segment {
    fd: OwnedFd,
    size: u64,
    refs: u64,
}

struct Snapshot {
    owner: u64,
    refs: HashMap<u64, u32>,
}

/// The state of one service.
pub(crate) struct Core {
    pub(crate) tag: u64,
    pub(crate) pid: u32,
    /// Set when the service ends: nothing more is created or opened.
    stopped: bool,
    segments: HashMap<u64, Segment>,
    clients: HashMap<u64, HashMap<u64, u32>>,
    snapshots: HashMap<u64, Snapshot>,
    next_key: u64,
    next_client: u64,
    next_token: u64,
    bytes: u64,
    /// An object made ahead of time for the next create of its size, off the
    /// path a waiting client sees.
    spare: Option<(usize, OwnedFd)>,
    /// Descriptors of freed segments, closed when nobody waits on the service
    /// (closing frees the pages: not work for a client to wait through).
    graveyard: Vec<OwnedFd>,
    pub(crate) refused: u64,
    pub(crate) dropped: u64,
}

impl Core {
    pub(crate) fn new(tag: u64) -> Core {
        Core {
            tag,
            pid: std::process::id(),
            stopped: false,
            segments: HashMap::new(),
            clients: HashMap::new(),
            snapshots: HashMap::new(),
            next_key: 1,
            next_client: 1,
            next_token: 1,
            bytes: 0,
            spare: None,
            graveyard: Vec::new(),
            refused: 0,
            dropped: 0,
        }
    }

    pub(crate) fn stats(&self) -> ServiceStats {
        ServiceStats {
            clients: self.clients.len() as u64,
            segments: self.segments.len() as u64,
            bytes: self.bytes,
            refused: self.refused,
            dropped: self.dropped,
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Ends the service: every segment is let go, nothing new is made.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
        self.segments.clear();
        self.snapshots.clear();
        self.clients.clear();
        self.bytes = 0;
        self.spare = None;
        self.graveyard.clear();
    }

    /// Descriptors of freed segments, for the caller to close (outside the lock).
    pub(crate) fn take_graveyard(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.graveyard)
    }

    /// How many freed segments wait to be closed.
    pub(crate) fn graveyard_len(&self) -> usize {
        self.graveyard.len()
    }

    /// A new client, holding nothing.
    pub(crate) fn add_client(&mut self) -> u64 {
        let id = self.next_client;
        self.next_client += 1;
        self.clients.insert(id, HashMap::new());
        id
    }

    /// A client is gone: its references go, and so do the snapshots it
    /// left unclaimed if `with_snapshots`.
    pub(crate) fn remove_client(&mut self, client: u64, with_snapshots: bool) {
        if let Some(held) = self.clients.remove(&client) {
            for (key, count) in held {
                self.drop_refs(key, u64::from(count));
            }
        }
        if with_snapshots {
            let orphaned: Vec<u64> = self
                .snapshots
                .iter()
                .filter(|(_, s)| s.owner == client)
                .map(|(&t, _)| t)
                .collect();
            for token in orphaned {
                self.drop_snapshot(token);
            }
        }
    }

    /// The descriptor of segment `key`, while it exists.
    pub(crate) fn fd(&self, key: u64) -> Option<BorrowedFd<'_>> {
        self.segments.get(&key).map(|s| s.fd.as_fd())
    }

    /// A new segment of `size` bytes, with one reference for `client`.
    pub(crate) fn create(&mut self, client: u64, size: u64) -> Result<u64, Refusal> {
        if self.stopped {
            return Err(Refusal::NotFound);
        }
        let len = usize::try_from(size)
            .ok()
            .and_then(|s| crate::error::check_size(s).ok())
            .ok_or(Refusal::BadSize)?;
        let spare = self.spare.take_if(|(spare_len, _)| *spare_len == len);
        let made = match spare {
            Some((_, fd)) => Ok(fd),
            None => crate::unix::anon::create(len),
        };
        let fd = made.map_err(|e| match e {
            ShMemError::Os { source, .. } => Refusal::Os {
                errno: source.raw_os_error().unwrap_or(libc::ENOMEM),
            },
            _ => Refusal::Os {
                errno: libc::ENOMEM,
            },
        })?;
        let held = self.clients.get_mut(&client).ok_or(Refusal::NotFound)?;
        let key = self.next_key;
        self.next_key += 1;
        held.insert(key, 1);
        self.segments.insert(key, Segment { fd, size, refs: 1 });
        self.bytes += size;
        Ok(key)
    }

    /// Makes the object the next create of `size` bytes will hand out, unless
    /// one of that size is ready (best effort: a failure shows at that create).
    pub(crate) fn prepare(&mut self, size: u64) {
        let Ok(len) = usize::try_from(size) else {
            return;
        };
        if self.stopped || self.spare.as_ref().is_some_and(|(l, _)| *l == len) {
            return;
        }
        self.spare = crate::unix::anon::create(len).ok().map(|fd| (len, fd));
    }

    /// One more reference to `key` for `client`, to map `size` bytes of it;
    /// returns the segment's size.
    pub(crate) fn open(&mut self, client: u64, key: u64, size: u64) -> Result<u64, Refusal> {
        let segment = self.segments.get(&key).ok_or(Refusal::NotFound)?;
        if size == 0 {
            return Err(Refusal::BadSize);
        }
        if size > segment.size {
            return Err(Refusal::TooSmall {
                actual: segment.size,
            });
        }
        let actual = segment.size;
        self.retain(client, key, 1)?;
        Ok(actual)
    }

    /// `count` more references to `key` for `client`.
    pub(crate) fn retain(&mut self, client: u64, key: u64, count: u32) -> Result<(), Refusal> {
        let segment = self.segments.get_mut(&key).ok_or(Refusal::NotFound)?;
        let held = self.clients.get_mut(&client).ok_or(Refusal::NotFound)?;
        let entry = held.entry(key).or_insert(0);
        let Some(new) = entry.checked_add(count) else {
            if *entry == 0 {
                held.remove(&key);
            }
            return Err(Refusal::Limit);
        };
        *entry = new;
        segment.refs += u64::from(count);
        Ok(())
    }

    /// Gives back up to `count` of the references `client` holds to `key`.
    pub(crate) fn release(&mut self, client: u64, key: u64, count: u32) {
        let Some(held) = self.clients.get_mut(&client) else {
            return;
        };
        let gone = match held.get_mut(&key) {
            Some(n) if *n > count => {
                *n -= count;
                count
            }
            Some(n) => {
                let n = *n;
                held.remove(&key);
                n
            }
            None => return,
        };
        self.drop_refs(key, u64::from(gone));
    }

    fn drop_refs(&mut self, key: u64, count: u64) {
        if let Some(segment) = self.segments.get_mut(&key) {
            segment.refs = segment.refs.saturating_sub(count);
            if segment.refs == 0
                && let Some(freed) = self.segments.remove(&key)
            {
                self.bytes -= freed.size;
                self.graveyard.push(freed.fd);
            }
        }
    }

    /// Sets a copy of `client`'s references aside for a child; the token.
    pub(crate) fn pre_fork(&mut self, client: u64) -> Result<u64, Refusal> {
        let held = self.clients.get(&client).ok_or(Refusal::NotFound)?;
        if held.len() > MAX_ADOPTED {
            return Err(Refusal::Limit);
        }
        let refs = held.clone();
        for (&key, &count) in &refs {
            if let Some(segment) = self.segments.get_mut(&key) {
                segment.refs += u64::from(count);
            }
        }
        let token = self.next_token;
        self.next_token += 1;
        self.snapshots.insert(
            token,
            Snapshot {
                owner: client,
                refs,
            },
        );
        // Parents whose children die before adopting must not pile these up.
        let mut own: Vec<u64> = self
            .snapshots
            .iter()
            .filter(|(_, s)| s.owner == client)
            .map(|(&t, _)| t)
            .collect();
        if own.len() > MAX_SNAPSHOTS_PER_CLIENT {
            own.sort_unstable();
            for old in own.into_iter().rev().skip(MAX_SNAPSHOTS_PER_CLIENT) {
                self.drop_snapshot(old);
            }
        }
        if self.snapshots.len() > MAX_SNAPSHOTS {
            let mut all: Vec<u64> = self.snapshots.keys().copied().collect();
            all.sort_unstable();
            for old in all.into_iter().rev().skip(MAX_SNAPSHOTS) {
                self.drop_snapshot(old);
            }
        }
        Ok(token)
    }

    /// Moves the references set aside under `token` to `client`; what it got.
    pub(crate) fn adopt(&mut self, client: u64, token: u64) -> Result<Vec<(u64, u32)>, Refusal> {
        if !self.clients.contains_key(&client) {
            return Err(Refusal::NotFound);
        }
        let snapshot = self.snapshots.remove(&token).ok_or(Refusal::NotFound)?;
        let held = self.clients.get_mut(&client).ok_or(Refusal::NotFound)?;
        let mut adopted = Vec::with_capacity(snapshot.refs.len());
        let mut overflow = Vec::new();
        for (key, count) in snapshot.refs {
            if !self.segments.contains_key(&key) {
                continue;
            }
            let entry = held.entry(key).or_insert(0);
            match entry.checked_add(count) {
                Some(n) => {
                    *entry = n;
                    adopted.push((key, count));
                }
                None => overflow.push((key, count)),
            }
        }
        for (key, count) in overflow {
            self.drop_refs(key, u64::from(count));
        }
        adopted.sort_unstable();
        Ok(adopted)
    }

    fn drop_snapshot(&mut self, token: u64) {
        if let Some(snapshot) = self.snapshots.remove(&token) {
            for (key, count) in snapshot.refs {
                self.drop_refs(key, u64::from(count));
            }
        }
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("tag", &format_args!("{:016x}", self.tag))
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock(core: &Mutex<Core>) -> std::sync::MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A service running in this process, for its clients here to reach
/// without a socket.
struct LocalService {
    name: ServiceName,
    /// The process it runs in: in a forked child, the entry is the parent's.
    pid: u32,
    core: Weak<Mutex<Core>>,
}

static LOCAL: Mutex<Vec<LocalService>> = Mutex::new(Vec::new());

/// Makes `core` reachable in this process under `name`.
pub(crate) fn register_local(name: &ServiceName, core: &Arc<Mutex<Core>>) {
    let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    local.retain(|s| s.core.strong_count() > 0);
    local.push(LocalService {
        name: name.clone(),
        pid: std::process::id(),
        core: Arc::downgrade(core),
    });
}

/// The service `name`, if it runs in this very process.
pub(crate) fn local(name: &ServiceName) -> Option<Arc<Mutex<Core>>> {
    let local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    local
        .iter()
        .rev()
        .filter(|s| s.name == *name && s.pid == pid)
        .find_map(|s| s.core.upgrade())
        .filter(|core| !lock(core).is_stopped())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_count_per_client_and_free_at_zero() {
        let mut core = Core::new(1);
        let (a, b) = (core.add_client(), core.add_client());
        let key = core.create(a, 4096).unwrap();
        assert_eq!(core.open(b, key, 4096), Ok(4096));
        assert_eq!(
            core.open(b, key, 4097),
            Err(Refusal::TooSmall { actual: 4096 })
        );
        assert_eq!(core.open(b, key, 0), Err(Refusal::BadSize));
        assert_eq!(core.create(a, 0), Err(Refusal::BadSize));
        core.release(a, key, 5); // more than it holds: only its own go
        assert!(core.fd(key).is_some(), "b still holds it");
        core.release(a, key, 1);
        assert!(core.fd(key).is_some(), "a held none any more");
        core.retain(b, key, 2).unwrap();
        core.remove_client(b, true);
        assert!(core.fd(key).is_none(), "freed with its last holder");
        assert_eq!(core.stats().bytes, 0);
        assert_eq!(core.open(a, key, 1), Err(Refusal::NotFound));
        assert_eq!(core.retain(a, key, 1), Err(Refusal::NotFound));
    }

    #[test]
    fn snapshots_keep_segments_for_the_child_and_go_with_their_owner() {
        let mut core = Core::new(1);
        let parent = core.add_client();
        let key = core.create(parent, 100).unwrap();
        let token = core.pre_fork(parent).unwrap();
        core.release(parent, key, 1);
        assert!(core.fd(key).is_some(), "the snapshot holds it");
        let child = core.add_client();
        assert_eq!(core.adopt(child, token), Ok(vec![(key, 1)]));
        assert_eq!(core.adopt(child, token), Err(Refusal::NotFound), "once");
        core.remove_client(parent, true);
        assert!(core.fd(key).is_some(), "the child holds it");
        core.remove_client(child, true);
        assert!(core.fd(key).is_none());

        // Unclaimed snapshots die with their owner, or when too many pile up.
        let parent = core.add_client();
        let key = core.create(parent, 100).unwrap();
        for _ in 0..MAX_SNAPSHOTS_PER_CLIENT + 10 {
            core.pre_fork(parent).unwrap();
        }
        assert_eq!(core.snapshots.len(), MAX_SNAPSHOTS_PER_CLIENT);
        assert_eq!(
            core.segments[&key].refs,
            1 + MAX_SNAPSHOTS_PER_CLIENT as u64
        );
        core.remove_client(parent, true);
        assert!(core.fd(key).is_none());
        assert!(core.snapshots.is_empty());
    }

    #[test]
    fn counters_do_not_overflow() {
        let mut core = Core::new(1);
        let a = core.add_client();
        let key = core.create(a, 100).unwrap();
        assert_eq!(core.retain(a, key, u32::MAX), Err(Refusal::Limit));
        core.retain(a, key, u32::MAX - 1).unwrap();
        assert_eq!(core.retain(a, key, 1), Err(Refusal::Limit));
        core.release(a, key, u32::MAX);
        assert!(core.fd(key).is_none());
    }

    #[test]
    fn a_stopped_service_lets_everything_go() {
        let mut core = Core::new(1);
        let a = core.add_client();
        let key = core.create(a, 100).unwrap();
        core.stop();
        assert!(core.fd(key).is_none());
        assert_eq!(core.create(a, 100), Err(Refusal::NotFound));
    }
}

//! [`RcShMemProvider`]: one provider shared by all its clones and by every
//! segment it made, with the fork protocol carried through.

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use crate::error::{Result, ShMemError};
use crate::id::ShMemId;
use crate::{ReadOnlyShMem, ShBytes, ShMem, ShMemProvider};

/// A reference-counted wrapper around a provider.
///
/// Every clone of it, and every segment it hands out, shares one inner
/// provider: a segment keeps that provider alive (for a
/// [`ServedShMemProvider`](crate::ServedShMemProvider), its connection to the
/// service, hence its references there) for as long as the segment exists,
/// even after every provider handle is gone; and
/// [`release_shmem`](ShMemProvider::release_shmem) reaches the provider
/// that made the segment, exactly once, when the segment drops.
///
/// It also carries the fork protocol to that one inner provider: call
/// [`pre_fork`](ShMemProvider::pre_fork) right before `fork`, and
/// [`post_fork`](ShMemProvider::post_fork) right after, in both processes
/// (`true` in the child). With a served provider the child can then use
/// every segment of the parent, create new ones through the service, and
/// lose none of them if the parent exits first: the service holds the
/// parent's references aside for the child until it adopts them, and the
/// parent never waits for the child (see the [service docs](crate::service)).
///
/// Fork from a thread while no other thread is inside the provider: the
/// child gets one thread, and a lock held by another would stay held.
pub struct RcShMemProvider<SP> {
    inner: Arc<Mutex<SP>>,
}

impl<SP> Clone for RcShMemProvider<SP> {
    fn clone(&self) -> Self {
        RcShMemProvider {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<SP: fmt::Debug> fmt::Debug for RcShMemProvider<SP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcShMemProvider")
            .field("inner", &self.inner)
            .field("handles", &Arc::strong_count(&self.inner))
            .finish()
    }
}

/// As LibAFL's: a provider from [`ShMemProvider::new`].
///
/// # Panics
/// If that fails (for a served provider: no service can be reached or
/// started). Call `new` to handle the error instead.
impl<SP: ShMemProvider + Send> Default for RcShMemProvider<SP> {
    fn default() -> Self {
        Self::new().unwrap_or_else(|e| panic!("RcShMemProvider::default: {e}"))
    }
}

impl<SP> RcShMemProvider<SP> {
    /// Wraps an existing provider.
    pub fn wrap(provider: SP) -> Self {
        RcShMemProvider {
            inner: Arc::new(Mutex::new(provider)),
        }
    }

    /// Runs `f` on the inner provider.
    pub fn with_inner<T>(&self, f: impl FnOnce(&mut SP) -> T) -> T {
        f(&mut lock(&self.inner))
    }
}

fn lock<SP>(inner: &Mutex<SP>) -> MutexGuard<'_, SP> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A segment of a [`RcShMemProvider`]: the inner provider's segment, and a
/// share of that provider.
pub struct RcShMem<SP: ShMemProvider> {
    shmem: ManuallyDrop<SP::ShMem>,
    provider: Arc<Mutex<SP>>,
    released: bool,
}

impl<SP: ShMemProvider> RcShMem<SP> {
    fn new(shmem: SP::ShMem, provider: &Arc<Mutex<SP>>) -> Self {
        RcShMem {
            shmem: ManuallyDrop::new(shmem),
            provider: Arc::clone(provider),
            released: false,
        }
    }

    /// The inner provider's segment.
    pub fn inner(&self) -> &SP::ShMem {
        &self.shmem
    }
}

impl<SP: ShMemProvider> fmt::Debug for RcShMem<SP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcShMem")
            .field("shmem", &*self.shmem)
            .finish_non_exhaustive()
    }
}

impl<SP: ShMemProvider> std::ops::Deref for RcShMem<SP> {
    type Target = ShBytes;
    fn deref(&self) -> &ShBytes {
        &self.shmem
    }
}

impl<SP: ShMemProvider> std::ops::DerefMut for RcShMem<SP> {
    fn deref_mut(&mut self) -> &mut ShBytes {
        &mut self.shmem
    }
}

impl<SP: ShMemProvider + Send> ShMem for RcShMem<SP> {
    fn id(&self) -> ShMemId {
        self.shmem.id()
    }
}

impl<SP: ShMemProvider> Drop for RcShMem<SP> {
    fn drop(&mut self) {
        if !self.released {
            lock(&self.provider).release_shmem(&mut self.shmem);
        }
        // SAFETY: dropped exactly once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.shmem) };
    }
}

impl<SP: ShMemProvider + Send> ShMemProvider for RcShMemProvider<SP> {
    type ShMem = RcShMem<SP>;

    fn new() -> Result<Self> {
        Ok(Self::wrap(SP::new()?))
    }

    fn new_shmem(&mut self, size: usize) -> Result<RcShMem<SP>> {
        let shmem = lock(&self.inner).new_shmem(size)?;
        Ok(RcShMem::new(shmem, &self.inner))
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<RcShMem<SP>> {
        let shmem = lock(&self.inner).shmem_from_id_and_size(id, size)?;
        Ok(RcShMem::new(shmem, &self.inner))
    }

    fn clone_ref(&mut self, mapping: &RcShMem<SP>) -> Result<RcShMem<SP>> {
        let shmem = lock(&self.inner).clone_ref(&mapping.shmem)?;
        Ok(RcShMem::new(shmem, &self.inner))
    }

    fn shmem_from_id(&mut self, id: ShMemId) -> Result<RcShMem<SP>> {
        let shmem = lock(&self.inner).shmem_from_id(id)?;
        Ok(RcShMem::new(shmem, &self.inner))
    }

    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<RcShMem<SP>>> {
        let shmem = lock(&self.inner).open_read_only(id, size)?.into_inner();
        Ok(ReadOnlyShMem::new(RcShMem::new(shmem, &self.inner)))
    }

    fn pre_fork(&mut self) -> Result<()> {
        lock(&self.inner).pre_fork()
    }

    fn post_fork(&mut self, is_child: bool) -> Result<()> {
        if !is_child {
            return lock(&self.inner).post_fork(false);
        }
        // In the child, a lock another thread held at fork stays held forever.
        match self.inner.try_lock() {
            Ok(mut inner) => inner.post_fork(true),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().post_fork(true),
            Err(TryLockError::WouldBlock) => Err(ShMemError::Service {
                service: "(fork)".into(),
                reason: "another thread was inside the provider when the process forked; \
                         the child cannot use it"
                    .into(),
                source: None,
            }),
        }
    }

    /// Releases early what dropping the segment would release; the drop
    /// then only unmaps.
    fn release_shmem(&mut self, shmem: &mut RcShMem<SP>) {
        if !shmem.released {
            shmem.released = true;
            lock(&shmem.provider).release_shmem(&mut shmem.shmem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RELEASED: AtomicUsize = AtomicUsize::new(0);

    /// Memfd on Linux, POSIX elsewhere, with release counting.
    #[derive(Clone, Debug)]
    struct Counting(crate::StdShMemProvider);

    impl ShMemProvider for Counting {
        type ShMem = crate::StdShMem;
        fn new() -> Result<Self> {
            Ok(Counting(crate::StdShMemProvider::new()?))
        }
        fn new_shmem(&mut self, size: usize) -> Result<Self::ShMem> {
            self.0.new_shmem(size)
        }
        fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<Self::ShMem> {
            self.0.shmem_from_id_and_size(id, size)
        }
        fn release_shmem(&mut self, _shmem: &mut Self::ShMem) {
            RELEASED.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn segments_share_and_outlive_the_provider_and_release_once() {
        let mut provider = RcShMemProvider::<Counting>::new().unwrap();
        let a = provider.new_shmem(4096).unwrap();
        let mut b = provider.clone_ref(&a).unwrap();
        let c = provider.clone().new_shmem(100).unwrap();
        assert_eq!(Arc::strong_count(&provider.inner), 4);
        drop(provider);
        a[..5].copy_from_slice(b"hello");
        assert_eq!(b[..5].to_vec(), b"hello", "same segment, the provider gone");

        let before = RELEASED.load(Ordering::SeqCst);
        b.provider.lock().unwrap().release_shmem(&mut b.shmem);
        let mut p = RcShMemProvider {
            inner: Arc::clone(&b.provider),
        };
        p.release_shmem(&mut b);
        p.release_shmem(&mut b);
        drop(b);
        drop(a);
        drop(c);
        // One direct call, then one for `b` (not repeated by its drop), one each for `a`, `c`.
        assert_eq!(RELEASED.load(Ordering::SeqCst) - before, 4);
        assert_eq!(
            Arc::strong_count(&p.inner),
            1,
            "segments gave their share back"
        );
    }
}

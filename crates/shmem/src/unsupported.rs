//! The backend of targets with no shared memory this crate knows (neither
//! Unix nor Windows, such as `wasm32-unknown-unknown`): the crate builds,
//! ids and names parse, and every attempt to create or open a segment
//! answers [`ShMemError::Unsupported`].

use crate::error::{Result, ShMemError};
use crate::id::ShMemId;
use crate::{ShBytes, ShMem, ShMemProvider};

fn unsupported() -> ShMemError {
    ShMemError::Unsupported {
        what: "shared memory",
        backend: "this target (neither Unix nor Windows)",
    }
}

/// The provider of targets without shared memory: it cannot be made.
#[derive(Clone, Debug)]
pub struct UnsupportedShMemProvider(());

/// The segment type of [`UnsupportedShMemProvider`], of which none exists.
#[derive(Debug)]
pub enum UnsupportedShMem {}

impl std::ops::Deref for UnsupportedShMem {
    type Target = ShBytes;
    fn deref(&self) -> &ShBytes {
        match *self {}
    }
}

impl std::ops::DerefMut for UnsupportedShMem {
    fn deref_mut(&mut self) -> &mut ShBytes {
        match *self {}
    }
}

impl ShMem for UnsupportedShMem {
    fn id(&self) -> ShMemId {
        match *self {}
    }
}

impl ShMemProvider for UnsupportedShMemProvider {
    type ShMem = UnsupportedShMem;

    fn new() -> Result<Self> {
        Err(unsupported())
    }

    fn new_shmem(&mut self, _size: usize) -> Result<UnsupportedShMem> {
        Err(unsupported())
    }

    fn shmem_from_id_and_size(&mut self, _id: ShMemId, _size: usize) -> Result<UnsupportedShMem> {
        Err(unsupported())
    }
}

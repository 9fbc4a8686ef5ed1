//! [`PosixShMemProvider`]: segments under fresh unique names, and any
//! named object reopened by its id (`posix:NAME`, or `file:PATH` for one in
//! another directory).

use super::{DEFAULT_MODE, Location, PosixShMem};
use crate::ShMemProvider;
use crate::error::{Result, ShMemError};
use crate::id::ShMemId;
use crate::name::ShMemName;
use crate::options::MapOptions;
use crate::readonly::ReadOnlyShMem;

/// Creates [`PosixShMem`] segments under fresh unique names, and reopens
/// them (or any named object) by id.
#[derive(Clone, Debug, Default)]
pub struct PosixShMemProvider {
    options: MapOptions,
}

impl PosixShMemProvider {
    /// A provider that maps segments as `options` ask: prefaulted, or with
    /// the transparent huge page hint (see [`MapOptions`];
    /// [`HugePages::Hugetlb`](crate::HugePages::Hugetlb) fails here, as a tmpfs cannot hold them).
    pub fn with_options(options: MapOptions) -> Self {
        PosixShMemProvider { options }
    }

    /// The options segments are made with.
    pub fn options(&self) -> MapOptions {
        self.options
    }
}

impl ShMemProvider for PosixShMemProvider {
    type ShMem = PosixShMem;

    fn new() -> Result<Self> {
        Ok(PosixShMemProvider::default())
    }

    fn new_shmem(&mut self, size: usize) -> Result<PosixShMem> {
        loop {
            let name = ShMemName::unique("shmem");
            let created =
                PosixShMem::create_at(Location::Shm, name, size, DEFAULT_MODE, &self.options, true);
            match created {
                Err(ShMemError::AlreadyExists { .. }) => continue,
                other => return other,
            }
        }
    }

    fn shmem_from_id_and_size(&mut self, id: ShMemId, size: usize) -> Result<PosixShMem> {
        let (location, name) = place_of(id)?;
        PosixShMem::open_at(location, name, Some(size), false, &self.options)
    }

    fn open_read_only(&mut self, id: ShMemId, size: usize) -> Result<ReadOnlyShMem<PosixShMem>> {
        let (location, name) = place_of(id)?;
        let options = &self.options.read_only();
        PosixShMem::open_at(location, name, Some(size), false, options).map(ReadOnlyShMem::new)
    }

    /// Maps all of the named object, as LibAFL's POSIX ids are passed.
    fn shmem_from_id(&mut self, id: ShMemId) -> Result<PosixShMem> {
        let (location, name) = place_of(id)?;
        PosixShMem::open_at(location, name, None, false, &self.options)
    }
}

/// Where the object of a `posix:` or `file:` id is, and its name there.
fn place_of(id: ShMemId) -> Result<(Location, ShMemName)> {
    match id {
        ShMemId::Posix(name) => Ok((Location::Shm, name)),
        ShMemId::File(path) => {
            let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
                return Err(ShMemError::InvalidId {
                    id: format!("file:{}", path.display()),
                    reason: "the path has no file name".into(),
                });
            };
            let name = ShMemName::new(&base.to_string_lossy())?;
            Ok((Location::Dir(dir.to_owned()), name))
        }
        other => Err(other.wrong_backend("posix")),
    }
}

//! [`MapOptions`]: how a provider maps its segments: whether every page is
//! faulted in up front, and which page size backs them.

/// How the memfd, POSIX and SysV providers map the segments they create
/// and open (`MemfdShMemProvider::with_options` and its siblings).
///
/// The default, pages faulted in one at a time on first touch and base
/// (4 KiB) pages, is right for small segments and for large ones that are
/// only partly used: a segment costs no memory until it is written. Every
/// first touch of a page is a page fault, though, 2 to 3 µs each on the
/// virtual machines this was measured on, so a 16 MiB segment written all
/// over pays 4096 of them: about 11 ms to create, fill and drop, the floor
/// of the bare system calls included (`BENCHMARKS.md`). The two options
/// trade that:
///
/// - [`with_prefault`](Self::with_prefault) faults every page in when the
///   segment is mapped, in one system call. That was 5 to 20 % cheaper
///   than faulting the pages one by one (16 MiB segments: 8.6 to 13.9 ms
///   against 10.6 to 14.7 ms, `BENCHMARKS.md`), and moves the cost out of the loop that first writes the
///   memory. It also turns running out of memory (a full tmpfs, an
///   exhausted huge page pool, a memory cgroup at its limit) into an error
///   at create or open instead of a `SIGBUS` at some later write. It pays
///   for every page, used or not (a 64 KiB segment of which one byte is
///   written: four times the plain cost), so use it for segments that
///   will be written all over, and for latency that must not jitter on
///   first use. (`MAP_POPULATE` is no substitute on shared memory: it
///   faults pages for reading, and the first writes fault again; it was
///   slower than no prefaulting at all.)
/// - [`with_huge_pages`](Self::with_huge_pages) backs the segment with
///   2 MiB pages: 512 times fewer faults and TLB entries. A 16 MiB
///   segment took 1.0 to 2.6 ms with either kind instead of 11 to 15 ms. See [`HugePages`]
///   for the two kinds and what each needs from the system.
///
/// Both cost memory up front (a prefaulted segment is resident at once; a
/// huge page is allocated whole), so they are not for segments that are
/// mostly left untouched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MapOptions {
    prefault: bool,
    huge_pages: HugePages,
    /// Map readable only: set by the read-only openers, not by users.
    read_only: bool,
}

impl MapOptions {
    /// The defaults: no prefaulting, base pages.
    pub const fn new() -> Self {
        MapOptions {
            prefault: false,
            huge_pages: HugePages::Never,
            read_only: false,
        }
    }

    /// Fault every page in when a segment is mapped (`madvise(MADV_POPULATE_WRITE)`
    /// on Linux 5.14 and later, a write to each page elsewhere).
    ///
    /// Opening a segment with it maps the pages that exist and allocates
    /// the others, without changing a byte.
    pub const fn with_prefault(mut self, prefault: bool) -> Self {
        self.prefault = prefault;
        self
    }

    /// Back segments with huge pages of the given kind.
    pub const fn with_huge_pages(mut self, huge_pages: HugePages) -> Self {
        self.huge_pages = huge_pages;
        self
    }

    /// Whether pages are faulted in when a segment is mapped.
    pub const fn prefault(&self) -> bool {
        self.prefault
    }

    /// The kind of huge pages asked for.
    pub const fn huge_pages(&self) -> HugePages {
        self.huge_pages
    }

    /// These options for a read-only mapping (files opened read-only,
    /// pages mapped without write access; prefaulting skipped).
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) const fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Whether the mapping is to be read-only.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) const fn is_read_only(&self) -> bool {
        self.read_only
    }
}

/// Which pages back a segment.
///
/// # References
/// - [Transparent huge pages](https://docs.kernel.org/admin-guide/mm/transhuge.html)
/// - [HugeTLB pages](https://docs.kernel.org/admin-guide/mm/hugetlbpage.html)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HugePages {
    /// Base pages (4 KiB on x86-64): the default.
    #[default]
    Never,
    /// Ask for transparent huge pages (`madvise(MADV_HUGEPAGE)`, Linux
    /// only): a hint the kernel follows where shared memory may use them,
    /// that is where `/sys/kernel/mm/transparent_hugepage/shmem_enabled`
    /// is `advise`, `within_size` or `always` (memfd and SysV segments),
    /// or the tmpfs is mounted with `huge=advise` or more (POSIX
    /// segments). Elsewhere, and on other systems, segments get base pages
    /// and nothing fails. Only whole, 2 MiB-aligned stretches of a segment
    /// can be huge: it is for segments of several MiB.
    Transparent,
    /// HugeTLB pages (Linux only: `memfd_create(MFD_HUGETLB)`,
    /// `shmget(SHM_HUGETLB)`), taken from the pool the administrator
    /// reserves (`sysctl vm.nr_hugepages=N`; see `HugePages_Free` in
    /// `/proc/meminfo`). Sizes are rounded up to whole huge pages (the
    /// segment shows the size asked for). Fails with
    /// [`ShMemError::NoHugePages`](crate::ShMemError::NoHugePages) when
    /// the pool has too few free pages, and with
    /// [`ShMemError::Unsupported`](crate::ShMemError::Unsupported) for
    /// POSIX segments, whose tmpfs cannot hold them, and on other systems.
    Hugetlb,
}

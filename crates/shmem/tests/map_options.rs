//! [`MapOptions`] as the kernel sees them: what `/proc/self/smaps` says about
//! a segment's mapping (resident pages, page size, the huge page flag), and
//! what fails when it must.
#![cfg(target_os = "linux")]

use std::path::Path;

use shm_tests::tmpfs::Tmpfs;
use shmem::{
    HugePages, MapOptions, MemfdShMemProvider, PosixShMem, PosixShMemProvider, ShBytes, ShMem,
    ShMemError, ShMemId, ShMemProvider, SysvShMemProvider,
};

const MIB: usize = 1 << 20;

/// The smaps entry of the mapping that starts at `bytes`, if one does.
fn smaps(bytes: &ShBytes) -> Option<String> {
    let start = format!("{:x}-", bytes.as_ptr() as usize);
    let text = std::fs::read_to_string("/proc/self/smaps").expect("read smaps");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&start));
    let header = lines.next()?;
    let body: Vec<&str> = lines
        .take_while(|l| !l.split_whitespace().next().is_some_and(|w| w.contains('-')))
        .collect();
    Some(format!("{header}\n{}", body.join("\n")))
}

/// A `kB` field of a smaps entry, in bytes.
fn field(entry: &str, name: &str) -> usize {
    entry
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{entry}"))
        * 1024
}

fn rss(bytes: &ShBytes) -> usize {
    field(&smaps(bytes).expect("the segment is mapped"), "Rss")
}

fn vm_flags(bytes: &ShBytes) -> Vec<String> {
    let entry = smaps(bytes).expect("the segment is mapped");
    let line = entry
        .lines()
        .find_map(|l| l.strip_prefix("VmFlags:"))
        .expect("VmFlags");
    line.split_whitespace().map(str::to_owned).collect()
}

const PREFAULT: MapOptions = MapOptions::new().with_prefault(true);

/// Created with prefaulting, every page is resident before any touch;
/// without, none is. Reopened with prefaulting, the same, and no byte changes.
fn prefault_maps_every_page<P: ShMemProvider>(plain: P, prefaulting: P) {
    let (mut plain, mut prefaulting) = (plain, prefaulting);
    let size = 4 * MIB + 123;
    let lazy = plain.new_shmem(size).unwrap();
    assert_eq!(rss(&lazy), 0, "nothing is resident before the first touch");

    let eager = prefaulting.new_shmem(size).unwrap();
    assert_eq!(rss(&eager), size.next_multiple_of(4096));
    assert!(eager.to_vec().iter().all(|&b| b == 0), "still zero-filled");

    lazy[..5].copy_from_slice(b"hello");
    lazy[size - 5..].copy_from_slice(b"world");
    let reopened = prefaulting.shmem_from_id_and_size(lazy.id(), size).unwrap();
    assert_eq!(rss(&reopened), size.next_multiple_of(4096));
    assert_eq!(reopened[..5].to_vec(), b"hello");
    assert_eq!(reopened[size - 5..].to_vec(), b"world");
    assert_eq!(reopened[5..size - 5].to_vec(), vec![0; size - 10]);
}

#[test]
fn prefault_memfd() {
    prefault_maps_every_page(
        MemfdShMemProvider::default(),
        MemfdShMemProvider::with_options(PREFAULT),
    );
}

#[test]
fn prefault_posix() {
    prefault_maps_every_page(
        PosixShMemProvider::default(),
        PosixShMemProvider::with_options(PREFAULT),
    );
}

#[test]
fn prefault_sysv() {
    prefault_maps_every_page(
        SysvShMemProvider::default(),
        SysvShMemProvider::with_options(PREFAULT),
    );
}

#[test]
fn options_are_kept_and_default_to_nothing() {
    assert_eq!(MapOptions::default(), MapOptions::new());
    assert!(!MapOptions::new().prefault());
    assert_eq!(MapOptions::new().huge_pages(), HugePages::Never);
    let o = MapOptions::new()
        .with_prefault(true)
        .with_huge_pages(HugePages::Transparent);
    assert!(o.prefault());
    assert_eq!(o.huge_pages(), HugePages::Transparent);
    assert_eq!(MemfdShMemProvider::with_options(o).options(), o);
    assert_eq!(PosixShMemProvider::with_options(o).options(), o);
    assert_eq!(SysvShMemProvider::with_options(o).options(), o);
}

/// The transparent huge page hint reaches the kernel: the mapping carries
/// `hg` (VM_HUGEPAGE), whatever the system then makes of it.
#[test]
fn transparent_huge_pages_are_asked_for() {
    assert!(
        Path::new("/sys/kernel/mm/transparent_hugepage").exists(),
        "this test needs a kernel with transparent huge pages (CI's has them)"
    );
    let thp = MapOptions::new().with_huge_pages(HugePages::Transparent);
    let size = 4 * MIB;
    let plain = MemfdShMemProvider::default().new_shmem(size).unwrap();
    assert!(!vm_flags(&plain).contains(&"hg".to_owned()));
    let segments: Vec<Box<dyn ShMem>> = vec![
        Box::new(
            MemfdShMemProvider::with_options(thp)
                .new_shmem(size)
                .unwrap(),
        ),
        Box::new(
            PosixShMemProvider::with_options(thp)
                .new_shmem(size)
                .unwrap(),
        ),
        Box::new(
            SysvShMemProvider::with_options(thp)
                .new_shmem(size)
                .unwrap(),
        ),
    ];
    for mem in &segments {
        assert!(vm_flags(mem).contains(&"hg".to_owned()), "{mem:?}");
        mem.fill(7);
        assert_eq!(mem.load(size - 1), Some(7));
    }
}

/// Free huge pages in the pool, and their size.
fn free_huge_pages() -> (usize, usize) {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap();
    let get = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let size = get("Hugepagesize") * 1024;
    (
        get("HugePages_Free").saturating_sub(get("HugePages_Rsvd")),
        size,
    )
}

/// With a reserved pool, segments get 2 MiB pages, sizes are rounded up
/// (the segment shows what was asked for), another mapping by id works,
/// and dropping unmaps all of it. Without one, a typed error says so.
#[test]
fn hugetlb_pages_come_from_the_pool_or_fail_with_a_typed_error() {
    let hugetlb = MapOptions::new().with_huge_pages(HugePages::Hugetlb);
    let (free, huge) = free_huge_pages();
    let size = huge / 2 + 1;
    let mut memfd = MemfdShMemProvider::with_options(hugetlb);
    let mut sysv = SysvShMemProvider::with_options(hugetlb);
    // SysV huge pages also need CAP_IPC_LOCK (or vm.hugetlb_shm_group).
    let sysv_refused = |result: &Result<usize, ShMemError>| {
        !is_root()
            && matches!(result, Err(ShMemError::Os { source, .. })
                if source.kind() == std::io::ErrorKind::PermissionDenied)
    };
    if free == 0 {
        eprintln!("no huge pages reserved (vm.nr_hugepages): checking the errors");
        let result = memfd.new_shmem(size).map(|m| m.len());
        assert!(
            matches!(result, Err(ShMemError::NoHugePages { .. })),
            "{result:?}"
        );
        let result = sysv.new_shmem(size).map(|m| m.len());
        assert!(
            matches!(result, Err(ShMemError::NoHugePages { .. })) || sysv_refused(&result),
            "{result:?}"
        );
    } else {
        let a = memfd.new_shmem(size).unwrap();
        assert_eq!(a.len(), size);
        let entry = smaps(&a).unwrap();
        assert_eq!(field(&entry, "KernelPageSize"), huge, "{entry}");
        a[size - 3..].copy_from_slice(b"end");
        // Another mapping by id, as another process would make it.
        let b = MemfdShMemProvider::default()
            .shmem_from_id_and_size(a.id(), size)
            .unwrap();
        assert_eq!(b[size - 3..].to_vec(), b"end");
        assert_eq!(field(&smaps(&b).unwrap(), "KernelPageSize"), huge);
        let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
        drop((a, b));
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for p in [pa, pb] {
            assert!(
                !maps.contains(&format!("{p:x}-")),
                "still mapped at {p:x}:\n{maps}"
            );
        }
        match sysv.new_shmem(size) {
            Ok(s) => {
                assert_eq!(field(&smaps(&s).unwrap(), "KernelPageSize"), huge);
                assert!(s.store(size - 1, 1));
            }
            Err(e) => assert!(sysv_refused(&Err(e))),
        }
    }
    // A tmpfs cannot hold HugeTLB pages, pool or not.
    let posix = PosixShMemProvider::with_options(hugetlb).new_shmem(size);
    assert!(
        matches!(posix, Err(ShMemError::Unsupported { .. })),
        "{posix:?}"
    );
}

/// The provider's made-up names are removed on drop; a name the caller
/// chose is removed only if it still names the object this creator made.
#[test]
fn named_objects_replaced_by_another_survive_the_first_creators_drop() {
    let name = format!("shm-test-replaced-{}", std::process::id());
    let first = PosixShMem::create(&name, 4096).unwrap();
    let path = first.path().unwrap();
    std::fs::remove_file(&path).unwrap();
    let second = PosixShMem::create(&name, 8192).unwrap();
    drop(first);
    assert!(
        path.exists(),
        "the first creator removed the second's object"
    );
    drop(second);
    assert!(!path.exists(), "the second creator removes its own");

    let mem = PosixShMemProvider::default().new_shmem(4096).unwrap();
    let ShMemId::Posix(made_up) = mem.id() else {
        panic!("{:?}", mem.id())
    };
    let path = Path::new("/dev/shm").join(made_up.base());
    assert!(path.exists());
    drop(mem);
    assert!(!path.exists());
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A segment bigger than the space its tmpfs has left: mapped plainly it
/// would end in SIGBUS at the first write past the space; prefaulted, it
/// fails when it is mapped.
#[test]
fn prefaulting_turns_a_full_tmpfs_into_an_error() {
    // Dropped after the mappings below (a live mapping keeps it mounted).
    let tmpfs = Tmpfs::mount_in(&std::env::temp_dir(), "64k");
    let file = tmpfs.path.join("big");
    // Sparse: the size is set, no page is allocated yet.
    std::fs::File::create(&file)
        .unwrap()
        .set_len(256 << 10)
        .unwrap();
    let id = ShMemId::File(file);
    let plain = PosixShMemProvider::default().shmem_from_id_and_size(id.clone(), 256 << 10);
    let eager = PosixShMemProvider::with_options(PREFAULT).shmem_from_id_and_size(id, 256 << 10);
    drop(plain);
    let err = eager.unwrap_err();
    assert!(
        matches!(&err, ShMemError::Os { op, .. } if op.contains("prefault")),
        "{err}"
    );
}

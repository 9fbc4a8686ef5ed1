//! A second path for a bridged file (`SCS/SCSTelemetry`), where Linux
//! readers of a title look for it: a symbolic link of ours in a directory
//! of ours, made beside the file and removed with it.

use anyhow::{Context, Result, bail};

use super::tmpfs::Tmpfs;
use crate::core::spec::Link;
use crate::sys::windows::linux::{Errno, Fd};

/// A link to a bridged file at a second path (`SCS/SCSTelemetry`), where
/// Linux readers of that title look, and the directory if it was made for it.
#[derive(Debug)]
pub struct MadeLink {
    /// Where the link is.
    pub link: Link,
    dir: Fd,
    target: String,
    made_dir: bool,
}

impl MadeLink {
    /// Makes `link` lead to the file `file`; `Err` says why none was made
    /// (something of someone else's in the way), which costs only the link.
    pub fn make(tmpfs: &Tmpfs, link: &Link, file: &str, mode: u32) -> Result<MadeLink> {
        let where_ = tmpfs.unix_file(&link.to_string());
        let mut made_dir = false;
        let dir = match tmpfs.dir().open_dir_at(&link.dir) {
            Ok(dir) => dir,
            Err(Errno::ENOENT) => {
                // Searchable where readable: a reader of another user given
                // the file by --mode can reach it through the directory too.
                let dir_mode = mode | ((mode & 0o444) >> 2);
                tmpfs
                    .dir()
                    .mkdir_at(&link.dir, dir_mode)
                    .with_context(|| format!("making {}", tmpfs.unix_file(&link.dir)))?;
                made_dir = true;
                tmpfs.dir().open_dir_at(&link.dir)?
            }
            Err(e) => bail!("{}: {e}", tmpfs.unix_file(&link.dir)),
        };
        let st = dir.stat()?;
        if !st.is_dir() || !tmpfs.ours(&st) {
            bail!(
                "{} is not a directory of yours ({}, uid {})",
                tmpfs.unix_file(&link.dir),
                st.kind(),
                st.uid
            );
        }
        let target = format!("../{file}");
        match dir.symlink_at(&target, &link.file) {
            Ok(()) => {}
            // One an earlier bridge of ours left, leading to this file: taken over.
            Err(Errno::EEXIST)
                if dir.read_link_at(&link.file).ok().as_deref() == Some(&target)
                    && dir.stat_at(&link.file).is_ok_and(|st| tmpfs.ours(&st)) => {}
            Err(e) => bail!("{where_}: {e}"),
        }
        Ok(MadeLink {
            link: link.clone(),
            dir,
            target,
            made_dir,
        })
    }

    /// Removes the link, if it is still ours and leads to the file, and the
    /// directory made for it, if it is empty.
    pub fn remove(self, tmpfs: &Tmpfs) {
        remove_link(tmpfs, &self.dir, &self.link, &self.target, self.made_dir);
    }
}

/// Removes the link `link` in `dir` if it is a link of ours leading to
/// `target`, and with `dir_too` the directory, if that leaves it empty.
pub fn remove_link(tmpfs: &Tmpfs, dir: &Fd, link: &Link, target: &str, dir_too: bool) {
    let ours = dir
        .stat_at(&link.file)
        .is_ok_and(|st| st.is_symlink() && tmpfs.ours(&st));
    if ours && dir.read_link_at(&link.file).ok().as_deref() == Some(target) {
        let _ = dir.unlink_at(&link.file);
    }
    if dir_too {
        let _ = tmpfs.dir().remove_dir_at(&link.dir);
    }
}

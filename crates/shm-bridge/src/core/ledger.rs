//! Marker files: how shm-bridge knows which tmpfs files it made.
//!
//! Beside each file it creates, `NAME`, the bridge writes `.NAME.shm-bridge`
//! holding the file's inode. Clean-up removes a file only when its marker
//! names that very inode, so a file some other program made, or one put in
//! the place of ours, is never deleted.

use std::fmt::Write as _;

/// The marker's file name for the tmpfs file `file_name`.
pub fn marker_name(file_name: &str) -> String {
    format!(".{file_name}.shm-bridge")
}

/// The tmpfs file a marker file name belongs to, if it is a marker's name.
pub fn file_of_marker(marker: &str) -> Option<&str> {
    marker
        .strip_prefix('.')?
        .strip_suffix(".shm-bridge")
        .filter(|f| !f.is_empty())
}

/// What a marker records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The mapping's name, namespace included.
    pub name: String,
    /// The inode of the file the bridge created.
    pub inode: u64,
    /// The size it gave the file.
    pub size: u64,
    /// The Linux pid of the bridge that made or last adopted it.
    pub pid: Option<u32>,
    /// The link to it the bridge made (`DIR/FILE`), if it made one.
    pub link: Option<String>,
    /// Whether the file is an event's counter rather than a mapping's pages.
    pub event: bool,
}

const MAGIC: &str = "shm-bridge marker 1";

impl Marker {
    /// The marker as the text of its file.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{MAGIC}\nname={}\ninode={}\nsize={}\n",
            self.name, self.inode, self.size
        );
        if let Some(pid) = self.pid {
            let _ = writeln!(text, "pid={pid}");
        }
        if let Some(link) = &self.link {
            let _ = writeln!(text, "link={link}");
        }
        if self.event {
            text.push_str("kind=event\n");
        }
        text
    }

    /// Reads a marker file's text; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Marker> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let (mut name, mut inode, mut size, mut pid, mut link) = (None, None, None, None, None);
        let mut event = false;
        for line in lines {
            match line.split_once('=')? {
                // A name that could not be a mapping's is not a marker's.
                ("name", v) => name = Some(shmem::ShMemName::new(v).ok()?.to_string()),
                ("inode", v) => inode = Some(v.parse().ok()?),
                ("size", v) => size = Some(v.parse().ok()?),
                ("pid", v) => pid = Some(v.parse().ok()?),
                // Only a link a spec could name is believed.
                ("link", v) => link = Some(crate::core::spec::parse_link(v).ok()?.to_string()),
                ("kind", v) => event = v == "event",
                _ => {}
            }
        }
        Some(Marker {
            name: name?,
            inode: inode?,
            size: size?,
            pid,
            link,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let m = Marker {
            name: "Local\\SCSTelemetry".into(),
            inode: 42,
            size: 32768,
            pid: Some(7),
            link: Some("SCS/SCSTelemetry".into()),
            event: false,
        };
        assert_eq!(Marker::parse(&m.to_text()), Some(m));
        let e = Marker {
            name: "Local\\IRSDKDataValidEvent".into(),
            inode: 43,
            size: 4096,
            pid: None,
            link: None,
            event: true,
        };
        assert_eq!(Marker::parse(&e.to_text()), Some(e));
        assert_eq!(Marker::parse("something else\ninode=1"), None);
        // A name ending in a carriage return would not survive the round trip
        // the marker fuzz target checks: it is no name, so no marker.
        let cr = "shm-bridge marker 1\nname=a\r\r\ninode=1\nsize=1\n";
        assert_eq!(Marker::parse(cr), None);
        assert_eq!(
            file_of_marker(&marker_name("acpmf_static")),
            Some("acpmf_static")
        );
        assert_eq!(file_of_marker(".x"), None);
        assert_eq!(file_of_marker("..shm-bridge"), None);
    }
}

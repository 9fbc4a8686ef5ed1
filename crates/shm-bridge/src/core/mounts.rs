//! The Linux mount table (`/proc/mounts`), read by both sides to tell
//! whether a directory is on a tmpfs.

/// The mount point holding `path` and its file system type, from a
/// `/proc/mounts` text: the longest mount point that is a whole-component
/// prefix of the path (the last one listed wins among equals: it is on top).
pub fn mount_of(mounts: &str, path: &str) -> Option<(String, String)> {
    let mut best: Option<(String, String)> = None;
    for line in mounts.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_), Some(point), Some(fstype)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let point = unescape_mount(point);
        let inside = point == "/"
            || path == point
            || path
                .strip_prefix(point.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        if inside && best.as_ref().is_none_or(|(p, _)| point.len() >= p.len()) {
            best = Some((point, fstype.to_owned()));
        }
    }
    best
}

/// `/proc/mounts` writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Three octal digits of at most \377, so the value fits a byte.
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d[0] <= b'3' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if bytes[i] == b'\\'
            && let Some(d) = octal
        {
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_mount_point_wins() {
        let mounts = "/dev/vda / ext4 rw 0 0\n\
                      tmpfs /dev/shm tmpfs rw 0 0\n\
                      tmpfs /run/user/1000 tmpfs rw 0 0\n\
                      tmpfs /mnt/my\\040disk tmpfs rw 0 0\n";
        assert_eq!(mount_of(mounts, "/dev/shm").unwrap().1, "tmpfs");
        assert_eq!(mount_of(mounts, "/dev/shm/sub").unwrap().1, "tmpfs");
        assert_eq!(mount_of(mounts, "/dev/shmx").unwrap().1, "ext4");
        assert_eq!(
            mount_of(mounts, "/tmp").unwrap(),
            ("/".into(), "ext4".into())
        );
        assert_eq!(mount_of(mounts, "/mnt/my disk/x").unwrap().1, "tmpfs");
        assert_eq!(
            unescape_mount("a\\777b\\"),
            "a\\777b\\",
            "not escapes: left as they are"
        );
    }
}

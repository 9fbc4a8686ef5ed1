//! File names as text that is safe to print. Names in the tmpfs are
//! chosen by any local user: one may hold terminal escape sequences (which
//! would reach the terminal of whoever lists them), characters that turn
//! text around, or bytes that are not UTF-8 at all.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

/// `name` with every control or direction-changing character, backslash
/// and byte that is not UTF-8 written as an escape (`\x1b`, `\u{202e}`,
/// `\\`, `\xff`): printable, and telling one name from another.
pub fn name(name: &OsStr) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// `name` as it is when it is UTF-8 (for JSON, which escapes control
/// characters itself), else escaped as by [`name`].
pub fn json_name(name: &OsStr) -> String {
    match name.to_str() {
        Some(text) => text.to_owned(),
        None => self::name(name),
    }
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        c if c.is_ascii_control() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c if c.is_control() || changes_direction_or_hides(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Unicode's explicit direction marks, embeddings, overrides and isolates,
/// and the invisible characters that make one name look like another.
fn changes_direction_or_hides(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn escapes_leave_nothing_a_terminal_would_act_on() {
        let evil = OsStr::new("a\x1b]0;pwned\x07b\u{202e}txt.exe\\c é");
        assert_eq!(name(evil), "a\\x1b]0;pwned\\x07b\\u{202e}txt.exe\\\\c é");
        let not_utf8 = OsStr::from_bytes(b"page\xff\xfe1");
        assert_eq!(name(not_utf8), "page\\xff\\xfe1");
        assert_eq!(json_name(not_utf8), "page\\xff\\xfe1");
        assert_eq!(json_name(OsStr::new("acpmf_physics")), "acpmf_physics");
        assert_eq!(name(OsStr::new("acpmf_physics")), "acpmf_physics");
        assert!(
            name(OsStr::new("\u{9b}31m")).starts_with("\\u{9b}"),
            "C1 CSI"
        );
    }
}

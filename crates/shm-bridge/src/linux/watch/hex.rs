//! Hex dumps as people know them from `xxd`: 16 bytes a row, an offset, the
//! bytes in hex with a gap after the eighth, and the printable ones as text.
//! The text views print rows whole; the full-screen view styles each byte.

/// Bytes a row.
pub const PER_ROW: usize = 16;

/// One row of a dump.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Offset of its first byte in the page.
    pub offset: usize,
    /// Its bytes (fewer than [`PER_ROW`] in the last row).
    pub bytes: &'a [u8],
}

/// Rows `first..first + count` of `bytes`, their offsets counted from `base`.
pub fn rows(
    bytes: &[u8],
    base: usize,
    first: usize,
    count: usize,
) -> impl Iterator<Item = Row<'_>> {
    bytes
        .chunks(PER_ROW)
        .enumerate()
        .skip(first)
        .take(count)
        .map(move |(i, chunk)| Row {
            offset: base + i * PER_ROW,
            bytes: chunk,
        })
}

impl Row<'_> {
    /// `00000010  `.
    pub fn offset_text(&self) -> String {
        format!("{:08x}  ", self.offset)
    }

    /// What follows the byte at `column`: one space, two after the eighth.
    pub fn gap_after(column: usize) -> &'static str {
        if column == 7 { "  " } else { " " }
    }

    /// Spaces standing for the bytes a short last row lacks, and the one
    /// before the text column.
    pub fn padding(&self) -> String {
        let missing = PER_ROW - self.bytes.len();
        " ".repeat(3 * missing + usize::from(self.bytes.len() <= 7) + 1)
    }

    /// The bytes as text: printable ASCII as it is, others as `.`.
    pub fn ascii(&self) -> String {
        self.bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect()
    }

    /// The whole row as text.
    pub fn text(&self) -> String {
        let mut line = self.offset_text();
        for (column, b) in self.bytes.iter().enumerate() {
            line.push_str(&format!("{b:02x}"));
            line.push_str(Self::gap_after(column));
        }
        line.push_str(&self.padding());
        line.push_str(&self.ascii());
        line
    }
}

/// `bytes` as lowercase hex digits, two a byte.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_look_like_xxd() {
        let bytes = b"ACC\0\x01 telemetry page!";
        let lines: Vec<String> = rows(bytes, 0x10, 0, usize::MAX).map(|r| r.text()).collect();
        assert_eq!(
            lines[0],
            "00000010  41 43 43 00 01 20 74 65  6c 65 6d 65 74 72 79 20  ACC.. telemetry "
        );
        assert_eq!(
            lines[1],
            "00000020  70 61 67 65 21                                    page!"
        );
        let full = rows(&[0u8; 16], 0, 0, 1).next().unwrap().text();
        assert_eq!(full.len(), lines[1].len() - 5 + 16, "columns line up");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}

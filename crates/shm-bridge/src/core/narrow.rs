//! 8-bit strings as newer games keep them in their pages (NUL-terminated
//! inside fixed arrays), read as UTF-8.

/// The text of `bytes` up to the first NUL (all of them without one);
/// bytes that are not UTF-8 become U+FFFD.
pub fn from_narrow(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `text` in a fixed array of `N` bytes as UTF-8, cut at a character to
/// leave room for the NUL, and padded with NULs.
pub fn to_fixed_narrow<const N: usize>(text: &str) -> [u8; N] {
    let mut bytes = [0u8; N];
    let mut len = 0;
    for c in text.chars() {
        let width = c.len_utf8();
        if len + width >= N {
            break;
        }
        c.encode_utf8(&mut bytes[len..len + width]);
        len += width;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_arrays_keep_their_nul_and_whole_characters() {
        let bytes: [u8; 4] = to_fixed_narrow("spa-francorchamps");
        assert_eq!(&bytes, b"spa\0");
        assert_eq!(from_narrow(&bytes), "spa");
        let bytes: [u8; 4] = to_fixed_narrow("aéé");
        assert_eq!(from_narrow(&bytes), "aé");
        assert_eq!(from_narrow(&[0x41, 0xff, 0x42]), "A\u{fffd}B");
        assert_eq!(from_narrow(&[]), "");
    }
}

//! UTF-16, the text of Win32 calls and of the strings games keep in their
//! pages (NUL-terminated inside fixed arrays).

/// `text` as a NUL-terminated UTF-16 string, for a Win32 call.
pub fn to_wide_nul(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// The text of `units` up to the first NUL (all of them without one);
/// unpaired surrogates become U+FFFD.
pub fn from_wide(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// `text` in a fixed array of `units`, cut to leave room for the NUL and
/// padded with NULs.
pub fn to_fixed<const N: usize>(text: &str) -> [u16; N] {
    let mut units = [0u16; N];
    for (slot, unit) in units
        .iter_mut()
        .zip(text.encode_utf16().take(N.saturating_sub(1)))
    {
        *slot = unit;
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_arrays_keep_their_nul_and_read_back() {
        assert_eq!(to_wide_nul("ab"), [97, 98, 0]);
        let units: [u16; 4] = to_fixed("spa-francorchamps");
        assert_eq!(units, [115, 112, 97, 0]);
        assert_eq!(from_wide(&units), "spa");
        assert_eq!(from_wide(&[0xd800, 0x41]), "\u{fffd}A");
        assert_eq!(from_wide(&[]), "");
    }
}

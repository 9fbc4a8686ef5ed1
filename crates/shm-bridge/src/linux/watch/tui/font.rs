//! Large characters for the dashboard's speed and gear: a 3×5 pixel font
//! drawn with half blocks, each pixel two columns wide.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Three lines of large characters drawn with half blocks (a 3×5 pixel
/// font, each pixel two columns wide).
pub fn big_text(text: &str, style: Style) -> Vec<Line<'static>> {
    let glyphs: Vec<&[&str; 5]> = text.chars().map(glyph).collect();
    (0..3)
        .map(|row| {
            let mut line = String::new();
            for (n, g) in glyphs.iter().enumerate() {
                if n > 0 {
                    line.push(' ');
                }
                let top = g[row * 2].as_bytes();
                let bottom = g.get(row * 2 + 1).map_or(&[][..], |r| r.as_bytes());
                for (i, &t) in top.iter().enumerate() {
                    let b = bottom.get(i).copied().unwrap_or(b'0');
                    let cell = match (t == b'1', b == b'1') {
                        (true, true) => "██",
                        (true, false) => "▀▀",
                        (false, true) => "▄▄",
                        (false, false) => "  ",
                    };
                    line.push_str(cell);
                }
            }
            Line::from(Span::styled(line, style.add_modifier(Modifier::BOLD)))
        })
        .collect()
}

fn glyph(c: char) -> &'static [&'static str; 5] {
    match c {
        '0' => &["111", "101", "101", "101", "111"],
        '1' => &["010", "110", "010", "010", "111"],
        '2' => &["111", "001", "111", "100", "111"],
        '3' => &["111", "001", "111", "001", "111"],
        '4' => &["101", "101", "111", "001", "001"],
        '5' => &["111", "100", "111", "001", "111"],
        '6' => &["111", "100", "111", "101", "111"],
        '7' => &["111", "001", "001", "001", "001"],
        '8' => &["111", "101", "111", "101", "111"],
        '9' => &["111", "101", "111", "001", "111"],
        'R' => &["110", "101", "110", "101", "101"],
        'N' => &["1001", "1101", "1011", "1001", "1001"],
        '-' => &["000", "000", "111", "000", "000"],
        _ => &["000", "000", "000", "000", "000"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_digits_are_three_lines_of_half_blocks() {
        let lines = big_text("1N", Style::new());
        assert_eq!(lines.len(), 3);
        let rows: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(rows[0], "▄▄██   ██▄▄  ██");
        assert_eq!(rows[2], "▀▀▀▀▀▀ ▀▀    ▀▀");
    }
}

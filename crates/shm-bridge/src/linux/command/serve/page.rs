//! The dashboard page, built into the binary: the HTML of `page/`, its style
//! and script put inside it when the server starts, so that a browser needs
//! one request and nothing from anywhere else.

use std::sync::LazyLock;

/// The page as served.
pub static PAGE: LazyLock<String> = LazyLock::new(|| {
    include_str!("page/index.html")
        .replacen("/*STYLE*/", include_str!("page/style.css"), 1)
        .replacen("/*SCRIPT*/", include_str!("page/app.js"), 1)
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_holds_its_style_and_script_and_fetches_nothing() {
        assert!(!PAGE.contains("/*STYLE*/") && !PAGE.contains("/*SCRIPT*/"));
        assert!(PAGE.contains("#gear {") && PAGE.contains("new WebSocket"));
        for outside in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!PAGE.contains(outside), "the page names {outside}");
        }
        assert!(PAGE.len() < 64 * 1024, "{} bytes", PAGE.len());
    }
}

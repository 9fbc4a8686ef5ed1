//! Telling the user where to point a browser: the URL (one for each of the
//! machine's addresses when listening on all of them), the token in it when
//! one is needed, and the first URL as a QR code for a phone to scan.

use std::net::{IpAddr, SocketAddr};

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use super::token::Token;

/// The URLs of the dashboard served on `bound`, with the token.
pub fn urls(bound: SocketAddr, token: Option<&Token>) -> Vec<String> {
    let query = token.map_or(String::new(), |t| format!("?token={}", t.as_str()));
    addresses(bound)
        .into_iter()
        .map(|ip| format!("http://{}/{query}", SocketAddr::new(ip, bound.port())))
        .collect()
}

/// Where others reach `bound`: itself, or for an unspecified address
/// (0.0.0.0, ::), each address of this machine's interfaces of its family
/// that is not a loopback one (the loopback address when there is none).
fn addresses(bound: SocketAddr) -> Vec<IpAddr> {
    let ip = bound.ip();
    if !ip.is_unspecified() {
        return vec![ip];
    }
    let mut found: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|interface| interface.ip())
        .filter(|a| !a.is_loopback() && a.is_ipv4() == ip.is_ipv4())
        // Link-local IPv6 addresses need a zone no browser takes in a URL.
        .filter(|a| !matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        found.push(match ip {
            IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        });
    }
    found
}

/// `url` as a QR code of text blocks, light on dark as phones read it from
/// a dark terminal too, with its quiet zone.
pub fn qr_code(url: &str) -> Option<String> {
    let code = QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// What is printed at the start: the title, each URL, and with a token the
/// QR code of the first URL and where the token is kept.
pub fn text(title: &str, bound: SocketAddr, token: Option<(&Token, &std::path::Path)>) -> String {
    let urls = urls(bound, token.map(|(t, _)| t));
    let mut out = format!("shm-bridge: serving {title}'s telemetry at\n");
    for url in &urls {
        out.push_str(&format!("  {url}\n"));
    }
    match token {
        None => out
            .push_str("  (this machine only: --listen 0.0.0.0 serves the network, with a token)\n"),
        Some((_, kept)) => {
            if let Some(qr) = urls.first().and_then(|u| qr_code(u)) {
                out.push_str("Scan this with the phone or tablet (same network):\n");
                out.push_str(&qr);
                out.push('\n');
            }
            out.push_str(&format!(
                "The token in the URL is kept in {} (remove the file for a new one).\n",
                kept.display()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_token_and_name_the_machines_addresses() {
        let loopback: SocketAddr = "127.0.0.1:8765".parse().unwrap();
        assert_eq!(urls(loopback, None), ["http://127.0.0.1:8765/"]);
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(urls(v6, None), ["http://[::1]:80/"]);
        let all: SocketAddr = "0.0.0.0:8765".parse().unwrap();
        for url in urls(all, None) {
            assert!(
                url.starts_with("http://") && !url.contains("0.0.0.0"),
                "{url}"
            );
        }
        let qr =
            qr_code("http://192.168.1.20:8765/?token=0123456789abcdef0123456789abcdef").unwrap();
        assert!(qr.lines().count() > 10, "{qr}");
        assert!(qr.contains('\u{2588}') || qr.contains('\u{2580}'), "{qr}");
    }
}

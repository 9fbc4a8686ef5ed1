//! Parsers for the numbers users type, range-checked so that no value can
//! overflow the arithmetic done with it later.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The longest time a command may be asked to run or wait: a year. Longer
/// is no one's intent and would overflow clock arithmetic.
pub const MAX_SECONDS: u64 = 365 * 24 * 3600;

/// A number of seconds, fractions allowed, from 0 to [`MAX_SECONDS`].
pub fn seconds(text: &str) -> Result<Duration, String> {
    let refuse = || {
        format!(
            "{text:?} is not a number of seconds from 0 to {MAX_SECONDS} (a year), such as 10 or 2.5"
        )
    };
    let value: f64 = text.trim().parse().map_err(|_| refuse())?;
    if !(value.is_finite() && (0.0..=MAX_SECONDS as f64).contains(&value)) {
        return Err(refuse());
    }
    Duration::try_from_secs_f64(value).map_err(|_| refuse())
}

/// An octal file mode such as 600 or 0644, with no bits beyond 0777.
pub fn mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?} is not an octal file mode such as 600 or 644"))
}

/// `--listen`: an address and port (`0.0.0.0:8765`, `[::]:8765`), or an
/// address alone for the default port.
pub fn listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
        .map_err(|_| {
            format!(
                "{text:?} is not an address to listen on, such as 127.0.0.1:{DEFAULT_PORT}, \
                 0.0.0.0:{DEFAULT_PORT} (every network) or [::]:{DEFAULT_PORT}"
            )
        })
}

/// The port `serve` listens on when `--listen` names an address alone.
pub const DEFAULT_PORT: u16 = 8765;

/// An MQTT broker's address, from `mqtt://HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    /// The host name or address (without brackets).
    pub host: String,
    /// The port (1883 by default).
    pub port: u16,
}

impl std::fmt::Display for MqttUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "mqtt://{}:{}", self.host, self.port)
        }
    }
}

/// `--mqtt`: `mqtt://HOST[:PORT]` (an IPv6 address in brackets); no user,
/// path or TLS.
pub fn mqtt_url(text: &str) -> Result<MqttUrl, String> {
    let refuse =
        |why: &str| format!("{text:?}: {why}; give the broker as mqtt://HOST or mqtt://HOST:PORT");
    let rest = text
        .trim()
        .strip_prefix("mqtt://")
        .ok_or_else(|| refuse("not an mqtt:// URL (mqtts:// and websockets are not supported)"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '@', '?', '#']) || rest.is_empty() {
        return Err(refuse("only a host and a port may follow mqtt://"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| refuse("no ] after the address"))?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return Err(refuse("an IPv6 address goes in brackets")),
            None => (rest, None),
        }
    };
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| refuse("the port is a number from 1 to 65535"))?,
        None => 1883,
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("no host"));
    }
    Ok(MqttUrl {
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_finite_non_negative_and_at_most_a_year() {
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert_eq!(seconds("31536000"), Ok(Duration::from_secs(MAX_SECONDS)));
        for bad in ["-1", "1e30", "1e19", "NaN", "inf", "", "x", "31536001"] {
            let err = seconds(bad).unwrap_err();
            assert!(err.contains("a year"), "{bad}: {err}");
        }
    }

    #[test]
    fn modes_are_octal_permission_bits() {
        assert_eq!(mode("600"), Ok(0o600));
        assert_eq!(mode("0644"), Ok(0o644));
        for bad in ["8", "1777", "-1", "", "rw"] {
            assert!(mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn listen_addresses_take_the_default_port_alone() {
        assert_eq!(
            listen_address("0.0.0.0"),
            Ok("0.0.0.0:8765".parse().unwrap())
        );
        assert_eq!(listen_address("[::1]"), Ok("[::1]:8765".parse().unwrap()));
        assert_eq!(listen_address("::"), Ok("[::]:8765".parse().unwrap()));
        assert_eq!(
            listen_address("127.0.0.1:0"),
            Ok("127.0.0.1:0".parse().unwrap())
        );
        assert!(listen_address("localhost:80").is_err());
        assert!(listen_address("1.2.3.4:99999").is_err());
    }

    #[test]
    fn mqtt_urls_are_a_host_and_a_port() {
        let url = |host: &str, port| MqttUrl {
            host: host.into(),
            port,
        };
        assert_eq!(mqtt_url("mqtt://broker"), Ok(url("broker", 1883)));
        assert_eq!(mqtt_url("mqtt://10.0.0.2:1884/"), Ok(url("10.0.0.2", 1884)));
        assert_eq!(mqtt_url("mqtt://[fe80::1]:1"), Ok(url("fe80::1", 1)));
        assert_eq!(mqtt_url("mqtt://[::1]"), Ok(url("::1", 1883)));
        assert_eq!(url("::1", 1883).to_string(), "mqtt://[::1]:1883");
        for bad in [
            "broker",
            "mqtts://broker",
            "mqtt://",
            "mqtt://u:p@broker",
            "mqtt://broker:0",
            "mqtt://broker:x",
            "mqtt://broker/topic",
            "mqtt://fe80::1",
            "mqtt://[::1",
        ] {
            assert!(mqtt_url(bad).is_err(), "{bad}");
        }
    }
}

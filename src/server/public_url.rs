//! The base URL of share links. `--public-url` when given; otherwise the listening address,
//! unless that is unspecified (`0.0.0.0`, `::`): a link to `http://0.0.0.0:PORT` opens
//! nothing on the recipient's machine, so then each link is built from the `Host` header of
//! the request that creates it (the address the owner reached the server at), and only a
//! missing or malformed one falls back to the placeholder.
//!
//! The `Host` header is the requester's: it is used only for the link handed back to that
//! same authenticated owner, after a strict `host[:port]` check, so it can neither reach
//! anyone else nor smuggle a path, userinfo or markup into the URL.

use std::net::SocketAddr;

/// How share links get their base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicUrl {
    /// `--public-url`, or a listening address others can use as it is.
    Fixed(String),
    /// No `--public-url` on an unspecified address: `scheme://HOST` from each request,
    /// `placeholder` (the listening address) when the header is unusable.
    FromHost {
        scheme: &'static str,
        placeholder: String,
    },
}

impl PublicUrl {
    /// The rule for a server listening on `addr` with `scheme`, given `--public-url`.
    pub fn new(configured: Option<&str>, scheme: &'static str, addr: SocketAddr) -> PublicUrl {
        let listening = format!("{scheme}://{addr}");
        match configured {
            Some(url) => PublicUrl::Fixed(url.to_string()),
            None if addr.ip().is_unspecified() => PublicUrl::FromHost {
                scheme,
                placeholder: listening,
            },
            None => PublicUrl::Fixed(listening),
        }
    }

    /// What the operator should hear at start, if anything.
    pub fn startup_warning(&self) -> Option<String> {
        match self {
            PublicUrl::Fixed(_) => None,
            PublicUrl::FromHost { placeholder, .. } => Some(format!(
                "warning: no --public-url while listening on every interface: share links will use the Host header of the request that creates them (the address the sender reached this server at), and the placeholder {placeholder}, which recipients cannot open, when it is missing or malformed; set --public-url (or SECRETCTL_PUBLIC_URL) to the URL people reach this server at"
            )),
        }
    }

    /// The base for a link created by a request with `host` as its `Host` header; the flag
    /// is true when the placeholder had to be used.
    pub fn base_for(&self, host: Option<&str>) -> (String, bool) {
        match self {
            PublicUrl::Fixed(url) => (url.clone(), false),
            PublicUrl::FromHost {
                scheme,
                placeholder,
            } => match host.filter(|h| usable_host(h)) {
                Some(h) => (format!("{scheme}://{}", h.to_ascii_lowercase()), false),
                None => (placeholder.clone(), true),
            },
        }
    }
}

/// True for `hostname[:port]` or `[ipv6][:port]`: letters, digits, `.` and `-` (or hex
/// digits, `:` and `.` inside brackets), a port of 1-65535 digits, nothing else; and not
/// an unspecified address, which is the very placeholder this replaces.
pub fn usable_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 260 {
        return false;
    }
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        let ok = !inside.is_empty()
            && inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok || inside.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => (inside, None),
            p => match p.strip_prefix(':') {
                Some(p) => (inside, Some(p)),
                None => return false,
            },
        }
    } else {
        let (name, port) = match host.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        };
        let ok = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !name.starts_with(['.', '-']);
        if !ok {
            return false;
        }
        (name, port)
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n != 0)
    });
    let unspecified = name
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    port_ok && !unspecified
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_host_and_port_pass() {
        for ok in [
            "localhost",
            "secrets.example.com",
            "secrets.example.com:8443",
            "10.0.0.5:8080",
            "[::1]:8080",
            "[fe80::1]",
            "xn--bcher-kva.example",
        ] {
            assert!(usable_host(ok), "{ok:?}");
        }
        for bad in [
            "",
            ":8080",
            "host:",
            "host:0",
            "host:65536",
            "host:80:80",
            "host:+80",
            "0.0.0.0:8080",
            "[::]:8080",
            "[::1",
            "[::1]x",
            "[nothex]:1",
            "user@host",
            "host/path",
            "host?q",
            "host#f",
            "host name",
            "ho\"st",
            "<script>",
            ".host",
            "-host",
            "host\r\nX: y",
        ] {
            assert!(!usable_host(bad), "{bad:?}");
        }
        assert!(!usable_host(&"a".repeat(300)));
    }

    #[test]
    fn the_base_depends_on_the_address_and_the_flag() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let fixed = PublicUrl::new(Some("https://s.example"), "http", any);
        assert_eq!(fixed.base_for(Some("evil.example")).0, "https://s.example");
        assert!(fixed.startup_warning().is_none());
        let local = PublicUrl::new(None, "http", local);
        assert_eq!(
            local.base_for(Some("other:1")),
            ("http://127.0.0.1:8080".into(), false)
        );
        assert!(local.startup_warning().is_none());

        let derived = PublicUrl::new(None, "https", any);
        assert!(
            derived
                .startup_warning()
                .unwrap()
                .contains("https://0.0.0.0:8080")
        );
        assert_eq!(
            derived.base_for(Some("Box.LAN:8080")),
            ("https://box.lan:8080".into(), false)
        );
        for unusable in [None, Some("a b"), Some("x/y")] {
            assert_eq!(
                derived.base_for(unusable),
                ("https://0.0.0.0:8080".into(), true)
            );
        }
        let v6: SocketAddr = "[::]:9".parse().unwrap();
        assert!(matches!(
            PublicUrl::new(None, "http", v6),
            PublicUrl::FromHost { .. }
        ));
    }
}

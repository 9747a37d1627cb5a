//! The client's address for throttling (an IPv6 client counted by its /64). `X-Forwarded-For`
//! is believed only as far as it was written by proxies we trust (`auth.trusted_proxies`): each
//! proxy appends the address it received from, so the header is read from the right and the
//! first untrusted hop is the client. Whatever a client writes itself sits to the left of that
//! and is never reached.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;
use serde::{Deserialize, Deserializer};

/// A trusted proxy: one address (`10.0.0.7`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => mask_eq(
                u32::from(net).into(),
                u32::from(addr).into(),
                self.prefix,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                mask_eq(u128::from(net), u128::from(addr), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `bits` bits of `a` and `b` agree.
fn mask_eq(a: u128, b: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix);
    shift >= 128 || (a >> shift) == (b >> shift)
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?
            .to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0..={bits}"))?,
        };
        Ok(TrustedProxy { network, prefix })
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> Deserialize<'de> for TrustedProxy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One hop of `X-Forwarded-For`: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|a| a.to_canonical())
}

/// The client behind `peer`: the peer itself unless it is a trusted proxy; then the first hop of
/// `forwarded_for` (read from the right) that is not a trusted proxy. When the chain runs out or
/// holds something that is not an address, the last trusted hop reached stands for the client,
/// so a client can never choose the address it is counted under.
pub fn resolve(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[TrustedProxy],
) -> Option<IpAddr> {
    let is_trusted = |a: IpAddr| trusted.iter().any(|t| t.contains(a));
    let mut client = peer?.to_canonical();
    if !is_trusted(client) {
        return Some(client);
    }
    for hop in forwarded_for.unwrap_or("").rsplit(',') {
        match parse_hop(hop) {
            Some(address) if is_trusted(address) => client = address,
            Some(address) => return Some(address),
            None => break,
        }
    }
    Some(client)
}

/// [`resolve`] for a request, as [`counted_as`]; several `X-Forwarded-For` headers count as one
/// list, in order.
pub fn client_address(req: &HttpRequest, trusted: &[TrustedProxy]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip().to_canonical());
    let client = if trusted.is_empty() {
        peer
    } else {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        resolve(peer, Some(&forwarded.join(",")), trusted)
    };
    client.map(counted_as)
}

/// What a client is counted as: an IPv4 address itself, an IPv6 one its /64 network. A host
/// gets a whole /64 and picks new addresses in it at will (privacy addresses), so counting each
/// address alone would give one client as many throttles, views and search turns as it likes.
pub fn counted_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !0u128 << 64).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn ranges_parse_and_match() {
        let net: TrustedProxy = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped IPv6");
        let one: TrustedProxy = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: TrustedProxy = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: TrustedProxy = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "proxy.example",
            "10.0.0/8",
            "10.0.0.0/x",
            "",
        ] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies(&["10.0.0.1"]);
        let peer = Some(ip("203.0.113.5"));
        assert_eq!(resolve(peer, Some("198.51.100.1"), &trusted), peer);
        assert_eq!(resolve(peer, Some("198.51.100.1"), &[]), peer);
        assert_eq!(resolve(None, Some("198.51.100.1"), &trusted), None);
    }

    #[test]
    fn the_header_is_read_from_the_right_skipping_trusted_proxies_only() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        let peer = Some(ip("10.0.0.1"));
        // The client wrote a fake first hop; our proxies appended the real one.
        assert_eq!(
            resolve(
                peer,
                Some("1.1.1.1, 203.0.113.9, 192.0.2.1, 10.1.2.3"),
                &trusted
            ),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            resolve(peer, Some("203.0.113.9:4711"), &trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            resolve(peer, Some("[2001:db8::1]:80"), &trusted),
            Some(ip("2001:db8::1"))
        );
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_network() {
        assert_eq!(counted_as(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(counted_as(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            counted_as(ip("2001:db8:1:2:bbbb::7")),
            counted_as(ip("2001:db8:1:2:aaaa::1"))
        );
        assert_ne!(
            counted_as(ip("2001:db8:1:3::1")),
            counted_as(ip("2001:db8:1:2::1"))
        );
    }

    #[test]
    fn a_missing_or_broken_chain_stops_at_the_last_trusted_hop() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(resolve(peer, None, &trusted), peer);
        assert_eq!(resolve(peer, Some(""), &trusted), peer);
        assert_eq!(
            resolve(peer, Some("203.0.113.9, unknown, 10.0.0.2"), &trusted),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(
            resolve(peer, Some("10.9.9.9, 10.0.0.2"), &trusted),
            Some(ip("10.9.9.9"))
        );
    }
}

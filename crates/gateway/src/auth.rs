//! Token checks: a constant-time comparison, and a per-address brake on repeated failures.
//!
//! The comparison must not leak how much of a guess was right through its timing. The brake
//! makes guessing slow: after a few free failures, an address must wait (doubling each time,
//! up to a cap) before its next attempt is even looked at, and attempts made too early are
//! answered `429` without checking the token.
//!
//! Failures are counted per *source*, not per address, because one client can have many
//! addresses: every loopback address (all of 127.0.0.0/8, `::1`, and IPv4-mapped loopback)
//! is this machine, one source; an IPv6 client usually owns a whole /64 and can pick any
//! address in it, so the /64 is the source; an IPv4-mapped IPv6 address is its IPv4 address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};

use crate::error::GatewayError;
use crate::settings::AuthMode;

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Walk the longer one whole so a length mismatch takes as long as a content mismatch.
    let len = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The brake's settings.
#[derive(Debug, Clone, Copy)]
pub struct BrakeSettings {
    /// Failures allowed before waiting is required.
    pub free_failures: u32,
    /// The first wait; each further failure doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A quiet address is forgotten after this long.
    pub forget_after: Duration,
}

impl Default for BrakeSettings {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Whom a failed attempt is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrakeSource {
    /// Any loopback address, IPv4 or IPv6: this machine.
    Loopback,
    /// An IPv4 address (also when it arrived IPv4-mapped in IPv6).
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl BrakeSource {
    /// The source of a client at `ip`.
    pub fn of(ip: IpAddr) -> Self {
        let v4 = match ip {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4,
                None if v6.is_loopback() => return BrakeSource::Loopback,
                None => return BrakeSource::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        };
        if v4.is_loopback() {
            BrakeSource::Loopback
        } else {
            BrakeSource::V4(v4)
        }
    }
}

/// Sources remembered at most; beyond it the oldest are dropped (a flood of spoofed-looking
/// addresses cannot grow memory without bound).
const MAX_TRACKED: usize = 4096;

/// Tracks failed attempts per source ([`BrakeSource`]).
#[derive(Debug)]
pub struct AuthBrake {
    settings: BrakeSettings,
    failures: Mutex<HashMap<BrakeSource, Failures>>,
}

impl AuthBrake {
    pub fn new(settings: BrakeSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn delay_for(&self, count: u32) -> Duration {
        if count < self.settings.free_failures {
            return Duration::ZERO;
        }
        let doublings = (count - self.settings.free_failures).min(20);
        self.settings
            .base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.settings.max_delay)
    }

    /// `Err(wait)` when the source of `ip` must wait before its next attempt is considered.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&BrakeSource::of(ip)) {
            Some(f) => {
                let ready_at = f.last + self.delay_for(f.count);
                let now = Instant::now();
                if now < ready_at {
                    Err(ready_at - now)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// Records a failure.
    pub fn failed(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_TRACKED {
            let forget = self.settings.forget_after;
            map.retain(|_, f| now.duration_since(f.last) < forget);
            if map.len() >= MAX_TRACKED {
                // Still full: drop the older half.
                let mut lasts: Vec<Instant> = map.values().map(|f| f.last).collect();
                lasts.sort();
                let cut = lasts[lasts.len() / 2];
                map.retain(|_, f| f.last > cut);
            }
        }
        let entry = map.entry(BrakeSource::of(ip)).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) > self.settings.forget_after {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    /// A success clears the record of the address's source.
    pub fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&BrakeSource::of(ip));
    }

    /// Checks `presented` against `mode` for a client at `ip`, braking repeated failures.
    pub fn authenticate(
        &self,
        mode: &AuthMode,
        ip: Option<IpAddr>,
        presented: Option<&str>,
    ) -> Result<(), GatewayError> {
        let AuthMode::Token(expected) = mode else {
            return Ok(());
        };
        if let Some(ip) = ip {
            self.check(ip)
                .map_err(|retry_after| GatewayError::RateLimited { retry_after })?;
        }
        // No token is not a guess, and any web page can make a browser send such requests to
        // loopback (an `<img>` carries no `Origin`): counting them would let a page lock the
        // user out.
        let Some(presented) = presented else {
            return Err(GatewayError::Unauthorized);
        };
        let ok = constant_time_eq(presented.as_bytes(), expected.as_bytes());
        if let Some(ip) = ip {
            if ok {
                self.succeeded(ip);
            } else {
                self.failed(ip);
            }
        }
        if ok {
            Ok(())
        } else {
            Err(GatewayError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer  tok ".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("tok"));
        h.insert(header::AUTHORIZATION, "bearer tok".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("tok"));
        h.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn repeated_failures_are_braked_and_success_clears() {
        let brake = AuthBrake::new(BrakeSettings {
            free_failures: 2,
            base_delay: Duration::from_secs(30),
            ..BrakeSettings::default()
        });
        let mode = AuthMode::Token("secret".into());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..2 {
            assert!(matches!(
                brake.authenticate(&mode, Some(ip), Some("wrong")),
                Err(GatewayError::Unauthorized)
            ));
        }
        // Now even the right token must wait.
        assert!(matches!(
            brake.authenticate(&mode, Some(ip), Some("secret")),
            Err(GatewayError::RateLimited { .. })
        ));
        // Other addresses are not affected.
        assert!(brake
            .authenticate(&mode, Some(other), Some("secret"))
            .is_ok());
        assert!(brake.authenticate(&AuthMode::None, Some(ip), None).is_ok());
        assert_eq!(brake.delay_for(2), Duration::from_secs(30));
        assert_eq!(brake.delay_for(3), Duration::from_secs(60));
        assert_eq!(brake.delay_for(40), Duration::from_secs(60));
    }

    #[test]
    fn loopback_is_one_source_and_ipv6_counts_by_its_64_prefix() {
        let src = |s: &str| BrakeSource::of(s.parse().unwrap());
        for lo in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "::1",
            "::ffff:127.0.0.3",
        ] {
            assert_eq!(src(lo), BrakeSource::Loopback, "{lo}");
        }
        assert_eq!(src("::ffff:10.0.0.1"), src("10.0.0.1"));
        assert_ne!(src("10.0.0.1"), src("10.0.0.2"));
        assert_eq!(
            src("2001:db8:1:2::1"),
            src("2001:db8:1:2:ffff:eeee:dddd:cccc")
        );
        assert_ne!(src("2001:db8:1:2::1"), src("2001:db8:1:3::1"));
        assert_ne!(src("::2"), BrakeSource::Loopback);
    }

    #[test]
    fn rotating_addresses_does_not_dodge_the_brake() {
        let brake = AuthBrake::new(BrakeSettings {
            free_failures: 2,
            base_delay: Duration::from_secs(30),
            ..BrakeSettings::default()
        });
        let mode = AuthMode::Token("secret".into());
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // Two failures from two loopback addresses: the brake is on for all of loopback.
        for guesser in ["127.0.0.2", "127.0.0.3"] {
            assert!(matches!(
                brake.authenticate(&mode, ip(guesser), Some("wrong")),
                Err(GatewayError::Unauthorized)
            ));
        }
        for other in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(
                matches!(
                    brake.authenticate(&mode, ip(other), Some("secret")),
                    Err(GatewayError::RateLimited { .. })
                ),
                "{other}"
            );
        }
        // Two addresses of one IPv6 /64 likewise; another /64 is someone else.
        for guesser in ["2001:db8::1", "2001:db8::2:3"] {
            let _ = brake.authenticate(&mode, ip(guesser), Some("wrong"));
        }
        assert!(matches!(
            brake.authenticate(&mode, ip("2001:db8::ffff"), Some("secret")),
            Err(GatewayError::RateLimited { .. })
        ));
        assert!(brake
            .authenticate(&mode, ip("2001:db8:0:1::1"), Some("secret"))
            .is_ok());
        // IPv4-mapped IPv6 is its IPv4 address.
        for _ in 0..2 {
            let _ = brake.authenticate(&mode, ip("::ffff:10.1.1.1"), Some("wrong"));
        }
        assert!(matches!(
            brake.authenticate(&mode, ip("10.1.1.1"), Some("secret")),
            Err(GatewayError::RateLimited { .. })
        ));
    }
}

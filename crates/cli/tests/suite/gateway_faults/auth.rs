//! Authentication under attack on the real socket: token guessing from many loopback
//! addresses is braked on both doors (HTTP and the WebSocket `connect`), requests without a
//! token do not lock the user out, and only the right ways of presenting the token work.

use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use openclaw_test_support::gateway::http::request;
use openclaw_test_support::gateway::ws;

use super::{bearer, models, models_on, AssertHealthy, Upstream, TOKEN};

/// A connection to the gateway from another loopback address (`127.0.0.2`…): another client
/// as far as the per-address brake is concerned.
fn connect_from(source: Ipv4Addr, port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    let addr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we own; the addresses are valid
    // `sockaddr_in`s for the length given; the descriptor is handed to `TcpStream` once.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let local = addr(source, 0);
        let rc = libc::bind(fd, std::ptr::from_ref(&local).cast(), len);
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let remote = addr(Ipv4Addr::LOCALHOST, port);
        let rc = libc::connect(fd, std::ptr::from_ref(&remote).cast(), len);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// Guessing the token as fast as possible, each guess from another loopback address
/// (127.0.0.2, 127.0.0.3, …) and with spoofed forwarding headers: all of loopback is one
/// source, so after 5 free failures each further guess waits twice as long (0.5 s, 1 s, 2 s…)
/// and guesses made before the wait is over are answered `429` without being checked — the
/// right token too, from any loopback address, on both doors (HTTP and the WebSocket
/// `connect`). Once the wait is over the right token works and clears the record. (That other
/// sources are not affected: `router::repeated_auth_failures_from_one_address_are_slowed_down`
/// and the unit tests of `auth.rs`, which can use non-loopback addresses.) Found by this test:
/// each loopback address was its own source, so rotating through 127.0.0.0/8 dodged the brake.
#[test]
fn token_guessing_is_braked_per_address_on_both_doors() {
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let port = gw.port();
    let started = Instant::now();
    let (mut attempts, mut checked, mut braked) = (0u32, 0u32, 0u32);
    let mut retry_after = 0;
    while checked < 8 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{checked} checks"
        );
        attempts += 1;
        let guess = format!("Bearer guess-{attempts}");
        let spoof = format!("10.0.{}.{}", attempts / 250, attempts % 250);
        let forwarded = format!("for={spoof}");
        let source = Ipv4Addr::new(127, 0, (attempts / 250) as u8, 2 + (attempts % 250) as u8);
        let r = models_on(
            connect_from(source, port),
            port,
            &[
                ("Authorization", &guess),
                ("X-Forwarded-For", &spoof),
                ("X-Real-IP", &spoof),
                ("Forwarded", &forwarded),
            ],
        );
        match r.status {
            401 => {
                checked += 1;
                r.openai_error(401, Some("invalid_api_key"));
            }
            429 => {
                braked += 1;
                let message = r.openai_error(429, Some("rate_limit_exceeded"));
                assert!(message.contains("too many failed"), "{message}");
                let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                retry_after = retry_after.max(wait);
            }
            _ => panic!("{r:?}"),
        }
    }
    let guessing = started.elapsed();
    // The 8th failure set a 4 s wait: the right token is not even looked at now.
    let right = models(port, &[("Authorization", &bearer())]);
    let message = right.openai_error(429, Some("rate_limit_exceeded"));
    let wait: u64 = right.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=4).contains(&wait), "Retry-After {wait}: {message}");
    // The WebSocket door shares the brake.
    let mut ws = ws::open(port, &[]).unwrap();
    let res = ws::request(&mut ws, "c", "connect", ws::connect_params(Some(TOKEN)));
    assert_eq!(res["ok"], false, "{res}");
    let detail = &res["error"]["details"]["code"];
    assert_eq!(detail, "AUTH_RATE_LIMITED", "{res}");
    assert_eq!(ws::closed(&mut ws).map(|c| c.0), Some(1008));
    // Every loopback address is the same source: still braked.
    for source in [Ipv4Addr::new(127, 0, 0, 3), Ipv4Addr::new(127, 9, 9, 9)] {
        let other = models_on(
            connect_from(source, port),
            port,
            &[("Authorization", &bearer())],
        );
        other.openai_error(429, Some("rate_limit_exceeded"));
    }
    // Once the wait is over, the right token works (early tries do not extend the wait).
    let waited = Instant::now();
    loop {
        let r = models(port, &[("Authorization", &bearer())]);
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 429, "{r:?}");
        assert!(
            waited.elapsed() < Duration::from_secs(wait + 10),
            "still braked"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // …and clears the record: a wrong token is checked (401), not braked.
    let r = models(port, &[("Authorization", "Bearer wrong")]);
    assert_eq!(r.status, 401, "{r:?}");
    eprintln!(
        "token guessing, each guess from another loopback address: {attempts} guesses in \
         {guessing:?}, {checked} checked, {braked} answered 429 unchecked (Retry-After up to \
         {retry_after} s); the right token was then told Retry-After {wait} s and worked again \
         {:?} later",
        waited.elapsed()
    );
    assert!(braked > 0);
    gw.assert_healthy();
}

/// Found by these tests: a request with no token at all counted as a failed guess. Any web
/// page the user visits can make the browser send those to loopback without an `Origin`
/// header (`<img src="http://127.0.0.1:18789/v1/models">`, a GET `fetch` in `no-cors` mode),
/// so a page could keep the user's own clients locked out. Only a presented token is a guess.
#[test]
fn requests_without_a_token_do_not_lock_the_user_out() {
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let port = gw.port();
    for _ in 0..10 {
        // What a cross-site <img>/no-cors GET sends: no Origin, no Authorization.
        let r = models(
            port,
            &[
                ("Sec-Fetch-Site", "cross-site"),
                ("Sec-Fetch-Mode", "no-cors"),
            ],
        );
        r.openai_error(401, Some("invalid_api_key"));
        // Credentials in the URL (`http://user:pass@127.0.0.1:…`) arrive as Basic.
        let r = models(port, &[("Authorization", "Basic dXNlcjpwYXNz")]);
        r.openai_error(401, Some("invalid_api_key"));
    }
    let mut ws = ws::open(port, &[]).unwrap();
    let res = ws::request(&mut ws, "c", "connect", ws::connect_params(None));
    let detail = &res["error"]["details"]["code"];
    assert_eq!(detail, "AUTH_TOKEN_MISSING", "{res}");
    let r = models(port, &[("Authorization", &bearer())]);
    assert_eq!(r.status, 200, "the user is locked out: {r:?}");
    gw.assert_healthy();
}

/// Ways of presenting the token that are and are not accepted, over the real socket. Each
/// refused one is followed by a good request (a success clears the brake, so they are all
/// checked, not braked). The router tests cover the plain cases (`the_api_needs_the_token`).
#[test]
fn authorization_header_variants() {
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let port = gw.port();
    let right = bearer();
    let upper = format!("BEARER {TOKEN}");
    let lower = format!("bearer {TOKEN}");
    let spaced = format!("Bearer     {TOKEN}   ");
    let tab = format!("Bearer\t{TOKEN}");
    let bare = TOKEN.to_string();
    let basic = format!("Basic {TOKEN}");
    let longer = format!("Bearer {TOKEN}x");
    let prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    let case = format!("Bearer {}", TOKEN.to_uppercase());
    let listed = format!("Bearer {TOKEN}, Bearer other");
    let proxy = format!("Bearer {TOKEN}");
    let cookie = format!("token={TOKEN}");
    let query = |name: &str| format!("/v1/models?{name}={TOKEN}");
    let accepted: [&[(&str, &str)]; 4] = [
        &[("Authorization", &lower)],
        &[("Authorization", &upper)],
        &[("Authorization", &spaced)],
        // Two headers: the first decides.
        &[("Authorization", &right), ("Authorization", "Bearer wrong")],
    ];
    for headers in accepted {
        let r = models(port, headers);
        assert_eq!(r.status, 200, "{headers:?}: {r:?}");
    }
    let refused: [(&str, &[(&str, &str)]); 13] = [
        ("/v1/models", &[("Authorization", &tab)]),
        ("/v1/models", &[("Authorization", &bare)]),
        ("/v1/models", &[("Authorization", &basic)]),
        ("/v1/models", &[("Authorization", &longer)]),
        ("/v1/models", &[("Authorization", &prefix)]),
        ("/v1/models", &[("Authorization", &case)]),
        ("/v1/models", &[("Authorization", &listed)]),
        (
            "/v1/models",
            &[("Authorization", "Bearer wrong"), ("Authorization", &right)],
        ),
        (
            "/v1/models",
            &[("Proxy-Authorization", &proxy), ("X-Api-Key", TOKEN)],
        ),
        ("/v1/models", &[("Cookie", &cookie)]),
        (&query("token"), &[]),
        (&query("access_token"), &[]),
        (&query("api_key"), &[]),
    ];
    for (path, headers) in refused {
        let r = request(port, "GET", path, headers, None);
        r.openai_error(401, Some("invalid_api_key"));
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer"),
            "{path} {headers:?}"
        );
        let ok = models(port, &[("Authorization", &right)]);
        assert_eq!(ok.status, 200, "after {path} {headers:?}: {ok:?}");
    }
    gw.assert_healthy();
}

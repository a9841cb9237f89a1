//! The listening socket: accepting connections with limits and timeouts, and shutting down
//! gracefully.
//!
//! The accept loop is written out (hyper's HTTP/1 connection builder) rather than left to
//! `axum::serve` because the gateway needs what that hides: a header-read timeout against
//! slow clients, a cap on open connections, the client's address for the auth brake, and a
//! shutdown that lets running answers finish. Shutdown: stop accepting; refuse new runs; let
//! the runs going on finish for up to the grace period (WebSockets close with 1001 once their
//! runs are done); then end the remaining runs cleanly (each gets an `error` event or SSE
//! error chunk and `[DONE]`) and close what is left.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

use crate::error::GatewayError;
use crate::state::{signalled, AppState};

/// Binds the listening socket.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, GatewayError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })
}

/// Raises the soft open-files limit to the hard limit: every streamed chat holds two sockets
/// (client and model server), and the usual soft limit of 1024 is too low for a busy gateway.
pub fn raise_fd_limit() {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
                let wanted = libc::rlimit {
                    rlim_cur: lim.rlim_max.min(1 << 20),
                    rlim_max: lim.rlim_max,
                };
                let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &wanted);
            }
        }
    }
}

/// Counts open connections so shutdown can wait for them.
#[derive(Default)]
struct Tracker {
    open: AtomicUsize,
    changed: Notify,
}

struct Tracked(Arc<Tracker>);

impl Tracked {
    fn new(t: &Arc<Tracker>) -> Self {
        t.open.fetch_add(1, Ordering::SeqCst);
        Self(t.clone())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

impl Tracker {
    async fn idle(&self) {
        loop {
            let changed = self.changed.notified();
            if self.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            changed.await;
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then shuts down gracefully.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let limits = state.limits.clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let tracker = Arc::new(Tracker::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let conn = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let stop = stop_rx.clone();
        let tracked = Tracked::new(&tracker);
        tokio::spawn(async move {
            let _permit = permit;
            let _tracked = tracked;
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = signalled(stop) => {
                    // Finish the response in flight (a stream included), then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; running answers may finish");
    state.begin_drain();
    let _ = stop_tx.send(true);
    let grace = limits.shutdown_grace;
    let drained = tokio::time::timeout(grace, async {
        state.runs_idle().await;
        tracker.idle().await;
        state.websockets_closed().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            runs = state.active_runs(),
            "grace period over: ending the runs still going"
        );
        state.stop_hard();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            state.runs_idle().await;
            tracker.idle().await;
            state.websockets_closed().await;
        })
        .await;
    }
}

//! How protocol runs ended, kept for a while: `agent.wait` reads it, and a retried `agent` or
//! `chat.send` with the same idempotency key gets the first run's outcome instead of a second
//! run.
//!
//! The run id is the client's idempotency key, as in the original. Only the most recent
//! [`KEPT`] outcomes are kept, so memory stays bounded however long the gateway runs.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::protocol::AgentOutcome;

/// Outcomes kept at most.
pub const KEPT: usize = 1024;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub started_at: u64,
    pub ended_at: u64,
    /// The final `agent` answer (status `ok`, `error` or `timeout`).
    pub outcome: AgentOutcome,
}

/// Ended runs, newest kept.
#[derive(Default)]
pub struct RunLedger {
    inner: Mutex<Inner>,
    ended: Notify,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Ended>,
    order: VecDeque<String>,
}

impl RunLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the end of `run_id` and wakes whoever waits.
    pub fn record(&self, run_id: &str, ended: Ended) {
        {
            let mut inner = self.lock();
            if inner.by_id.insert(run_id.to_string(), ended).is_none() {
                inner.order.push_back(run_id.to_string());
            }
            while inner.order.len() > KEPT {
                if let Some(old) = inner.order.pop_front() {
                    inner.by_id.remove(&old);
                }
            }
        }
        self.ended.notify_waiters();
    }

    /// How `run_id` ended, if it did (recently).
    pub fn get(&self, run_id: &str) -> Option<Ended> {
        self.lock().by_id.get(run_id).cloned()
    }

    /// Forgets `run_id`, so its key may start a new run.
    pub fn forget(&self, run_id: &str) {
        let mut inner = self.lock();
        if inner.by_id.remove(run_id).is_some() {
            inner.order.retain(|r| r != run_id);
        }
    }

    /// Waits until `run_id` has ended, or `timeout` passes.
    pub async fn wait(&self, run_id: &str, timeout: std::time::Duration) -> Option<Ended> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ended = self.ended.notified();
            if let Some(e) = self.get(run_id) {
                return Some(e);
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return self.get(run_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(n: u64) -> Ended {
        Ended {
            started_at: n,
            ended_at: n,
            outcome: AgentOutcome {
                run_id: n.to_string(),
                status: "ok".into(),
                summary: "completed".into(),
                stop_reason: None,
                result: None,
            },
        }
    }

    #[test]
    fn keeps_the_newest() {
        let l = RunLedger::default();
        for n in 0..(KEPT as u64 + 10) {
            l.record(&n.to_string(), ended(n));
        }
        assert!(l.get("0").is_none());
        assert!(l.get(&(KEPT as u64 + 9).to_string()).is_some());
        l.forget("1030");
        assert!(l.get("1030").is_none());
    }

    #[tokio::test]
    async fn wait_wakes_on_record() {
        let l = std::sync::Arc::new(RunLedger::default());
        let l2 = l.clone();
        let waiter =
            tokio::spawn(async move { l2.wait("r", std::time::Duration::from_secs(5)).await });
        tokio::task::yield_now().await;
        l.record("r", ended(1));
        assert!(waiter.await.unwrap().is_some());
        assert!(l
            .wait("none", std::time::Duration::from_millis(10))
            .await
            .is_none());
    }
}

//! Backpressure from whoever consumes streamed text back to the reading of the model's reply.
//!
//! A client of the gateway that reads slowly (or not at all for a while) must not make the
//! gateway hold everything the model sends meanwhile: before reading the next piece of a reply,
//! the client waits until the consumer is at most a set number of bytes behind. The model
//! server then waits on its socket, exactly as it would for a slow network.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// How far the consumer of a stream is behind, in bytes of text.
#[derive(Debug)]
pub struct Backlog {
    queued: AtomicUsize,
    limit: usize,
    drained: Notify,
}

impl Backlog {
    /// Reading pauses while more than `limit` bytes wait for the consumer.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            queued: AtomicUsize::new(0),
            limit,
            drained: Notify::new(),
        })
    }

    /// The producer queued `bytes` for the consumer.
    pub fn queued(&self, bytes: usize) {
        self.queued.fetch_add(bytes, Ordering::AcqRel);
    }

    /// The consumer took `bytes`.
    pub fn sent(&self, bytes: usize) {
        let before = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(bytes))
            })
            .unwrap_or(0);
        if before.saturating_sub(bytes) <= self.limit {
            self.drained.notify_waiters();
        }
    }

    /// Bytes waiting for the consumer now.
    pub fn behind(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Returns once the consumer is at most `limit` bytes behind.
    pub async fn wait_for_room(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a `sent` in between is not missed.
            drained.as_mut().enable();
            if self.behind() <= self.limit {
                return;
            }
            drained.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_while_the_consumer_is_behind() {
        let backlog = Backlog::new(10);
        backlog.queued(8);
        backlog.wait_for_room().await; // under the limit: at once
        backlog.queued(8);
        let waiting = tokio::spawn({
            let backlog = backlog.clone();
            async move { backlog.wait_for_room().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "16 bytes behind, limit 10");
        backlog.sent(4);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "12 bytes behind");
        backlog.sent(4);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        backlog.sent(100);
        assert_eq!(backlog.behind(), 0);
    }
}

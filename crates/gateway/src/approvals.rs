//! Exec approvals waiting for a person, gateway-wide.
//!
//! A run's `exec` outside the allowlist asks; every connected client holding the
//! `operator.approvals` scope hears it (`exec.approval.requested`), and any of them may answer
//! (`exec.approval.resolve`), as in the original. With no such client connected the run is
//! told at once that nobody can be asked, instead of waiting out the timeout for nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::protocol::{ExecApprovalRequest, ExecApprovalRequested};

/// The approvals waiting for an answer.
#[derive(Default)]
pub struct ExecApprovals {
    waiting: Mutex<HashMap<String, Waiting>>,
    /// Connected clients that may answer.
    answerers: AtomicUsize,
}

struct Waiting {
    tx: oneshot::Sender<bool>,
    /// What was announced (set once the request event is out).
    announced: Option<ExecApprovalRequested>,
}

impl ExecApprovals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an approval; `None` when no client that may answer is connected.
    pub fn wait_for(&self, id: &str) -> Option<oneshot::Receiver<bool>> {
        if self.answerers.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.lock().insert(
            id.to_string(),
            Waiting {
                tx,
                announced: None,
            },
        );
        Some(rx)
    }

    /// Remembers what was announced for `id`, for `exec.approval.list`.
    pub fn announced(&self, id: &str, requested: ExecApprovalRequested) {
        if let Some(w) = self.lock().get_mut(id) {
            w.announced = Some(requested);
        }
    }

    /// Delivers an answer; the request when something waited under `id`.
    pub fn answer(&self, id: &str, approve: bool) -> Option<ExecApprovalRequest> {
        let w = self.lock().remove(id)?;
        let request = w.announced.map(|a| a.request);
        w.tx.send(approve).ok()?;
        request
    }

    /// Forgets `id` (timed out, or its run ended); the request when it was still waiting.
    pub fn forget(&self, id: &str) -> Option<ExecApprovalRequest> {
        self.lock()
            .remove(id)
            .and_then(|w| w.announced.map(|a| a.request))
    }

    /// Everything waiting, oldest first.
    pub fn pending(&self) -> Vec<ExecApprovalRequested> {
        let mut list: Vec<ExecApprovalRequested> = self
            .lock()
            .values()
            .filter_map(|w| w.announced.clone())
            .collect();
        list.sort_by(|a, b| a.created_at_ms.cmp(&b.created_at_ms).then(a.id.cmp(&b.id)));
        list
    }

    /// A client that may answer connected.
    pub fn answerer_joined(&self) {
        self.answerers.fetch_add(1, Ordering::SeqCst);
    }

    /// That client left.
    pub fn answerer_left(&self) {
        let _ = self
            .answerers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested(id: &str) -> ExecApprovalRequested {
        ExecApprovalRequested {
            id: id.into(),
            request: ExecApprovalRequest {
                command: "touch x".into(),
                host: "gateway".into(),
                cwd: None,
                sandboxed: true,
                agent_id: "main".into(),
                session_key: "agent:main:main".into(),
                run_id: "r".into(),
                allowed_decisions: vec![],
            },
            created_at_ms: 1,
            expires_at_ms: 2,
        }
    }

    #[test]
    fn nobody_to_ask_without_an_answerer() {
        let a = ExecApprovals::default();
        assert!(a.wait_for("x").is_none());
        a.answerer_joined();
        let mut rx = a.wait_for("x").unwrap();
        a.announced("x", requested("x"));
        assert_eq!(a.pending().len(), 1);
        assert_eq!(a.answer("x", true).unwrap().command, "touch x");
        assert_eq!(rx.try_recv(), Ok(true));
        assert!(a.answer("x", true).is_none(), "answered once");
        a.answerer_left();
        a.answerer_left();
        assert!(a.wait_for("y").is_none());
    }
}

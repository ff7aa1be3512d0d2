//! Counting every message on its contact without a user-hub call per message.

use std::sync::Arc;

use nave_hub_core::AuthContext;
use tokio::sync::mpsc;

use crate::api::UserApi;
use crate::types::MessageActivity;
use crate::validate::check_identity;

/// Messages waiting to be counted, at most; past that, [`ActivityRecorder::record`] waits.
const QUEUED: usize = 4096;

/// Messages counted in one call, at most.
const BATCH: usize = 256;

/// Counts messages on their contacts in batches: [`ActivityRecorder::record`] queues one, and a
/// task hands whatever queued meanwhile to [`UserApi::record_activities`] in one call, so a
/// burst of messages costs the user hub one transaction instead of one per message. The order
/// of the items does not matter: counts add up, and seen times keep their extremes.
///
/// Counting is best effort, as before batching: a failed batch is logged, not retried.
#[derive(Debug, Clone)]
pub struct ActivityRecorder {
    queue: mpsc::Sender<MessageActivity>,
}

impl ActivityRecorder {
    /// Starts the counting task on the current tokio runtime; it ends when every clone of the
    /// recorder is dropped.
    pub fn spawn(users: Arc<dyn UserApi>) -> ActivityRecorder {
        let (queue, mut items) = mpsc::channel::<MessageActivity>(QUEUED);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while items.recv_many(&mut batch, BATCH).await > 0 {
                let messages = batch.len();
                let counting = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if let Err(error) = users
                    .record_activities(&AuthContext::system(), counting)
                    .await
                {
                    tracing::warn!(%error, messages, "counting messages on their contacts failed");
                }
            }
        });
        ActivityRecorder { queue }
    }

    /// Queues one message to count. A full queue makes the caller wait (a slow user hub slows
    /// its callers down rather than piling work up). An item the user hub would refuse (a
    /// channel user id a spoke made up badly) is dropped here with a warning, so it cannot
    /// fail the batch of other people's messages.
    pub async fn record(&self, item: MessageActivity) {
        if let Err(error) = check_identity(&item.identity) {
            tracing::warn!(%error, installation = %item.identity.installation_id, "not counting a message whose sender id the user hub refuses");
            return;
        }
        if self.queue.send(item).await.is_err() {
            tracing::warn!("the contact activity counter has stopped");
        }
    }
}

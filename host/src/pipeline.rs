//! The host's side of the message flow: runs spokes for the message hub, and feeds the hub from
//! the webhook inbox.
//!
//! The inbox is the host's `events` table, written before a webhook is answered. The feeder
//! reads it in `seq` order from a cursor saved in the host database and hands messages and
//! postbacks to the message hub, which stores each channel id once; the cursor moves only after
//! the hub took a batch (with the read of the next one). So a crash between the two re-sends a
//! batch, and the hub drops what it already has: nothing is lost and nothing is handled twice.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nave_hub_core::AuthContext;
use nave_message::{
    ChannelMessage, Enrichment, Inbound, InstalledSpoke, MessageApi, Reply, SpokeFailure,
    SpokeRole, Spokes,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::api::describe_spoke_error;
use crate::registry::Registry;
use crate::runtime::bindings::types::{Message, OutboundMessage, SpokeError};
use crate::runtime::{CallError, FailureKind, Role, Runtime};
use crate::store::Store;

/// Events the feeder moves per batch.
const FEED_BATCH: u32 = 512;

/// The runtime and registry, as the message hub sees them.
pub struct HostSpokes {
    /// Installations.
    pub registry: Arc<Registry>,
    /// The wasm runtime.
    pub runtime: Arc<Runtime>,
}

impl HostSpokes {
    fn installed(
        &self,
        id: Uuid,
        role: Role,
    ) -> Result<Arc<crate::registry::Installation>, SpokeFailure> {
        let installation = self.registry.installation(id).ok_or_else(|| SpokeFailure {
            code: "installation_not_found".into(),
            message: format!("installation {id} no longer exists; fix the routing rules"),
            retryable: false,
        })?;
        if installation.manifest.role != role {
            return Err(SpokeFailure {
                code: "wrong_role".into(),
                message: format!(
                    "installation {id} is a {}, not a {role}",
                    installation.manifest.role
                ),
                retryable: false,
            });
        }
        Ok(installation)
    }
}

/// Converts between the hub's mirrors of the WIT records and the generated ones: same fields,
/// same serde shape.
fn convert<A: serde::Serialize, B: serde::de::DeserializeOwned>(
    value: &A,
) -> Result<B, SpokeFailure> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|err| SpokeFailure {
            code: "conversion".into(),
            message: format!("converting a message for the spoke: {err}"),
            retryable: false,
        })
}

fn failure(err: CallError) -> SpokeFailure {
    match err {
        CallError::Spoke(err) => {
            let retryable = matches!(&err, SpokeError::Upstream(u) if u.retryable);
            let code = match &err {
                SpokeError::InvalidInput(_) => "invalid_input",
                SpokeError::Unauthorized(_) => "unauthorized",
                SpokeError::NotFound(_) => "not_found",
                SpokeError::Upstream(_) => "upstream",
                SpokeError::Denied(_) => "denied",
                SpokeError::Internal(_) => "internal",
            };
            SpokeFailure {
                code: code.into(),
                message: describe_spoke_error(&err),
                retryable,
            }
        }
        CallError::Failed { kind, message } => SpokeFailure {
            code: kind.code().into(),
            message,
            // A timeout or a full instance pool may pass; a trap or a limit will not.
            retryable: matches!(kind, FailureKind::Timeout | FailureKind::Busy),
        },
    }
}

#[async_trait]
impl Spokes for HostSpokes {
    fn installation(&self, id: Uuid) -> Option<InstalledSpoke> {
        let installation = self.registry.installation(id)?;
        Some(InstalledSpoke {
            tenant_id: Uuid::parse_str(&installation.record.tenant).ok()?,
            role: match installation.manifest.role {
                Role::Channel => SpokeRole::Channel,
                Role::Bot => SpokeRole::Bot,
                Role::Processor => SpokeRole::Processor,
            },
            name: installation.record.plugin.clone(),
        })
    }

    async fn process(
        &self,
        installation: Uuid,
        correlation_id: &str,
        message: &ChannelMessage,
    ) -> Result<Enrichment, SpokeFailure> {
        let installed = self.installed(installation, Role::Processor)?;
        let message: Message = convert(message)?;
        let ctx = installed.call_context(correlation_id);
        let enrichment = self
            .runtime
            .process(&installed.spoke, &ctx, &message)
            .await
            .map_err(failure)?;
        convert(&enrichment)
    }

    async fn converse(
        &self,
        installation: Uuid,
        correlation_id: &str,
        message: &ChannelMessage,
    ) -> Result<Vec<Reply>, SpokeFailure> {
        let installed = self.installed(installation, Role::Bot)?;
        let message: Message = convert(message)?;
        let ctx = installed.call_context(correlation_id);
        let replies = self
            .runtime
            .converse(&installed.spoke, &ctx, &message)
            .await
            .map_err(failure)?;
        convert(&replies)
    }

    async fn deliver(
        &self,
        installation: Uuid,
        correlation_id: &str,
        reply: &Reply,
    ) -> Result<Vec<String>, SpokeFailure> {
        let installed = self.installed(installation, Role::Channel)?;
        let message: OutboundMessage = convert(reply)?;
        let ctx = installed.call_context(correlation_id);
        let receipt = self
            .runtime
            .deliver(&installed.spoke, &ctx, &message)
            .await
            .map_err(failure)?;
        Ok(receipt.message_ids)
    }
}

/// Wakes the feeder after the inbox took new events, or stops it.
#[derive(Debug, Clone, Default)]
pub struct InboxSignal {
    wake: Arc<Notify>,
    stopped: Arc<std::sync::atomic::AtomicBool>,
}

impl InboxSignal {
    /// New events are in the inbox.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Stops the feeder after the batch it is on.
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Starts the feeder: inbox → message hub, in order, from the saved cursor.
///
/// The cursor is saved with the read of the next batch (one operation per batch), so after a
/// crash the last batch fed may be fed again; the hub drops what it already has.
pub fn spawn_feeder(store: Store, messages: Arc<dyn MessageApi>) -> InboxSignal {
    let signal = InboxSignal::default();
    let feeder = signal.clone();
    tokio::spawn(async move {
        // The last event the hub took, until it is saved as the cursor.
        let mut done = None;
        while !feeder.is_stopped() {
            match feed_once(&store, messages.as_ref(), done).await {
                Ok(fed) => {
                    done = fed.last;
                    if fed.read >= FEED_BATCH as usize {
                        continue;
                    }
                    // Also polls now and then, in case a wake-up was missed.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), feeder.wake.notified()).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "feeding the message hub failed; trying again in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        if let Some(seq) = done
            && let Err(error) = store.inbox_next(Some(seq), 0).await
        {
            tracing::warn!(%error, "saving the inbox cursor failed; the last batch will be fed again");
        }
    });
    signal
}

/// What one round of the feeder did.
struct Fed {
    /// Events read from the inbox.
    read: usize,
    /// The last of them, now in the hub; saved as the cursor with the next round's read.
    last: Option<i64>,
}

/// Saves the cursor at `done`, then moves one batch.
async fn feed_once(
    store: &Store,
    messages: &dyn MessageApi,
    done: Option<i64>,
) -> anyhow::Result<Fed> {
    let (_, events) = store.inbox_next(done, FEED_BATCH).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(Fed {
            read: 0,
            last: None,
        });
    };
    let read = events.len();
    let batch: Vec<Inbound> = events
        .into_iter()
        .filter(|e| e.kind == "message" || e.kind == "postback")
        .filter_map(|e| {
            let tenant_id = Uuid::parse_str(&e.tenant).ok()?;
            let installation_id = Uuid::parse_str(&e.installation).ok()?;
            let message = match serde_json::from_str::<ChannelMessage>(&e.payload) {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, seq = e.seq, "an inbox event does not read as a message; skipped");
                    return None;
                }
            };
            Some(Inbound {
                tenant_id,
                installation_id,
                message,
                correlation_id: e.correlation_id,
            })
        })
        .collect();
    if !batch.is_empty() {
        messages.ingest(&AuthContext::system(), batch).await?;
    }
    Ok(Fed {
        read,
        last: Some(last),
    })
}

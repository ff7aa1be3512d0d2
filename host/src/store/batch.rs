//! Group commit of inbound events: each webhook's events are one operation on the store's
//! [`SqliteWriter`], which commits the operations of every webhook that queued meanwhile in a
//! single transaction and then tells each webhook which of its events were new.
//!
//! A webhook is answered only after its events are committed, so nothing acknowledged is
//! lost; sharing the transaction (and its WAL write) is what lets ingress keep up under load,
//! and one hand-off per webhook (not one per statement) is what keeps its CPU down.

use std::path::Path;

use nave_hub_core::writer::{SqliteWriter, execute};

use super::{NewEvent, now};

/// The events of one webhook request.
#[derive(Debug)]
pub(super) struct EventJob {
    pub(super) installation: String,
    pub(super) tenant: String,
    pub(super) correlation_id: String,
    pub(super) events: Vec<NewEvent>,
}

/// Writes inbound events on the store's writer thread.
#[derive(Debug, Clone)]
pub(super) struct EventWriter {
    writer: SqliteWriter,
}

impl EventWriter {
    /// Starts the writer thread on the store's (migrated) file.
    pub(super) fn open(path: &Path) -> anyhow::Result<EventWriter> {
        Ok(EventWriter {
            writer: SqliteWriter::open(path, "ingress")
                .map_err(|e| anyhow::anyhow!("opening the event writer: {e}"))?,
        })
    }

    /// Stores a job's events once committed; returns, per event, whether it was new.
    pub(super) async fn write(&self, job: EventJob) -> anyhow::Result<Vec<bool>> {
        let received_at = now();
        self.writer
            .run(move |conn| {
                let mut new = Vec::with_capacity(job.events.len());
                for event in &job.events {
                    let inserted = execute(
                        conn,
                        "INSERT INTO events (installation, tenant, channel_id, kind, payload, \
                         correlation_id, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (installation, channel_id) DO NOTHING",
                        &[
                            &job.installation,
                            &job.tenant,
                            &event.channel_id,
                            &event.kind,
                            &event.payload,
                            &job.correlation_id,
                            &received_at,
                        ],
                    )?;
                    new.push(inserted > 0);
                }
                Ok(new)
            })
            .await
            .map_err(|e| anyhow::anyhow!("storing events: {e}"))
    }
}

//! Group commit of inbound events: webhooks queue their events, one task writes whatever has
//! queued in a single transaction and tells each webhook which of its events were new.
//!
//! A webhook is answered only after its events are committed, so nothing acknowledged is
//! lost; sharing the transaction (and its WAL write) is what lets ingress keep up under load.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{NewEvent, now};

/// Most jobs in one transaction; more wait for the next one.
const MAX_BATCH: usize = 256;

/// The events of one webhook request.
#[derive(Debug)]
pub(super) struct EventJob {
    pub(super) installation: String,
    pub(super) tenant: String,
    pub(super) correlation_id: String,
    pub(super) events: Vec<NewEvent>,
}

type Reply = oneshot::Sender<Result<Vec<bool>, String>>;

/// The queue in front of the writer task.
#[derive(Debug, Clone)]
pub(super) struct EventWriter {
    queue: mpsc::Sender<(EventJob, Reply)>,
}

impl EventWriter {
    /// Starts the writer task on `writer`; it ends when the last handle is dropped.
    pub(super) fn spawn(writer: SqlitePool) -> EventWriter {
        let (queue, jobs) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, jobs));
        EventWriter { queue }
    }

    /// Queues a job and waits until it is committed; returns, per event, whether it was new.
    pub(super) async fn write(&self, job: EventJob) -> anyhow::Result<Vec<bool>> {
        let (reply, done) = oneshot::channel();
        self.queue
            .send((job, reply))
            .await
            .map_err(|_| anyhow::anyhow!("the event writer has stopped"))?;
        done.await
            .map_err(|_| anyhow::anyhow!("the event writer has stopped"))?
            .map_err(|message| anyhow::anyhow!("storing events: {message}"))
    }
}

async fn run(writer: SqlitePool, mut jobs: mpsc::Receiver<(EventJob, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write_batch(&writer, &batch).await {
            Ok(news) => {
                for ((_, reply), new) in batch.drain(..).zip(news) {
                    let _ = reply.send(Ok(new));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, jobs = batch.len(), "storing inbound events failed");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
    }
}

async fn write_batch(
    writer: &SqlitePool,
    batch: &[(EventJob, Reply)],
) -> sqlx::Result<Vec<Vec<bool>>> {
    let received_at = now();
    let mut tx = writer.begin().await?;
    let mut news = Vec::with_capacity(batch.len());
    for (job, _) in batch {
        let mut new = Vec::with_capacity(job.events.len());
        for event in &job.events {
            let done = sqlx::query(
                "INSERT INTO events (installation, tenant, channel_id, kind, payload, correlation_id, received_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (installation, channel_id) DO NOTHING",
            )
            .bind(&job.installation)
            .bind(&job.tenant)
            .bind(&event.channel_id)
            .bind(event.kind)
            .bind(&event.payload)
            .bind(&job.correlation_id)
            .bind(&received_at)
            .execute(&mut *tx)
            .await?;
            new.push(done.rows_affected() > 0);
        }
        news.push(new);
    }
    tx.commit().await?;
    Ok(news)
}

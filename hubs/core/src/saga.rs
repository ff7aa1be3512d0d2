//! Sagas: work that spans hubs (hold a fee, create an installation, run the spoke's
//! `install()`, capture the fee) done as steps, each with a compensation, with the progress
//! persisted in the hub's database after every step.
//!
//! A run that fails undoes what it did, newest first. A process killed mid-run leaves the run
//! `running` or `compensating`; [`SagaRunner::resume`] picks it up after the restart and
//! finishes or compensates it. Because a step may have run just before a crash that kept its
//! success from being recorded, **steps and compensations must be idempotent** for a given run
//! (key outside effects on [`SagaContext::id`]), and a compensation must accept that its step
//! may never have happened.
//!
//! Errors that say a dependency is briefly away ([`Error::Unavailable`], [`Error::Internal`])
//! are retried a few times with back-off before the run gives up; any other error gives up at
//! once. A compensation that keeps failing leaves the run `stuck`, logged, for `resume` (or an
//! operator) to try again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::clock::Clock;
use crate::context::AuthContext;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::on_db;

/// How many times a step is tried when it fails with a transient error.
const ATTEMPTS: u32 = 3;
/// First back-off between attempts; doubles each time.
const BACKOFF: Duration = Duration::from_millis(50);

/// What one run knows about itself, for steps to key their effects on.
#[derive(Debug, Clone)]
pub struct SagaContext {
    /// The run's id: stable across restarts, so effects keyed on it are idempotent.
    pub id: Uuid,
    /// The tenant the run works for, if any.
    pub tenant_id: Option<Uuid>,
    /// The correlation id of the request that started it.
    pub correlation_id: String,
}

/// A saga: ordered steps and their compensations over a persisted state.
#[async_trait]
pub trait Saga: Send + Sync {
    /// What a run carries from step to step (ids created, amounts held...); saved after each step.
    type State: Serialize + DeserializeOwned + Send + Sync;

    /// Stored with each run, so [`SagaRunner::resume`] finds the runs of this saga.
    fn kind(&self) -> &'static str;

    /// The steps' names, in order.
    fn steps(&self) -> &'static [&'static str];

    /// Runs step `step`; idempotent for a given run.
    async fn run(&self, step: usize, state: &mut Self::State, run: &SagaContext) -> Result<()>;

    /// Undoes step `step`, which succeeded, failed or may have partly run; idempotent.
    async fn compensate(
        &self,
        step: usize,
        state: &mut Self::State,
        run: &SagaContext,
    ) -> Result<()>;
}

/// How a run ended.
#[derive(Debug)]
pub enum SagaOutcome<S> {
    /// Every step succeeded.
    Completed(S),
    /// A step failed and everything done before was undone.
    Compensated {
        /// The state after the compensations.
        state: S,
        /// The step that failed.
        failed_step: usize,
        /// Why it failed.
        error: Error,
    },
}

/// Where a stored run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagaStatus {
    /// Going forward; `next_step` runs next.
    Running,
    /// Undoing; `next_step` is compensated next, then the ones before it.
    Compensating,
    /// Finished forward.
    Completed,
    /// Finished undoing.
    Compensated,
    /// A compensation kept failing; needs `resume` or an operator.
    Stuck,
}

impl SagaStatus {
    fn as_str(self) -> &'static str {
        match self {
            SagaStatus::Running => "running",
            SagaStatus::Compensating => "compensating",
            SagaStatus::Completed => "completed",
            SagaStatus::Compensated => "compensated",
            SagaStatus::Stuck => "stuck",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "running" => SagaStatus::Running,
            "compensating" => SagaStatus::Compensating,
            "completed" => SagaStatus::Completed,
            "compensated" => SagaStatus::Compensated,
            "stuck" => SagaStatus::Stuck,
            other => {
                return Err(Error::internal_msg(format!(
                    "unknown saga status `{other}`"
                )));
            }
        })
    }
}

/// A stored run, as [`SagaRunner::get`] reads it.
#[derive(Debug, Clone)]
pub struct SagaRecord {
    /// The run's id.
    pub id: Uuid,
    /// The saga's kind.
    pub kind: String,
    /// Where it stands.
    pub status: SagaStatus,
    /// The next step to run (or to compensate).
    pub next_step: usize,
    /// The step that failed, once one did.
    pub failed_step: Option<usize>,
    /// The failure, once there is one.
    pub error: Option<String>,
    /// The state as JSON.
    pub state: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    tenant_id: Option<String>,
    state: String,
    status: String,
    next_step: i64,
    failed_step: Option<i64>,
    error: Option<String>,
    correlation_id: String,
}

/// Runs sagas and keeps their progress in a hub's database (`hub_sagas`).
#[derive(Debug, Clone)]
pub struct SagaRunner {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl SagaRunner {
    /// A runner over a hub's database.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Records a new run of `saga` and drives it to its end.
    pub async fn start<S: Saga>(
        &self,
        saga: &S,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
        state: S::State,
    ) -> Result<(Uuid, SagaOutcome<S::State>)> {
        let run = SagaContext {
            id: new_id(),
            tenant_id,
            correlation_id: ctx.correlation_id.clone(),
        };
        let now = self.clock.now_ms();
        let text = to_json(&state)?;
        on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO hub_sagas (id, kind, tenant_id, state, status, next_step, correlation_id, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, 'running', 0, $5, $6, $6)",
        )
        .bind(run.id.to_string())
        .bind(saga.kind())
        .bind(tenant_id.map(|t| t.to_string()))
        .bind(&text)
        .bind(&run.correlation_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        let outcome = self
            .drive(saga, &run, state, SagaStatus::Running, 0, None)
            .await?;
        Ok((run.id, outcome))
    }

    /// Finishes or compensates every unfinished run of `saga` (after a restart), oldest first.
    pub async fn resume<S: Saga>(&self, saga: &S) -> Result<Vec<(Uuid, SagaOutcome<S::State>)>> {
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as::<_, Row>(
            "SELECT id, kind, tenant_id, state, status, next_step, failed_step, error, correlation_id \
             FROM hub_sagas WHERE kind = $1 AND status IN ('running', 'compensating', 'stuck') \
             ORDER BY created_at_ms, id",
        )
        .bind(saga.kind())
        .fetch_all(pool)
        .await)?;
        let mut done = Vec::with_capacity(rows.len());
        for row in rows {
            let run = SagaContext {
                id: parse_id(&row.id)?,
                tenant_id: row.tenant_id.as_deref().map(parse_id).transpose()?,
                correlation_id: row.correlation_id.clone(),
            };
            let state: S::State = serde_json::from_str(&row.state).map_err(Error::internal)?;
            let status = match SagaStatus::parse(&row.status)? {
                SagaStatus::Stuck => SagaStatus::Compensating,
                other => other,
            };
            let failure = row.failed_step.map(|step| {
                (
                    step as usize,
                    Error::internal_msg(row.error.clone().unwrap_or_default()),
                )
            });
            tracing::info!(saga = saga.kind(), id = %run.id, status = status.as_str(), step = row.next_step, "resuming a saga");
            let outcome = self
                .drive(saga, &run, state, status, row.next_step as usize, failure)
                .await?;
            done.push((run.id, outcome));
        }
        Ok(done)
    }

    /// One stored run.
    pub async fn get(&self, id: Uuid) -> Result<Option<SagaRecord>> {
        let row: Option<Row> = on_db!(&self.db, pool => sqlx::query_as::<_, Row>(
            "SELECT id, kind, tenant_id, state, status, next_step, failed_step, error, correlation_id \
             FROM hub_sagas WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
        row.map(|row| {
            Ok(SagaRecord {
                id: parse_id(&row.id)?,
                kind: row.kind,
                status: SagaStatus::parse(&row.status)?,
                next_step: row.next_step as usize,
                failed_step: row.failed_step.map(|s| s as usize),
                error: row.error,
                state: serde_json::from_str(&row.state).map_err(Error::internal)?,
            })
        })
        .transpose()
    }

    /// Runs forward from `step` (or compensates from it), saving progress after every step.
    async fn drive<S: Saga>(
        &self,
        saga: &S,
        run: &SagaContext,
        mut state: S::State,
        mut status: SagaStatus,
        mut step: usize,
        mut failure: Option<(usize, Error)>,
    ) -> Result<SagaOutcome<S::State>> {
        let steps = saga.steps();
        if status == SagaStatus::Running {
            while step < steps.len() {
                let mut backoff = Backoff::new();
                let result = loop {
                    match saga.run(step, &mut state, run).await {
                        Err(error) if backoff.again(&error).await => continue,
                        other => break other,
                    }
                };
                match result {
                    Ok(()) => {
                        step += 1;
                        let next = if step == steps.len() {
                            SagaStatus::Completed
                        } else {
                            SagaStatus::Running
                        };
                        self.save(run.id, &state, next, step, None).await?;
                    }
                    Err(error) => {
                        tracing::warn!(saga = saga.kind(), id = %run.id, step = steps[step], %error, "a saga step failed; compensating");
                        status = SagaStatus::Compensating;
                        self.save(run.id, &state, status, step, Some((step, &error)))
                            .await?;
                        failure = Some((step, error));
                        break;
                    }
                }
            }
            if status == SagaStatus::Running {
                return Ok(SagaOutcome::Completed(state));
            }
        }
        // Compensating: `step` and every one before it, newest first.
        let (failed_step, error) =
            failure.unwrap_or_else(|| (step, Error::internal_msg("interrupted")));
        loop {
            let mut backoff = Backoff::new();
            let result = loop {
                match saga.compensate(step, &mut state, run).await {
                    Err(error) if backoff.again(&error).await => continue,
                    other => break other,
                }
            };
            if let Err(error) = result {
                tracing::error!(saga = saga.kind(), id = %run.id, step = steps.get(step).copied().unwrap_or("?"), %error, "a compensation keeps failing; the saga is stuck until resumed");
                self.save(
                    run.id,
                    &state,
                    SagaStatus::Stuck,
                    step,
                    Some((failed_step, &error)),
                )
                .await?;
                return Err(error);
            }
            if step == 0 {
                break;
            }
            step -= 1;
            self.save(
                run.id,
                &state,
                SagaStatus::Compensating,
                step,
                Some((failed_step, &error)),
            )
            .await?;
        }
        self.save(
            run.id,
            &state,
            SagaStatus::Compensated,
            0,
            Some((failed_step, &error)),
        )
        .await?;
        Ok(SagaOutcome::Compensated {
            state,
            failed_step,
            error,
        })
    }

    async fn save<T: Serialize>(
        &self,
        id: Uuid,
        state: &T,
        status: SagaStatus,
        next_step: usize,
        failure: Option<(usize, &Error)>,
    ) -> Result<()> {
        let text = to_json(state)?;
        let now = self.clock.now_ms();
        let (failed_step, error) = match failure {
            Some((step, error)) => (Some(step as i64), Some(error.to_string())),
            None => (None, None),
        };
        on_db!(&self.db, pool => sqlx::query(
            "UPDATE hub_sagas SET state = $1, status = $2, next_step = $3, failed_step = $4, \
             error = $5, updated_at_ms = $6 WHERE id = $7",
        )
        .bind(&text)
        .bind(status.as_str())
        .bind(next_step as i64)
        .bind(failed_step)
        .bind(error)
        .bind(now)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

/// Retries after transient failures, with doubling back-off.
struct Backoff {
    tries: u32,
    wait: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            tries: 1,
            wait: BACKOFF,
        }
    }

    /// Whether to try again after `error` (having waited), or give up.
    async fn again(&mut self, error: &Error) -> bool {
        let transient = matches!(error, Error::Unavailable(_) | Error::Internal(_));
        if !transient || self.tries >= ATTEMPTS {
            return false;
        }
        tokio::time::sleep(self.wait).await;
        self.wait *= 2;
        self.tries += 1;
        true
    }
}

fn to_json<T: Serialize>(state: &T) -> Result<String> {
    serde_json::to_string(state).map_err(Error::internal)
}

fn parse_id(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(Error::internal)
}

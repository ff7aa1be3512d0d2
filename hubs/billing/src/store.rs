//! The billing hub's tables, behind one [`BillingStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why).
//!
//! - An import is one transaction that first bumps `billing_state.revision` (locking the row on
//!   PostgreSQL, taking SQLite's write lock), so imports are serialized and a failed one changes
//!   nothing.
//! - Counting is a single conditional `UPDATE ... WHERE used <= limit - amount`: the database,
//!   not this process, decides whether a request fits, so concurrent callers can never overshoot
//!   a limit (PostgreSQL re-checks the condition on the latest row version after waiting for the
//!   row lock; SQLite runs one writer at a time).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nave_hub_core::db::{BeginWrite, HubMigrations};
use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::writer::{SqliteWriter, execute, query_opt};
use nave_hub_core::{Db, DbConfig, Result, on_db};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The billing hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// A row of `plans`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanRow {
    pub code: String,
    pub name: String,
    pub messages_per_period: Option<i64>,
    pub installations: Option<i64>,
    /// JSON: `"all"` or a list of app names.
    pub apps: String,
}

/// A row of `tenant_plans`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantPlanRow {
    pub tenant_id: String,
    pub plan_code: String,
    pub anchor_day: i64,
}

/// A tenant's plan row joined with its plan.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantPlanJoin {
    pub anchor_day: i64,
    #[sqlx(flatten)]
    pub plan: PlanRow,
}

/// Where a usage counter lives: tenant, metric and period (0 for gauges that carry over).
#[derive(Debug, Clone, Copy)]
pub struct CounterKey<'a> {
    pub tenant_id: &'a str,
    pub metric: &'a str,
    pub period_start_ms: i64,
}

impl CounterKey<'_> {
    /// Tenant, metric and period start as owned values, for an operation on the writer's thread.
    fn to_owned_parts(self) -> (String, String, i64) {
        (
            self.tenant_id.to_owned(),
            self.metric.to_owned(),
            self.period_start_ms,
        )
    }
}

/// What [`BillingStore::count_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedCount {
    /// Counted; the counter's new value.
    Counted(i64),
    /// The key had counted already; nothing was counted. The counter's value.
    Already(i64),
    /// It would not fit the limit; nothing was counted and the key is not kept.
    Refused,
}

const USED: &str = "SELECT used FROM usage_counters \
    WHERE tenant_id = $1 AND metric = $2 AND period_start_ms = $3";
const CREATE_COUNTER: &str = "INSERT INTO usage_counters (tenant_id, metric, period_start_ms, used) \
    VALUES ($1, $2, $3, 0) ON CONFLICT (tenant_id, metric, period_start_ms) DO NOTHING";
const ADD: &str = "UPDATE usage_counters SET used = used + $4 \
    WHERE tenant_id = $1 AND metric = $2 AND period_start_ms = $3 \
    AND used <= $5 - $4 RETURNING used";
const CLAIM_KEY: &str = "INSERT INTO usage_keys (tenant_id, metric, key, period_start_ms, amount) \
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, metric, key) DO NOTHING";
const FORGET_KEY: &str = "DELETE FROM usage_keys WHERE tenant_id = $1 AND metric = $2 AND key = $3";
const TAKE_KEY: &str = "DELETE FROM usage_keys WHERE tenant_id = $1 AND metric = $2 AND key = $3 \
    RETURNING period_start_ms, amount";
const GIVE_BACK: &str = "UPDATE usage_counters \
    SET used = CASE WHEN used > $4 THEN used - $4 ELSE 0 END \
    WHERE tenant_id = $1 AND metric = $2 AND period_start_ms = $3";
/// The keys of the periods before the last one, once the period starting at `$3` begins.
const PRUNE_KEYS: &str = "DELETE FROM usage_keys WHERE tenant_id = $1 AND metric = $2 \
    AND period_start_ms < (SELECT COALESCE(MAX(period_start_ms), 0) FROM usage_counters \
    WHERE tenant_id = $1 AND metric = $2 AND period_start_ms < $3)";

const PLAN_COLS: &str = "code, name, messages_per_period, installations, apps";

/// Typed access to the billing tables.
#[derive(Debug, Clone)]
pub struct BillingStore {
    /// The hub's own database.
    db: Db,
    /// What runs for every message (the plan's lookup, the usage count), on SQLite.
    writer: Option<SqliteWriter>,
    /// Tenants' plans as last read: every message asks for its tenant's. Emptied by
    /// [`BillingStore::import`]; an entry older than [`PLAN_TTL`] is read again, in case another
    /// process imported a snapshot into the same database.
    plans: Arc<Mutex<PlanCache>>,
}

/// Tenants' plans as read, and how many imports emptied the cache (a read that overlapped an
/// import is not kept).
#[derive(Debug, Default)]
struct PlanCache {
    plans: HashMap<String, (Option<TenantPlanJoin>, Instant)>,
    imports: u64,
}

/// How long a tenant's plan is used as read.
const PLAN_TTL: Duration = Duration::from_secs(1);

impl BillingStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        let db = Db::connect(config, MIGRATIONS).await?;
        let writer = SqliteWriter::for_hub(config, "billing")?;
        Ok(Self {
            db,
            writer,
            plans: Arc::default(),
        })
    }

    /// The underlying database (for the event log).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Replaces every plan and tenant plan and appends `event`, all in one transaction, unless
    /// the snapshot in force already has `digest`. Returns whether anything changed.
    pub async fn import(
        &self,
        digest: &str,
        plans: &[PlanRow],
        tenants: &[TenantPlanRow],
        now_ms: i64,
        event: &EventRecord,
    ) -> Result<bool> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE billing_state SET revision = revision + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let current: Option<String> =
                sqlx::query_scalar("SELECT digest FROM billing_state WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
            if current.as_deref() == Some(digest) {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM tenant_plans").execute(&mut *tx).await?;
            sqlx::query("DELETE FROM plans").execute(&mut *tx).await?;
            for plan in plans {
                sqlx::query(&format!("INSERT INTO plans ({PLAN_COLS}) VALUES ($1, $2, $3, $4, $5)"))
                    .bind(&plan.code)
                    .bind(&plan.name)
                    .bind(plan.messages_per_period)
                    .bind(plan.installations)
                    .bind(&plan.apps)
                    .execute(&mut *tx)
                    .await?;
            }
            for tenant in tenants {
                sqlx::query(
                    "INSERT INTO tenant_plans (tenant_id, plan_code, anchor_day) VALUES ($1, $2, $3)",
                )
                .bind(&tenant.tenant_id)
                .bind(&tenant.plan_code)
                .bind(tenant.anchor_day)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE billing_state SET digest = $1, imported_at_ms = $2 WHERE id = 1")
                .bind(digest)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok::<_, nave_hub_core::Error>(())
        })?;
        // Plans read before this commit must not decide the next counts.
        let mut cache = self.plans.lock().expect("plans lock");
        cache.plans.clear();
        cache.imports += 1;
        Ok(true)
    }

    /// Every plan, by code.
    pub async fn plans(&self) -> Result<Vec<PlanRow>> {
        let sql = format!("SELECT {PLAN_COLS} FROM plans ORDER BY code");
        Ok(on_db!(&self.db, pool => sqlx::query_as::<_, PlanRow>(&sql).fetch_all(pool).await)?)
    }

    /// A tenant's anchor day and plan, if it has one.
    pub async fn tenant_plan(&self, tenant_id: &str) -> Result<Option<TenantPlanJoin>> {
        let imports = {
            let cache = self.plans.lock().expect("plans lock");
            if let Some((plan, read_at)) = cache.plans.get(tenant_id)
                && read_at.elapsed() < PLAN_TTL
            {
                return Ok(plan.clone());
            }
            cache.imports
        };
        let read_at = Instant::now();
        let plan = self.read_tenant_plan(tenant_id).await?;
        let mut cache = self.plans.lock().expect("plans lock");
        if cache.imports == imports {
            cache
                .plans
                .insert(tenant_id.to_owned(), (plan.clone(), read_at));
        }
        Ok(plan)
    }

    async fn read_tenant_plan(&self, tenant_id: &str) -> Result<Option<TenantPlanJoin>> {
        let sql = "SELECT t.anchor_day, p.code, p.name, p.messages_per_period, p.installations, \
                   p.apps FROM tenant_plans t JOIN plans p ON p.code = t.plan_code \
                   WHERE t.tenant_id = $1";
        if let Some(writer) = &self.writer {
            let tenant_id = tenant_id.to_owned();
            return writer
                .run(move |conn| {
                    query_opt(conn, sql, &[&tenant_id], |r| {
                        Ok(TenantPlanJoin {
                            anchor_day: r.get(0)?,
                            plan: PlanRow {
                                code: r.get(1)?,
                                name: r.get(2)?,
                                messages_per_period: r.get(3)?,
                                installations: r.get(4)?,
                                apps: r.get(5)?,
                            },
                        })
                    })
                })
                .await;
        }
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, TenantPlanJoin>(sql)
                .bind(tenant_id).fetch_optional(pool).await)?,
        )
    }

    /// A counter's value (0 if it was never counted).
    pub async fn used(&self, key: CounterKey<'_>) -> Result<i64> {
        let sql = "SELECT used FROM usage_counters \
                   WHERE tenant_id = $1 AND metric = $2 AND period_start_ms = $3";
        let used: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(sql)
            .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
            .fetch_optional(pool).await)?;
        Ok(used.unwrap_or(0))
    }

    /// Adds `amount` to a counter if the result stays within `limit` (`None`: only the column's
    /// range, so an unlimited counter can never overflow), in one conditional statement. Returns
    /// the new value, or `None` (and counts nothing) if it would not fit.
    pub async fn count(
        &self,
        key: CounterKey<'_>,
        amount: i64,
        limit: Option<i64>,
    ) -> Result<Option<i64>> {
        let (create, add) = (CREATE_COUNTER, ADD);
        if let Some(writer) = &self.writer {
            let (tenant_id, metric, start) = key.to_owned_parts();
            let limit = limit.unwrap_or(i64::MAX);
            return writer
                .run(move |conn| {
                    execute(conn, create, &[&tenant_id, &metric, &start])?;
                    query_opt(
                        conn,
                        add,
                        &[&tenant_id, &metric, &start, &amount, &limit],
                        |r| r.get::<_, i64>(0),
                    )
                })
                .await;
        }
        Ok(on_db!(&self.db, pool => {
            sqlx::query(create)
                .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                .execute(pool).await?;
            sqlx::query_scalar::<_, i64>(add)
                .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                .bind(amount).bind(limit.unwrap_or(i64::MAX))
                .fetch_optional(pool).await
        })?)
    }

    /// [`Self::count`] once per `usage_key`: the key is stored with what it counted, in the same
    /// transaction. A key already counted in this tenant's metric counts nothing and answers
    /// [`KeyedCount::Already`]. The first count of a period removes the keys of the periods
    /// before the last one.
    pub async fn count_once(
        &self,
        key: CounterKey<'_>,
        amount: i64,
        limit: Option<i64>,
        usage_key: &str,
    ) -> Result<KeyedCount> {
        let limit = limit.unwrap_or(i64::MAX);
        if let Some(writer) = &self.writer {
            let ((tenant_id, metric, start), usage_key) =
                (key.to_owned_parts(), usage_key.to_owned());
            return writer
                .run(move |conn| {
                    let claimed = execute(
                        conn,
                        CLAIM_KEY,
                        &[&tenant_id, &metric, &usage_key, &start, &amount],
                    )?;
                    if claimed == 0 {
                        let used = query_opt(conn, USED, &[&tenant_id, &metric, &start], |r| {
                            r.get::<_, i64>(0)
                        })?;
                        return Ok(KeyedCount::Already(used.unwrap_or(0)));
                    }
                    if execute(conn, CREATE_COUNTER, &[&tenant_id, &metric, &start])? > 0 {
                        execute(conn, PRUNE_KEYS, &[&tenant_id, &metric, &start])?;
                    }
                    let added = query_opt(
                        conn,
                        ADD,
                        &[&tenant_id, &metric, &start, &amount, &limit],
                        |r| r.get::<_, i64>(0),
                    )?;
                    match added {
                        Some(used) => Ok(KeyedCount::Counted(used)),
                        None => {
                            execute(conn, FORGET_KEY, &[&tenant_id, &metric, &usage_key])?;
                            Ok(KeyedCount::Refused)
                        }
                    }
                })
                .await;
        }
        on_db!(&self.db, pool => {
            // The key first: a concurrent count under the same key waits on its row (PostgreSQL)
            // and then finds it taken.
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(CLAIM_KEY)
                .bind(key.tenant_id).bind(key.metric).bind(usage_key).bind(key.period_start_ms)
                .bind(amount)
                .execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                let used: Option<i64> = sqlx::query_scalar(USED)
                    .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                    .fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                return Ok(KeyedCount::Already(used.unwrap_or(0)));
            }
            let created = sqlx::query(CREATE_COUNTER)
                .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                .execute(&mut *tx).await?.rows_affected();
            if created > 0 {
                sqlx::query(PRUNE_KEYS)
                    .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                    .execute(&mut *tx).await?;
            }
            let added: Option<i64> = sqlx::query_scalar(ADD)
                .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                .bind(amount).bind(limit)
                .fetch_optional(&mut *tx).await?;
            match added {
                Some(used) => {
                    tx.commit().await?;
                    Ok(KeyedCount::Counted(used))
                }
                // Rolled back: the key is not kept.
                None => Ok(KeyedCount::Refused),
            }
        })
    }

    /// Gives back what [`Self::count_once`] counted under `usage_key`, to the period it was
    /// counted in, and forgets the key, so a second call gives nothing back. Returns the value
    /// of the counter `key` names (the current period's).
    pub async fn release_once(&self, key: CounterKey<'_>, usage_key: &str) -> Result<i64> {
        if let Some(writer) = &self.writer {
            let ((tenant_id, metric, start), usage_key) =
                (key.to_owned_parts(), usage_key.to_owned());
            return writer
                .run(move |conn| {
                    let counted =
                        query_opt(conn, TAKE_KEY, &[&tenant_id, &metric, &usage_key], |r| {
                            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                        })?;
                    if let Some((period, amount)) = counted {
                        execute(conn, GIVE_BACK, &[&tenant_id, &metric, &period, &amount])?;
                    }
                    let used = query_opt(conn, USED, &[&tenant_id, &metric, &start], |r| {
                        r.get::<_, i64>(0)
                    })?;
                    Ok(used.unwrap_or(0))
                })
                .await;
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let counted: Option<(i64, i64)> = sqlx::query_as(TAKE_KEY)
                .bind(key.tenant_id).bind(key.metric).bind(usage_key)
                .fetch_optional(&mut *tx).await?;
            if let Some((period, amount)) = counted {
                sqlx::query(GIVE_BACK)
                    .bind(key.tenant_id).bind(key.metric).bind(period).bind(amount)
                    .execute(&mut *tx).await?;
            }
            let used: Option<i64> = sqlx::query_scalar(USED)
                .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms)
                .fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, nave_hub_core::Error>(used.unwrap_or(0))
        })
    }

    /// Takes `amount` off a counter, stopping at 0, in one statement. Returns the new value.
    pub async fn release(&self, key: CounterKey<'_>, amount: i64) -> Result<i64> {
        let sql = "UPDATE usage_counters SET used = CASE WHEN used > $4 THEN used - $4 ELSE 0 END \
                   WHERE tenant_id = $1 AND metric = $2 AND period_start_ms = $3 RETURNING used";
        let used: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(sql)
            .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms).bind(amount)
            .fetch_optional(pool).await)?;
        Ok(used.unwrap_or(0))
    }

    /// Sets a counter to `used`. Returns the new value.
    pub async fn set(&self, key: CounterKey<'_>, used: i64) -> Result<i64> {
        let sql = "INSERT INTO usage_counters (tenant_id, metric, period_start_ms, used) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (tenant_id, metric, period_start_ms) \
                   DO UPDATE SET used = excluded.used RETURNING used";
        Ok(on_db!(&self.db, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(key.tenant_id).bind(key.metric).bind(key.period_start_ms).bind(used)
            .fetch_one(pool).await)?)
    }
}

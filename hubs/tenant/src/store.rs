//! The tenant hub's tables, behind one [`TenantStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why). All membership and invitation changes go through
//! [`TenantStore::apply`], one transaction that first bumps the tenant's `revision` (which locks
//! the tenant row on PostgreSQL and takes SQLite's write lock), then makes the changes, checks that
//! the tenant still has an owner and appends the events. So two concurrent demotions can never
//! leave a tenant without an owner, and the log never misses a change.

use nave_hub_core::db::HubMigrations;
use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Db, DbConfig, Error, Result, on_db};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The tenant hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// A row of `tenants`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at_ms: i64,
}

/// A row of `memberships`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub tenant_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at_ms: i64,
}

/// A tenant joined with the role of one member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyTenantRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at_ms: i64,
    pub role: String,
}

/// A row of `invitations`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub invited_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub accepted_at_ms: Option<i64>,
    pub accepted_by: Option<String>,
    pub revoked_at_ms: Option<i64>,
}

/// One change to a tenant's memberships or invitations, made by [`TenantStore::apply`].
#[derive(Debug, Clone)]
pub enum Change {
    /// Adds a member; `conflict` if already one.
    InsertMember(MemberRow),
    /// Changes a member's role; `not_found` if not a member.
    SetRole { user_id: String, role: String },
    /// Removes a member; `not_found` if not a member.
    DeleteMember { user_id: String },
    /// Stores a new invitation.
    InsertInvitation(InvitationRow),
    /// Marks a pending, unexpired invitation used; `conflict` if it no longer is.
    AcceptInvitation {
        id: String,
        user_id: String,
        now_ms: i64,
    },
    /// Marks a pending invitation revoked; `conflict` if it no longer is pending.
    RevokeInvitation { id: String, now_ms: i64 },
}

const TENANT_COLS: &str = "id, slug, name, created_at_ms";
const MEMBER_COLS: &str = "tenant_id, user_id, role, created_at_ms";
const INVITATION_COLS: &str = "id, tenant_id, email, role, token_hash, invited_by, created_at_ms, \
     expires_at_ms, accepted_at_ms, accepted_by, revoked_at_ms";

/// Typed access to the tenant tables.
#[derive(Debug, Clone)]
pub struct TenantStore {
    /// The hub's own database.
    db: Db,
}

impl TenantStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        Ok(Self {
            db: Db::connect(config, MIGRATIONS).await?,
        })
    }

    /// The underlying database (for the event log).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Creates a tenant with its first owner; `conflict` if the slug is taken.
    pub async fn create_tenant(
        &self,
        tenant: &TenantRow,
        owner: &MemberRow,
        event: &EventRecord,
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO tenants (id, slug, name, created_at_ms) VALUES ($1, $2, $3, $4)")
                .bind(&tenant.id)
                .bind(&tenant.slug)
                .bind(&tenant.name)
                .bind(tenant.created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => Error::conflict(format!(
                        "the slug `{}` is taken: choose another one",
                        tenant.slug
                    )),
                    _ => Error::from(e),
                })?;
            tx.insert_member(owner).await?;
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The tenant with this id.
    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<TenantRow>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, TenantRow>(&sql)
            .bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The tenant with this slug.
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<TenantRow>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE slug = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, TenantRow>(&sql)
            .bind(slug).fetch_optional(pool).await)?,
        )
    }

    /// One user's membership of a tenant.
    pub async fn membership(&self, tenant_id: &str, user_id: &str) -> Result<Option<MemberRow>> {
        let sql =
            format!("SELECT {MEMBER_COLS} FROM memberships WHERE tenant_id = $1 AND user_id = $2");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, MemberRow>(&sql)
            .bind(tenant_id).bind(user_id).fetch_optional(pool).await)?,
        )
    }

    /// A tenant's members, oldest first.
    pub async fn members(&self, tenant_id: &str) -> Result<Vec<MemberRow>> {
        let sql = format!(
            "SELECT {MEMBER_COLS} FROM memberships WHERE tenant_id = $1 \
             ORDER BY created_at_ms, user_id"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, MemberRow>(&sql)
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// The tenants a user belongs to, with their role, by slug.
    pub async fn tenants_of(&self, user_id: &str) -> Result<Vec<MyTenantRow>> {
        let sql = "SELECT t.id, t.slug, t.name, t.created_at_ms, m.role FROM tenants t \
                   JOIN memberships m ON m.tenant_id = t.id WHERE m.user_id = $1 ORDER BY t.slug";
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, MyTenantRow>(sql)
            .bind(user_id).fetch_all(pool).await)?,
        )
    }

    /// A tenant's invitations, newest first.
    pub async fn invitations(&self, tenant_id: &str) -> Result<Vec<InvitationRow>> {
        let sql = format!(
            "SELECT {INVITATION_COLS} FROM invitations WHERE tenant_id = $1 \
             ORDER BY created_at_ms DESC, id DESC"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// The invitation with this id.
    pub async fn invitation(&self, id: &str) -> Result<Option<InvitationRow>> {
        let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE id = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The invitation whose token hashes to `token_hash`.
    pub async fn invitation_by_hash(&self, token_hash: &str) -> Result<Option<InvitationRow>> {
        let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE token_hash = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(token_hash).fetch_optional(pool).await)?,
        )
    }

    /// Makes `changes` to one tenant and appends `events`, all or nothing; fails with `conflict`
    /// (and changes nothing) if the tenant would be left without an owner.
    pub async fn apply(
        &self,
        tenant_id: &str,
        changes: &[Change],
        events: &[EventRecord],
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let locked = sqlx::query("UPDATE tenants SET revision = revision + 1 WHERE id = $1")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if locked == 0 {
                return Err(Error::not_found("no such tenant"));
            }
            for change in changes {
                match change {
                    Change::InsertMember(row) => tx.insert_member(row).await?,
                    Change::SetRole { user_id, role } => {
                        let n = sqlx::query(
                            "UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND user_id = $3",
                        )
                        .bind(role)
                        .bind(tenant_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if n == 0 {
                            return Err(not_a_member(user_id));
                        }
                    }
                    Change::DeleteMember { user_id } => {
                        let n = sqlx::query(
                            "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2",
                        )
                        .bind(tenant_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if n == 0 {
                            return Err(not_a_member(user_id));
                        }
                    }
                    Change::InsertInvitation(row) => {
                        sqlx::query(&format!(
                            "INSERT INTO invitations ({INVITATION_COLS}) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                        ))
                        .bind(&row.id)
                        .bind(&row.tenant_id)
                        .bind(&row.email)
                        .bind(&row.role)
                        .bind(&row.token_hash)
                        .bind(&row.invited_by)
                        .bind(row.created_at_ms)
                        .bind(row.expires_at_ms)
                        .bind(row.accepted_at_ms)
                        .bind(&row.accepted_by)
                        .bind(row.revoked_at_ms)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Change::AcceptInvitation { id, user_id, now_ms } => {
                        let n = sqlx::query(
                            "UPDATE invitations SET accepted_at_ms = $1, accepted_by = $2 \
                             WHERE id = $3 AND accepted_at_ms IS NULL AND revoked_at_ms IS NULL \
                             AND expires_at_ms > $1",
                        )
                        .bind(now_ms)
                        .bind(user_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if n == 0 {
                            return Err(Error::conflict(
                                "this invitation can no longer be accepted: ask for a new one",
                            ));
                        }
                    }
                    Change::RevokeInvitation { id, now_ms } => {
                        let n = sqlx::query(
                            "UPDATE invitations SET revoked_at_ms = $1 \
                             WHERE id = $2 AND accepted_at_ms IS NULL AND revoked_at_ms IS NULL",
                        )
                        .bind(now_ms)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if n == 0 {
                            return Err(Error::conflict(
                                "this invitation was already accepted or revoked",
                            ));
                        }
                    }
                }
            }
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'",
            )
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await?;
            if owners < 1 {
                return Err(Error::conflict(
                    "a tenant must keep at least one owner: make another member owner first, \
                     or transfer ownership",
                ));
            }
            for event in events {
                tx.append_event(event).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

fn not_a_member(user_id: &str) -> Error {
    Error::not_found(format!("user {user_id} is not a member of this tenant"))
}

/// Inserts a membership on either backend's connection (a transaction's, typically).
trait InsertMember {
    /// Inserts `row`; `conflict` if the user already is a member.
    fn insert_member(
        &mut self,
        row: &MemberRow,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

macro_rules! impl_insert_member {
    ($conn:ty) => {
        impl InsertMember for $conn {
            async fn insert_member(&mut self, row: &MemberRow) -> Result<()> {
                sqlx::query(
                    "INSERT INTO memberships (tenant_id, user_id, role, created_at_ms) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&row.tenant_id)
                .bind(&row.user_id)
                .bind(&row.role)
                .bind(row.created_at_ms)
                .execute(&mut *self)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        Error::conflict(format!("user {} is already a member", row.user_id))
                    }
                    _ => Error::from(e),
                })?;
                Ok(())
            }
        }
    };
}
impl_insert_member!(sqlx::SqliteConnection);
impl_insert_member!(sqlx::PgConnection);

//! Contacts and their channel identities.
//!
//! One channel user of one installation is one contact: `contact_identities` has that triple as
//! its primary key, so when two first messages of the same customer race, one insert wins and the
//! other transaction rolls back and finds the winner's contact.

use nave_hub_core::db::BeginWrite;
use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::writer::{execute, query_all, query_opt};
use nave_hub_core::{Result, on_db};

use super::UserStore;

/// A row of `contacts`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactRow {
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub picture_url: Option<String>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub messages_in: i64,
    pub messages_out: i64,
    pub first_seen_at_ms: Option<i64>,
    pub last_seen_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A row of `contact_identities`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdentityRow {
    pub tenant_id: String,
    pub installation_id: String,
    pub channel_user_id: String,
    pub channel: String,
    pub contact_id: String,
    pub created_at_ms: i64,
}

const CONTACT_COLS: &str = "id, tenant_id, name, first_name, last_name, picture_url, locale, \
     time_zone, email, phone, messages_in, messages_out, first_seen_at_ms, last_seen_at_ms, \
     created_at_ms, updated_at_ms";
const IDENTITY_COLS: &str =
    "tenant_id, installation_id, channel_user_id, channel, contact_id, created_at_ms";

/// Adds `$1` in and `$2` out to the contact known by the identity (`$5`, `$6`, `$7`), seen from
/// `$3` to `$8`, changed at `$4`, then `returning`.
fn activity_update(returning: &str) -> String {
    format!(
        "UPDATE contacts SET messages_in = messages_in + $1, messages_out = messages_out + $2, \
         first_seen_at_ms = CASE WHEN first_seen_at_ms IS NULL OR first_seen_at_ms > $3 \
           THEN $3 ELSE first_seen_at_ms END, \
         last_seen_at_ms = CASE WHEN last_seen_at_ms IS NULL OR last_seen_at_ms < $8 \
           THEN $8 ELSE last_seen_at_ms END, \
         updated_at_ms = $4 \
         WHERE id = (SELECT contact_id FROM contact_identities WHERE tenant_id = $5 \
           AND installation_id = $6 AND channel_user_id = $7){returning}"
    )
}

/// [`activity_update`] returning the contact.
fn activity_sql() -> String {
    activity_update(&format!(" RETURNING {CONTACT_COLS}"))
}

/// Messages counted together on the contact known by an identity, for
/// [`UserStore::count_activities`].
#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub tenant_id: String,
    pub installation_id: String,
    pub channel_user_id: String,
    pub messages_in: i64,
    pub messages_out: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
}

/// A `contacts` row read on the writer's connection, in [`CONTACT_COLS`] order.
fn contact_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContactRow> {
    Ok(ContactRow {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        name: r.get(2)?,
        first_name: r.get(3)?,
        last_name: r.get(4)?,
        picture_url: r.get(5)?,
        locale: r.get(6)?,
        time_zone: r.get(7)?,
        email: r.get(8)?,
        phone: r.get(9)?,
        messages_in: r.get(10)?,
        messages_out: r.get(11)?,
        first_seen_at_ms: r.get(12)?,
        last_seen_at_ms: r.get(13)?,
        created_at_ms: r.get(14)?,
        updated_at_ms: r.get(15)?,
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
/// The tenant's contact known by an identity (`$1` tenant, `$2` installation, `$3` the user's
/// id on the channel).
fn by_identity_sql() -> String {
    format!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE id = (SELECT contact_id FROM \
         contact_identities WHERE tenant_id = $1 AND installation_id = $2 \
         AND channel_user_id = $3)"
    )
}

/// A contact read on the writer's connection, with its identities (oldest first).
fn with_identities(
    conn: &rusqlite::Connection,
    row: Option<ContactRow>,
) -> Result<Option<(ContactRow, Vec<IdentityRow>)>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let identities = query_all(
        conn,
        &format!(
            "SELECT {IDENTITY_COLS} FROM contact_identities WHERE contact_id IN ($1) \
             ORDER BY created_at_ms, installation_id, channel_user_id"
        ),
        &[&row.id],
        |r| {
            Ok(IdentityRow {
                tenant_id: r.get(0)?,
                installation_id: r.get(1)?,
                channel_user_id: r.get(2)?,
                channel: r.get(3)?,
                contact_id: r.get(4)?,
                created_at_ms: r.get(5)?,
            })
        },
    )?;
    Ok(Some((row, identities)))
}

fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl UserStore {
    /// The tenant's contact with this id.
    pub async fn contact(&self, tenant_id: &str, id: &str) -> Result<Option<ContactRow>> {
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ContactRow>(&sql)
            .bind(tenant_id).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The tenant's contact known by this identity.
    pub async fn contact_by_identity(
        &self,
        tenant_id: &str,
        installation_id: &str,
        channel_user_id: &str,
    ) -> Result<Option<ContactRow>> {
        let sql = by_identity_sql();
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ContactRow>(&sql)
            .bind(tenant_id).bind(installation_id).bind(channel_user_id)
            .fetch_optional(pool).await)?,
        )
    }

    /// The contact known by an identity, with all its identities: on SQLite one read on the
    /// calling thread (channel spokes look their senders up for every webhook).
    pub async fn contact_by_identity_full(
        &self,
        tenant_id: &str,
        installation_id: &str,
        channel_user_id: &str,
    ) -> Result<Option<(ContactRow, Vec<IdentityRow>)>> {
        let Some(writer) = &self.writer else {
            let Some(row) = self
                .contact_by_identity(tenant_id, installation_id, channel_user_id)
                .await?
            else {
                return Ok(None);
            };
            let identities = self.identities_of(&[row.id.as_str()]).await?;
            return Ok(Some((row, identities)));
        };
        writer.read(|conn| {
            let row = query_opt(
                conn,
                &by_identity_sql(),
                &[&tenant_id, &installation_id, &channel_user_id],
                contact_row,
            )?;
            with_identities(conn, row)
        })
    }

    /// The identities of these contacts, oldest first.
    pub async fn identities_of(&self, contact_ids: &[&str]) -> Result<Vec<IdentityRow>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (1..=contact_ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {IDENTITY_COLS} FROM contact_identities WHERE contact_id IN ({placeholders}) \
             ORDER BY created_at_ms, installation_id, channel_user_id"
        );
        Ok(on_db!(&self.db, pool => {
            let mut q = sqlx::query_as::<_, IdentityRow>(&sql);
            for id in contact_ids {
                q = q.bind(*id);
            }
            q.fetch_all(pool).await
        })?)
    }

    /// Up to `limit` of the tenant's contacts after `after` in id order, matching `search` (a
    /// case-insensitive substring of name, first or last name, email or phone) when given.
    pub async fn contacts(
        &self,
        tenant_id: &str,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ContactRow>> {
        let mut sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE tenant_id = $1");
        let mut next = 2;
        if search.is_some() {
            let p = format!("${next}");
            next += 1;
            sql.push_str(&format!(
                " AND (LOWER(COALESCE(name, '')) LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(first_name, '')) LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(last_name, '')) LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(email, '')) LIKE {p} ESCAPE '\\' \
                 OR COALESCE(phone, '') LIKE {p} ESCAPE '\\')"
            ));
        }
        if after.is_some() {
            sql.push_str(&format!(" AND id > ${next}"));
            next += 1;
        }
        sql.push_str(&format!(" ORDER BY id LIMIT ${next}"));
        let pattern = search.map(like_pattern);
        Ok(on_db!(&self.db, pool => {
            let mut q = sqlx::query_as::<_, ContactRow>(&sql).bind(tenant_id);
            if let Some(p) = &pattern {
                q = q.bind(p.clone());
            }
            if let Some(a) = after {
                q = q.bind(a);
            }
            q.bind(limit).fetch_all(pool).await
        })?)
    }

    /// Creates a contact known by `identity` and appends `event`, unless another contact already
    /// has that identity: then nothing is written and this returns `false`.
    pub async fn create_contact(
        &self,
        contact: &ContactRow,
        identity: &IdentityRow,
        event: &EventRecord,
    ) -> Result<bool> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            tx.insert_contact(contact).await?;
            if !tx.insert_identity(identity).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Changes one contact of the tenant in one transaction: `change` edits the row and returns
    /// the event recording the edit, or `None` when nothing changed (then nothing is written).
    /// `None` if the tenant has no such contact.
    pub async fn change_contact<F>(
        &self,
        tenant_id: &str,
        id: &str,
        now_ms: i64,
        change: F,
    ) -> Result<Option<ContactRow>>
    where
        F: FnOnce(&mut ContactRow) -> Result<Option<EventRecord>> + Send,
    {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            if tx.lock_contacts(tenant_id, &[id]).await? != 1 {
                return Ok(None);
            }
            let mut row = tx.select_contact(id).await?;
            let Some(event) = change(&mut row)? else {
                return Ok(Some(row));
            };
            row.updated_at_ms = now_ms;
            tx.save_contact(&row).await?;
            tx.append_event(&event).await?;
            tx.commit().await?;
            Ok(Some(row))
        })
    }

    /// Folds contact `merge` into `keep` in one transaction: `fold` edits `keep` from `merge` and
    /// returns the event; identities move to `keep` and `merge` is deleted. `None` if either is
    /// not the tenant's.
    pub async fn merge_contacts<F>(
        &self,
        tenant_id: &str,
        keep: &str,
        merge: &str,
        now_ms: i64,
        fold: F,
    ) -> Result<Option<ContactRow>>
    where
        F: FnOnce(&mut ContactRow, &ContactRow) -> EventRecord + Send,
    {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            if tx.lock_contacts(tenant_id, &[keep, merge]).await? != 2 {
                return Ok(None);
            }
            let mut kept = tx.select_contact(keep).await?;
            let merged = tx.select_contact(merge).await?;
            let event = fold(&mut kept, &merged);
            kept.updated_at_ms = now_ms;
            sqlx::query("UPDATE contact_identities SET contact_id = $1 WHERE contact_id = $2")
                .bind(keep)
                .bind(merge)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM contacts WHERE id = $1")
                .bind(merge)
                .execute(&mut *tx)
                .await?;
            tx.save_contact(&kept).await?;
            tx.append_event(&event).await?;
            tx.commit().await?;
            Ok(Some(kept))
        })
    }

    /// Deletes a contact of the tenant with its identities (by cascade) and appends `event`;
    /// `false` if the tenant has no such contact.
    pub async fn delete_contact(
        &self,
        tenant_id: &str,
        id: &str,
        event: &EventRecord,
    ) -> Result<bool> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("DELETE FROM contacts WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Counts messages on the contact known by an identity and reads its identities, changing
    /// nothing else: what every message does. `None`, with nothing written, if no contact has
    /// the identity. On SQLite one operation on the hub's writer.
    pub async fn count_activity(
        &self,
        identity: (&str, &str, &str),
        counts: (i64, i64),
        at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<(ContactRow, Vec<IdentityRow>)>> {
        let Some(writer) = &self.writer else {
            let Some(row) = self
                .record_activity(identity, counts, at_ms, now_ms, |_| Ok(None))
                .await?
            else {
                return Ok(None);
            };
            let identities = self.identities_of(&[row.id.as_str()]).await?;
            return Ok(Some((row, identities)));
        };
        let (tenant_id, installation_id, channel_user_id) = (
            identity.0.to_owned(),
            identity.1.to_owned(),
            identity.2.to_owned(),
        );
        writer
            .run(move |conn| {
                let row = query_opt(
                    conn,
                    &activity_sql(),
                    &[
                        &counts.0,
                        &counts.1,
                        &at_ms,
                        &now_ms,
                        &tenant_id,
                        &installation_id,
                        &channel_user_id,
                        &at_ms,
                    ],
                    contact_row,
                )?;
                with_identities(conn, row)
            })
            .await
    }

    /// Counts many identities' messages in one transaction, changing nothing else. Returns,
    /// per row, whether a contact has the identity (nothing is counted for one that has none).
    /// On SQLite one operation on the hub's writer.
    pub async fn count_activities(&self, rows: Vec<ActivityRow>, now_ms: i64) -> Result<Vec<bool>> {
        let sql = activity_update("");
        if let Some(writer) = &self.writer {
            return writer
                .run(move |conn| {
                    rows.iter()
                        .map(|r| {
                            execute(
                                conn,
                                &sql,
                                &[
                                    &r.messages_in,
                                    &r.messages_out,
                                    &r.first_at_ms,
                                    &now_ms,
                                    &r.tenant_id,
                                    &r.installation_id,
                                    &r.channel_user_id,
                                    &r.last_at_ms,
                                ],
                            )
                            .map(|n| n > 0)
                        })
                        .collect()
                })
                .await;
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let mut found = Vec::with_capacity(rows.len());
            for r in &rows {
                let n = sqlx::query(&sql)
                    .bind(r.messages_in)
                    .bind(r.messages_out)
                    .bind(r.first_at_ms)
                    .bind(now_ms)
                    .bind(&r.tenant_id)
                    .bind(&r.installation_id)
                    .bind(&r.channel_user_id)
                    .bind(r.last_at_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                found.push(n > 0);
            }
            tx.commit().await?;
            Ok(found)
        })
    }

    /// Counts messages on the contact known by an identity, in one transaction whose first
    /// statement is the counter update; then `change` may edit the profile (and return the event
    /// for that). `None`, with nothing written, if no contact has the identity.
    pub async fn record_activity<F>(
        &self,
        identity: (&str, &str, &str),
        (messages_in, messages_out): (i64, i64),
        at_ms: i64,
        now_ms: i64,
        change: F,
    ) -> Result<Option<ContactRow>>
    where
        F: FnOnce(&mut ContactRow) -> Result<Option<EventRecord>> + Send,
    {
        let (tenant_id, installation_id, channel_user_id) = identity;
        let sql = activity_sql();
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(mut row) = sqlx::query_as::<_, ContactRow>(&sql)
                .bind(messages_in)
                .bind(messages_out)
                .bind(at_ms)
                .bind(now_ms)
                .bind(tenant_id)
                .bind(installation_id)
                .bind(channel_user_id)
                .bind(at_ms)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(None);
            };
            if let Some(event) = change(&mut row)? {
                tx.save_contact(&row).await?;
                tx.append_event(&event).await?;
            }
            tx.commit().await?;
            Ok(Some(row))
        })
    }
}

/// Contact statements on either backend's connection (a transaction's, typically).
trait ContactConn {
    /// Bumps the revision of the tenant's contacts with these ids; returns how many exist.
    fn lock_contacts(
        &mut self,
        tenant_id: &str,
        ids: &[&str],
    ) -> impl std::future::Future<Output = Result<u64>> + Send;
    /// Reads a contact known to exist.
    fn select_contact(
        &mut self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<ContactRow>> + Send;
    /// Inserts a new contact.
    fn insert_contact(
        &mut self,
        row: &ContactRow,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
    /// Writes a contact's profile fields, counters and times.
    fn save_contact(
        &mut self,
        row: &ContactRow,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
    /// Inserts an identity; `false` if the identity already belongs to a contact.
    fn insert_identity(
        &mut self,
        row: &IdentityRow,
    ) -> impl std::future::Future<Output = Result<bool>> + Send;
}

macro_rules! impl_contact_conn {
    ($conn:ty) => {
        impl ContactConn for $conn {
            async fn lock_contacts(&mut self, tenant_id: &str, ids: &[&str]) -> Result<u64> {
                let placeholders = (0..ids.len())
                    .map(|i| format!("${}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "UPDATE contacts SET revision = revision + 1 WHERE tenant_id = $1 \
                     AND id IN ({placeholders})"
                );
                let mut q = sqlx::query(&sql).bind(tenant_id);
                for id in ids {
                    q = q.bind(*id);
                }
                Ok(q.execute(&mut *self).await?.rows_affected())
            }

            async fn select_contact(&mut self, id: &str) -> Result<ContactRow> {
                let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1");
                Ok(sqlx::query_as::<_, ContactRow>(&sql)
                    .bind(id)
                    .fetch_one(&mut *self)
                    .await?)
            }

            async fn insert_contact(&mut self, r: &ContactRow) -> Result<()> {
                let sql = format!(
                    "INSERT INTO contacts ({CONTACT_COLS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                );
                sqlx::query(&sql)
                    .bind(&r.id)
                    .bind(&r.tenant_id)
                    .bind(&r.name)
                    .bind(&r.first_name)
                    .bind(&r.last_name)
                    .bind(&r.picture_url)
                    .bind(&r.locale)
                    .bind(&r.time_zone)
                    .bind(&r.email)
                    .bind(&r.phone)
                    .bind(r.messages_in)
                    .bind(r.messages_out)
                    .bind(r.first_seen_at_ms)
                    .bind(r.last_seen_at_ms)
                    .bind(r.created_at_ms)
                    .bind(r.updated_at_ms)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn save_contact(&mut self, r: &ContactRow) -> Result<()> {
                sqlx::query(
                    "UPDATE contacts SET name = $1, first_name = $2, last_name = $3, \
                     picture_url = $4, locale = $5, time_zone = $6, email = $7, phone = $8, \
                     messages_in = $9, messages_out = $10, first_seen_at_ms = $11, \
                     last_seen_at_ms = $12, updated_at_ms = $13 WHERE id = $14",
                )
                .bind(&r.name)
                .bind(&r.first_name)
                .bind(&r.last_name)
                .bind(&r.picture_url)
                .bind(&r.locale)
                .bind(&r.time_zone)
                .bind(&r.email)
                .bind(&r.phone)
                .bind(r.messages_in)
                .bind(r.messages_out)
                .bind(r.first_seen_at_ms)
                .bind(r.last_seen_at_ms)
                .bind(r.updated_at_ms)
                .bind(&r.id)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn insert_identity(&mut self, r: &IdentityRow) -> Result<bool> {
                let sql = format!(
                    "INSERT INTO contact_identities ({IDENTITY_COLS}) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (tenant_id, installation_id, channel_user_id) DO NOTHING"
                );
                let n = sqlx::query(&sql)
                    .bind(&r.tenant_id)
                    .bind(&r.installation_id)
                    .bind(&r.channel_user_id)
                    .bind(&r.channel)
                    .bind(&r.contact_id)
                    .bind(r.created_at_ms)
                    .execute(&mut *self)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }
        }
    };
}
impl_contact_conn!(sqlx::SqliteConnection);
impl_contact_conn!(sqlx::PgConnection);

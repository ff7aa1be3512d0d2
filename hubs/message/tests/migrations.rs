//! Upgrading a database that already holds messages: what the migrations keep.

use std::borrow::Cow;

use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{Backend, Db, HubMigrations, on_db};
use nave_message::MessageStatus;
use nave_message::store::{MIGRATIONS, MessageStore};
use sqlx::migrate::Migrator;
use uuid::Uuid;

/// The message hub's migrations before the status history moved into the message's row.
fn before_history_column(all: &'static Migrator) -> &'static Migrator {
    let kept: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version < 103)
        .cloned()
        .collect();
    assert_eq!(
        kept.len(),
        3,
        "0100, 0101 and 0102 come before the history column"
    );
    Box::leak(Box::new(Migrator {
        migrations: Cow::Owned(kept),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }))
}

#[tokio::test]
async fn a_status_history_written_before_the_upgrade_reads_the_same_after_it() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let old = HubMigrations {
            sqlite: before_history_column(MIGRATIONS.sqlite),
            postgres: before_history_column(MIGRATIONS.postgres),
        };
        let (conversation, answered, silent) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        {
            let pool = Db::connect(&db.config, old).await.expect("the old schema");
            on_db!(&pool, pool => {
                sqlx::query(
                    "INSERT INTO conversations (id, tenant_id, installation_id, platform, \
                     channel_conversation, sender, recipient, created_at_ms, last_message_at_ms) \
                     VALUES ($1, $2, $3, 'facebook', 'PAGE:PSID', 'PSID', 'PAGE', 1, 1)")
                    .bind(conversation.to_string()).bind(Uuid::now_v7().to_string())
                    .bind(Uuid::now_v7().to_string())
                    .execute(pool).await.expect("a conversation");
                for (id, status) in [(answered, "retrying"), (silent, "received")] {
                    sqlx::query(
                        "INSERT INTO messages (id, tenant_id, conversation_id, installation_id, \
                         direction, author, body, status, created_at_ms, updated_at_ms) \
                         VALUES ($1, 't', $2, 'i', 'in', 'contact', '{}', $3, 1, 1)")
                        .bind(id.to_string()).bind(conversation.to_string()).bind(status)
                        .execute(pool).await.expect("a message");
                }
                // Written out of order on purpose: the history follows `seq`, not time.
                for (status, detail, at_ms) in [
                    ("received", None, 10),
                    ("retrying", Some("botpress: 503 \"unavailable\"\nretry in 2 s"), 30),
                    ("retrying", Some("botpress: timed out"), 20),
                ] {
                    sqlx::query(
                        "INSERT INTO message_status (message_id, status, detail, at_ms) \
                         VALUES ($1, $2, $3, $4)")
                        .bind(answered.to_string()).bind(status).bind(detail).bind(at_ms as i64)
                        .execute(pool).await.expect("a status change");
                }
            });
            pool.close().await;
        }

        let store = MessageStore::open(&db.config).await.expect("the upgrade");
        let label = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let history = store.history(answered).await.expect("history");
        let seen: Vec<_> = history
            .iter()
            .map(|h| (h.status, h.detail.as_deref(), h.at_ms))
            .collect();
        assert_eq!(
            seen,
            [
                (MessageStatus::Received, None, 10),
                (
                    MessageStatus::Retrying,
                    Some("botpress: 503 \"unavailable\"\nretry in 2 s"),
                    30
                ),
                (MessageStatus::Retrying, Some("botpress: timed out"), 20),
            ],
            "{label}"
        );
        assert!(
            store.history(silent).await.expect("history").is_empty(),
            "{label}: a message without changes has an empty history"
        );

        // New changes go on after the migrated ones.
        let row = store.message(answered).await.unwrap().expect("the message");
        store
            .settle(
                &row,
                &nave_message::store::Outcome::Settled {
                    status: MessageStatus::Processed,
                    detail: Some("rule 0".into()),
                    error: None,
                },
                None,
                &[],
                None,
                40,
            )
            .await
            .expect("settle");
        let history = store.history(answered).await.expect("history");
        assert_eq!(history.len(), 4, "{label}");
        assert_eq!(history[3].status, MessageStatus::Processed, "{label}");
        assert_eq!(history[3].detail.as_deref(), Some("rule 0"), "{label}");
        assert_eq!(history[3].at_ms, 40, "{label}");
    }
}

//! Private signing keys are sealed in the database: a copy of the database alone does not give
//! the keys, tokens survive a restart with the same seal key, another seal key fails clearly,
//! and keys stored before sealing was configured get sealed when the hub opens.

mod common;

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use common::*;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Db, DbConfig, Error, ManualClock, on_db};
use nave_identity::{IdentityApi, LocalIdentity, SealKey, SignUp, Tokens};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const KEY_A: [u8; 32] = [0xa1; 32];
const KEY_B: [u8; 32] = [0xb2; 32];

/// A stored `signing_keys` row, read around the hub.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct RawKey {
    kid: String,
    private_key_der: Vec<u8>,
    public_key: Vec<u8>,
}

/// A direct connection to the hub's database, as someone holding a copy of it would have.
async fn raw_db(config: &DbConfig) -> Db {
    match config {
        DbConfig::Sqlite { path } => Db::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(SqliteConnectOptions::new().filename(path))
                .await
                .unwrap(),
        ),
        DbConfig::Postgres { options } => Db::Postgres(
            PgPoolOptions::new()
                .max_connections(1)
                .connect_with((**options).clone())
                .await
                .unwrap(),
        ),
    }
}

async fn raw_keys(db: &Db) -> Vec<RawKey> {
    on_db!(db, pool => sqlx::query_as::<_, RawKey>(
        "SELECT kid, private_key_der, public_key FROM signing_keys ORDER BY created_at_ms, kid",
    )
    .fetch_all(pool)
    .await)
    .unwrap()
}

async fn open(db: &TestDb, seal: Option<[u8; 32]>) -> Result<LocalIdentity, Error> {
    let config = nave_identity::IdentityConfig {
        signing_key_seal: seal.map(SealKey::new),
        ..test_config()
    };
    LocalIdentity::open(&db.config, config, Arc::new(ManualClock::starting_now())).await
}

fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The Ed25519 key a stored row holds, opened with `key` the way the format is documented:
/// version byte 1, 12-byte nonce, ChaCha20-Poly1305 ciphertext with the kid as associated data.
fn unseal(row: &RawKey, key: &[u8; 32]) -> Option<SigningKey> {
    let (&version, rest) = row.private_key_der.split_first()?;
    assert_eq!(version, 1, "sealed rows start with version byte 1");
    let (nonce, ciphertext) = rest.split_at(12);
    let der = ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: row.kid.as_bytes(),
            },
        )
        .ok()?;
    Some(SigningKey::from_pkcs8_der(&der).unwrap())
}

fn assert_sealed_with(row: &RawKey, key: &[u8; 32], at: &str) {
    assert_ne!(
        row.private_key_der[0], 0x30,
        "[{at}] key {} is stored as plain DER",
        row.kid
    );
    let signing =
        unseal(row, key).unwrap_or_else(|| panic!("[{at}] key {} opens with the key", row.kid));
    assert_eq!(
        signing.verifying_key().to_bytes().as_slice(),
        row.public_key,
        "[{at}] the sealed private key belongs to the row's public key"
    );
}

async fn sign_up_on(hub: &LocalIdentity, email: &str) -> Tokens {
    hub.sign_up(
        &anon(),
        SignUp {
            email: email.into(),
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap()
}

/// Creates the platform admin and rotates the signing key, so there are two keys.
async fn rotate(hub: &LocalIdentity) {
    hub.bootstrap_admin("root@example.com", Some(PASSWORD.into()))
        .await
        .unwrap();
    let admin = hub
        .log_in(&anon(), login("root@example.com", PASSWORD))
        .await
        .unwrap();
    hub.rotate_signing_key(&ctx_of(&admin)).await.unwrap();
}

/// The message of an internal error (its cause; clients only ever see "internal error").
fn internal_message(err: Error) -> String {
    assert_eq!(err.code(), "internal", "{err:?}");
    std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[tokio::test]
async fn private_keys_are_sealed_at_rest_and_tokens_survive_a_reopen() {
    for backend in backends() {
        let at = label(backend);
        let db = TestDb::new(backend).await;
        let hub = open(&db, Some(KEY_A)).await.unwrap();
        let ann = sign_up_on(&hub, "ann@example.com").await;
        rotate(&hub).await;
        let bob = sign_up_on(&hub, "bob@example.com").await;

        let raw = raw_db(&db.config).await;
        let rows = raw_keys(&raw).await;
        assert_eq!(rows.len(), 2, "[{at}]");
        for row in &rows {
            assert_sealed_with(row, &KEY_A, at);
            assert!(
                unseal(row, &KEY_B).is_none(),
                "[{at}] opens with another key"
            );
        }
        drop(hub);

        let reopened = open(&db, Some(KEY_A)).await.unwrap();
        for tokens in [&ann, &bob] {
            let claims = reopened
                .verify_access_token(&AuthContext::anonymous(), &tokens.access_token)
                .await
                .unwrap_or_else(|e| panic!("[{at}] token from before the reopen: {e:?}"));
            assert_eq!(claims.user_id, tokens.user.id, "[{at}]");
        }
        let again = reopened
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await
            .unwrap();
        reopened
            .verify_access_token(&anon(), &again.access_token)
            .await
            .unwrap();
        assert_eq!(
            raw_keys(&raw).await,
            rows,
            "[{at}] a reopen rewrites nothing"
        );
        raw.close().await;
    }
}

#[tokio::test]
async fn reopening_with_another_or_no_seal_key_fails_clearly() {
    for backend in backends() {
        let at = label(backend);
        let db = TestDb::new(backend).await;
        let hub = open(&db, Some(KEY_A)).await.unwrap();
        let ann = sign_up_on(&hub, "ann@example.com").await;
        drop(hub);

        for seal in [Some(KEY_B), None] {
            let err = open(&db, seal).await.unwrap_err();
            let message = internal_message(err);
            assert!(
                message.contains("seal key changed"),
                "[{at}] seal {:?}: {message}",
                seal.map(|k| k[0])
            );
        }

        // The failed opens left the keys as they were.
        let hub = open(&db, Some(KEY_A)).await.unwrap();
        hub.verify_access_token(&anon(), &ann.access_token)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn keys_stored_unsealed_are_sealed_when_a_seal_key_is_configured() {
    for backend in backends() {
        let at = label(backend);
        let db = TestDb::new(backend).await;
        let legacy = open(&db, None).await.unwrap();
        let ann = sign_up_on(&legacy, "ann@example.com").await;
        rotate(&legacy).await;
        drop(legacy);

        let raw = raw_db(&db.config).await;
        let before = raw_keys(&raw).await;
        assert_eq!(before.len(), 2, "[{at}]");
        for row in &before {
            let plain = SigningKey::from_pkcs8_der(&row.private_key_der)
                .unwrap_or_else(|e| panic!("[{at}] without a seal key rows hold plain DER: {e}"));
            assert_eq!(plain.verifying_key().to_bytes().as_slice(), row.public_key);
        }

        let hub = open(&db, Some(KEY_A)).await.unwrap();
        let after = raw_keys(&raw).await;
        assert_eq!(after.len(), 2, "[{at}]");
        for (old, new) in before.iter().zip(&after) {
            assert_eq!(old.kid, new.kid, "[{at}]");
            assert_sealed_with(new, &KEY_A, at);
            assert_eq!(
                unseal(new, &KEY_A).unwrap().to_bytes(),
                SigningKey::from_pkcs8_der(&old.private_key_der)
                    .unwrap()
                    .to_bytes(),
                "[{at}] sealing keeps the same key"
            );
        }
        let claims = hub
            .verify_access_token(&anon(), &ann.access_token)
            .await
            .unwrap();
        assert_eq!(claims.user_id, ann.user.id, "[{at}]");
        let bob = sign_up_on(&hub, "bob@example.com").await;
        hub.verify_access_token(&anon(), &bob.access_token)
            .await
            .unwrap();
        raw.close().await;
    }
}

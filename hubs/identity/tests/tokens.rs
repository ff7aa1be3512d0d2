//! Access-token attacks are refused, and signing-key rotation logs nobody out.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nave_identity::{Claims, IdentityConfig, LocalIdentity};

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let (h, p, s) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    (h.to_owned(), p.to_owned(), s.to_owned())
}

fn decode_json(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn encode_json(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn forged_and_altered_tokens_are_refused() {
    for hub in hubs().await {
        let tokens = sign_up(&hub, "ann@example.com").await;
        let (header, payload, signature) = parts(&tokens.access_token);
        let header_json = decode_json(&header);
        assert_eq!(header_json["alg"], "EdDSA");
        let kid = header_json["kid"].as_str().unwrap().to_owned();

        // alg: none, no signature.
        let none = format!(
            "{}.{payload}.",
            encode_json(&serde_json::json!({ "alg": "none", "typ": "JWT", "kid": kid }))
        );
        let r = hub.api.verify_access_token(&anon(), &none).await;
        assert_err(&hub, r, "unauthenticated", None);

        // HS256 "signed" with the public key bytes from the JWKS (the classic key-confusion attack).
        let jwks = hub.api.jwks(&anon()).await.unwrap();
        let public = URL_SAFE_NO_PAD.decode(&jwks.keys[0].x).unwrap();
        let claims: Claims = serde_json::from_value(decode_json(&payload)).unwrap();
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(kid.clone());
        let forged =
            jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(&public)).unwrap();
        let r = hub.api.verify_access_token(&anon(), &forged).await;
        let err = assert_err(&hub, r, "unauthenticated", None);
        assert!(
            err.to_string().contains("algorithm"),
            "[{}] {err}",
            hub.label
        );

        // Tampered payload: promote ourselves to platform admin, keep the old signature.
        let mut elevated = decode_json(&payload);
        elevated["adm"] = serde_json::json!(true);
        let tampered = format!("{header}.{}.{signature}", encode_json(&elevated));
        let r = hub.api.verify_access_token(&anon(), &tampered).await;
        let err = assert_err(&hub, r, "unauthenticated", None);
        assert!(
            err.to_string().contains("signature"),
            "[{}] {err}",
            hub.label
        );

        // Garbage and an unknown kid.
        assert_err(
            &hub,
            hub.api.verify_access_token(&anon(), "not.a.jwt").await,
            "unauthenticated",
            None,
        );
        let mut other_kid = header_json.clone();
        other_kid["kid"] = serde_json::json!("somebody-elses-key");
        let unknown = format!("{}.{payload}.{signature}", encode_json(&other_kid));
        assert_err(
            &hub,
            hub.api.verify_access_token(&anon(), &unknown).await,
            "unauthenticated",
            None,
        );

        // The genuine token still passes.
        hub.api
            .verify_access_token(&anon(), &tokens.access_token)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    for hub in hubs().await {
        let tokens = sign_up(&hub, "old@example.com").await;
        hub.clock
            .advance(Duration::from_secs(15 * 60) + Duration::from_secs(31));
        let r = hub
            .api
            .verify_access_token(&anon(), &tokens.access_token)
            .await;
        assert_err(&hub, r, "unauthenticated", Some("token_expired"));
        // The refresh token still works and yields a fresh access token.
        let fresh = hub
            .api
            .refresh(&anon(), &tokens.refresh_token)
            .await
            .unwrap();
        hub.api
            .verify_access_token(&anon(), &fresh.access_token)
            .await
            .unwrap();
        // Refresh tokens expire too.
        hub.clock.advance(Duration::from_secs(31 * 24 * 3600));
        let r = hub.api.refresh(&anon(), &fresh.refresh_token).await;
        assert_err(&hub, r, "unauthenticated", Some("refresh_token_expired"));
    }
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_refused() {
    for hub in hubs().await {
        // Hubs sharing the keys but configured for someone else: their tokens carry our
        // signature but the wrong `iss` / `aud`.
        for (config, what) in [
            (
                IdentityConfig {
                    issuer: "https://evil.example".into(),
                    ..test_config()
                },
                "issued",
            ),
            (
                IdentityConfig {
                    audience: "another-api".into(),
                    ..test_config()
                },
                "audience",
            ),
        ] {
            let other = LocalIdentity::open(&hub.db.config, config, hub.clock.clone())
                .await
                .unwrap();
            let email = format!("{what}@example.com");
            let tokens = nave_identity::IdentityApi::sign_up(
                &other,
                &anon(),
                nave_identity::SignUp {
                    email,
                    password: PASSWORD.into(),
                },
            )
            .await
            .unwrap();
            let r = hub
                .api
                .verify_access_token(&anon(), &tokens.access_token)
                .await;
            let err = assert_err(&hub, r, "unauthenticated", None);
            assert!(err.to_string().contains(what), "[{}] {err}", hub.label);
        }
    }
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_until_they_expire() {
    for hub in hubs().await {
        let root = admin(&hub).await;
        let user = sign_up(&hub, "ann@example.com").await;
        let old_kid = hub
            .api
            .verify_access_token(&anon(), &user.access_token)
            .await
            .unwrap()
            .kid;

        let denied = hub.api.rotate_signing_key(&ctx_of(&user)).await;
        assert_err(&hub, denied, "permission_denied", None);
        let new_key = hub.api.rotate_signing_key(&ctx_of(&root)).await.unwrap();
        assert_ne!(new_key.kid, old_kid);
        assert_eq!(
            (new_key.alg.as_str(), new_key.crv.as_str()),
            ("EdDSA", "Ed25519")
        );

        // Nobody is logged out: the old token still verifies.
        let claims = hub
            .api
            .verify_access_token(&anon(), &user.access_token)
            .await
            .unwrap();
        assert_eq!(claims.kid, old_kid, "[{}]", hub.label);
        // New tokens use the new key.
        let fresh = hub.api.refresh(&anon(), &user.refresh_token).await.unwrap();
        let fresh_claims = hub
            .api
            .verify_access_token(&anon(), &fresh.access_token)
            .await
            .unwrap();
        assert_eq!(fresh_claims.kid, new_key.kid);
        // Both keys are published, newest first.
        let kids: Vec<_> = hub
            .api
            .jwks(&anon())
            .await
            .unwrap()
            .keys
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(
            kids,
            [new_key.kid.clone(), old_kid.clone()],
            "[{}]",
            hub.label
        );

        // Once every token of the old key has expired, the old key is withdrawn.
        hub.clock.advance(Duration::from_secs(16 * 60));
        let kids: Vec<_> = hub
            .api
            .jwks(&anon())
            .await
            .unwrap()
            .keys
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, std::slice::from_ref(&new_key.kid), "[{}]", hub.label);
        let r = hub
            .api
            .verify_access_token(&anon(), &user.access_token)
            .await;
        assert_err(&hub, r, "unauthenticated", None);
    }
}

#[tokio::test]
async fn jwks_has_the_well_known_shape() {
    for hub in hubs().await {
        let jwks = hub.api.jwks(&anon()).await.unwrap();
        let json = serde_json::to_value(&jwks).unwrap();
        let key = &json["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(key["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(key.get("d").is_none(), "[{}] no private part", hub.label);
    }
}

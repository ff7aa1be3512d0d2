//! The REST routes, called through the router without a socket, over every hub implementation.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use nave_hub_core::ids::new_id;
use nave_hub_core::{Result, Role};
use nave_identity::rest::router;
use nave_identity::{Memberships, NoMemberships};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// One fixed membership, as the tenant hub would report it.
struct OneMember(Uuid, Uuid, Role);

#[async_trait]
impl Memberships for OneMember {
    async fn role_of(&self, user: Uuid, tenant: Uuid) -> Result<Option<Role>> {
        Ok((user == self.0 && tenant == self.1).then_some(self.2))
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, json)
}

#[tokio::test]
async fn auth_routes_sign_up_log_in_refresh_and_log_out() {
    for hub in hubs().await {
        let app = router(hub.api.clone(), Arc::new(NoMemberships));
        let creds = json!({ "email": "ann@example.com", "password": PASSWORD });
        let (status, tokens) =
            call(&app, "POST", "/v1/auth/signup", None, Some(creds.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {tokens}", hub.label);
        assert_eq!(tokens["user"]["email"], "ann@example.com");

        let (status, body) = call(
            &app,
            "POST",
            "/v1/auth/signup",
            None,
            Some(json!({ "email": "x@example.com", "password": "short" })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "invalid_argument");
        assert_eq!(body["fields"][0]["field"], "password");

        let (status, body) = call(
            &app,
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({ "email": "ann@example.com", "password": "nope nope nope" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{}]", hub.label);
        assert_eq!(
            body,
            json!({ "code": "unauthenticated", "message": "email or password is wrong" })
        );

        let (status, logged) = call(&app, "POST", "/v1/auth/login", None, Some(creds)).await;
        assert_eq!(status, StatusCode::OK);
        let refresh = json!({ "refresh_token": logged["refresh_token"] });
        let (status, rotated) = call(
            &app,
            "POST",
            "/v1/auth/refresh",
            None,
            Some(refresh.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(rotated["refresh_token"], logged["refresh_token"]);
        let (status, body) = call(&app, "POST", "/v1/auth/refresh", None, Some(refresh)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["reason"], "refresh_token_reused");
        let (status, _) = call(
            &app,
            "POST",
            "/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": rotated["refresh_token"] })),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "[{}] family revoked",
            hub.label
        );

        let (status, _) = call(
            &app,
            "POST",
            "/v1/auth/logout",
            None,
            Some(json!({ "refresh_token": tokens["refresh_token"] })),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);

        let (status, jwks) = call(&app, "GET", "/.well-known/jwks.json", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(jwks["keys"][0]["kty"], "OKP");

        let access = tokens["access_token"].as_str().unwrap();
        let (status, body) = call(&app, "POST", "/v1/auth/mfa/enroll", None, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let (status, _) = call(&app, "POST", "/v1/auth/mfa/enroll", Some(access), None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "[{}] logged-out session",
            hub.label
        );
        // The replay above ended the login's session too, so sign in once more.
        let again = json!({ "email": "ann@example.com", "password": PASSWORD });
        let (_, relogged) = call(&app, "POST", "/v1/auth/login", None, Some(again)).await;
        let fresh = relogged["access_token"].as_str().unwrap();
        let (status, enrol) = call(&app, "POST", "/v1/auth/mfa/enroll", Some(fresh), None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            enrol["otpauth_url"]
                .as_str()
                .unwrap()
                .starts_with("otpauth://")
        );
        let (status, body) = call(
            &app,
            "POST",
            "/v1/auth/mfa/confirm",
            Some(fresh),
            Some(json!({ "code": "000000" })),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_argument"))
        );
    }
}

#[tokio::test]
async fn api_key_routes_create_list_use_and_revoke() {
    for hub in hubs().await {
        let user = sign_up(&hub, "admin@acme.example").await;
        let tenant = new_id();
        let app = router(
            hub.api.clone(),
            Arc::new(OneMember(user.user.id, tenant, Role::Admin)),
        );
        let token = user.access_token.as_str();

        let request = json!({ "name": "Odoo", "tenant_id": tenant, "role": "agent" });
        let (status, created) = call(
            &app,
            "POST",
            "/v1/api-keys",
            Some(token),
            Some(request.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {created}", hub.label);
        let secret = created["secret"].as_str().unwrap().to_owned();
        let key_id = created["key"]["id"].as_str().unwrap().to_owned();

        let list_uri = format!("/v1/api-keys?tenant_id={tenant}");
        let (status, listed) = call(&app, "GET", &list_uri, Some(token), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed[0]["id"], key_id.as_str());
        assert!(listed[0].get("secret").is_none());

        // An agent key cannot manage keys; an anonymous caller is not even authenticated.
        let (status, body) = call(&app, "GET", &list_uri, Some(&secret), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("permission_denied"))
        );
        let (status, _) = call(&app, "GET", &list_uri, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = call(
            &app,
            "GET",
            &format!("/v1/api-keys?tenant_id={}", new_id()),
            Some(token),
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "[{}] another tenant looks like a missing one",
            hub.label
        );

        let revoke_uri = format!("/v1/api-keys/{key_id}?tenant_id={tenant}");
        let (status, _) = call(&app, "DELETE", &revoke_uri, Some(token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = call(&app, "GET", &list_uri, Some(&secret), None).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("api_key_revoked"))
        );
    }
}

//! The `/v1/me` routes, called through the router without a socket, over every user hub
//! implementation; the caller's context is put into the request extensions as the host's auth
//! middleware does.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Principal, Role};
use nave_user::rest::{UserApiDoc, router};
use serde_json::{Value, json};
use tower::ServiceExt;
use utoipa::OpenApi;

/// Sends a request with an optional caller and returns the status and JSON body.
async fn send(
    hub: &Hub,
    method: &str,
    path: &str,
    ctx: Option<AuthContext>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let mut request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    if let Some(ctx) = ctx {
        request.extensions_mut().insert(ctx);
    }
    let response = router(hub.api.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn profile_routes_serve_the_signed_in_user() {
    for hub in hubs().await {
        let id = new_id();
        let me = || Some(AuthContext::user(id));
        let (status, body) = send(&hub, "GET", "/v1/me/profile", me(), None).await;
        assert_eq!(status, StatusCode::OK, "[{}] {body}", hub.label);
        assert_eq!(body["user_id"], json!(id.to_string()));
        assert_eq!(body["display_name"], Value::Null);
        let change = json!({"display_name": "Ana", "time_zone": "Europe/Lisbon"});
        let (status, body) = send(&hub, "PATCH", "/v1/me/profile", me(), Some(change)).await;
        assert_eq!(status, StatusCode::OK, "[{}] {body}", hub.label);
        assert_eq!(body["display_name"], "Ana");
        assert_eq!(body["time_zone"], "Europe/Lisbon");
        let bad = json!({"locale": "not a locale"});
        let (status, body) = send(&hub, "PATCH", "/v1/me/profile", me(), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "invalid_argument");
        assert_eq!(body["fields"][0]["field"], "locale");
        let prefs = json!({"theme": "dark", "beta": true});
        let (status, body) = send(&hub, "PATCH", "/v1/me/preferences", me(), Some(prefs)).await;
        assert_eq!(status, StatusCode::OK, "[{}] {body}", hub.label);
        let prefs = json!({"beta": null});
        let (_, body) = send(&hub, "PATCH", "/v1/me/preferences", me(), Some(prefs)).await;
        assert_eq!(body["preferences"], json!({"theme": "dark"}));
        let (_, body) = send(&hub, "GET", "/v1/me/profile", me(), None).await;
        assert_eq!(body["display_name"], "Ana");
        assert_eq!(body["preferences"], json!({"theme": "dark"}));
    }
}

#[tokio::test]
async fn callers_without_a_user_are_refused() {
    for hub in hubs().await {
        let (status, body) = send(&hub, "GET", "/v1/me/profile", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{}]", hub.label);
        assert_eq!(body["code"], "unauthenticated");
        let anonymous = Some(AuthContext::anonymous());
        let (status, _) = send(
            &hub,
            "PATCH",
            "/v1/me/preferences",
            anonymous,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let mut key = AuthContext::anonymous().in_tenant(new_id(), Role::Admin);
        key.principal = Principal::ApiKey(new_id());
        let (status, body) = send(&hub, "GET", "/v1/me/profile", Some(key.clone()), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "permission_denied");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("sign in as the user")
        );
        let change = json!({"display_name": "Bot"});
        let (status, _) = send(&hub, "PATCH", "/v1/me/profile", Some(key), Some(change)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

#[test]
fn openapi_lists_the_routes() {
    let doc = serde_json::to_value(UserApiDoc::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths["/v1/me/profile"]["get"].is_object());
    assert!(paths["/v1/me/profile"]["patch"].is_object());
    assert!(paths["/v1/me/preferences"]["patch"].is_object());
    assert_eq!(paths["/v1/me/profile"]["get"]["tags"], json!(["users"]));
    assert!(doc["components"]["schemas"]["Profile"].is_object());
}

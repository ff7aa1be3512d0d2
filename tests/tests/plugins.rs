//! Uploading plugins: what is accepted, what is refused and why, and the compiled-code cache.

use axum::http::{Method, StatusCode};
use nave_tests::{TestHost, json_of, metric, spoke};

#[tokio::test]
async fn an_upload_answers_the_spokes_identity_and_is_idempotent() {
    let host = TestHost::start().await;
    let wasm = spoke("plugins/facebook");
    let (status, first) = host.upload(wasm.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["name"], "facebook");
    assert_eq!(first["role"], "channel");
    assert!(
        first["version"].as_str().unwrap().split('.').count() == 3,
        "{first}"
    );
    let digest = first["digest"].as_str().unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 7 + 64,
        "{digest}"
    );

    let (status, again) = host.upload(wasm).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same bytes again are not a new version"
    );
    assert_eq!(again["digest"], first["digest"]);

    let (_, list) = json_of(
        host.operator(Method::GET, "/v1/plugins")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let plugins = list["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 1, "{list}");
    assert_eq!(plugins[0]["versions"].as_array().unwrap().len(), 1);

    let (status, versions) = json_of(
        host.operator(Method::GET, "/v1/plugins/facebook/versions")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let manifest = &versions["versions"][0]["manifest"];
    let settings: Vec<&str> = manifest["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        settings.contains(&"page_access_token") && settings.contains(&"app_secret"),
        "{manifest}"
    );
}

#[tokio::test]
async fn a_new_version_of_a_name_adds_a_version() {
    let host = TestHost::start().await;
    assert_eq!(
        host.upload(spoke("fixtures/hello-1")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        host.upload(spoke("fixtures/hello-2")).await.0,
        StatusCode::CREATED
    );
    let (_, versions) = json_of(
        host.operator(Method::GET, "/v1/plugins/hello/versions")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let listed: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["1.0.0", "2.0.0"]);
}

async fn refused(host: &TestHost, wasm: Vec<u8>) -> (StatusCode, String, String) {
    let (status, body) = host.upload(wasm).await;
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_code_and_leave_nothing_behind() {
    let host = TestHost::start_with(|c| c.limits.max_plugin_bytes = 8 << 20).await;

    let (status, code, _) = refused(&host, b"#!/bin/sh\necho not wasm\n".to_vec()).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_wasm")
    );

    // The smallest core module: the magic number and version 1.
    let (status, code, message) = refused(&host, b"\0asm\x01\0\0\0".to_vec()).await;
    assert_eq!(
        (status, code.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "core_module_not_component"
        )
    );
    assert!(message.contains("wasm32-wasip2"), "{message}");

    let (status, code, message) = refused(&host, spoke("fixtures/not-a-spoke")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_world"),
        "{message}"
    );

    let (status, code, message) = refused(&host, spoke("fixtures/describe-trap")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "describe_failed"),
        "{message}"
    );

    let (status, code, message) = refused(&host, spoke("fixtures/describe-loop")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "describe_timeout"),
        "{message}"
    );

    // A truncated component: the header is right, the rest is missing.
    let mut truncated = spoke("plugins/facebook");
    truncated.truncate(truncated.len() / 2);
    let (status, code, _) = refused(&host, truncated).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_component")
    );

    let (status, code, _) = refused(&host, vec![0u8; 9 << 20]).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "plugin_too_large")
    );

    let response = host
        .operator(Method::POST, "/v1/plugins")
        .header("content-type", "application/octet-stream")
        .body(spoke("plugins/facebook"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );

    let (_, list) = json_of(
        host.operator(Method::GET, "/v1/plugins")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        list["plugins"].as_array().unwrap().len(),
        0,
        "nothing was registered: {list}"
    );
}

#[tokio::test]
async fn only_platform_admins_change_the_catalogue() {
    let host = TestHost::start().await;
    let anonymous = host.http.get(host.at("/v1/plugins")).send().await.unwrap();
    let (status, body) = json_of(anonymous).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let wrong = host
        .http
        .get(host.at("/v1/plugins"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let upload = |token: Option<String>| {
        let mut request = host
            .http
            .post(host.at("/v1/plugins"))
            .header("content-type", "application/wasm")
            .body(spoke("plugins/facebook"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(upload(None).await.unwrap().status().as_u16(), 401);
    // A signed-in user who is not a platform admin reads the catalogue but cannot add to it.
    let (_, user) = host.sign_up("ann@example.com").await;
    let (status, body) = json_of(upload(Some(user.clone())).await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission_denied")),
        "{body}"
    );
    let list = host
        .http
        .get(host.at("/v1/plugins"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(list).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["plugins"].as_array().unwrap().len(), 0, "{body}");
    let (status, _) = json_of(upload(Some(host.admin_token.clone())).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_restart_loads_compiled_code_from_the_cache() {
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            serde_json::json!({"settings": {"required_thing": "x"}}),
        )
        .await;
    assert_eq!(
        metric(
            &host.metrics().await,
            "nave_compile_cache_total{kind=\"miss\"}"
        ),
        1.0
    );

    let host = host.restart().await;
    let metrics = host.metrics().await;
    assert_eq!(
        metric(&metrics, "nave_compile_cache_total{kind=\"hit\"}"),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "nave_compile_cache_total{kind=\"miss\"}"),
        0.0
    );
    let answer = host
        .http
        .post(host.at(&format!("/hooks/{id}")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.text().await.unwrap(),
        "hello from 1.0.0",
        "the installation survived the restart"
    );
}

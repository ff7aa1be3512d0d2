//! The README's example spoke is the one the tests build and run.

use axum::http::{Method, StatusCode};
use nave_tests::{TestHost, json_of, spoke};
use serde_json::json;

#[test]
fn the_readme_shows_the_echo_example_verbatim() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/sdk/examples/echo.rs")).unwrap();
    let start = readme
        .find("<!-- echo example: begin -->\n```rust\n")
        .expect("begin marker")
        + 37;
    let end = readme
        .find("```\n<!-- echo example: end -->")
        .expect("end marker");
    assert_eq!(
        &readme[start..end],
        example,
        "README.md's example differs from sdk/examples/echo.rs"
    );
}

#[tokio::test]
async fn the_echo_example_answers_webhooks_and_stores_their_messages() {
    let host = TestHost::start().await;
    let (status, plugin) = host.upload(spoke("plugins/echo")).await;
    assert_eq!(status, StatusCode::CREATED, "{plugin}");
    assert_eq!(
        (plugin["name"].as_str(), plugin["role"].as_str()),
        (Some("echo"), Some("channel"))
    );
    let id = host
        .upload_and_install(
            spoke("plugins/echo"),
            "acme",
            json!({"settings": {"greeting": "hi"}}),
        )
        .await;

    let send = |text: &'static str| {
        host.http
            .post(host.at(&format!("/hooks/{id}")))
            .header("x-message-id", "msg-1")
            .header("x-sender", "ada")
            .body(text)
            .send()
    };
    let answer = send("hello there").await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.text().await.unwrap(), "hi: hello there");
    send("hello there").await.unwrap();

    let events = host.events("acme", &id).await;
    assert_eq!(
        events.len(),
        1,
        "the resent message is stored once: {events:?}"
    );
    assert_eq!(events[0]["kind"], "message");
    assert_eq!(events[0]["payload"]["text"], "hello there");
    assert_eq!(events[0]["payload"]["sender"], "ada");

    let (status, list) = json_of(
        host.operator(Method::GET, "/v1/plugins")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, list["plugins"][0]["name"].as_str()),
        (StatusCode::OK, Some("echo"))
    );
}

//! `GET /v1/config/watch`: the config changes a caller may see, as server-sent events.
//!
//! Each change is one `change` event whose `id:` is its version and whose data is the
//! [`ChangeNotice`] (read the new value with the settings routes). A client that reconnects
//! with `Last-Event-ID` (browsers' `EventSource` does this by itself) or `?after=` gets every
//! change after that version first — versions are gapless, so it misses nothing. Comments keep
//! idle connections open through proxies. A failure of the hub ends the stream with one `error`
//! event; reconnect with the last id.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::StreamExt;
use futures::stream::BoxStream;
use nave_config::ChangeNotice;
use nave_tenant::Permission;
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::api::auth::Caller;
use crate::error::{Error, Result};

/// How often an idle stream gets a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Where to start and whose changes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// Send the changes after this version (the `id` of the last event seen); 0, the default,
    /// sends every change from the first. `Last-Event-ID` wins over it.
    after: Option<u64>,
    /// A workspace (slug or id) whose changes to include besides the global ones; members
    /// only. API keys see their own workspace's anyway, platform admins everything.
    tenant: Option<String>,
}

/// The config changes the caller may see, as server-sent events; past ones first.
#[utoipa::path(get, path = "/v1/config/watch", tag = "config", params(WatchQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "The last version received; the stream resumes after it")),
    responses(
        (status = 200, description = "`text/event-stream`: `change` events (`id:` the version, data a ChangeNotice), keep-alive comments, one `error` event before a failure ends it", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_query`, `invalid_last_event_id`", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such workspace", body = nave_hub_core::ErrorBody),
    ))]
pub async fn watch(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    query: std::result::Result<Query<WatchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse> {
    let Query(query) = query.map_err(super::bad_query)?;
    let last_event_id = headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::client(
                        StatusCode::BAD_REQUEST,
                        "invalid_last_event_id",
                        "`Last-Event-ID` must be the `id` of an event of this stream (a version)",
                    )
                })
        })
        .transpose()?;
    let after = last_event_id.or(query.after).unwrap_or(0);
    let ctx = match &query.tenant {
        Some(tenant) => {
            caller
                .in_tenant(&app, tenant, Permission::ViewTenant)
                .await?
                .ctx
        }
        None => caller.0,
    };
    let notices = app.hubs.config.watch(&ctx, after).await?;
    let events: BoxStream<'static, std::result::Result<Event, Infallible>> = notices
        .map(|notice| match notice {
            Ok(notice) => (change_event(&notice), false),
            Err(error) => {
                tracing::warn!(%error, "a config watch failed");
                let data = json!({ "code": error.code(), "message": error.to_string() });
                (Event::default().event("error").data(data.to_string()), true)
            }
        })
        .scan(false, |ended, (event, last)| {
            let item = (!*ended).then_some(Ok(event));
            *ended = last;
            futures::future::ready(item)
        })
        .boxed();
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

fn change_event(notice: &ChangeNotice) -> Event {
    Event::default()
        .id(notice.version.to_string())
        .event("change")
        .data(serde_json::to_string(notice).unwrap_or_default())
}

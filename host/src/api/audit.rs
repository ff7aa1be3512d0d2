//! A workspace's audit trail: every hub's events about it — sign-ins of API keys, members and
//! roles, contacts... — merged in time order, each with who did it and under which request.
//!
//! Each hub keeps its own append-only log; this route reads the tenant's slice of each and
//! merges them. The cursor carries one position per hub, so paging never skips or repeats.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nave_hub_core::{AuthContext, Event, EventPage, EventScope};
use nave_tenant::Permission;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::App;
use crate::error::{Error, Result};

/// The hubs whose logs make the trail, in cursor order.
const HUBS: [&str; 8] = [
    "identity", "tenant", "user", "billing", "wallet", "app", "config", "message",
];

/// Paging of the trail.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The `next` of the previous page.
    after: Option<String>,
    /// At most this many (1-200, default 50).
    limit: Option<u32>,
}

/// One entry of the trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The hub that recorded it.
    hub: &'static str,
    /// Dotted kind, e.g. `tenant.member.added`.
    kind: String,
    /// Who did it: `user:<id>`, `api_key:<id>`, `system`.
    actor: String,
    /// The request that caused it.
    correlation_id: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: time::OffsetDateTime,
    /// What changed.
    payload: serde_json::Value,
}

/// A page of the trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; absent at the end.
    next: Option<String>,
}

/// The workspace's audit trail, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit", tag = "audit",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "`invalid_query`: a cursor this route did not give", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: admins and owners only", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn trail(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: std::result::Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>> {
    let bad = |message: String| Error::client(StatusCode::BAD_REQUEST, "invalid_query", message);
    let Query(query) = query.map_err(|r| bad(r.body_text()))?;
    let cursor = match &query.after {
        Some(text) => parse_cursor(text).ok_or_else(|| {
            bad("`after` must be the `next` of a previous page of this trail".into())
        })?,
        None => [0; HUBS.len()],
    };
    let limit = query.limit.unwrap_or(50).clamp(1, 200) as usize;
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewAudit)
        .await?;
    let scope = EventScope::Tenant(access.tenant.id);
    let ctx = &access.ctx;
    let pages = futures::future::try_join_all(
        (0..HUBS.len()).map(|hub| read(ctx, &app, hub, scope, cursor[hub], limit)),
    )
    .await?;
    Ok(Json(merge(pages, cursor, limit)))
}

async fn read(
    ctx: &AuthContext,
    app: &App,
    hub: usize,
    scope: EventScope,
    after: i64,
    limit: usize,
) -> Result<EventPage> {
    let hubs = &app.hubs;
    let limit = limit as u32;
    Ok(match hub {
        0 => hubs.identity.list_events(ctx, scope, after, limit).await?,
        1 => hubs.tenant.list_events(ctx, scope, after, limit).await?,
        2 => hubs.user.list_events(ctx, scope, after, limit).await?,
        3 => hubs.billing.list_events(ctx, scope, after, limit).await?,
        4 => hubs.wallet.list_events(ctx, scope, after, limit).await?,
        5 => hubs.app.list_events(ctx, scope, after, limit).await?,
        6 => hubs.config.list_events(ctx, scope, after, limit).await?,
        _ => app.messages.list_events(ctx, scope, after, limit).await?,
    })
}

/// The oldest `limit` events of the hubs' pages, and the cursor after them.
fn merge(pages: Vec<EventPage>, mut cursor: [i64; HUBS.len()], limit: usize) -> AuditPage {
    let hub_has_more = pages.iter().any(|p| p.next_after_seq.is_some());
    let mut all: Vec<(usize, Event)> = pages
        .into_iter()
        .enumerate()
        .flat_map(|(hub, page)| page.events.into_iter().map(move |e| (hub, e)))
        .collect();
    // Time order; within one hub its own sequence decides.
    all.sort_by(|(ha, a), (hb, b)| a.at.cmp(&b.at).then(ha.cmp(hb)).then(a.seq.cmp(&b.seq)));
    let more = all.len() > limit || hub_has_more;
    all.truncate(limit);
    let entries = all
        .into_iter()
        .map(|(hub, event)| {
            cursor[hub] = cursor[hub].max(event.seq);
            AuditEntry {
                hub: HUBS[hub],
                kind: event.kind,
                actor: event.actor,
                correlation_id: event.correlation_id,
                at: event.at,
                payload: event.payload,
            }
        })
        .collect();
    AuditPage {
        entries,
        next: more.then(|| format_cursor(cursor)),
    }
}

fn format_cursor(cursor: [i64; HUBS.len()]) -> String {
    HUBS.iter()
        .zip(cursor)
        .map(|(hub, seq)| format!("{hub}:{seq}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_cursor(text: &str) -> Option<[i64; HUBS.len()]> {
    let mut cursor = [0; HUBS.len()];
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() != HUBS.len() {
        return None;
    }
    for (i, part) in parts.into_iter().enumerate() {
        let (hub, seq) = part.split_once(':')?;
        if hub != HUBS[i] {
            return None;
        }
        cursor[i] = seq.parse().ok().filter(|s: &i64| *s >= 0)?;
    }
    Some(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn event(seq: i64, at_ms: i64) -> Event {
        Event {
            seq,
            id: Uuid::now_v7(),
            tenant_id: None,
            actor: "system".into(),
            kind: "k".into(),
            payload: serde_json::Value::Null,
            correlation_id: "c".into(),
            at: nave_hub_core::clock::from_millis(at_ms).unwrap(),
        }
    }

    fn page(events: Vec<Event>) -> EventPage {
        EventPage {
            events,
            next_after_seq: None,
        }
    }

    #[test]
    fn pages_merge_in_time_order_and_the_cursor_never_skips() {
        let pages = vec![
            page(vec![event(1, 10), event(2, 40)]),
            page(vec![event(7, 20), event(8, 50)]),
            page(vec![event(3, 30)]),
            page(vec![]),
            page(vec![event(5, 35)]),
            page(vec![event(9, 45)]),
            page(vec![event(3, 47)]),
            page(vec![event(4, 60)]),
        ];
        let first = merge(pages, [0, 6, 2, 0, 4, 8, 2, 3], 3);
        let hubs: Vec<&str> = first.entries.iter().map(|e| e.hub).collect();
        assert_eq!(hubs, ["identity", "tenant", "user"]);
        let next = first.next.unwrap();
        assert_eq!(
            next,
            "identity:1,tenant:7,user:3,billing:0,wallet:4,app:8,config:2,message:3"
        );
        assert_eq!(parse_cursor(&next), Some([1, 7, 3, 0, 4, 8, 2, 3]));
        let last = merge(
            vec![
                page(vec![event(2, 40)]),
                page(vec![event(8, 50)]),
                page(vec![]),
                page(vec![]),
                page(vec![event(5, 35)]),
                page(vec![event(9, 45)]),
                page(vec![event(3, 47)]),
                page(vec![event(4, 60)]),
            ],
            [1, 7, 3, 0, 4, 8, 2, 3],
            6,
        );
        let hubs: Vec<&str> = last.entries.iter().map(|e| e.hub).collect();
        assert_eq!(
            hubs,
            ["wallet", "identity", "app", "config", "tenant", "message"]
        );
        assert!(last.next.is_none());
        for bad in [
            "",
            "identity:1",
            "identity:1,tenant:7,user:3",
            "identity:1,tenant:0,user:0,billing:0,wallet:0,app:0,config:0",
            "tenant:1,identity:2,user:3,billing:0,wallet:0,app:0,config:0,message:0",
            "identity:-1,tenant:0,user:0,billing:0,wallet:0,app:0,config:0,message:0",
            "identity:x,tenant:0,user:0,billing:0,wallet:0,app:0,config:0,message:0",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}

//! The event log on the wire: the shared `nave.common.v1` messages (compiled from
//! `proto/common.proto`) and their conversions, used by every hub's gRPC server and client.

/// The generated `nave.common.v1` messages; the hubs' generated code refers to these types.
#[allow(missing_docs, clippy::all, reason = "generated code")]
pub mod pb {
    tonic::include_proto!("nave.common.v1");
}

use crate::clock::{from_millis, to_millis};
use crate::ids::parse_id;
use crate::{Error, Event, EventPage, EventScope, Result};

/// An event scope as sent.
pub fn scope_to_pb(scope: EventScope) -> pb::list_events_request::Scope {
    use pb::list_events_request::Scope;
    match scope {
        EventScope::All => Scope::All(true),
        EventScope::Platform => Scope::Platform(true),
        EventScope::Tenant(t) => Scope::TenantId(t.to_string()),
    }
}

/// An event scope as received; none means every event.
pub fn scope_from_pb(scope: Option<pb::list_events_request::Scope>) -> Result<EventScope> {
    use pb::list_events_request::Scope;
    Ok(match scope {
        None | Some(Scope::All(_)) => EventScope::All,
        Some(Scope::Platform(_)) => EventScope::Platform,
        Some(Scope::TenantId(t)) => EventScope::Tenant(parse_id("tenant_id", &t)?),
    })
}

/// A page of events as sent.
pub fn page_to_pb(page: EventPage) -> pb::EventPage {
    pb::EventPage {
        events: page
            .events
            .into_iter()
            .map(|e| pb::Event {
                seq: e.seq,
                id: e.id.to_string(),
                tenant_id: e.tenant_id.map(|t| t.to_string()),
                actor: e.actor,
                kind: e.kind,
                payload_json: e.payload.to_string(),
                correlation_id: e.correlation_id,
                at_ms: to_millis(e.at),
            })
            .collect(),
        next_after_seq: page.next_after_seq,
    }
}

/// A page of events as received.
pub fn page_from_pb(page: pb::EventPage) -> Result<EventPage> {
    let events = page
        .events
        .into_iter()
        .map(|e| {
            Ok(Event {
                seq: e.seq,
                id: parse_id("id", &e.id)?,
                tenant_id: e
                    .tenant_id
                    .as_deref()
                    .map(|t| parse_id("tenant_id", t))
                    .transpose()?,
                actor: e.actor,
                kind: e.kind,
                payload: serde_json::from_str(&e.payload_json).map_err(Error::internal)?,
                correlation_id: e.correlation_id,
                at: from_millis(e.at_ms)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EventPage {
        events,
        next_after_seq: page.next_after_seq,
    })
}

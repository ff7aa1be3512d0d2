//! Conversions between the domain types and the generated protobuf messages.
//!
//! `*_from_pb` of a request names the offending field in its error (the client sent it);
//! `*_from_pb` of a reply treats a bad value as an internal error (the hub sent it).

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use uuid::Uuid;

use super::pb;
use crate::types::{
    AppRole, AppVersion, Fee, GuardReport, Listing, ListingChange, NewListing, NewSubscription,
    NewVersion, Subscription, SubscriptionStatus, Visibility,
};

/// An id sent by the other side; `field` names it in the error.
pub fn id(field: &str, value: &str) -> Result<Uuid> {
    parse_id(field, value)
}

fn opt_id(field: &str, value: Option<&str>) -> Result<Option<Uuid>> {
    value.map(|v| parse_id(field, v)).transpose()
}

fn role(value: &str) -> Result<AppRole> {
    AppRole::parse("role", value)
}

pub fn listing_to_pb(l: Listing) -> pb::Listing {
    pb::Listing {
        id: l.id.to_string(),
        name: l.name,
        display_name: l.display_name,
        description: l.description,
        publisher: l.publisher,
        role: l.role.as_str().to_owned(),
        icon_url: l.icon_url,
        fee_amount: l.install_fee.amount,
        fee_currency: l.install_fee.currency,
        owner_tenant_id: l.owner_tenant_id.map(|t| t.to_string()),
        unlisted: l.unlisted,
        latest_version: l.latest_version,
        created_by: l.created_by,
        created_at_ms: to_millis(l.created_at),
        updated_at_ms: to_millis(l.updated_at),
    }
}

pub fn listing_from_pb(l: pb::Listing) -> Result<Listing> {
    let owner = opt_id("owner_tenant_id", l.owner_tenant_id.as_deref())?;
    Ok(Listing {
        id: id("id", &l.id)?,
        name: l.name,
        display_name: l.display_name,
        description: l.description,
        publisher: l.publisher,
        role: role(&l.role)?,
        icon_url: l.icon_url,
        install_fee: Fee {
            amount: l.fee_amount,
            currency: l.fee_currency,
        },
        visibility: if owner.is_some() {
            Visibility::Private
        } else {
            Visibility::Public
        },
        owner_tenant_id: owner,
        unlisted: l.unlisted,
        latest_version: l.latest_version,
        created_by: l.created_by,
        created_at: from_millis(l.created_at_ms)?,
        updated_at: from_millis(l.updated_at_ms)?,
    })
}

pub fn new_listing_to_pb(n: NewListing) -> pb::NewListing {
    pb::NewListing {
        name: n.name,
        display_name: n.display_name,
        description: n.description,
        publisher: n.publisher,
        role: n.role.as_str().to_owned(),
        icon_url: n.icon_url,
        install_fee: n.install_fee,
        currency: n.currency,
        owner_tenant_id: n.owner_tenant_id.map(|t| t.to_string()),
    }
}

pub fn new_listing_from_pb(n: pb::NewListing) -> Result<NewListing> {
    Ok(NewListing {
        name: n.name,
        display_name: n.display_name,
        description: n.description,
        publisher: n.publisher,
        role: role(&n.role)?,
        icon_url: n.icon_url,
        install_fee: n.install_fee,
        currency: n.currency,
        owner_tenant_id: opt_id("owner_tenant_id", n.owner_tenant_id.as_deref())?,
    })
}

pub fn change_to_pb(app_id: Uuid, c: ListingChange) -> pb::UpdateListingRequest {
    pb::UpdateListingRequest {
        app_id: app_id.to_string(),
        display_name: c.display_name,
        description: c.description,
        publisher: c.publisher,
        icon_url: c.icon_url,
        install_fee: c.install_fee,
        unlisted: c.unlisted,
    }
}

pub fn change_from_pb(c: pb::UpdateListingRequest) -> Result<(Uuid, ListingChange)> {
    Ok((
        id("app_id", &c.app_id)?,
        ListingChange {
            display_name: c.display_name,
            description: c.description,
            publisher: c.publisher,
            icon_url: c.icon_url,
            install_fee: c.install_fee,
            unlisted: c.unlisted,
        },
    ))
}

pub fn version_to_pb(v: AppVersion) -> pb::AppVersion {
    pb::AppVersion {
        app_id: v.app_id.to_string(),
        version: v.version,
        sha256: v.sha256,
        role: v.role.as_str().to_owned(),
        uploaded_by: v.uploaded_by,
        uploaded_at_ms: to_millis(v.uploaded_at),
    }
}

pub fn version_from_pb(v: pb::AppVersion) -> Result<AppVersion> {
    Ok(AppVersion {
        app_id: id("app_id", &v.app_id)?,
        version: v.version,
        sha256: v.sha256,
        role: role(&v.role)?,
        uploaded_by: v.uploaded_by,
        uploaded_at: from_millis(v.uploaded_at_ms)?,
    })
}

pub fn new_version_to_pb(app_id: Uuid, v: NewVersion) -> pb::RecordVersionRequest {
    pb::RecordVersionRequest {
        app_id: app_id.to_string(),
        version: v.version,
        sha256: v.sha256,
        role: v.role.as_str().to_owned(),
        uploaded_by: v.uploaded_by,
    }
}

pub fn new_version_from_pb(v: pb::RecordVersionRequest) -> Result<(Uuid, NewVersion)> {
    Ok((
        id("app_id", &v.app_id)?,
        NewVersion {
            version: v.version,
            sha256: v.sha256,
            role: role(&v.role)?,
            uploaded_by: v.uploaded_by,
        },
    ))
}

pub fn report_to_pb(r: GuardReport) -> pb::GuardReport {
    pb::GuardReport {
        ok: r.ok,
        tenant_id: r.tenant_id.to_string(),
        app_id: r.app_id.to_string(),
        app_name: r.app_name,
        latest_version: r.latest_version,
        fee_amount: r.fee.amount,
        fee_currency: r.fee.currency,
    }
}

pub fn report_from_pb(r: pb::GuardReport) -> Result<GuardReport> {
    Ok(GuardReport {
        ok: r.ok,
        tenant_id: id("tenant_id", &r.tenant_id)?,
        app_id: id("app_id", &r.app_id)?,
        app_name: r.app_name,
        latest_version: r.latest_version,
        fee: Fee {
            amount: r.fee_amount,
            currency: r.fee_currency,
        },
    })
}

pub fn subscription_to_pb(s: Subscription) -> pb::Subscription {
    pb::Subscription {
        id: s.id.to_string(),
        tenant_id: s.tenant_id.to_string(),
        app_id: s.app_id.to_string(),
        app_name: s.app_name,
        version: s.version,
        previous_version: s.previous_version,
        status: s.status.as_str().to_owned(),
        fee_amount: s.fee.amount,
        fee_currency: s.fee.currency,
        hold_id: s.hold_id.map(|h| h.to_string()),
        fee_captured: s.fee_captured,
        installation_id: s.installation_id.map(|i| i.to_string()),
        failure: s.failure,
        created_by: s.created_by,
        created_at_ms: to_millis(s.created_at),
        updated_at_ms: to_millis(s.updated_at),
    }
}

pub fn subscription_from_pb(s: pb::Subscription) -> Result<Subscription> {
    Ok(Subscription {
        id: id("id", &s.id)?,
        tenant_id: id("tenant_id", &s.tenant_id)?,
        app_id: id("app_id", &s.app_id)?,
        app_name: s.app_name,
        version: s.version,
        previous_version: s.previous_version,
        status: SubscriptionStatus::parse(&s.status)?,
        fee: Fee {
            amount: s.fee_amount,
            currency: s.fee_currency,
        },
        hold_id: opt_id("hold_id", s.hold_id.as_deref())?,
        fee_captured: s.fee_captured,
        installation_id: opt_id("installation_id", s.installation_id.as_deref())?,
        failure: s.failure,
        created_by: s.created_by,
        created_at: from_millis(s.created_at_ms)?,
        updated_at: from_millis(s.updated_at_ms)?,
    })
}

pub fn new_subscription_to_pb(
    tenant_id: Uuid,
    n: NewSubscription,
) -> pb::CreateSubscriptionRequest {
    pb::CreateSubscriptionRequest {
        tenant_id: tenant_id.to_string(),
        id: n.id.to_string(),
        app_id: n.app_id.to_string(),
        version: n.version,
        fee_amount: n.fee.amount,
        fee_currency: n.fee.currency,
        hold_id: n.hold_id.map(|h| h.to_string()),
        requested_by: n.requested_by,
    }
}

pub fn new_subscription_from_pb(
    n: pb::CreateSubscriptionRequest,
) -> Result<(Uuid, NewSubscription)> {
    Ok((
        id("tenant_id", &n.tenant_id)?,
        NewSubscription {
            id: id("id", &n.id)?,
            app_id: id("app_id", &n.app_id)?,
            version: n.version,
            fee: Fee {
                amount: n.fee_amount,
                currency: n.fee_currency,
            },
            hold_id: opt_id("hold_id", n.hold_id.as_deref())?,
            requested_by: n.requested_by,
        },
    ))
}

/// Lists of replies, converted one by one.
pub fn all<T, U>(items: Vec<T>, f: impl Fn(T) -> Result<U>) -> Result<Vec<U>> {
    items.into_iter().map(f).collect()
}

/// A reply that should have been well-formed: a bad value there is the hub's bug.
pub fn reply<T>(result: Result<T>) -> Result<T> {
    result.map_err(|e| match e {
        Error::InvalidArgument { message, .. } => {
            Error::internal_msg(format!("the app hub sent a malformed reply: {message}"))
        }
        other => other,
    })
}

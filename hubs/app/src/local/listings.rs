//! The catalogue: creating, changing, reading and listing listings, and recording versions.

use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Error, NewEvent, Principal, Result, Role};
use serde_json::json;
use uuid::Uuid;

use super::{LocalApp, listing_of, require_role, version_of};
use crate::store::{ListingRow, VersionInsert, VersionRow};
use crate::types::{AppVersion, Listing, ListingChange, NewListing, NewVersion};
use crate::validate::{Checks, newest};

/// Who may create or change a listing: platform admins for public ones, the owner tenant's
/// admins (and platform admins) for private ones.
fn require_editor(ctx: &AuthContext, owner: Option<Uuid>) -> Result<()> {
    match owner {
        None => ctx.require_platform_admin(),
        Some(tenant) => require_role(ctx, tenant, Role::Admin),
    }
}

fn not_found(app_id: Uuid) -> Error {
    Error::not_found(format!("no app `{app_id}`"))
}

impl LocalApp {
    /// The listing if the caller may see it: public ones to anyone signed in, private ones to
    /// members of the owner tenant; others are `not_found`.
    pub(super) async fn visible_listing(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
    ) -> Result<ListingRow> {
        if ctx.principal == Principal::Anonymous {
            return Err(Error::unauthenticated("sign in first"));
        }
        let row = self
            .store()
            .listing(&app_id.to_string())
            .await?
            .ok_or_else(|| not_found(app_id))?;
        if let Some(owner) = &row.owner_tenant_id {
            let owner = nave_hub_core::ids::stored_id(owner)?;
            if let Err(e) = require_role(ctx, owner, Role::Viewer) {
                return Err(if e.code() == "not_found" {
                    not_found(app_id)
                } else {
                    e
                });
            }
        }
        Ok(row)
    }

    pub(super) async fn do_create_listing(
        &self,
        ctx: &AuthContext,
        request: NewListing,
    ) -> Result<Listing> {
        require_editor(ctx, request.owner_tenant_id)?;
        let mut checks = Checks::default();
        checks.app_name("name", &request.name);
        checks.label("display_name", &request.display_name);
        checks.label("publisher", &request.publisher);
        checks.description(&request.description);
        if let Some(url) = &request.icon_url {
            checks.icon_url(url);
        }
        checks.fee(request.install_fee);
        let currency = request
            .currency
            .clone()
            .unwrap_or_else(|| self.inner.config.currency.clone());
        if currency != self.inner.config.currency {
            checks.fail(
                "currency",
                format!(
                    "fees are in the platform's currency `{}`; leave it out or send that",
                    self.inner.config.currency
                ),
            );
        }
        checks.done()?;
        let now = self.now_ms();
        let owner = request.owner_tenant_id.map(|t| t.to_string());
        let row = ListingRow {
            id: new_id().to_string(),
            name: request.name.clone(),
            scope: owner.clone().unwrap_or_default(),
            owner_tenant_id: owner,
            display_name: request.display_name.trim().to_owned(),
            description: request.description.clone(),
            publisher: request.publisher.trim().to_owned(),
            role: request.role.as_str().to_owned(),
            icon_url: request.icon_url.clone(),
            fee_amount: request.install_fee,
            fee_currency: currency,
            unlisted: 0,
            latest_version: None,
            created_by: ctx.actor(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        let mut event = NewEvent::new(
            "app.listing_published",
            json!({
                "app_id": row.id, "name": row.name, "role": row.role,
                "visibility": if request.owner_tenant_id.is_some() { "private" } else { "public" },
                "install_fee": row.fee_amount, "currency": row.fee_currency,
            }),
        );
        if let Some(t) = request.owner_tenant_id {
            event = event.in_tenant(t);
        }
        let event = self.record(ctx, event);
        self.store().insert_listing(&row, &event).await?;
        listing_of(&row)
    }

    pub(super) async fn do_update_listing(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        change: ListingChange,
    ) -> Result<Listing> {
        let mut row = self.visible_listing(ctx, app_id).await?;
        let owner = listing_of(&row)?.owner_tenant_id;
        require_editor(ctx, owner)?;
        let mut checks = Checks::default();
        let mut changed = Vec::new();
        if let Some(v) = &change.display_name {
            checks.label("display_name", v);
            row.display_name = v.trim().to_owned();
            changed.push("display_name");
        }
        if let Some(v) = &change.publisher {
            checks.label("publisher", v);
            row.publisher = v.trim().to_owned();
            changed.push("publisher");
        }
        if let Some(v) = &change.description {
            checks.description(v);
            row.description = v.clone();
            changed.push("description");
        }
        if let Some(v) = &change.icon_url {
            if v.is_empty() {
                row.icon_url = None;
            } else {
                checks.icon_url(v);
                row.icon_url = Some(v.clone());
            }
            changed.push("icon_url");
        }
        if let Some(v) = change.install_fee {
            checks.fee(v);
            row.fee_amount = v;
            changed.push("install_fee");
        }
        if let Some(v) = change.unlisted {
            row.unlisted = i64::from(v);
            changed.push("unlisted");
        }
        checks.done()?;
        row.updated_at_ms = self.now_ms();
        let mut event = NewEvent::new(
            "app.listing_updated",
            json!({ "app_id": row.id, "name": row.name, "changed": changed, "unlisted": row.unlisted != 0 }),
        );
        if let Some(t) = owner {
            event = event.in_tenant(t);
        }
        let event = self.record(ctx, event);
        self.store().update_listing(&row, &event).await?;
        listing_of(&row)
    }

    pub(super) async fn do_find_listing(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
        name: &str,
    ) -> Result<Listing> {
        match tenant_id {
            Some(t) => require_role(ctx, t, Role::Viewer)?,
            None if ctx.principal == Principal::Anonymous => {
                return Err(Error::unauthenticated("sign in first"));
            }
            None => {}
        }
        let scope = tenant_id.map(|t| t.to_string()).unwrap_or_default();
        let rows = self.store().listings_named(name).await?;
        let row = rows
            .iter()
            .find(|r| r.scope == scope)
            .or_else(|| rows.iter().find(|r| r.scope.is_empty()))
            .ok_or_else(|| Error::not_found(format!("no app named `{name}`")))?;
        listing_of(row)
    }

    pub(super) async fn do_list_catalogue(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<Vec<Listing>> {
        let rows = match tenant_id {
            None => {
                ctx.require_platform_admin()?;
                self.store().catalogue(None).await?
            }
            Some(t) => {
                require_role(ctx, t, Role::Viewer)?;
                let mut rows = self.store().catalogue(Some(&t.to_string())).await?;
                rows.retain(|r| r.unlisted == 0);
                rows
            }
        };
        rows.iter().map(listing_of).collect()
    }

    pub(super) async fn do_record_version(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        request: NewVersion,
    ) -> Result<AppVersion> {
        let listing = listing_of(&self.visible_listing(ctx, app_id).await?)?;
        if ctx.principal != Principal::System {
            require_editor(ctx, listing.owner_tenant_id)?;
        }
        let mut checks = Checks::default();
        checks.version(&request.version);
        checks.sha256(&request.sha256);
        if request.role != listing.role {
            checks.fail(
                "role",
                format!(
                    "the component is a {} spoke but `{}` is listed as a {} app: upload a {} \
                     spoke or list it as a new app",
                    request.role.as_str(),
                    listing.name,
                    listing.role.as_str(),
                    listing.role.as_str()
                ),
            );
        }
        checks.done()?;
        let uploaded_by = if request.uploaded_by.trim().is_empty() {
            ctx.actor()
        } else {
            request.uploaded_by.trim().to_owned()
        };
        let row = VersionRow {
            listing_id: app_id.to_string(),
            version: request.version.clone(),
            sha256: request.sha256.clone(),
            role: request.role.as_str().to_owned(),
            uploaded_by,
            uploaded_at_ms: self.now_ms(),
        };
        let mut event = NewEvent::new(
            "app.version_recorded",
            json!({ "app_id": app_id, "name": listing.name, "version": row.version, "sha256": row.sha256 }),
        );
        if let Some(t) = listing.owner_tenant_id {
            event = event.in_tenant(t);
        }
        let event = self.record(ctx, event);
        let latest = |all: &[String]| newest(all.iter().map(String::as_str)).map(str::to_owned);
        match self.store().insert_version(&row, latest, &event).await? {
            VersionInsert::Inserted(row) | VersionInsert::Existing(row) => version_of(&row),
            VersionInsert::Conflict(existing) => Err(Error::conflict(format!(
                "version {} of `{}` was recorded with another digest ({}): versions are \
                 immutable, publish a new version number",
                existing.version, listing.name, existing.sha256
            ))),
        }
    }

    pub(super) async fn do_list_versions(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
    ) -> Result<Vec<AppVersion>> {
        self.visible_listing(ctx, app_id).await?;
        let mut versions = self
            .store()
            .versions(&app_id.to_string())
            .await?
            .iter()
            .map(version_of)
            .collect::<Result<Vec<_>>>()?;
        versions.sort_by(|a, b| {
            let parse = |v: &str| semver::Version::parse(v).ok();
            parse(&b.version).cmp(&parse(&a.version))
        });
        Ok(versions)
    }
}

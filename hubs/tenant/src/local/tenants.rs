//! Creating and reading workspaces, `role_of` for other hubs, and the event log.

use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Error, EventPage, EventScope, NewEvent, Principal, Result, Role};
use serde_json::json;
use uuid::Uuid;

use super::{LocalTenant, tenant_of};
use crate::permissions::Permission;
use crate::store::{MemberRow, TenantRow};
use crate::types::{NewTenant, Tenant};

/// Checks a slug: 3–40 of `a-z0-9-`, starting with a letter, not ending with `-`.
pub(crate) fn check_slug(slug: &str) -> Result<()> {
    let ok_len = (3..=40).contains(&slug.len());
    let ok_chars = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = slug.starts_with(|c: char| c.is_ascii_lowercase()) && !slug.ends_with('-');
    if ok_len && ok_chars && ok_ends {
        Ok(())
    } else {
        Err(Error::invalid(
            "slug",
            "use 3 to 40 lowercase letters, digits and hyphens, starting with a letter and not \
             ending with a hyphen (e.g. `acme-support`)",
        ))
    }
}

impl LocalTenant {
    pub(super) async fn do_create_tenant(
        &self,
        ctx: &AuthContext,
        request: NewTenant,
    ) -> Result<Tenant> {
        let user = ctx.require_user()?;
        let slug = request.slug.trim().to_owned();
        check_slug(&slug)?;
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid("name", "use 1 to 100 characters"));
        }
        let id = new_id();
        let now = self.now_ms();
        let tenant = TenantRow {
            id: id.to_string(),
            slug: slug.clone(),
            name: name.clone(),
            created_at_ms: now,
        };
        let owner = MemberRow {
            tenant_id: tenant.id.clone(),
            user_id: user.to_string(),
            role: Role::Owner.as_str().into(),
            created_at_ms: now,
        };
        let event = NewEvent::new(
            "tenant.created",
            json!({ "tenant_id": tenant.id, "slug": slug, "name": name, "owner": owner.user_id }),
        )
        .in_tenant(id);
        self.store()
            .create_tenant(&tenant, &owner, &self.record(ctx, event))
            .await?;
        tenant_of(&tenant, Some(Role::Owner))
    }

    pub(super) async fn do_list_my_tenants(&self, ctx: &AuthContext) -> Result<Vec<Tenant>> {
        let user = ctx.require_user()?;
        let rows = self.store().tenants_of(&user.to_string()).await?;
        rows.into_iter()
            .map(|r| {
                let row = TenantRow {
                    id: r.id,
                    slug: r.slug,
                    name: r.name,
                    created_at_ms: r.created_at_ms,
                };
                tenant_of(&row, Some(r.role.parse()?))
            })
            .collect()
    }

    pub(super) async fn do_role_of(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
    ) -> Result<Option<Role>> {
        let allowed = ctx.platform_admin
            || ctx.principal == Principal::System
            || ctx.principal == Principal::User(user_id);
        if !allowed {
            return Err(Error::permission_denied(
                "only the user themself, platform admins and the platform may ask for a user's role",
            ));
        }
        let row = self
            .store()
            .membership(&tenant_id.to_string(), &user_id.to_string())
            .await?;
        row.map(|r| r.role.parse()).transpose()
    }

    pub(super) async fn do_list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            _ if ctx.platform_admin => {}
            EventScope::Tenant(tenant) => {
                self.authorize(ctx, &tenant.to_string(), Permission::ViewAudit, false)
                    .await?;
            }
            _ => ctx.require_platform_admin()?,
        }
        self.inner.events.read(scope, after_seq, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::check_slug;

    #[test]
    fn slugs() {
        for good in [
            "acme",
            "acme-support",
            "a1b",
            "x23456789012345678901234567890123456789",
        ] {
            assert!(check_slug(good).is_ok(), "{good}");
        }
        for bad in ["ab", "Acme", "1acme", "acme-", "ac me", "acmé", "a_b", ""] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }
}

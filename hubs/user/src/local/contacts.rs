//! Contacts: end-customers of a tenant, resolved from their channel identities.
//!
//! Events never carry contact details (names, emails, channel user ids), only ids and the names
//! of changed fields: the event log is append-only, and erasing a contact must erase its data.

use std::collections::HashMap;

use nave_hub_core::clock::to_millis;
use nave_hub_core::events::EventRecord;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Error, NewEvent, Result};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Access, LocalUser, authorize_contacts, contact_of};
use crate::store::{ActivityRow, ContactRow, IdentityRow};
use crate::types::{
    ChannelIdentity, Contact, ContactPage, ContactProfile, ContactQuery, DEFAULT_CONTACT_PAGE,
    Direction, MAX_CONTACT_PAGE, MessageActivity, ResolvedContact,
};
use crate::validate::{
    check_contact, check_identity, contact_fields_mut, normalize_contact, valid_channel_user_id,
};

/// How often a resolve retries when a concurrent change (a racing create, a merge) got in between.
const ATTEMPTS: usize = 4;

const FIELD_NAMES: [&str; 8] = [
    "name",
    "first_name",
    "last_name",
    "picture_url",
    "locale",
    "time_zone",
    "email",
    "phone",
];

/// The eight profile fields of a stored contact, in [`FIELD_NAMES`] order.
fn row_fields_mut(r: &mut ContactRow) -> [&mut Option<String>; 8] {
    [
        &mut r.name,
        &mut r.first_name,
        &mut r.last_name,
        &mut r.picture_url,
        &mut r.locale,
        &mut r.time_zone,
        &mut r.email,
        &mut r.phone,
    ]
}

/// Writes `profile` over the contact's fields and returns the names of those that changed.
/// `None` fields are skipped; empty ones clear the field when `clear_on_empty` (an agent's edit)
/// and are skipped otherwise (channel data).
fn apply_profile(
    row: &mut ContactRow,
    profile: &ContactProfile,
    clear_on_empty: bool,
) -> Vec<&'static str> {
    let mut profile = profile.clone();
    let mut changed = Vec::new();
    for ((slot, value), name) in row_fields_mut(row)
        .into_iter()
        .zip(contact_fields_mut(&mut profile))
        .zip(FIELD_NAMES)
    {
        let Some(value) = value.take() else {
            continue;
        };
        let value = if value.is_empty() {
            if !clear_on_empty {
                continue;
            }
            None
        } else {
            Some(value)
        };
        if *slot != value {
            *slot = value;
            changed.push(name);
        }
    }
    changed
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

fn hidden(contact_id: Uuid) -> Error {
    Error::not_found(format!("no contact `{contact_id}` in this tenant"))
}

impl LocalUser {
    /// The API form of stored contacts, with their identities (one query for all).
    async fn contacts_of(&self, rows: Vec<ContactRow>) -> Result<Vec<Contact>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let identities = self.store().identities_of(&ids).await?;
        rows.into_iter()
            .map(|row| contact_of(row, &identities))
            .collect()
    }

    async fn contact_with_identities(&self, row: ContactRow) -> Result<Contact> {
        let identities = self.store().identities_of(&[row.id.as_str()]).await?;
        contact_of(row, &identities)
    }

    /// The `contact.updated` event for changed fields, `None` if nothing changed.
    fn updated_event(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: &str,
        fields: Vec<&'static str>,
    ) -> Option<EventRecord> {
        (!fields.is_empty()).then(|| {
            let event = NewEvent::new(
                "contact.updated",
                json!({ "contact_id": contact_id, "fields": fields }),
            )
            .in_tenant(tenant_id);
            self.record(ctx, event)
        })
    }

    /// Rows for a new contact known by `identity`, and its `contact.created` event.
    fn new_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: &ChannelIdentity,
        profile: &ContactProfile,
    ) -> (ContactRow, IdentityRow, EventRecord) {
        let now = self.now_ms();
        let mut row = ContactRow {
            id: new_id().to_string(),
            tenant_id: tenant_id.to_string(),
            name: None,
            first_name: None,
            last_name: None,
            picture_url: None,
            locale: None,
            time_zone: None,
            email: None,
            phone: None,
            messages_in: 0,
            messages_out: 0,
            first_seen_at_ms: None,
            last_seen_at_ms: None,
            created_at_ms: now,
            updated_at_ms: now,
        };
        apply_profile(&mut row, profile, false);
        let identity_row = IdentityRow {
            tenant_id: row.tenant_id.clone(),
            installation_id: identity.installation_id.to_string(),
            channel_user_id: identity.channel_user_id.clone(),
            channel: identity.channel.clone(),
            contact_id: row.id.clone(),
            created_at_ms: now,
        };
        let event = NewEvent::new(
            "contact.created",
            json!({
                "contact_id": row.id,
                "installation_id": identity.installation_id,
                "channel": identity.channel,
            }),
        )
        .in_tenant(tenant_id);
        let record = self.record(ctx, event);
        (row, identity_row, record)
    }

    pub(super) async fn do_resolve_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        mut profile: ContactProfile,
    ) -> Result<ResolvedContact> {
        authorize_contacts(ctx, tenant_id, Access::Write)?;
        check_identity(&identity)?;
        normalize_contact(&mut profile);
        check_contact(&profile)?;
        let tenant = tenant_id.to_string();
        let installation = identity.installation_id.to_string();
        for _ in 0..ATTEMPTS {
            let found = self
                .store()
                .contact_by_identity(&tenant, &installation, &identity.channel_user_id)
                .await?;
            if let Some(row) = found {
                let would_change = !apply_profile(&mut row.clone(), &profile, false).is_empty();
                let row = if would_change {
                    let changed = self
                        .store()
                        .change_contact(&tenant, &row.id, self.now_ms(), |r| {
                            let fields = apply_profile(r, &profile, false);
                            Ok(self.updated_event(ctx, tenant_id, &r.id, fields))
                        })
                        .await?;
                    // Deleted or merged away meanwhile: look the identity up again.
                    let Some(row) = changed else { continue };
                    row
                } else {
                    row
                };
                return Ok(ResolvedContact {
                    contact: self.contact_with_identities(row).await?,
                    created: false,
                });
            }
            let (row, identity_row, event) = self.new_contact(ctx, tenant_id, &identity, &profile);
            if self
                .store()
                .create_contact(&row, &identity_row, &event)
                .await?
            {
                return Ok(ResolvedContact {
                    contact: self.contact_with_identities(row).await?,
                    created: true,
                });
            }
        }
        Err(Error::conflict(
            "this contact kept changing while it was being resolved: try again",
        ))
    }

    pub(super) async fn do_find_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        installation_id: Uuid,
        channel_user_id: &str,
    ) -> Result<Option<Contact>> {
        authorize_contacts(ctx, tenant_id, Access::Read)?;
        if !valid_channel_user_id(channel_user_id) {
            return Err(Error::invalid(
                "channel_user_id",
                "send the user's id on the channel: 1 to 256 characters",
            ));
        }
        let found = self
            .store()
            .contact_by_identity_full(
                &tenant_id.to_string(),
                &installation_id.to_string(),
                channel_user_id,
            )
            .await?;
        found
            .map(|(row, identities)| contact_of(row, &identities))
            .transpose()
    }

    pub(super) async fn do_get_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Contact> {
        authorize_contacts(ctx, tenant_id, Access::Read)?;
        let row = self
            .store()
            .contact(&tenant_id.to_string(), &contact_id.to_string())
            .await?
            .ok_or_else(|| hidden(contact_id))?;
        self.contact_with_identities(row).await
    }

    pub(super) async fn do_list_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        query: ContactQuery,
    ) -> Result<ContactPage> {
        authorize_contacts(ctx, tenant_id, Access::Read)?;
        let limit = match query.limit {
            0 => DEFAULT_CONTACT_PAGE,
            n => n.min(MAX_CONTACT_PAGE),
        } as usize;
        let search = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > 200) {
            return Err(Error::invalid("search", "use at most 200 characters"));
        }
        let after = query.after.map(|a| a.to_string());
        let mut rows = self
            .store()
            .contacts(
                &tenant_id.to_string(),
                search,
                after.as_deref(),
                limit as i64 + 1,
            )
            .await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let contacts = self.contacts_of(rows).await?;
        let next = if more {
            contacts.last().map(|c| c.id)
        } else {
            None
        };
        Ok(ContactPage { contacts, next })
    }

    pub(super) async fn do_update_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
        mut change: ContactProfile,
    ) -> Result<Contact> {
        authorize_contacts(ctx, tenant_id, Access::Write)?;
        normalize_contact(&mut change);
        check_contact(&change)?;
        let row = self
            .store()
            .change_contact(
                &tenant_id.to_string(),
                &contact_id.to_string(),
                self.now_ms(),
                |r| {
                    let fields = apply_profile(r, &change, true);
                    Ok(self.updated_event(ctx, tenant_id, &r.id, fields))
                },
            )
            .await?
            .ok_or_else(|| hidden(contact_id))?;
        self.contact_with_identities(row).await
    }

    pub(super) async fn do_merge_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        keep: Uuid,
        merge: Uuid,
    ) -> Result<Contact> {
        authorize_contacts(ctx, tenant_id, Access::Write)?;
        if keep == merge {
            return Err(Error::invalid(
                "merge",
                "a contact cannot be merged into itself: pass two different contact ids",
            ));
        }
        let row = self
            .store()
            .merge_contacts(
                &tenant_id.to_string(),
                &keep.to_string(),
                &merge.to_string(),
                self.now_ms(),
                |kept, merged| {
                    let mut from = merged.clone();
                    for (slot, value) in row_fields_mut(kept)
                        .into_iter()
                        .zip(row_fields_mut(&mut from))
                    {
                        if slot.is_none() {
                            *slot = value.take();
                        }
                    }
                    kept.messages_in += merged.messages_in;
                    kept.messages_out += merged.messages_out;
                    kept.first_seen_at_ms = min_opt(kept.first_seen_at_ms, merged.first_seen_at_ms);
                    kept.last_seen_at_ms = max_opt(kept.last_seen_at_ms, merged.last_seen_at_ms);
                    let event = NewEvent::new(
                        "contact.merged",
                        json!({ "contact_id": kept.id, "merged": merged.id }),
                    )
                    .in_tenant(tenant_id);
                    self.record(ctx, event)
                },
            )
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no contacts `{keep}` and `{merge}` in this tenant: both must exist"
                ))
            })?;
        self.contact_with_identities(row).await
    }

    pub(super) async fn do_delete_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()> {
        authorize_contacts(ctx, tenant_id, Access::Write)?;
        let event = NewEvent::new("contact.deleted", json!({ "contact_id": contact_id }))
            .in_tenant(tenant_id);
        let deleted = self
            .store()
            .delete_contact(
                &tenant_id.to_string(),
                &contact_id.to_string(),
                &self.record(ctx, event),
            )
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(hidden(contact_id))
        }
    }

    pub(super) async fn do_record_activity(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        direction: Direction,
        at: OffsetDateTime,
        mut profile: Option<ContactProfile>,
    ) -> Result<Contact> {
        authorize_contacts(ctx, tenant_id, Access::Write)?;
        check_identity(&identity)?;
        if let Some(p) = profile.as_mut() {
            normalize_contact(p);
            check_contact(p)?;
        }
        let profile = profile.unwrap_or_default();
        let counts = match direction {
            Direction::In => (1, 0),
            Direction::Out => (0, 1),
        };
        let at_ms = to_millis(at);
        let tenant = tenant_id.to_string();
        let installation = identity.installation_id.to_string();
        for _ in 0..ATTEMPTS {
            let key = (
                tenant.as_str(),
                installation.as_str(),
                identity.channel_user_id.as_str(),
            );
            if profile == ContactProfile::default() {
                // Only the counters change: what every message does, in one operation.
                if let Some((row, identities)) = self
                    .store()
                    .count_activity(key, counts, at_ms, self.now_ms())
                    .await?
                {
                    return contact_of(row, &identities);
                }
            }
            let counted = self
                .store()
                .record_activity(key, counts, at_ms, self.now_ms(), |r| {
                    let fields = apply_profile(r, &profile, false);
                    Ok(self.updated_event(ctx, tenant_id, &r.id, fields))
                })
                .await?;
            if let Some(row) = counted {
                return self.contact_with_identities(row).await;
            }
            let (mut row, identity_row, event) =
                self.new_contact(ctx, tenant_id, &identity, &profile);
            (row.messages_in, row.messages_out) = counts;
            row.first_seen_at_ms = Some(at_ms);
            row.last_seen_at_ms = Some(at_ms);
            if self
                .store()
                .create_contact(&row, &identity_row, &event)
                .await?
            {
                return self.contact_with_identities(row).await;
            }
        }
        Err(Error::conflict(
            "this contact kept changing while its activity was recorded: try again",
        ))
    }
}

impl LocalUser {
    pub(super) async fn do_record_activities(
        &self,
        ctx: &AuthContext,
        items: Vec<MessageActivity>,
    ) -> Result<()> {
        for (i, item) in items.iter().enumerate() {
            authorize_contacts(ctx, item.tenant_id, Access::Write)?;
            check_identity(&item.identity).map_err(|e| in_item(e, i))?;
        }
        // One update per identity: counts add up, seen times keep their extremes.
        let mut rows: Vec<ActivityRow> = Vec::new();
        let mut first_item: Vec<usize> = Vec::new();
        let mut index: HashMap<(Uuid, Uuid, &str), usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let at_ms = to_millis(item.at);
            let (messages_in, messages_out) = match item.direction {
                Direction::In => (1, 0),
                Direction::Out => (0, 1),
            };
            let key = (
                item.tenant_id,
                item.identity.installation_id,
                item.identity.channel_user_id.as_str(),
            );
            match index.get(&key) {
                Some(&at) => {
                    let row = &mut rows[at];
                    row.messages_in += messages_in;
                    row.messages_out += messages_out;
                    row.first_at_ms = row.first_at_ms.min(at_ms);
                    row.last_at_ms = row.last_at_ms.max(at_ms);
                }
                None => {
                    index.insert(key, rows.len());
                    first_item.push(i);
                    rows.push(ActivityRow {
                        tenant_id: item.tenant_id.to_string(),
                        installation_id: item.identity.installation_id.to_string(),
                        channel_user_id: item.identity.channel_user_id.clone(),
                        messages_in,
                        messages_out,
                        first_at_ms: at_ms,
                        last_at_ms: at_ms,
                    });
                }
            }
        }
        let found = self.store().count_activities(rows, self.now_ms()).await?;
        // People seen for the first time: each of their messages as `record_activity` counts
        // it, creating the contact with the first.
        for (row, found) in found.iter().enumerate() {
            if *found {
                continue;
            }
            let first = &items[first_item[row]];
            let same = |item: &&MessageActivity| {
                item.tenant_id == first.tenant_id
                    && item.identity.installation_id == first.identity.installation_id
                    && item.identity.channel_user_id == first.identity.channel_user_id
            };
            for item in items.iter().filter(same) {
                self.do_record_activity(
                    ctx,
                    item.tenant_id,
                    item.identity.clone(),
                    item.direction,
                    item.at,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// A field error of one item of a batch, named `items[i].<field>`.
fn in_item(error: Error, i: usize) -> Error {
    match error {
        Error::InvalidArgument { fields, .. } => Error::invalid_fields(
            fields
                .into_iter()
                .map(|mut f| {
                    f.field = format!("items[{i}].{}", f.field);
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ContactRow {
        ContactRow {
            id: "c".into(),
            tenant_id: "t".into(),
            name: Some("Ana".into()),
            first_name: None,
            last_name: None,
            picture_url: None,
            locale: None,
            time_zone: None,
            email: Some("ana@example.com".into()),
            phone: None,
            messages_in: 0,
            messages_out: 0,
            first_seen_at_ms: None,
            last_seen_at_ms: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn channel_data_never_clears_but_edits_do() {
        let blank = ContactProfile {
            name: Some(String::new()),
            locale: Some("pt_BR".into()),
            ..ContactProfile::default()
        };
        let mut r = row();
        assert_eq!(apply_profile(&mut r, &blank, false), ["locale"]);
        assert_eq!(r.name.as_deref(), Some("Ana"));
        assert_eq!(apply_profile(&mut r, &blank, true), ["name"]);
        assert_eq!(r.name, None);
        assert!(apply_profile(&mut r, &blank, true).is_empty());
    }
}

//! Profiles and preferences of platform users.

use nave_hub_core::{AuthContext, Error, NewEvent, Result};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{LocalUser, authorize_profile, profile_of};
use crate::types::{Profile, ProfileChange};
use crate::validate::{check_profile_change, merge_preferences, normalize_profile_change};

/// Puts `value` into `slot` if it differs; `Some("")` clears. Returns whether it changed.
pub(super) fn set_field(slot: &mut Option<String>, value: Option<String>) -> bool {
    let Some(value) = value else {
        return false;
    };
    let value = Some(value).filter(|v| !v.is_empty());
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

impl LocalUser {
    pub(super) async fn do_get_profile(&self, ctx: &AuthContext, user_id: Uuid) -> Result<Profile> {
        authorize_profile(ctx, user_id)?;
        let row = self
            .store()
            .profile(&user_id.to_string(), self.now_ms())
            .await?;
        profile_of(row)
    }

    pub(super) async fn do_update_profile(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        mut change: ProfileChange,
    ) -> Result<Profile> {
        authorize_profile(ctx, user_id)?;
        let blank_name = change
            .display_name
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s.trim().is_empty());
        normalize_profile_change(&mut change);
        check_profile_change(&change, blank_name)?;
        let now = self.now_ms();
        let row = self
            .store()
            .change_profile(&user_id.to_string(), now, |row| {
                let mut fields = Vec::new();
                for (name, slot, value) in [
                    ("display_name", &mut row.display_name, change.display_name),
                    ("avatar_url", &mut row.avatar_url, change.avatar_url),
                    ("locale", &mut row.locale, change.locale),
                    ("time_zone", &mut row.time_zone, change.time_zone),
                ] {
                    if set_field(slot, value) {
                        fields.push(name);
                    }
                }
                Ok((!fields.is_empty()).then(|| {
                    let event = NewEvent::new(
                        "profile.updated",
                        json!({ "user_id": user_id, "fields": fields }),
                    );
                    self.record(ctx, event)
                }))
            })
            .await?;
        profile_of(row)
    }

    pub(super) async fn do_set_preferences(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        patch: Map<String, Value>,
    ) -> Result<Profile> {
        authorize_profile(ctx, user_id)?;
        let keys: Vec<String> = patch.keys().cloned().collect();
        let config = &self.inner.config;
        let now = self.now_ms();
        let row = self
            .store()
            .change_profile(&user_id.to_string(), now, |row| {
                let mut prefs: Map<String, Value> =
                    serde_json::from_str(&row.preferences).map_err(Error::internal)?;
                let before = prefs.clone();
                merge_preferences(
                    &mut prefs,
                    patch,
                    config.max_preference_keys,
                    config.max_preferences_bytes,
                )?;
                if prefs == before {
                    return Ok(None);
                }
                row.preferences = Value::Object(prefs).to_string();
                let event = NewEvent::new(
                    "preferences.updated",
                    json!({ "user_id": user_id, "keys": keys }),
                );
                Ok(Some(self.record(ctx, event)))
            })
            .await?;
        profile_of(row)
    }
}

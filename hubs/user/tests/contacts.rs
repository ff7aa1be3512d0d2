//! Contacts: resolving channel identities, isolation between tenants, listing, merging,
//! deleting and activity counters, over every hub implementation and backend.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Clock, EventScope, Role};
use nave_user::{ContactProfile, ContactQuery, Direction};
use serde_json::json;

fn named(name: &str) -> ContactProfile {
    ContactProfile {
        name: Some(name.into()),
        ..ContactProfile::default()
    }
}

#[tokio::test]
async fn resolve_creates_once_then_finds_and_updates_fields() {
    for hub in hubs().await {
        let tenant = new_id();
        let agent = member(tenant, Role::Agent);
        let page = new_id();
        let first = hub
            .api
            .resolve_contact(&agent, tenant, fb(page, "psid-1"), named("Ana"))
            .await
            .unwrap();
        assert!(first.created, "[{}]", hub.label);
        assert_eq!(first.contact.name.as_deref(), Some("Ana"));
        assert_eq!(first.contact.identities.len(), 1);
        assert_eq!(first.contact.identities[0].channel_user_id, "psid-1");
        let again = hub
            .api
            .resolve_contact(
                &agent,
                tenant,
                fb(page, "psid-1"),
                ContactProfile::default(),
            )
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.contact, first.contact);
        let richer = ContactProfile {
            name: Some("Ana Lima".into()),
            locale: Some("pt_BR".into()),
            time_zone: Some("-3".into()),
            ..ContactProfile::default()
        };
        let updated = hub
            .api
            .resolve_contact(&agent, tenant, fb(page, "psid-1"), richer)
            .await
            .unwrap();
        assert!(!updated.created);
        assert_eq!(updated.contact.id, first.contact.id);
        assert_eq!(updated.contact.name.as_deref(), Some("Ana Lima"));
        assert_eq!(updated.contact.time_zone.as_deref(), Some("-3"));
        let found = hub
            .api
            .find_contact(&member(tenant, Role::Viewer), tenant, page, "psid-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, updated.contact);
        assert_eq!(
            hub.api
                .find_contact(&agent, tenant, page, "nobody")
                .await
                .unwrap(),
            None
        );
        // Only one change was recorded: the second resolve changed nothing.
        let events = hub
            .api
            .list_events(&platform_admin(), EventScope::Tenant(tenant), 0, 100)
            .await
            .unwrap();
        let kinds: Vec<&str> = events.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["contact.created", "contact.updated"],
            "[{}]",
            hub.label
        );
        // Bad contact data is refused with the field named.
        let bad = ContactProfile {
            email: Some("not-an-email".into()),
            phone: Some("12345".into()),
            ..ContactProfile::default()
        };
        let err = assert_err(
            &hub,
            hub.api
                .update_contact(&agent, tenant, first.contact.id, bad)
                .await,
            "invalid_argument",
        );
        assert_eq!(fields(&err), ["email", "phone"]);
        let good = ContactProfile {
            email: Some("ana@example.com".into()),
            phone: Some("+5511987654321".into()),
            name: Some(String::new()),
            ..ContactProfile::default()
        };
        let edited = hub
            .api
            .update_contact(&agent, tenant, first.contact.id, good)
            .await
            .unwrap();
        assert_eq!(edited.email.as_deref(), Some("ana@example.com"));
        assert_eq!(edited.name, None, "an agent's empty value clears the field");
    }
}

#[tokio::test]
async fn concurrent_resolves_of_one_identity_make_one_contact() {
    for hub in hubs().await {
        let tenant = new_id();
        let page = new_id();
        let api = hub.api.clone();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let api = Arc::clone(&api);
                tokio::spawn(async move {
                    api.resolve_contact(
                        &AuthContext::system(),
                        tenant,
                        fb(page, "psid-race"),
                        named("Racer"),
                    )
                    .await
                })
            })
            .collect();
        let results = futures::future::join_all(tasks).await;
        let resolved: Vec<_> = results.into_iter().map(|r| r.unwrap().unwrap()).collect();
        let ids: std::collections::HashSet<_> = resolved.iter().map(|r| r.contact.id).collect();
        assert_eq!(ids.len(), 1, "[{}] {ids:?}", hub.label);
        assert_eq!(resolved.iter().filter(|r| r.created).count(), 1);
        let page = hub
            .api
            .list_contacts(&AuthContext::system(), tenant, ContactQuery::default())
            .await
            .unwrap();
        assert_eq!(page.contacts.len(), 1);
    }
}

#[tokio::test]
async fn tenants_cannot_see_or_touch_each_others_contacts() {
    for hub in hubs().await {
        let a = new_id();
        let b = new_id();
        let page = new_id();
        let ana = hub
            .api
            .resolve_contact(&member(a, Role::Agent), a, fb(page, "psid-a"), named("Ana"))
            .await
            .unwrap()
            .contact;
        let other = hub
            .api
            .resolve_contact(&member(b, Role::Agent), b, fb(page, "psid-b"), named("Bo"))
            .await
            .unwrap()
            .contact;
        let b_admin = member(b, Role::Owner);
        // Acting on tenant A with a scope of tenant B: as if A did not exist.
        assert_err(
            &hub,
            hub.api.get_contact(&b_admin, a, ana.id).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .list_contacts(&b_admin, a, ContactQuery::default())
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .resolve_contact(&b_admin, a, fb(page, "psid-a"), named("Mallory"))
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.find_contact(&b_admin, a, page, "psid-a").await,
            "not_found",
        );
        // A contact id of tenant A under tenant B's own scope: not found either.
        assert_err(
            &hub,
            hub.api.get_contact(&b_admin, b, ana.id).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.merge_contacts(&b_admin, b, other.id, ana.id).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.delete_contact(&b_admin, b, ana.id).await,
            "not_found",
        );
        // No scope at all.
        assert_err(
            &hub,
            hub.api.get_contact(&user(new_id()), a, ana.id).await,
            "not_found",
        );
        // A viewer reads but does not write.
        let viewer = member(a, Role::Viewer);
        assert_eq!(
            hub.api.get_contact(&viewer, a, ana.id).await.unwrap().id,
            ana.id
        );
        assert_err(
            &hub,
            hub.api.update_contact(&viewer, a, ana.id, named("X")).await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api.delete_contact(&viewer, a, ana.id).await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .record_activity(
                    &viewer,
                    a,
                    fb(page, "psid-a"),
                    Direction::In,
                    hub.clock.now(),
                    None,
                )
                .await,
            "permission_denied",
        );
        // Tenant A's contact is untouched.
        let still = hub
            .api
            .get_contact(&AuthContext::system(), a, ana.id)
            .await
            .unwrap();
        assert_eq!(still.name.as_deref(), Some("Ana"), "[{}]", hub.label);
        // Tenant event logs: admins of the tenant only.
        assert_err(
            &hub,
            hub.api
                .list_events(&b_admin, EventScope::Tenant(a), 0, 10)
                .await,
            "not_found",
        );
        let own = hub
            .api
            .list_events(&b_admin, EventScope::Tenant(b), 0, 10)
            .await
            .unwrap();
        assert!(own.events.iter().all(|e| e.tenant_id == Some(b)));
        assert_eq!(own.events.len(), 1);
    }
}

#[tokio::test]
async fn list_searches_and_pages_in_creation_order() {
    for hub in hubs().await {
        let tenant = new_id();
        let agent = member(tenant, Role::Agent);
        let page_id = new_id();
        let names = ["Ana Lima", "Bruno", "Carla LIMA", "Davi", "Elisa_100%"];
        let mut ids = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let c = hub
                .api
                .resolve_contact(&agent, tenant, fb(page_id, &format!("p{i}")), named(name))
                .await
                .unwrap()
                .contact;
            ids.push(c.id);
        }
        let q = |search: Option<&str>, after, limit| ContactQuery {
            search: search.map(str::to_owned),
            after,
            limit,
        };
        let first = hub
            .api
            .list_contacts(&agent, tenant, q(None, None, 2))
            .await
            .unwrap();
        assert_eq!(
            first.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
            ids[..2]
        );
        assert_eq!(first.next, Some(ids[1]), "[{}]", hub.label);
        let second = hub
            .api
            .list_contacts(&agent, tenant, q(None, first.next, 2))
            .await
            .unwrap();
        assert_eq!(
            second.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
            ids[2..4]
        );
        let last = hub
            .api
            .list_contacts(&agent, tenant, q(None, second.next, 2))
            .await
            .unwrap();
        assert_eq!(
            last.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
            ids[4..]
        );
        assert_eq!(last.next, None);
        let lima = hub
            .api
            .list_contacts(&agent, tenant, q(Some("lima"), None, 0))
            .await
            .unwrap();
        let found: Vec<_> = lima
            .contacts
            .iter()
            .filter_map(|c| c.name.clone())
            .collect();
        assert_eq!(found, ["Ana Lima", "Carla LIMA"], "[{}]", hub.label);
        // `%` and `_` are literal characters, not wildcards.
        let pct = hub
            .api
            .list_contacts(&agent, tenant, q(Some("_100%"), None, 0))
            .await
            .unwrap();
        assert_eq!(pct.contacts.len(), 1);
        let none = hub
            .api
            .list_contacts(&agent, tenant, q(Some("a%a"), None, 0))
            .await
            .unwrap();
        assert!(none.contacts.is_empty());
    }
}

#[tokio::test]
async fn merge_moves_identities_and_sums_counters() {
    for hub in hubs().await {
        let tenant = new_id();
        let agent = member(tenant, Role::Agent);
        let (fb_page, wa) = (new_id(), new_id());
        let t0 = hub.clock.now();
        let keep = hub
            .api
            .record_activity(
                &agent,
                tenant,
                fb(fb_page, "psid"),
                Direction::In,
                t0 + Duration::from_secs(100),
                Some(named("Ana")),
            )
            .await
            .unwrap();
        let mut wa_id = fb(wa, "+5511987654321");
        wa_id.channel = "whatsapp".into();
        let with_phone = ContactProfile {
            phone: Some("+5511987654321".into()),
            name: Some("Ana L.".into()),
            ..ContactProfile::default()
        };
        hub.api
            .record_activity(
                &agent,
                tenant,
                wa_id.clone(),
                Direction::In,
                t0,
                Some(with_phone),
            )
            .await
            .unwrap();
        let merge = hub
            .api
            .record_activity(
                &agent,
                tenant,
                wa_id.clone(),
                Direction::Out,
                t0 + Duration::from_secs(200),
                None,
            )
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api
                .merge_contacts(&agent, tenant, keep.id, keep.id)
                .await,
            "invalid_argument",
        );
        let merged = hub
            .api
            .merge_contacts(&agent, tenant, keep.id, merge.id)
            .await
            .unwrap();
        assert_eq!(merged.id, keep.id);
        assert_eq!(merged.name.as_deref(), Some("Ana"), "keep's own fields win");
        assert_eq!(
            merged.phone.as_deref(),
            Some("+5511987654321"),
            "empty fields are filled"
        );
        assert_eq!(
            (merged.messages_in, merged.messages_out),
            (2, 1),
            "[{}]",
            hub.label
        );
        assert_eq!(
            merged.first_seen_at.unwrap().unix_timestamp(),
            t0.unix_timestamp()
        );
        assert_eq!(
            merged.last_seen_at.unwrap().unix_timestamp(),
            (t0 + Duration::from_secs(200)).unix_timestamp()
        );
        let mut channels: Vec<_> = merged
            .identities
            .iter()
            .map(|i| i.channel.as_str())
            .collect();
        channels.sort();
        assert_eq!(channels, ["facebook", "whatsapp"]);
        assert_err(
            &hub,
            hub.api.get_contact(&agent, tenant, merge.id).await,
            "not_found",
        );
        let again = hub
            .api
            .resolve_contact(&agent, tenant, wa_id, ContactProfile::default())
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.contact.id, keep.id);
        let events = hub
            .api
            .list_events(&platform_admin(), EventScope::Tenant(tenant), 0, 100)
            .await
            .unwrap();
        let last = events.events.last().unwrap();
        assert_eq!(last.kind, "contact.merged");
        assert_eq!(last.payload["merged"], json!(merge.id.to_string()));
    }
}

#[tokio::test]
async fn delete_erases_the_contact_and_its_identities() {
    for hub in hubs().await {
        let tenant = new_id();
        let agent = member(tenant, Role::Agent).with_correlation_id("req-erase");
        let page = new_id();
        let ana = hub
            .api
            .resolve_contact(&agent, tenant, fb(page, "psid"), named("Ana"))
            .await
            .unwrap()
            .contact;
        hub.api
            .delete_contact(&agent, tenant, ana.id)
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api.get_contact(&agent, tenant, ana.id).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.delete_contact(&agent, tenant, ana.id).await,
            "not_found",
        );
        assert_eq!(
            hub.api
                .find_contact(&agent, tenant, page, "psid")
                .await
                .unwrap(),
            None
        );
        // Writing in again makes a new, empty contact.
        let back = hub
            .api
            .resolve_contact(&agent, tenant, fb(page, "psid"), ContactProfile::default())
            .await
            .unwrap();
        assert!(back.created, "[{}]", hub.label);
        assert_ne!(back.contact.id, ana.id);
        assert_eq!(back.contact.name, None);
        let events = hub
            .api
            .list_events(&platform_admin(), EventScope::Tenant(tenant), 0, 100)
            .await
            .unwrap();
        let deleted = events
            .events
            .iter()
            .find(|e| e.kind == "contact.deleted")
            .unwrap();
        assert_eq!(deleted.actor, agent.actor());
        assert_eq!(deleted.correlation_id, "req-erase");
        assert!(
            !deleted.payload.to_string().contains("Ana"),
            "no personal data in the log"
        );
    }
}

#[tokio::test]
async fn activity_counts_messages_and_tracks_first_and_last_seen() {
    for hub in hubs().await {
        let tenant = new_id();
        let system = AuthContext::system().with_correlation_id("req-inbound");
        let page = new_id();
        let t0 = hub.clock.now();
        let c = hub
            .api
            .record_activity(
                &system,
                tenant,
                fb(page, "psid"),
                Direction::In,
                t0,
                Some(named("Ana")),
            )
            .await
            .unwrap();
        assert_eq!((c.messages_in, c.messages_out), (1, 0), "[{}]", hub.label);
        assert_eq!(c.name.as_deref(), Some("Ana"));
        assert_eq!(
            c.first_seen_at.unwrap().unix_timestamp(),
            t0.unix_timestamp()
        );
        hub.clock.advance(Duration::from_secs(30));
        let t1 = hub.clock.now();
        let c = hub
            .api
            .record_activity(&system, tenant, fb(page, "psid"), Direction::Out, t1, None)
            .await
            .unwrap();
        let c2 = hub
            .api
            .record_activity(
                &system,
                tenant,
                fb(page, "psid"),
                Direction::In,
                t0 + Duration::from_secs(10),
                None,
            )
            .await
            .unwrap();
        assert_eq!(c.id, c2.id);
        assert_eq!((c2.messages_in, c2.messages_out), (2, 1));
        assert_eq!(
            c2.first_seen_at.unwrap().unix_timestamp(),
            t0.unix_timestamp()
        );
        assert_eq!(
            c2.last_seen_at.unwrap().unix_timestamp(),
            t1.unix_timestamp(),
            "a late message does not move last seen back"
        );
        let events = hub
            .api
            .list_events(&platform_admin(), EventScope::Tenant(tenant), 0, 100)
            .await
            .unwrap();
        let kinds: Vec<&str> = events.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["contact.created"], "counter bumps are not events");
        assert_eq!(events.events[0].actor, "system");
        assert_eq!(events.events[0].correlation_id, "req-inbound");
    }
}

#[tokio::test]
async fn a_batch_of_activity_adds_up_per_contact_across_tenants() {
    for hub in hubs().await {
        let (acme, globex) = (new_id(), new_id());
        let page = new_id();
        let t0 = hub.clock.now();
        let known = hub
            .api
            .record_activity(
                &member(acme, Role::Agent),
                acme,
                fb(page, "ana"),
                Direction::In,
                t0 + Duration::from_secs(50),
                Some(named("Ana")),
            )
            .await
            .unwrap();
        let item = |tenant, psid: &str, direction, secs| nave_user::MessageActivity {
            tenant_id: tenant,
            identity: fb(page, psid),
            direction,
            at: t0 + Duration::from_secs(secs),
        };
        let batch = vec![
            item(acme, "ana", Direction::In, 60),
            item(acme, "ana", Direction::Out, 10),
            item(acme, "ana", Direction::Out, 90),
            // Seen for the first time: created, with both its messages.
            item(acme, "bo", Direction::In, 70),
            item(acme, "bo", Direction::Out, 80),
            // The same channel user id in another tenant is another person.
            item(globex, "ana", Direction::In, 30),
        ];
        hub.api
            .record_activities(&AuthContext::system(), batch)
            .await
            .unwrap();

        let ana = hub
            .api
            .get_contact(&member(acme, Role::Agent), acme, known.id)
            .await
            .unwrap();
        assert_eq!(
            (ana.messages_in, ana.messages_out),
            (2, 2),
            "[{}]",
            hub.label
        );
        assert_eq!(
            (ana.first_seen_at, ana.last_seen_at),
            (
                Some(t0 + Duration::from_secs(10)),
                Some(t0 + Duration::from_secs(90))
            ),
            "[{}] seen times keep their extremes",
            hub.label
        );
        let find = |tenant, psid: &'static str| {
            let api = hub.api.clone();
            async move {
                api.find_contact(&member(tenant, Role::Agent), tenant, page, psid)
                    .await
                    .unwrap()
                    .expect("a contact")
            }
        };
        let bo = find(acme, "bo").await;
        assert_eq!((bo.messages_in, bo.messages_out), (1, 1), "[{}]", hub.label);
        let other = find(globex, "ana").await;
        assert_ne!(other.id, known.id, "[{}]", hub.label);
        assert_eq!(
            (other.messages_in, other.messages_out),
            (1, 0),
            "[{}]",
            hub.label
        );

        // One bad item refuses the batch, says which, and counts nothing.
        let err = assert_err(
            &hub,
            hub.api
                .record_activities(
                    &AuthContext::system(),
                    vec![
                        item(acme, "ana", Direction::In, 100),
                        item(acme, "bad\u{0}id", Direction::In, 100),
                    ],
                )
                .await,
            "invalid_argument",
        );
        assert_eq!(
            fields(&err),
            ["items[1].identity.channel_user_id"],
            "[{}]",
            hub.label
        );
        // An agent of one tenant cannot count on another's contacts.
        assert_err(
            &hub,
            hub.api
                .record_activities(
                    &member(acme, Role::Agent),
                    vec![item(globex, "ana", Direction::In, 100)],
                )
                .await,
            "not_found",
        );
        let ana = find(acme, "ana").await;
        assert_eq!(ana.messages_in, 2, "[{}] nothing counted", hub.label);
        let other = find(globex, "ana").await;
        assert_eq!(other.messages_in, 1, "[{}] nothing counted", hub.label);
    }
}

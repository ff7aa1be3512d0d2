//! Conversations, routing rules and tenant isolation, over every hub implementation and backend.

mod common;

use std::collections::HashSet;

use common::*;
use nave_hub_core::Role;
use nave_message::{
    ConversationFilter, ConversationMode, RoutingRule, RuleActions, RuleConditions,
};
use uuid::Uuid;

#[tokio::test]
async fn routing_rules_name_every_problem_and_refuse_lost_updates() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        let other = unplanned_tenant(&hub);
        let current = hub.api.routing_rules(&t.agent(), t.id).await.unwrap();
        assert_eq!(current.rules, [to_bot(&t)], "[{}]", hub.label);
        assert_eq!(current.version, 1);

        let bad = vec![
            RoutingRule {
                name: " ".into(),
                when: RuleConditions {
                    text_pattern: Some("(unclosed".into()),
                    installation_id: Some(t.bot),
                    ..Default::default()
                },
                actions: RuleActions {
                    processors: vec![t.processor, t.bot],
                    bot: Some(other.bot),
                    handoff: true,
                },
            },
            RoutingRule {
                name: "fine".into(),
                ..Default::default()
            },
        ];
        let err = assert_err(
            &hub,
            hub.api.put_routing_rules(&t.admin(), t.id, bad, None).await,
            "invalid_argument",
        );
        let mut fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "rules[0].name",
                "rules[0].then",
                "rules[0].then.bot",
                "rules[0].then.processors[1]",
                "rules[0].when.installation_id",
                "rules[0].when.text_pattern",
            ],
            "[{}]",
            hub.label
        );

        // Agents read the rules; only admins change them.
        let handoff = vec![RoutingRule {
            name: "people".into(),
            actions: RuleActions {
                handoff: true,
                ..Default::default()
            },
            ..Default::default()
        }];
        assert_err(
            &hub,
            hub.api
                .put_routing_rules(&t.agent(), t.id, handoff.clone(), None)
                .await,
            "permission_denied",
        );
        let saved = hub
            .api
            .put_routing_rules(&t.admin(), t.id, handoff.clone(), Some(1))
            .await
            .unwrap();
        assert_eq!(saved.version, 2, "[{}]", hub.label);
        assert_err(
            &hub,
            hub.api
                .put_routing_rules(&t.admin(), t.id, vec![to_bot(&t)], Some(1))
                .await,
            "conflict",
        );
        assert_eq!(
            hub.api.routing_rules(&t.agent(), t.id).await.unwrap(),
            saved
        );

        // The new rule applies at once: the conversation waits for people, the bot is silent.
        ingest(&hub, vec![inbound(&t, "psid-1", "m", "hi")]).await;
        let conversation = only_conversation(&hub, &t).await;
        settled(&hub, &t, conversation).await;
        let c = hub
            .api
            .get_conversation(&t.agent(), t.id, conversation)
            .await
            .unwrap();
        assert_eq!(c.mode, ConversationMode::Waiting, "[{}]", hub.label);
        assert!(hub.spokes.conversed().is_empty());
    }
}

#[tokio::test]
async fn the_conversation_list_pages_without_gaps_or_repeats_and_filters() {
    for hub in hubs().await {
        // No rules: messages are stored and processed without replies, so the order holds still.
        let t = unplanned_tenant(&hub);
        let second_channel = hub
            .spokes
            .install(t.id, nave_message::SpokeRole::Channel, "facebook");
        let mut batch = Vec::new();
        for i in 0..7 {
            batch.push(inbound(&t, &format!("psid-{i}"), &format!("a-{i}"), "hi"));
        }
        for i in 0..3 {
            batch.push(inbound_on(
                &t,
                second_channel,
                &format!("psid-{i}"),
                &format!("b-{i}"),
                "hi",
            ));
        }
        ingest(&hub, batch).await;

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = hub
                .api
                .list_conversations(
                    &t.agent(),
                    t.id,
                    ConversationFilter {
                        after: after.clone(),
                        limit: 3,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert!(page.items.len() <= 3, "[{}]", hub.label);
            seen.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let ids: HashSet<Uuid> = seen.iter().map(|c| c.id).collect();
        assert_eq!((seen.len(), ids.len()), (10, 10), "[{}]", hub.label);
        let keys: Vec<_> = seen.iter().map(|c| (c.last_message_at_ms, c.id)).collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(keys, sorted, "[{}] most recently active first", hub.label);

        let filtered = |filter: ConversationFilter| {
            let hub = &hub;
            async move {
                let page = hub
                    .api
                    .list_conversations(&t.agent(), t.id, filter)
                    .await
                    .unwrap();
                assert!(page.next.is_none());
                page.items
            }
        };
        let on_second = filtered(ConversationFilter {
            installation_id: Some(second_channel),
            ..Default::default()
        })
        .await;
        assert_eq!(on_second.len(), 3, "[{}]", hub.label);
        assert!(
            on_second
                .iter()
                .all(|c| c.installation_id == second_channel)
        );

        let agent = t.agent();
        let taken = hub
            .api
            .take_conversation(&agent, t.id, on_second[0].id)
            .await
            .unwrap();
        let human = filtered(ConversationFilter {
            mode: Some(ConversationMode::Human),
            ..Default::default()
        })
        .await;
        assert_eq!(human, std::slice::from_ref(&taken), "[{}]", hub.label);
        let mine = filtered(ConversationFilter {
            assignee: Some(agent.require_user().unwrap()),
            ..Default::default()
        })
        .await;
        assert_eq!(mine, [taken], "[{}]", hub.label);
        let bot = filtered(ConversationFilter {
            mode: Some(ConversationMode::Bot),
            ..Default::default()
        })
        .await;
        assert_eq!(bot.len(), 9, "[{}]", hub.label);
        let nobody = filtered(ConversationFilter {
            contact_id: Some(Uuid::now_v7()),
            ..Default::default()
        })
        .await;
        assert!(nobody.is_empty(), "[{}]", hub.label);

        assert_err(
            &hub,
            hub.api
                .list_conversations(
                    &t.agent(),
                    t.id,
                    ConversationFilter {
                        after: Some("garbage".into()),
                        ..Default::default()
                    },
                )
                .await,
            "invalid_argument",
        );
    }
}

#[tokio::test]
async fn another_tenants_conversation_is_not_found() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        let other = tenant(&hub, 0).await;
        ingest(&hub, vec![inbound(&t, "psid-1", "m", "hi")]).await;
        let conversation = only_conversation(&hub, &t).await;
        let messages = settled(&hub, &t, conversation).await;

        let stranger = other.admin();
        assert_err(
            &hub,
            hub.api
                .get_conversation(&stranger, other.id, conversation)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .list_messages(&stranger, other.id, conversation, 0, 10)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .get_message(&stranger, other.id, messages[0].id)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .take_conversation(&stranger, other.id, conversation)
                .await,
            "not_found",
        );
        // Naming the right tenant without being in it is the same: not found.
        assert_err(
            &hub,
            hub.api
                .get_conversation(&stranger, t.id, conversation)
                .await,
            "not_found",
        );
        assert!(
            hub.api
                .list_conversations(
                    &member(other.id, Role::Viewer),
                    other.id,
                    Default::default()
                )
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }
}

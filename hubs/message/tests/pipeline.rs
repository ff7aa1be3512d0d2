//! The inbound pipeline and the outbox, over every hub implementation and backend: idempotent
//! ingest, ordered delivery with retries, handoff, dead letters and replay, the plan and the
//! wallet.

mod common;

use common::*;
use nave_hub_core::Role;
use nave_message::{ConversationMode, Direction, MessageStatus};

#[tokio::test]
async fn ingest_stores_each_channel_message_once_per_installation() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        let other_channel = hub
            .spokes
            .install(t.id, nave_message::SpokeRole::Channel, "facebook");
        let first = ingest(
            &hub,
            vec![
                inbound(&t, "psid-1", "m-1", "hello"),
                inbound(&t, "psid-1", "m-1", "hello"),
            ],
        )
        .await;
        assert_eq!(first, [true, false], "[{}]", hub.label);
        // A re-delivered webhook is the same message; another installation's `m-1` is not.
        let again = ingest(
            &hub,
            vec![
                inbound(&t, "psid-1", "m-1", "hello"),
                inbound_on(&t, other_channel, "psid-1", "m-1", "hello"),
            ],
        )
        .await;
        assert_eq!(again, [false, true], "[{}]", hub.label);

        let conversations = hub
            .api
            .list_conversations(&t.admin(), t.id, Default::default())
            .await
            .unwrap();
        assert_eq!(conversations.items.len(), 2, "[{}]", hub.label);
        let mine = conversations
            .items
            .iter()
            .find(|c| c.installation_id == t.channel)
            .unwrap();
        let messages = settled(&hub, &t, mine.id).await;
        let received: Vec<_> = messages
            .iter()
            .filter(|m| m.direction == Direction::In)
            .collect();
        assert_eq!(received.len(), 1, "[{}] {messages:?}", hub.label);
        assert_eq!(received[0].channel_id.as_deref(), Some("m-1"));
        assert_eq!(received[0].status, MessageStatus::Processed);
        // The processor's finding is on the message, and the bot answered once.
        let enrichment = received[0].enrichment.clone().unwrap();
        assert_eq!(enrichment.contact_fields, [("phone".into(), PHONE.into())]);
        assert_eq!(hub.spokes.delivered_by(t.channel), ["echo: hello"]);

        // Only the platform feeds the inbox.
        assert_err(
            &hub,
            hub.api
                .ingest(&t.admin(), vec![inbound(&t, "psid-1", "m-2", "hi")])
                .await,
            "permission_denied",
        );
    }
}

/// A backlog longer than the engine reads at once (after an outage, or at start-up) is worked
/// through to the end, though nothing new arrives to wake the conversation.
#[tokio::test]
async fn a_backlog_of_one_conversation_is_answered_to_the_last_message() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        let batch = (0..50)
            .map(|i| inbound(&t, "psid-1", &format!("id-{i}"), &format!("m{i}")))
            .collect();
        assert_eq!(ingest(&hub, batch).await, [true; 50]);
        let conversation = only_conversation(&hub, &t).await;
        settled(&hub, &t, conversation).await;
        let expected: Vec<String> = (0..50).map(|i| format!("echo: m{i}")).collect();
        assert_eq!(
            hub.spokes.delivered_by(t.channel),
            expected,
            "[{}]",
            hub.label
        );
    }
}

#[tokio::test]
async fn replies_are_delivered_in_order_even_when_one_is_retried() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        hub.spokes.fail("echo: m3", Failing::Times(2));
        let batch = (0..10)
            .map(|i| inbound(&t, "psid-1", &format!("id-{i}"), &format!("m{i}")))
            .collect();
        assert_eq!(ingest(&hub, batch).await, [true; 10]);
        let conversation = only_conversation(&hub, &t).await;
        let messages = settled(&hub, &t, conversation).await;

        let expected: Vec<String> = (0..10).map(|i| format!("echo: m{i}")).collect();
        assert_eq!(
            hub.spokes.delivered_by(t.channel),
            expected,
            "[{}]",
            hub.label
        );
        let replies: Vec<_> = messages
            .iter()
            .filter(|m| m.direction == Direction::Out)
            .collect();
        assert_eq!(replies.len(), 10, "[{}]", hub.label);
        assert!(replies.iter().all(|r| r.status == MessageStatus::Delivered));
        // Each reply answers its message and went to the person who wrote.
        let retried = replies
            .iter()
            .find(|r| r.outbound.as_ref().unwrap().text.as_deref() == Some("echo: m3"))
            .unwrap();
        assert_eq!(retried.attempts, 2, "[{}]", hub.label);
        assert_eq!(retried.outbound.as_ref().unwrap().recipient, "psid-1");
        let asked = messages
            .iter()
            .find(|m| Some(m.id) == retried.reply_to)
            .unwrap();
        assert_eq!(asked.channel_id.as_deref(), Some("id-3"));
        let detail = hub
            .api
            .get_message(&t.admin(), t.id, retried.id)
            .await
            .unwrap();
        let statuses: Vec<_> = detail.history.iter().map(|h| h.status).collect();
        assert_eq!(
            statuses,
            [
                MessageStatus::Queued,
                MessageStatus::Retrying,
                MessageStatus::Retrying,
                MessageStatus::Delivered
            ],
            "[{}]",
            hub.label
        );
        assert_eq!(messages_used(&hub, t.id).await, 10, "[{}]", hub.label);
    }
}

#[tokio::test]
async fn the_bot_stays_silent_while_an_agent_holds_the_conversation() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        ingest(&hub, vec![inbound(&t, "psid-1", "a", "first")]).await;
        let conversation = only_conversation(&hub, &t).await;
        settled(&hub, &t, conversation).await;

        let agent = t.agent();
        let taken = hub
            .api
            .take_conversation(&agent, t.id, conversation)
            .await
            .unwrap();
        assert_eq!(taken.mode, ConversationMode::Human, "[{}]", hub.label);
        assert_eq!(taken.assignee, Some(agent.require_user().unwrap()));
        // A viewer may not take it.
        assert_err(
            &hub,
            hub.api
                .take_conversation(&member(t.id, Role::Viewer), t.id, conversation)
                .await,
            "permission_denied",
        );

        ingest(&hub, vec![inbound(&t, "psid-1", "b", "while held")]).await;
        let messages = settled(&hub, &t, conversation).await;
        let held = messages
            .iter()
            .find(|m| m.channel_id.as_deref() == Some("b"))
            .unwrap();
        assert_eq!(held.status, MessageStatus::Processed, "[{}]", hub.label);
        assert_eq!(hub.spokes.conversed(), ["first"], "[{}]", hub.label);

        // The agent answers through the channel.
        let sent = hub
            .api
            .send_message(
                &agent,
                t.id,
                conversation,
                nave_message::AgentMessage {
                    text: Some("a person here".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(sent.author, format!("agent:{}", agent.actor()));
        settled(&hub, &t, conversation).await;

        let back = hub.api.hand_back(&agent, t.id, conversation).await.unwrap();
        assert_eq!((back.mode, back.assignee), (ConversationMode::Bot, None));
        ingest(&hub, vec![inbound(&t, "psid-1", "c", "after")]).await;
        settled(&hub, &t, conversation).await;
        assert_eq!(
            hub.spokes.delivered_by(t.channel),
            ["echo: first", "a person here", "echo: after"],
            "[{}]",
            hub.label
        );
    }
}

#[tokio::test]
async fn a_message_that_keeps_failing_goes_dead_gives_its_count_back_and_replays() {
    for hub in hubs().await {
        let t = tenant(&hub, 0).await;
        hub.spokes.fail("boom", Failing::Always);
        ingest(&hub, vec![inbound(&t, "psid-1", "x", "boom")]).await;
        let conversation = only_conversation(&hub, &t).await;
        let messages = settled(&hub, &t, conversation).await;
        assert_eq!(messages.len(), 1, "[{}] {messages:?}", hub.label);
        let dead = &messages[0];
        assert_eq!(dead.status, MessageStatus::Dead, "[{}]", hub.label);
        assert_eq!(dead.attempts, 3, "[{}]", hub.label);
        assert!(dead.last_error.as_deref().unwrap().contains("told to fail"));
        assert_eq!(messages_used(&hub, t.id).await, 0, "[{}]", hub.label);

        let letters = hub.api.dead_letters(&t.agent(), t.id, 0, 10).await.unwrap();
        assert_eq!(
            letters.items.iter().map(|m| m.id).collect::<Vec<_>>(),
            [dead.id]
        );
        // Only dead messages are replayed; another tenant's is not found.
        let other = tenant(&hub, 0).await;
        assert_err(
            &hub,
            hub.api.replay(&other.agent(), other.id, dead.id).await,
            "not_found",
        );

        hub.spokes.heal("boom");
        let replayed = hub.api.replay(&t.agent(), t.id, dead.id).await.unwrap();
        assert_eq!(replayed.attempts, 0, "[{}]", hub.label);
        let messages = settled(&hub, &t, conversation).await;
        assert_eq!(
            messages[0].status,
            MessageStatus::Processed,
            "[{}]",
            hub.label
        );
        assert_eq!(hub.spokes.delivered_by(t.channel), ["echo: boom"]);
        assert_eq!(messages_used(&hub, t.id).await, 1, "[{}]", hub.label);
        assert!(
            hub.api
                .dead_letters(&t.agent(), t.id, 0, 10)
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert_err(
            &hub,
            hub.api.replay(&t.agent(), t.id, dead.id).await,
            "failed_precondition",
        );

        // A reply the channel refuses for good is dead too, without retries.
        hub.spokes.fail("echo: refused", Failing::ForGood);
        ingest(&hub, vec![inbound(&t, "psid-1", "y", "refused")]).await;
        let messages = settled(&hub, &t, conversation).await;
        let reply = messages.last().unwrap();
        assert_eq!(
            (reply.direction, reply.status, reply.attempts),
            (Direction::Out, MessageStatus::Dead, 0),
            "[{}]",
            hub.label
        );
    }
}

#[tokio::test]
async fn a_tenant_without_a_plan_is_refused() {
    for hub in hubs().await {
        let t = unplanned_tenant(&hub);
        hub.api
            .put_routing_rules(&t.admin(), t.id, vec![to_bot(&t)], None)
            .await
            .unwrap();
        ingest(&hub, vec![inbound(&t, "psid-1", "x", "hi")]).await;
        let conversation = only_conversation(&hub, &t).await;
        let messages = settled(&hub, &t, conversation).await;
        assert_eq!(messages.len(), 1, "[{}] {messages:?}", hub.label);
        assert_eq!(
            messages[0].status,
            MessageStatus::Refused,
            "[{}]",
            hub.label
        );
        assert!(
            messages[0]
                .last_error
                .as_deref()
                .unwrap()
                .starts_with("no_plan"),
            "[{}] {:?}",
            hub.label,
            messages[0].last_error
        );
        assert!(hub.spokes.conversed().is_empty());
    }
}

#[tokio::test]
async fn each_message_holds_its_price_and_is_refused_when_the_wallet_is_short() {
    for hub in priced_hubs(5).await {
        let t = tenant(&hub, 12).await;
        let batch = (0..3)
            .map(|i| inbound(&t, "psid-1", &format!("id-{i}"), &format!("m{i}")))
            .collect();
        ingest(&hub, batch).await;
        let conversation = only_conversation(&hub, &t).await;
        let messages = settled(&hub, &t, conversation).await;
        let statuses: Vec<_> = messages
            .iter()
            .filter(|m| m.direction == Direction::In)
            .map(|m| m.status)
            .collect();
        assert_eq!(
            statuses,
            [
                MessageStatus::Processed,
                MessageStatus::Processed,
                MessageStatus::Refused
            ],
            "[{}]",
            hub.label
        );
        let refused = messages
            .iter()
            .find(|m| m.status == MessageStatus::Refused)
            .unwrap();
        assert!(
            refused
                .last_error
                .as_deref()
                .unwrap()
                .starts_with("insufficient_funds"),
            "[{}] {:?}",
            hub.label,
            refused.last_error
        );
        // Two captured, nothing left held; the refused message is not counted.
        assert_eq!(balances(&hub, t.id).await, (2, 0), "[{}]", hub.label);
        assert_eq!(messages_used(&hub, t.id).await, 2, "[{}]", hub.label);
        assert_eq!(hub.spokes.delivered_by(t.channel), ["echo: m0", "echo: m1"]);
    }
}

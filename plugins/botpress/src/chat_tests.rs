//! Unit tests of [`super`]: request payloads, reply selection, profiles.

use super::*;

fn listed(id: &str, user: &str, at: &str, text: &str) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        created_at: at.into(),
        user_id: user.into(),
        payload: json!({"type": "text", "text": text}),
    }
}

#[test]
fn texts_quick_replies_and_media_become_chat_payloads() {
    let mut message = Message {
        text: Some("hello".into()),
        sender: "psid".into(),
        ..Default::default()
    };
    assert_eq!(
        user_payloads(&message).unwrap(),
        vec![json!({"type": "text", "text": "hello"})]
    );
    message.payload = Some("PIZZA".into());
    message.text = Some("Pizza".into());
    assert_eq!(
        user_payloads(&message).unwrap(),
        vec![json!({"type": "text", "text": "Pizza", "value": "PIZZA"})]
    );
    message.text = None;
    message.attachments = vec![
        Attachment {
            kind: "image".into(),
            url: Some("https://cdn/cat.jpg".into()),
            mime_type: Some("image/jpeg".into()),
            payload: None,
        },
        Attachment {
            kind: "fallback".into(),
            url: Some("https://example.com/article".into()),
            mime_type: None,
            payload: None,
        },
        Attachment {
            kind: "location".into(),
            url: None,
            mime_type: None,
            payload: Some("{}".into()),
        },
    ];
    assert_eq!(
        user_payloads(&message).unwrap(),
        vec![
            json!({"type": "text", "text": "PIZZA", "value": "PIZZA"}),
            json!({"type": "image", "imageUrl": "https://cdn/cat.jpg"}),
            json!({"type": "text", "text": "https://example.com/article"}),
        ]
    );
    let empty = Message {
        text: Some(" ".into()),
        ..Default::default()
    };
    assert!(matches!(
        user_payloads(&empty),
        Err(SpokeError::InvalidInput(m)) if m.contains("nothing to send")
    ));
}

#[test]
fn replies_are_the_other_users_messages_since_ours_oldest_first() {
    // Listed newest first, as the Chat API does.
    let listed = vec![
        listed("m5", "bot", "2026-01-01T10:00:02.000Z", "second"),
        listed("m4", "bot", "2026-01-01T10:00:01.500Z", "first"),
        listed("m3", "me", "2026-01-01T10:00:01.000Z", "my question"),
        listed("m2", "bot", "2026-01-01T09:00:00.000Z", "an old answer"),
        listed("m1", "me", "2026-01-01T08:59:59.000Z", "an old question"),
    ];
    let replies = bot_replies(listed, "me", "2026-01-01T10:00:01.000Z");
    let ids: Vec<&str> = replies.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec!["m4", "m5"]);
}

#[test]
fn profiles_carry_the_name_and_picture_the_channel_knows() {
    let message = Message {
        sender_profile: Some(Profile {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            picture_url: Some("https://p/ada.jpg".into()),
        }),
        ..Default::default()
    };
    assert_eq!(
        profile(&message),
        json!({"name": "Ada Lovelace", "pictureUrl": "https://p/ada.jpg"})
    );
    assert_eq!(profile(&Message::default()), json!({}));
}

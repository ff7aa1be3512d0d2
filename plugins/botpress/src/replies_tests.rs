//! Unit tests of [`super`]: every reply type of both APIs.

use super::*;

fn choice(title: &str, payload: &str) -> Choice {
    Choice {
        title: title.into(),
        payload: payload.into(),
    }
}

fn incoming() -> Message {
    Message {
        platform: "facebook".into(),
        id: "m-1".into(),
        conversation: "PAGE1:psid-7".into(),
        sender: "psid-7".into(),
        recipient: "PAGE1".into(),
        text: Some("hi".into()),
        ..Default::default()
    }
}

#[test]
fn converse_responses_of_every_known_type_become_replies() {
    let responses = json!([
        {"type": "typing", "value": true},
        {"type": "text", "markdown": true, "text": "Hello!"},
        {"type": "single-choice", "text": "Pick one", "choices": [
            {"title": "Pizza", "value": "PIZZA"}, {"title": "Salad", "value": ""}
        ]},
        {"type": "dropdown", "message": "Country?", "options": [{"label": "Portugal", "value": "PT"}]},
        {"type": "image", "image": "/api/v1/bots/b1/media/cat.png", "title": "A cat"},
        {"type": "file", "file": "https://cdn.example.com/menu.pdf"},
        {"type": "custom", "module": "x"}
    ]);
    let parsed = from_converse(responses.as_array().unwrap(), "http://bp.local:3000");
    assert_eq!(
        parsed.replies,
        vec![
            Reply::Text("Hello!".into()),
            Reply::Choice {
                text: Some("Pick one".into()),
                choices: vec![choice("Pizza", "PIZZA"), choice("Salad", "Salad")],
            },
            Reply::Choice {
                text: Some("Country?".into()),
                choices: vec![choice("Portugal", "PT")],
            },
            Reply::Media {
                kind: "image",
                url: "http://bp.local:3000/api/v1/bots/b1/media/cat.png".into(),
                title: Some("A cat".into()),
            },
            Reply::Media {
                kind: "file",
                url: "https://cdn.example.com/menu.pdf".into(),
                title: None,
            },
        ]
    );
    assert_eq!(parsed.skipped, vec!["typing", "custom"]);
}

#[test]
fn converse_carousels_become_one_card_per_item() {
    let responses = json!([{"type": "carousel", "items": [
        {"title": "Margherita", "subtitle": "Tomato, basil", "image": "https://i/m.png", "actions": [
            {"action": "Postback", "title": "Order", "payload": "ORDER_M"},
            {"action": "Say something", "title": "More", "text": "tell me more"},
            {"action": "Open URL", "title": "Site", "url": "https://pizza.example.com"}
        ]},
        {"title": "Marinara"}
    ]}]);
    let parsed = from_converse(responses.as_array().unwrap(), "http://bp");
    assert_eq!(
        parsed.replies,
        vec![
            Reply::Card {
                text: "Margherita\nTomato, basil\nSite: https://pizza.example.com".into(),
                image: Some("https://i/m.png".into()),
                choices: vec![choice("Order", "ORDER_M"), choice("More", "tell me more")],
            },
            Reply::Card {
                text: "Marinara".into(),
                image: None,
                choices: vec![],
            },
        ]
    );
}

#[test]
fn chat_payloads_of_every_known_type_become_replies() {
    let payloads = json!([
        {"type": "text", "text": "Hello!"},
        {"type": "markdown", "markdown": "**Bold**"},
        {"type": "choice", "text": "Pick", "options": [{"label": "Yes", "value": "Y"}, {"label": "No", "value": "N"}]},
        {"type": "dropdown", "text": "Size", "options": [{"label": "L", "value": "large"}]},
        {"type": "image", "imageUrl": "https://files.bpcontent.cloud/cat.png"},
        {"type": "video", "videoUrl": "https://v/x.mp4", "title": "Clip"},
        {"type": "location", "latitude": 38.7, "longitude": -9.1, "title": "Lisbon"},
        {"type": "bloc", "items": [{"type": "text", "payload": {"text": "in a bloc"}}]},
        {"type": "carousel", "items": [{"title": "Card", "imageUrl": "https://i/c.png", "actions": [
            {"action": "postback", "label": "Buy", "value": "BUY"},
            {"action": "url", "label": "Docs", "value": "https://docs"}
        ]}]},
        {"type": "event-ish"},
        {"type": "text"}
    ]);
    let parsed = from_chat(payloads.as_array().unwrap());
    assert_eq!(
        parsed.replies,
        vec![
            Reply::Text("Hello!".into()),
            Reply::Text("**Bold**".into()),
            Reply::Choice {
                text: Some("Pick".into()),
                choices: vec![choice("Yes", "Y"), choice("No", "N")],
            },
            Reply::Choice {
                text: Some("Size".into()),
                choices: vec![choice("L", "large")],
            },
            Reply::Media {
                kind: "image",
                url: "https://files.bpcontent.cloud/cat.png".into(),
                title: None,
            },
            Reply::Media {
                kind: "video",
                url: "https://v/x.mp4".into(),
                title: Some("Clip".into()),
            },
            Reply::Location(
                json!({"latitude": 38.7, "longitude": -9.1, "address": null, "title": "Lisbon"})
            ),
            Reply::Text("in a bloc".into()),
            Reply::Card {
                text: "Card\nDocs: https://docs".into(),
                image: Some("https://i/c.png".into()),
                choices: vec![choice("Buy", "BUY")],
            },
        ]
    );
    assert_eq!(parsed.skipped, vec!["event-ish", "text"]);
}

#[test]
fn replies_are_addressed_to_the_sender_in_the_same_conversation() {
    let message = incoming();
    let text = Reply::Text("Hello!".into()).into_outbound(&message);
    assert_eq!(text.recipient, "psid-7");
    assert_eq!(text.conversation, "PAGE1:psid-7");
    assert_eq!(text.reason, SendReason::Response);
    assert_eq!(text.text.as_deref(), Some("Hello!"));
    assert!(text.attachments.is_empty() && text.choices.is_empty());

    let question = Reply::Choice {
        text: Some("Pick".into()),
        choices: vec![choice("Yes", "Y")],
    }
    .into_outbound(&message);
    assert_eq!(question.text.as_deref(), Some("Pick"));
    assert_eq!(question.choices, vec![choice("Yes", "Y")]);

    let image = Reply::Media {
        kind: "image",
        url: "https://i/cat.png".into(),
        title: Some("A cat".into()),
    }
    .into_outbound(&message);
    assert_eq!(image.text.as_deref(), Some("A cat"));
    assert_eq!(image.attachments.len(), 1);
    assert_eq!(image.attachments[0].kind, "image");
    assert_eq!(
        image.attachments[0].url.as_deref(),
        Some("https://i/cat.png")
    );

    let place = Reply::Location(json!({"latitude": 1.5})).into_outbound(&message);
    assert_eq!(place.attachments[0].kind, "location");
    assert_eq!(
        place.attachments[0].payload.as_deref(),
        Some(r#"{"latitude":1.5}"#)
    );

    let card = Reply::Card {
        text: String::new(),
        image: Some("https://i/c.png".into()),
        choices: vec![choice("Buy", "BUY")],
    }
    .into_outbound(&message);
    assert_eq!(card.text, None);
    assert_eq!(card.attachments[0].url.as_deref(), Some("https://i/c.png"));
    assert_eq!(card.choices, vec![choice("Buy", "BUY")]);
}

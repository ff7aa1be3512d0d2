//! `echo`: the smallest channel spoke. Every webhook is answered with its own body
//! and becomes one inbound message.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p nave-sdk --example echo`,
//! then upload `target/wasm32-wasip2/release/examples/echo.wasm`.

use std::hash::{DefaultHasher, Hash, Hasher};

use nave_sdk::prelude::*;

struct Echo;

impl Spoke for Echo {
    fn describe() -> Manifest {
        Manifest {
            name: "echo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            role: Role::Channel,
            description: "Answers every webhook with its body and passes the body on.".into(),
            allowed_hosts: vec![],
            settings: vec![
                SettingSpec::optional("greeting", "The word put before the echoed body.")
                    .with_default("echo"),
            ],
        }
    }
}

impl Channel for Echo {
    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, SpokeError> {
        let text = String::from_utf8_lossy(&request.body).into_owned();
        // The host de-duplicates on the id: a resent body must keep its id.
        let id = match request.header("x-message-id") {
            Some(id) => id.to_owned(),
            None => {
                let mut hasher = DefaultHasher::new();
                request.body.hash(&mut hasher);
                format!("{:016x}", hasher.finish())
            }
        };
        let sender = request.header("x-sender").unwrap_or("anonymous").to_owned();
        let greeting = config::get_or("greeting", "echo");
        let message = Message {
            platform: "echo".into(),
            id,
            conversation: sender.clone(),
            sender,
            recipient: "echo".into(),
            text: Some(text.clone()),
            ..Default::default()
        };
        Ok(WebhookOutcome {
            response: HttpResponse::text(200, format!("{greeting}: {text}")),
            events: vec![InboundEvent::Message(message)],
        })
    }

    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, SpokeError> {
        nave_sdk::info!("echo delivers to {}", message.recipient);
        Ok(DeliveryReceipt {
            message_ids: vec![format!("echo-{}", message.recipient)],
            recipient: Some(message.recipient),
        })
    }
}

nave_sdk::export_channel!(Echo);

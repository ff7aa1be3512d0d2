//! Write nave spokes in Rust.
//!
//! A *spoke* is a WebAssembly component (WASI preview 2) that the nave host loads
//! at run time to talk to an outside system. It implements one of the worlds of the
//! `nave:spoke` WIT contract (`wit/` at the root of the repository), chosen by its
//! role: a **channel** (a messaging platform), a **bot** or a **processor**.
//!
//! This crate gives a spoke author:
//!
//! - the contract's types ([`Message`], [`HttpRequest`], [`SpokeError`], ...), with a
//!   few constructors;
//! - one trait per export: [`Spoke`] for what every spoke exports, and [`Channel`],
//!   [`Bot`] or [`Processor`] for its role;
//! - one export macro per role: [`export_channel!`], [`export_bot!`],
//!   [`export_processor!`];
//! - helpers over the host's capabilities: [`http`] (outbound requests through
//!   `wasi:http`), [`kv`], [`config`] and [`log`] (with the [`info!`] family of macros).
//!
//! # Example
//!
//! A channel spoke that answers every webhook with its own body, and turns it into
//! one inbound message. Build it with
//! `cargo build --release --target wasm32-wasip2` as a `cdylib`; the `.wasm` file is
//! the component to upload.
//!
//! ```no_run
//! use nave_sdk::prelude::*;
//!
//! struct Echo;
//!
//! impl Spoke for Echo {
//!     fn describe() -> Manifest {
//!         Manifest {
//!             name: "echo".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             role: Role::Channel,
//!             description: "Answers every webhook with its body.".into(),
//!             allowed_hosts: vec![],
//!             settings: vec![SettingSpec::optional("greeting", "Put before the body.")],
//!         }
//!     }
//! }
//!
//! impl Channel for Echo {
//!     fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, SpokeError> {
//!         let text = String::from_utf8_lossy(&request.body).into_owned();
//!         let greeting = config::get_or("greeting", "echo");
//!         let event = InboundEvent::Message(Message {
//!             platform: "echo".into(),
//!             id: request.header("x-message-id").unwrap_or("1").into(),
//!             text: Some(text.clone()),
//!             ..Default::default()
//!         });
//!         Ok(WebhookOutcome {
//!             response: HttpResponse::text(200, format!("{greeting}: {text}")),
//!             events: vec![event],
//!         })
//!     }
//!
//!     fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, SpokeError> {
//!         nave_sdk::info!("delivering to {}", message.recipient);
//!         Ok(DeliveryReceipt { message_ids: vec!["1".into()], recipient: None })
//!     }
//! }
//!
//! nave_sdk::export_channel!(Echo);
//! ```
//!
//! `sdk/examples/echo.rs` is the full version of this example.

pub mod bindings;
pub mod config;
pub mod contacts;
mod error;
pub mod http;
pub mod kv;
pub mod log;
mod types;

pub use bindings::channel_exports::exports::nave::spoke::channel::WebhookOutcome;
pub use bindings::nave::spoke::types::{
    Attachment, Choice, DeliveryReceipt, Header, HttpRequest, HttpResponse, InboundEvent, Manifest,
    Message, OutboundMessage, Profile, Receipt, Role, SendReason, SettingSpec, SpokeError,
    UpstreamError,
};
pub use bindings::processor_exports::exports::nave::spoke::processor::{Enrichment, StoredFile};

/// What every spoke exports, whatever its role.
pub trait Spoke {
    /// Describes the spoke: name, version, role, the hosts it calls, the settings it needs.
    ///
    /// The host calls it once per uploaded version, with no settings and no
    /// outbound HTTP: it must not depend on either.
    fn describe() -> Manifest;

    /// Runs once when a tenant installs the spoke; an error refuses the installation.
    ///
    /// The default does nothing.
    fn install() -> Result<(), SpokeError> {
        Ok(())
    }

    /// Runs once when the installation is removed, to undo what [`Spoke::install`] did.
    ///
    /// The default does nothing.
    fn uninstall() -> Result<(), SpokeError> {
        Ok(())
    }
}

/// The functions of a channel spoke: a messaging platform's webhooks in, replies out.
pub trait Channel: Spoke {
    /// Verifies and translates one webhook request.
    ///
    /// It must have no side effects beyond what it returns (reading kv and looking
    /// up profiles are fine). A request that fails verification gets its refusal in
    /// the response, with no events.
    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, SpokeError>;

    /// Sends one message to a person through the platform.
    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, SpokeError>;
}

/// The function of a bot spoke.
pub trait Bot: Spoke {
    /// Answers one message with zero or more replies, in the order to send them.
    fn converse(message: Message) -> Result<Vec<OutboundMessage>, SpokeError>;
}

/// The function of a processor spoke.
pub trait Processor: Spoke {
    /// Processes one message and says what it learnt or stored.
    fn process(message: Message) -> Result<Enrichment, SpokeError>;
}

// The generated traits are implemented for every type implementing ours, so that
// the generated export glue can call a spoke author's type directly.

impl<T: Spoke> bindings::spoke_exports::exports::nave::spoke::spoke::Guest for T {
    fn describe() -> Manifest {
        <T as Spoke>::describe()
    }
    fn install() -> Result<(), SpokeError> {
        <T as Spoke>::install()
    }
    fn uninstall() -> Result<(), SpokeError> {
        <T as Spoke>::uninstall()
    }
}

impl<T: Channel> bindings::channel_exports::exports::nave::spoke::channel::Guest for T {
    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, SpokeError> {
        <T as Channel>::handle_webhook(request)
    }
    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, SpokeError> {
        <T as Channel>::deliver(message)
    }
}

impl<T: Bot> bindings::bot_exports::exports::nave::spoke::bot::Guest for T {
    fn converse(message: Message) -> Result<Vec<OutboundMessage>, SpokeError> {
        <T as Bot>::converse(message)
    }
}

impl<T: Processor> bindings::processor_exports::exports::nave::spoke::processor::Guest for T {
    fn process(message: Message) -> Result<Enrichment, SpokeError> {
        <T as Processor>::process(message)
    }
}

// The export macros emit the component's exports only when building for wasm:
// natively (unit tests, `cargo test --workspace`) a cdylib with `:` in its export
// names does not link. `__assert_impl!` keeps the trait check on every target.

#[doc(hidden)]
#[macro_export]
macro_rules! __assert_impl {
    ($spoke:ident: $($bound:tt)+) => {
        const _: fn() = || {
            fn implements<T: $($bound)+>() {}
            implements::<$spoke>();
        };
    };
}

/// Exports a type implementing [`Spoke`] and [`Channel`] as a channel spoke.
///
/// Call it once, at the top level of the spoke's `cdylib` crate, with the name of
/// the type: `nave_sdk::export_channel!(MySpoke);`.
#[macro_export]
macro_rules! export_channel {
    ($spoke:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__export_spoke_exports_impl!($spoke with_types_in $crate::bindings::spoke_exports);
        #[cfg(target_arch = "wasm32")]
        $crate::__export_channel_exports_impl!($spoke with_types_in $crate::bindings::channel_exports);
        $crate::__assert_impl!($spoke: $crate::Channel);
    };
}

/// Exports a type implementing [`Spoke`] and [`Bot`] as a bot spoke.
///
/// Call it once, at the top level of the spoke's `cdylib` crate: `nave_sdk::export_bot!(MyBot);`.
#[macro_export]
macro_rules! export_bot {
    ($spoke:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__export_spoke_exports_impl!($spoke with_types_in $crate::bindings::spoke_exports);
        #[cfg(target_arch = "wasm32")]
        $crate::__export_bot_exports_impl!($spoke with_types_in $crate::bindings::bot_exports);
        $crate::__assert_impl!($spoke: $crate::Bot);
    };
}

/// Exports a type implementing [`Spoke`] and [`Processor`] as a processor spoke.
///
/// Call it once, at the top level of the spoke's `cdylib` crate:
/// `nave_sdk::export_processor!(MyProcessor);`.
#[macro_export]
macro_rules! export_processor {
    ($spoke:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__export_spoke_exports_impl!($spoke with_types_in $crate::bindings::spoke_exports);
        #[cfg(target_arch = "wasm32")]
        $crate::__export_processor_exports_impl!($spoke with_types_in $crate::bindings::processor_exports);
        $crate::__assert_impl!($spoke: $crate::Processor);
    };
}

/// Everything a spoke usually needs, for `use nave_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Attachment, Bot, Channel, Choice, DeliveryReceipt, Enrichment, HttpRequest, HttpResponse,
        InboundEvent, Manifest, Message, OutboundMessage, Processor, Profile, Receipt, Role,
        SendReason, SettingSpec, Spoke, SpokeError, StoredFile, UpstreamError, WebhookOutcome,
    };
    pub use crate::{config, contacts, http, kv, log};
    pub use crate::{
        debug, error, export_bot, export_channel, export_processor, info, trace, warn,
    };
}

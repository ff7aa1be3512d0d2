//! The platform's contacts: the people behind this channel's users.
//!
//! A channel spoke calls [`resolve`] when it meets a sender, with what the channel knows of
//! them (name, picture...); later calls [`lookup`] to skip asking the channel again. The host
//! scopes both to the installation's tenant and names the channel after the spoke.
//!
//! ```no_run
//! use nave_sdk::contacts::{self, ContactProfile};
//!
//! # fn f() -> Result<(), nave_sdk::SpokeError> {
//! if contacts::lookup("psid-123")?.is_none() {
//!     let profile = ContactProfile { name: Some("Ann Lee".into()), ..Default::default() };
//!     let contact = contacts::resolve("psid-123", &profile)?;
//!     nave_sdk::info!("new contact {}", contact.id);
//! }
//! # Ok(()) }
//! ```

use crate::SpokeError;
use crate::bindings::nave::spoke::contacts as imports;

pub use imports::{Contact, ContactProfile};

/// The contact behind one of this installation's channel users, or `None` when the platform
/// has not met them yet.
pub fn lookup(channel_user_id: &str) -> Result<Option<Contact>, SpokeError> {
    imports::lookup(channel_user_id)
}

/// Finds or creates the contact behind a channel user and stores the fields of `profile` that
/// are set (the others are left alone).
pub fn resolve(channel_user_id: &str, profile: &ContactProfile) -> Result<Contact, SpokeError> {
    imports::resolve(channel_user_id, profile)
}

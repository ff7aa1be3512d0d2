//! The nave host: loads spokes (WebAssembly components) and serves the REST API and webhook ingress.
//!
//! [`App::start`] opens the database, builds the wasm [`runtime::Runtime`] and returns the
//! state behind [`api::router`]; [`serve`] runs that router on a listener until a shutdown
//! signal. Tests use the same two calls with a listener on `127.0.0.1:0`.

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod hubs;
pub mod live;
pub mod metrics;
pub mod pipeline;
pub mod registry;
pub mod runtime;
pub mod secrets;
pub mod store;
pub mod subscriptions;
pub mod throttle;

mod app;

pub use app::{App, serve};
pub use config::Config;

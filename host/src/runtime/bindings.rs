//! Host bindings of the `nave:spoke` worlds, generated from `wit/`.
//!
//! One module per world; the bot and processor worlds reuse the channel world's import
//! bindings so that a `Message` or `SpokeError` is one Rust type whatever the role.

#![allow(missing_docs, reason = "bindgen-generated code")]

/// The channel world; also the home of the shared types and imports.
pub mod channel {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "nave:spoke/channel-spoke",
        imports: {
            "nave:spoke/kv": async | trappable,
            "nave:spoke/contacts": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        require_store_data_send: true,
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        },
    });
}

/// The bot world.
pub mod bot {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "nave:spoke/bot-spoke",
        imports: { default: trappable },
        exports: { default: async },
        require_store_data_send: true,
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "nave:spoke/types": super::channel::nave::spoke::types,
            "nave:spoke/kv": super::channel::nave::spoke::kv,
            "nave:spoke/config": super::channel::nave::spoke::config,
            "nave:spoke/log": super::channel::nave::spoke::log,
            "nave:spoke/contacts": super::channel::nave::spoke::contacts,
        },
    });
}

/// The processor world.
pub mod processor {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "nave:spoke/processor-spoke",
        imports: { default: trappable },
        exports: { default: async },
        require_store_data_send: true,
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "nave:spoke/types": super::channel::nave::spoke::types,
            "nave:spoke/kv": super::channel::nave::spoke::kv,
            "nave:spoke/config": super::channel::nave::spoke::config,
            "nave:spoke/log": super::channel::nave::spoke::log,
            "nave:spoke/contacts": super::channel::nave::spoke::contacts,
        },
    });
}

pub use channel::nave::spoke::{config, contacts, kv, log, types};

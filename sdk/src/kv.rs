//! The key-value store private to the installation a call runs for.
//!
//! Keys are at most 512 bytes. Values are bytes; the `_string` and `_json`
//! helpers store UTF-8 text and JSON documents.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SpokeError;
use crate::bindings::nave::spoke::kv as imports;

/// The bytes stored under `key`, or `None`.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, SpokeError> {
    imports::get(key)
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(key: &str, value: &[u8]) -> Result<(), SpokeError> {
    imports::set(key, value)
}

/// Removes `key`; removing a missing key is not an error.
pub fn delete(key: &str) -> Result<(), SpokeError> {
    imports::delete(key)
}

/// The keys starting with `prefix`, in byte order, at most `limit` of them.
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>, SpokeError> {
    imports::list_keys(prefix, limit)
}

/// The text stored under `key`, or `None`; an `internal` error when it is not UTF-8.
pub fn get_string(key: &str) -> Result<Option<String>, SpokeError> {
    get(key)?
        .map(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| SpokeError::internal(format!("kv value `{key}` is not UTF-8")))
        })
        .transpose()
}

/// Stores the text `value` under `key`.
pub fn set_string(key: &str, value: &str) -> Result<(), SpokeError> {
    set(key, value.as_bytes())
}

/// The JSON document stored under `key`, decoded; an `internal` error when it does not decode.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, SpokeError> {
    get(key)?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| SpokeError::internal(format!("kv value `{key}` is not valid: {e}")))
        })
        .transpose()
}

/// Stores `value` as a JSON document under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), SpokeError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| SpokeError::internal(format!("cannot encode kv value `{key}`: {e}")))?;
    set(key, &bytes)
}

//! The installation's settings and secrets, as the host gives them.
//!
//! The host fills in the defaults a spoke declared in its manifest, so
//! [`get`] only returns `None` for a setting with neither a value nor a default.

use crate::SpokeError;
use crate::bindings::nave::spoke::config as imports;

/// The value of the setting `name`, or `None` when it has none.
pub fn get(name: &str) -> Option<String> {
    imports::get(name)
}

/// The value of the setting `name`, or `default` when it has none or is empty.
pub fn get_or(name: &str, default: &str) -> String {
    get(name)
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The value of the setting `name`; an `invalid-input` error when it is missing or empty.
pub fn require(name: &str) -> Result<String, SpokeError> {
    get(name)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| SpokeError::invalid_input(format!("the setting `{name}` is not set")))
}

/// Every setting that has a value, as name and value.
pub fn all() -> Vec<(String, String)> {
    imports::get_all()
}

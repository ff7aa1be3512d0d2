//! Structured log lines, tagged by the host with the tenant, installation and
//! correlation id of the call.
//!
//! The macros [`info!`](crate::info) and friends take `format!` arguments;
//! [`write`] also takes fields. The host caps the volume one call may write.

pub use crate::bindings::nave::spoke::log::Level;

/// Writes one line at `level` with its fields, as name and value.
pub fn write(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    crate::bindings::nave::spoke::log::log(level, message, &fields);
}

/// Writes one `trace` line with `format!` arguments.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Trace, &format!($($arg)+), &[]) };
}

/// Writes one `debug` line with `format!` arguments.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Debug, &format!($($arg)+), &[]) };
}

/// Writes one `info` line with `format!` arguments.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Info, &format!($($arg)+), &[]) };
}

/// Writes one `warn` line with `format!` arguments.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Warn, &format!($($arg)+), &[]) };
}

/// Writes one `error` line with `format!` arguments.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Error, &format!($($arg)+), &[]) };
}

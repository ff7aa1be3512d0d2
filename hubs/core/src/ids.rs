//! Identifiers: every entity id in nave is a uuid v7, so ids sort by creation time and index well.

use uuid::Uuid;

use crate::error::{Error, Result};

/// Returns a new time-ordered (v7) uuid.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses an id sent by a client, naming the field in the error so the client knows what to fix.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value.trim()).map_err(|_| {
        Error::invalid(
            field,
            format!("`{value}` is not a valid id (expected a uuid like 0190b6c2-...)"),
        )
    })
}

/// Parses an id read back from this hub's own database; a bad value there is a bug, not a client error.
pub fn stored_id(value: &str) -> Result<Uuid> {
    Uuid::parse_str(value)
        .map_err(|e| Error::internal_msg(format!("corrupt id `{value}` in database: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_sort_by_creation() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn parse_id_names_the_field() {
        let err = parse_id("tenant_id", "nope").unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert_eq!(err.fields()[0].field, "tenant_id");
        assert_eq!(
            parse_id("x", &new_id().to_string())
                .unwrap()
                .get_version_num(),
            7
        );
    }
}

//! Object keys: `{tenant}/{conversation}/{sha256}` and the thumbnail beside it.
//!
//! Tenant and conversation ids come from outside; anything but letters, digits, `-`, `_`
//! and `.` becomes `_`, so a key never climbs out of its folder nor needs escaping in a URL.

use nave_sdk::SpokeError;

/// The longest segment kept, in bytes; S3 keys are at most 1024 bytes.
const MAX_SEGMENT: usize = 128;

/// `segment` made safe for a key: `[A-Za-z0-9._-]`, not `.` or `..`, at most 128 bytes.
///
/// `what` names the field in the error when nothing usable is left.
pub fn sanitize(segment: &str, what: &str) -> Result<String, SpokeError> {
    let mut clean: String = segment
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_SEGMENT)
        .collect();
    if clean.chars().all(|c| c == '.') {
        clean = clean.replace('.', "_");
    }
    if clean.is_empty() {
        return Err(SpokeError::invalid_input(format!(
            "{what} is empty; it is needed to build the storage key"
        )));
    }
    Ok(clean)
}

/// The key of a file: `{tenant}/{conversation}/{sha256}`.
pub fn object_key(tenant: &str, conversation: &str, sha256: &str) -> String {
    format!("{tenant}/{conversation}/{sha256}")
}

/// The key of an image's thumbnail, beside it: `{key}.thumb.jpg`.
pub fn thumbnail_key(object_key: &str) -> String {
    format!("{object_key}.thumb.jpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_built_from_safe_segments() {
        let tenant = sanitize("0190b4c2-7a1e-7cc0-9b1a-5d7c9e2f0a11", "tenant").unwrap();
        let conversation = sanitize("../page:1/psid 2?x", "conversation").unwrap();
        assert_eq!(conversation, ".._page_1_psid_2_x");
        let key = object_key(&tenant, &conversation, "ab12");
        assert_eq!(
            key,
            "0190b4c2-7a1e-7cc0-9b1a-5d7c9e2f0a11/.._page_1_psid_2_x/ab12"
        );
        assert_eq!(key.split('/').count(), 3);
        assert_eq!(thumbnail_key(&key), format!("{key}.thumb.jpg"));
    }

    #[test]
    fn dot_segments_and_empty_ids_do_not_pass() {
        assert_eq!(sanitize("..", "conversation").unwrap(), "__");
        assert_eq!(sanitize("été", "x").unwrap(), "_t_");
        assert_eq!(sanitize(&"a".repeat(300), "x").unwrap().len(), 128);
        assert!(matches!(sanitize("  ", "the metadata `nave.tenant`"),
            Err(SpokeError::InvalidInput(m)) if m.contains("`nave.tenant`")));
    }
}

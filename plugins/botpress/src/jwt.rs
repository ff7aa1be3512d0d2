//! The Chat API's user keys when the integration has an encryption key: HS256 JWTs
//! whose claims are `{"id": USER_ID}`, signed by the spoke itself.
//!
//! Botpress checks the signature with the same key, so only holders of the key can
//! speak for a user; nothing else in the token is required.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

/// The JWT header of every user key: a JWT, HS256 (in the order common libraries write it).
const HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// The user key of `user_id`: `base64url(header).base64url(claims).base64url(HMAC-SHA256)`.
pub fn user_key(user_id: &str, encryption_key: &str) -> String {
    let claims = json!({ "id": user_id }).to_string();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(encryption_key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        id: String,
    }

    fn validation() -> Validation {
        let mut validation = Validation::new(Algorithm::HS256);
        // Botpress's user keys carry no expiry.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation
    }

    #[test]
    fn user_keys_verify_with_an_independent_implementation() {
        let token = user_key("contact-42", "s3cret key");
        let decoded = jsonwebtoken::decode::<Claims>(
            &token,
            &DecodingKey::from_secret(b"s3cret key"),
            &validation(),
        )
        .expect("a valid HS256 token");
        assert_eq!(
            decoded.claims,
            Claims {
                id: "contact-42".into()
            }
        );
        assert_eq!(decoded.header.alg, Algorithm::HS256);
        let wrong_key = jsonwebtoken::decode::<Claims>(
            &token,
            &DecodingKey::from_secret(b"other"),
            &validation(),
        );
        assert!(wrong_key.is_err(), "another key must not verify it");
    }

    #[test]
    fn user_keys_match_the_independent_encoding_byte_for_byte() {
        let theirs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                id: "ü/ser+1".into(),
            },
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert_eq!(user_key("ü/ser+1", "k"), theirs);
    }
}

//! TOTP (RFC 6238) for multi-factor login: 6 digits, 30-second steps, SHA-1 (what every
//! authenticator app supports), one step of clock drift either way, and no code accepted twice.

use nave_hub_core::{Error, Result};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per code.
const STEP: u64 = 30;

/// A new random 160-bit secret, base32-encoded as apps expect.
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_base32: &str, issuer: &str, account: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| Error::internal_msg(format!("stored TOTP secret is not base32: {e}")))?;
    // `:` separates issuer and account in otpauth labels.
    let issuer = issuer.replace(':', "-");
    let account = account.replace(':', "-");
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, bytes, Some(issuer), account)
        .map_err(|e| Error::internal_msg(format!("TOTP parameters rejected: {e}")))
}

/// The `otpauth://` URL for enrolment.
pub fn otpauth_url(secret_base32: &str, issuer: &str, account: &str) -> Result<String> {
    Ok(totp(secret_base32, issuer, account)?.get_url())
}

/// Checks `code` at `now_secs`; returns the time step it matched, which must be greater than
/// `last_step` (the step of the last accepted code) so a code cannot be replayed.
pub fn check(
    secret_base32: &str,
    code: &str,
    now_secs: u64,
    last_step: Option<i64>,
) -> Result<Option<i64>> {
    let totp = totp(secret_base32, "nave", "check")?;
    let code = code.trim();
    let current = now_secs / STEP;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            let step = i64::try_from(step).map_err(Error::internal)?;
            return Ok(last_step.is_none_or(|last| step > last).then_some(step));
        }
    }
    Ok(None)
}

/// The code an authenticator app shows at `now_secs` (tests use this as the "app").
pub fn code_at(secret_base32: &str, now_secs: u64) -> Result<String> {
    Ok(totp(secret_base32, "nave", "check")?.generate(now_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_check_once_within_drift() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = check(&secret, &code, now, None).unwrap().expect("accepted");
        assert_eq!(
            check(&secret, &code, now, Some(step)).unwrap(),
            None,
            "replay"
        );
        let late = code_at(&secret, now - 30).unwrap();
        assert!(check(&secret, &late, now, None).unwrap().is_some(), "drift");
        let stale = code_at(&secret, now - 300).unwrap();
        assert_eq!(check(&secret, &stale, now, None).unwrap(), None);
        let url = otpauth_url(&secret, "nave", "a@b.c").unwrap();
        assert!(url.starts_with("otpauth://totp/"));
        assert!(url.contains(&secret));
    }
}

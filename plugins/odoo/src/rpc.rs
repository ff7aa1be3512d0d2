//! Calls to Odoo's external API over XML-RPC, and the translation of its failures.
//!
//! Two endpoints: `/xmlrpc/2/common` (`authenticate(db, login, api_key, {})`, which
//! answers the user id or `false`) and `/xmlrpc/2/object` (`execute_kw(db, uid,
//! api_key, model, method, args, kwargs)`). Faults become [`SpokeError`]s by
//! [`fault_error`]; HTTP failures by [`http_error`].

use nave_sdk::http::Request;
use nave_sdk::prelude::*;

use crate::Settings;
use crate::xmlrpc::{self, Fault, FaultCode, Value};

/// Odoo's fault code for a failed authentication (`odoo.exceptions.AccessDenied`).
pub const FAULT_ACCESS_DENIED: i64 = 3;
/// Odoo's fault code for missing access rights on a model or record (`AccessError`).
pub const FAULT_ACCESS_ERROR: i64 = 4;

/// Sends `method(params)` to the service `common` or `object` and returns its result.
pub fn call(
    settings: &Settings,
    service: &str,
    method: &str,
    params: &[Value],
) -> Result<Value, SpokeError> {
    let url = format!("{}/xmlrpc/2/{service}", settings.url);
    let response = Request::post(url)
        .header("content-type", "text/xml; charset=utf-8")
        .header("accept", "text/xml")
        .body(xmlrpc::method_call(method, params))
        .send()?;
    if !response.is_success() {
        return Err(http_error(response.status, &response.text()));
    }
    match xmlrpc::parse_response(&response.body) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(fault)) => Err(fault_error(&fault)),
        Err(e) => Err(SpokeError::upstream(
            Some(response.status),
            None,
            format!(
                "Odoo's answer to {service}.{method} is not XML-RPC: {}",
                e.0
            ),
            false,
        )),
    }
}

/// Logs in with the installation's login and API key; returns the user id.
///
/// Odoo answers `false` to wrong credentials, which is `unauthorized`.
pub fn authenticate(settings: &Settings) -> Result<i64, SpokeError> {
    let answer = call(
        settings,
        "common",
        "authenticate",
        &[
            Value::string(&settings.db),
            Value::string(&settings.login),
            Value::string(&settings.api_key),
            Value::Struct(Vec::new()),
        ],
    )?;
    match answer {
        Value::Int(uid) if uid > 0 => Ok(uid),
        Value::Bool(false) | Value::Int(_) => Err(SpokeError::unauthorized(format!(
            "Odoo refused the login `{}` with the given API key on database `{}`: \
             check the `login` and `api_key` settings (an API key is made in Odoo under \
             Preferences → Account Security)",
            settings.login, settings.db
        ))),
        other => Err(SpokeError::upstream(
            Some(200),
            None,
            format!("Odoo answered authenticate with {other:?} instead of a user id"),
            false,
        )),
    }
}

/// Calls `model.method(*args, **kwargs)` as the user `uid`.
pub fn execute_kw(
    settings: &Settings,
    uid: i64,
    model: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: Vec<(&str, Value)>,
) -> Result<Value, SpokeError> {
    call(
        settings,
        "object",
        "execute_kw",
        &[
            Value::string(&settings.db),
            Value::Int(uid),
            Value::string(&settings.api_key),
            Value::string(model),
            Value::string(method),
            Value::Array(args),
            Value::structure(kwargs),
        ],
    )
}

/// Maps an XML-RPC fault to a [`SpokeError`].
///
/// Authentication faults (code 3, or a string code or text naming `AccessDenied` /
/// `Access Denied`) are `unauthorized`; missing access rights (code 4, `AccessError`) are
/// `denied`; any other fault is a non-retryable `upstream` error carrying the int code
/// when there is one and the first line of the fault string worth reading.
pub fn fault_error(fault: &Fault) -> SpokeError {
    let summary = summary(&fault.string);
    let text = match &fault.code {
        FaultCode::Int(code) => format!("Odoo fault {code}: {summary}"),
        FaultCode::Text(code) if code.trim() == fault.string.trim() => {
            format!("Odoo fault: {summary}")
        }
        FaultCode::Text(code) => format!("Odoo fault `{}`: {summary}", first_line(code)),
    };
    let mentions = |needle: &str| {
        let code = match &fault.code {
            FaultCode::Text(code) => code.as_str(),
            FaultCode::Int(_) => "",
        };
        code.contains(needle) || fault.string.contains(needle)
    };
    match &fault.code {
        FaultCode::Int(FAULT_ACCESS_DENIED) => SpokeError::unauthorized(text),
        FaultCode::Int(FAULT_ACCESS_ERROR) => SpokeError::denied(text),
        _ if mentions("AccessDenied") || mentions("Access Denied") => {
            SpokeError::unauthorized(text)
        }
        _ if mentions("AccessError") => SpokeError::denied(text),
        FaultCode::Int(code) => SpokeError::upstream(Some(200), Some(*code), text, false),
        FaultCode::Text(_) => SpokeError::upstream(Some(200), None, text, false),
    }
}

/// Maps a non-2xx HTTP answer: 5xx (an outage, a restarting Odoo behind its proxy) and
/// 429 are retryable; anything else, such as a 404 for a wrong `url`, is not.
pub fn http_error(status: u16, body: &str) -> SpokeError {
    let retryable = status >= 500 || status == 429;
    let hint = if status == 404 {
        " (is the `url` setting Odoo's base URL, without /xmlrpc?)"
    } else {
        ""
    };
    let excerpt: String = body.chars().take(200).collect();
    SpokeError::upstream(
        Some(status),
        None,
        format!("Odoo answered HTTP {status}{hint}: {}", excerpt.trim()),
        retryable,
    )
}

/// The line of a Python traceback that says what went wrong: its last non-empty line.
fn summary(fault_string: &str) -> String {
    let line = fault_string
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("(no fault string)");
    line.chars().take(500).collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: FaultCode, string: &str) -> SpokeError {
        fault_error(&Fault {
            code,
            string: string.into(),
        })
    }

    #[test]
    fn authentication_faults_are_unauthorized() {
        assert!(matches!(
            fault(FaultCode::Int(3), "Access Denied"),
            SpokeError::Unauthorized(m) if m == "Odoo fault 3: Access Denied"
        ));
        assert!(matches!(
            fault(FaultCode::Text("warning -- Access Denied".into()), "Access Denied"),
            SpokeError::Unauthorized(m) if m.contains("warning -- Access Denied")
        ));
        assert!(matches!(
            fault(
                FaultCode::Int(1),
                "Traceback (most recent call last):\n  File x\nodoo.exceptions.AccessDenied: Access Denied\n"
            ),
            SpokeError::Unauthorized(m) if m.ends_with("odoo.exceptions.AccessDenied: Access Denied")
        ));
    }

    #[test]
    fn missing_rights_are_denied() {
        assert!(matches!(
            fault(FaultCode::Int(4), "You are not allowed to create 'Lead'"),
            SpokeError::Denied(_)
        ));
    }

    #[test]
    fn other_faults_are_upstream_with_their_int_code() {
        let e = fault(
            FaultCode::Int(1),
            "Traceback...\nValueError: Invalid field 'mobile' on model 'res.partner'\n",
        );
        assert!(matches!(&e, SpokeError::Upstream(u)
            if u.code == Some(1) && !u.retryable
            && u.message == "Odoo fault 1: ValueError: Invalid field 'mobile' on model 'res.partner'"));
        let e = fault(
            FaultCode::Text("Object crm.leed doesn't exist".into()),
            "Object crm.leed doesn't exist",
        );
        assert!(matches!(&e, SpokeError::Upstream(u)
            if u.code.is_none() && u.message == "Odoo fault: Object crm.leed doesn't exist"));
    }

    #[test]
    fn http_failures_are_retryable_only_on_the_server_side() {
        assert!(http_error(503, "Service Unavailable").is_retryable());
        assert!(http_error(502, "").is_retryable());
        assert!(http_error(429, "").is_retryable());
        let not_found = http_error(404, "<html>Not Found</html>");
        assert!(!not_found.is_retryable());
        assert!(not_found.message().contains("`url` setting"));
    }
}

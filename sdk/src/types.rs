//! Helpers on the contract's generated types: header and query look-ups on
//! requests, response and setting constructors.

use crate::http::query_pairs;
use crate::{HttpRequest, HttpResponse, SettingSpec, WebhookOutcome};

impl HttpRequest {
    /// The value of the first header called `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The percent-decoded value of the first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(&self.query)
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }
}

impl HttpResponse {
    /// A response with `status`, no headers and an empty body.
    pub fn empty(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }

    /// An `application/json` response with `value` serialized.
    pub fn json<T: serde::Serialize + ?Sized>(status: u16, value: &T) -> Self {
        // Serializing plain data to a Vec cannot fail; a map with non-string keys could.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    /// The value of the first header called `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl WebhookOutcome {
    /// An outcome with `response` and no events: a refusal, a verification answer.
    pub fn reply(response: HttpResponse) -> Self {
        WebhookOutcome {
            response,
            events: Vec::new(),
        }
    }
}

impl SettingSpec {
    /// A setting every installation must give.
    pub fn required(name: impl Into<String>, description: impl Into<String>) -> Self {
        SettingSpec {
            name: name.into(),
            description: description.into(),
            secret: false,
            required: true,
            default_value: None,
        }
    }

    /// A setting an installation may leave out.
    pub fn optional(name: impl Into<String>, description: impl Into<String>) -> Self {
        SettingSpec {
            required: false,
            ..SettingSpec::required(name, description)
        }
    }

    /// Marks the setting secret: encrypted at rest, never returned by any API.
    pub fn secret(self) -> Self {
        SettingSpec {
            secret: true,
            ..self
        }
    }

    /// Gives the setting the value used when an installation leaves it out.
    pub fn with_default(self, value: impl Into<String>) -> Self {
        SettingSpec {
            default_value: Some(value.into()),
            ..self
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_helpers_find_headers_and_decoded_query_parameters() {
        let request = HttpRequest {
            headers: vec![("X-Sender".into(), "ann".into())],
            query: "hub.mode=subscribe&text=a%20b+c".into(),
            ..Default::default()
        };
        assert_eq!(request.header("x-sender"), Some("ann"));
        assert_eq!(request.header("x-missing"), None);
        assert_eq!(
            request.query_param("hub.mode").as_deref(),
            Some("subscribe")
        );
        assert_eq!(request.query_param("text").as_deref(), Some("a b c"));
    }

    #[test]
    fn setting_builders_set_the_flags() {
        let spec = SettingSpec::optional("base", "Where")
            .secret()
            .with_default("x");
        assert!(!spec.required && spec.secret);
        assert_eq!(spec.default_value.as_deref(), Some("x"));
        assert!(SettingSpec::required("id", "Which").required);
    }
}

//! A loopback fake of Odoo's XML-RPC API that records every call it answers.
//!
//! It parses real XML-RPC with its own decoder (quick-xml into JSON values, independent of
//! the spoke's codec) and answers like Odoo does: `common.authenticate` gives the user id or
//! `false`; `object.execute_kw` serves `res.partner` (`fields_get`, `search_read`, `create`)
//! and `crm.lead` (`create`, `search_read`) from memory, checks the API key on every call
//! (fault 3, `Access Denied`), faults with a string code for an unknown model, and faults
//! `Invalid field` for a field the model does not have. Switches: [`FakeOdoo::set_odoo_18_2`]
//! drops `res.partner.mobile` as Odoo 18.2 did; [`FakeOdoo::set_down`] answers 503 to
//! everything until switched back up.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

/// The database the fake serves.
pub const ODOO_DB: &str = "acme-prod";
/// The login it accepts.
pub const ODOO_LOGIN: &str = "bot@acme.example";
/// The API key it accepts (until [`FakeOdoo::set_api_key`] changes it).
pub const ODOO_API_KEY: &str = "odoo-api-key-1";
/// The user id `authenticate` answers.
pub const ODOO_UID: i64 = 7;

/// One XML-RPC call the fake answered.
#[derive(Debug, Clone)]
pub struct OdooCall {
    /// `common` or `object`.
    pub service: String,
    /// The XML-RPC method, e.g. `execute_kw`.
    pub method: String,
    /// The params, decoded to JSON (`nil` → null, struct → object).
    pub params: Vec<Value>,
}

impl OdooCall {
    /// For `execute_kw`: the model, e.g. `res.partner`.
    pub fn model(&self) -> Option<&str> {
        self.params.get(3).and_then(Value::as_str)
    }

    /// For `execute_kw`: the model's method, e.g. `search_read`.
    pub fn operation(&self) -> Option<&str> {
        self.params.get(4).and_then(Value::as_str)
    }

    /// For `execute_kw`: the positional args.
    pub fn args(&self) -> Value {
        self.params.get(5).cloned().unwrap_or(Value::Null)
    }

    /// For `execute_kw`: the keyword args.
    pub fn kwargs(&self) -> Value {
        self.params.get(6).cloned().unwrap_or(Value::Null)
    }

    /// `service.method` or, for `execute_kw`, `model.operation`.
    pub fn name(&self) -> String {
        match (self.model(), self.operation()) {
            (Some(model), Some(op)) if self.method == "execute_kw" => format!("{model}.{op}"),
            _ => format!("{}.{}", self.service, self.method),
        }
    }
}

struct FakeState {
    calls: Vec<OdooCall>,
    /// Requests answered 503 while down.
    refused: usize,
    down: bool,
    /// Odoo 18.2 and later: `res.partner` has no `mobile`.
    no_mobile: bool,
    api_key: String,
    partners: Vec<Map<String, Value>>,
    leads: Vec<Map<String, Value>>,
    next_id: i64,
}

/// The fake Odoo server.
#[derive(Clone)]
pub struct FakeOdoo {
    /// `http://127.0.0.1:PORT`: the `url` setting.
    pub url: String,
    /// `127.0.0.1:PORT`, for granting.
    pub addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
}

impl FakeOdoo {
    /// Starts the fake on a free loopback port, up, with `mobile` on partners.
    pub async fn start() -> FakeOdoo {
        let state = Arc::new(Mutex::new(FakeState {
            calls: Vec::new(),
            refused: 0,
            down: false,
            no_mobile: false,
            api_key: ODOO_API_KEY.into(),
            partners: Vec::new(),
            leads: Vec::new(),
            next_id: 100,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/xmlrpc/2/{service}", post(rpc))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOdoo {
            url: format!("http://{addr}"),
            addr,
            state,
        }
    }

    /// Every call answered so far, in order.
    pub fn calls(&self) -> Vec<OdooCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The names of the calls answered so far (`common.authenticate`, `res.partner.create`...).
    pub fn call_names(&self) -> Vec<String> {
        self.calls().iter().map(OdooCall::name).collect()
    }

    /// Forgets the calls recorded so far.
    pub fn clear_calls(&self) {
        let mut state = self.state.lock().unwrap();
        state.calls.clear();
        state.refused = 0;
    }

    /// How many requests were answered 503 while down.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// Takes the fake down (every request answered 503) or back up.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// Switches Odoo 18.2 mode: `res.partner` without `mobile`.
    pub fn set_odoo_18_2(&self, on: bool) {
        self.state.lock().unwrap().no_mobile = on;
    }

    /// Changes the API key Odoo accepts, as revoking the old one would.
    pub fn set_api_key(&self, key: &str) {
        self.state.lock().unwrap().api_key = key.into();
    }

    /// The partners stored, as JSON objects with their `id`.
    pub fn partners(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.partners.iter().cloned().map(Value::Object).collect()
    }

    /// The leads stored.
    pub fn leads(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.leads.iter().cloned().map(Value::Object).collect()
    }

    /// Stores a partner as if made in Odoo's UI; returns its id.
    pub fn add_partner(&self, values: Value) -> i64 {
        let mut state = self.state.lock().unwrap();
        let mut record = values.as_object().cloned().expect("an object");
        state.next_id += 1;
        let id = state.next_id;
        record.insert("id".into(), json!(id));
        state.partners.push(record);
        id
    }
}

async fn rpc(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(service): Path<String>,
    body: Bytes,
) -> Response {
    let mut state = state.lock().unwrap();
    if state.down {
        state.refused += 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    let (method, params) = match decode_call(&body) {
        Ok(call) => call,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad XML-RPC: {e}")).into_response(),
    };
    state.calls.push(OdooCall {
        service: service.clone(),
        method: method.clone(),
        params: params.clone(),
    });
    let answer = match (service.as_str(), method.as_str()) {
        ("common", "authenticate") => Ok(authenticate(&state, &params)),
        ("common", "version") => Ok(json!({"server_version": "18.2", "protocol_version": 1})),
        ("object", "execute_kw") => execute_kw(&mut state, &params),
        _ => Err(fault(
            json!(1),
            &format!("Method not available {service}.{method}"),
        )),
    };
    let xml = match answer {
        Ok(value) => format!(
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{}</param>\n</params>\n</methodResponse>\n",
            encode(&value)
        ),
        Err(fault) => format!(
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n{}</fault>\n</methodResponse>\n",
            encode(&fault)
        ),
    };
    ([("content-type", "text/xml; charset=utf-8")], xml).into_response()
}

fn fault(code: Value, string: &str) -> Value {
    json!({"faultCode": code, "faultString": string})
}

fn authenticate(state: &FakeState, params: &[Value]) -> Value {
    let ok = params.first() == Some(&json!(ODOO_DB))
        && params.get(1) == Some(&json!(ODOO_LOGIN))
        && params.get(2) == Some(&json!(state.api_key));
    if ok { json!(ODOO_UID) } else { json!(false) }
}

fn fields(state: &FakeState, model: &str) -> Option<Vec<(&'static str, &'static str)>> {
    match model {
        "res.partner" => {
            let mut fields = vec![
                ("id", "integer"),
                ("name", "char"),
                ("phone", "char"),
                ("email", "char"),
                ("comment", "html"),
            ];
            if !state.no_mobile {
                fields.push(("mobile", "char"));
            }
            Some(fields)
        }
        "crm.lead" => Some(vec![
            ("id", "integer"),
            ("name", "char"),
            ("partner_id", "many2one"),
            ("phone", "char"),
            ("contact_name", "char"),
            ("description", "html"),
            ("team_id", "many2one"),
            ("stage_id", "many2one"),
            ("email_from", "char"),
            ("type", "selection"),
        ]),
        _ => None,
    }
}

fn execute_kw(state: &mut FakeState, params: &[Value]) -> Result<Value, Value> {
    let [db, uid, key, model, op, args, rest @ ..] = params else {
        return Err(fault(json!(1), "TypeError: execute_kw() missing arguments"));
    };
    if db != &json!(ODOO_DB) || uid != &json!(ODOO_UID) || key != &json!(state.api_key) {
        return Err(fault(json!(3), "Access Denied"));
    }
    let model = model.as_str().unwrap_or_default().to_owned();
    let Some(known) = fields(state, &model) else {
        return Err(fault(
            json!(format!("Object {model} doesn't exist")),
            &format!("Object {model} doesn't exist"),
        ));
    };
    let kwargs = rest.first().cloned().unwrap_or(json!({}));
    let args = args.as_array().cloned().unwrap_or_default();
    let invalid = |field: &str| {
        fault(
            json!(1),
            &format!(
                "Traceback (most recent call last):\n  File \"odoo/models.py\"\nValueError: Invalid field '{field}' on model '{model}'"
            ),
        )
    };
    match op.as_str().unwrap_or_default() {
        "fields_get" if model == "res.partner" => Ok(Value::Object(
            known
                .iter()
                .map(|(name, kind)| ((*name).to_owned(), json!({"type": kind})))
                .collect(),
        )),
        "search_read" => {
            let domain = args.first().cloned().unwrap_or(json!([]));
            for field in domain_fields(&domain) {
                if !known.iter().any(|(f, _)| *f == field) {
                    return Err(invalid(&field));
                }
            }
            let records = if model == "res.partner" {
                &state.partners
            } else {
                &state.leads
            };
            let wanted: Vec<String> = kwargs["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let limit = kwargs["limit"].as_u64().unwrap_or(u64::MAX) as usize;
            Ok(Value::Array(
                records
                    .iter()
                    .filter(|r| matches(&domain, r))
                    .take(limit)
                    .map(|r| {
                        let mut out = Map::new();
                        out.insert("id".into(), r["id"].clone());
                        for f in &wanted {
                            out.insert(f.clone(), r.get(f).cloned().unwrap_or(json!(false)));
                        }
                        Value::Object(out)
                    })
                    .collect(),
            ))
        }
        "create" => {
            let values = args.first().cloned().unwrap_or(json!({}));
            let list = values.is_array();
            let mut ids = Vec::new();
            for vals in values.as_array().cloned().unwrap_or_else(|| vec![values]) {
                let Some(mut vals) = vals.as_object().cloned() else {
                    return Err(fault(json!(1), "TypeError: create() takes a dict"));
                };
                if let Some(field) = vals.keys().find(|k| !known.iter().any(|(f, _)| f == k)) {
                    return Err(invalid(field));
                }
                state.next_id += 1;
                vals.insert("id".into(), json!(state.next_id));
                ids.push(state.next_id);
                if model == "res.partner" {
                    state.partners.push(vals);
                } else {
                    state.leads.push(vals);
                }
            }
            Ok(if list { json!(ids) } else { json!(ids[0]) })
        }
        other => Err(fault(
            json!(1),
            &format!("AttributeError: The method '{model}.{other}' does not exist"),
        )),
    }
}

/// The fields a domain's terms name.
fn domain_fields(domain: &Value) -> Vec<String> {
    domain
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|t| t.as_array()?.first()?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Evaluates an Odoo domain (prefix `|`, `&`, `!`; terms with `=`, `!=`, `in`) on a record.
fn matches(domain: &Value, record: &Map<String, Value>) -> bool {
    let items = domain.as_array().cloned().unwrap_or_default();
    let mut stack: Vec<bool> = Vec::new();
    for item in items.iter().rev() {
        match item.as_str() {
            Some("|") => {
                let (a, b) = (stack.pop().unwrap_or(false), stack.pop().unwrap_or(false));
                stack.push(a || b);
            }
            Some("&") => {
                let (a, b) = (stack.pop().unwrap_or(true), stack.pop().unwrap_or(true));
                stack.push(a && b);
            }
            Some("!") => {
                let a = stack.pop().unwrap_or(false);
                stack.push(!a);
            }
            _ => stack.push(term(item, record)),
        }
    }
    // Terms left side by side are joined with an implicit `&`.
    stack.into_iter().all(|b| b)
}

fn term(term: &Value, record: &Map<String, Value>) -> bool {
    let [field, op, value] = term.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return false;
    };
    let stored = record
        .get(field.as_str().unwrap_or_default())
        .cloned()
        .unwrap_or(json!(false));
    match op.as_str().unwrap_or_default() {
        "=" => &stored == value,
        "!=" => &stored != value,
        "in" => value.as_array().is_some_and(|vs| vs.contains(&stored)),
        _ => false,
    }
}

/// Decodes a `methodCall`: its method name and params.
fn decode_call(body: &[u8]) -> Result<(String, Vec<Value>), String> {
    let root = tree(body)?;
    if root.name != "methodCall" {
        return Err(format!("root <{}>", root.name));
    }
    let method = root
        .child("methodName")
        .ok_or("no methodName")?
        .text
        .clone();
    let params = match root.child("params") {
        Some(params) => params
            .children
            .iter()
            .map(|p| decode_value(p.child("value").ok_or("param without value")?))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok((method, params))
}

#[derive(Default)]
struct Element {
    name: String,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn tree(body: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(body);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(Element {
                name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                ..Element::default()
            }),
            Event::Empty(e) => {
                let element = Element {
                    name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    ..Element::default()
                };
                stack.last_mut().ok_or("unbalanced")?.children.push(element);
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced")?;
                stack.last_mut().ok_or("unbalanced")?.children.push(done);
            }
            Event::Text(t) => {
                let text = t.xml_content().map_err(|e| e.to_string())?;
                stack.last_mut().ok_or("unbalanced")?.text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => match r.decode().map_err(|e| e.to_string())?.as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(format!("entity &{other};")),
                    },
                };
                stack.last_mut().ok_or("unbalanced")?.text.push_str(&text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().ok_or("unbalanced")?;
    if !stack.is_empty() || document.children.len() != 1 {
        return Err("not one root element".into());
    }
    Ok(document.children.remove(0))
}

fn decode_value(value: &Element) -> Result<Value, String> {
    let Some(typed) = value.children.first() else {
        return Ok(json!(value.text));
    };
    let text = typed.text.trim();
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => json!(text.parse::<i64>().map_err(|e| e.to_string())?),
        "boolean" => json!(text == "1"),
        "string" => json!(typed.text),
        "double" => json!(text.parse::<f64>().map_err(|e| e.to_string())?),
        "nil" => Value::Null,
        "array" => Value::Array(
            typed
                .child("data")
                .ok_or("array without data")?
                .children
                .iter()
                .map(decode_value)
                .collect::<Result<_, _>>()?,
        ),
        "struct" => Value::Object(
            typed
                .children
                .iter()
                .map(|m| {
                    let name = m.child("name").ok_or("member without name")?.text.clone();
                    Ok((
                        name,
                        decode_value(m.child("value").ok_or("member without value")?)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => return Err(format!("type <{other}>")),
    })
}

/// Encodes a JSON value as Odoo's Python server would: ints as `<int>`, false as
/// `<boolean>0</boolean>`, strings as `<string>`.
fn encode(value: &Value) -> String {
    let inner = match value {
        Value::Null => "<nil/>".to_owned(),
        Value::Bool(b) => format!("<boolean>{}</boolean>", u8::from(*b)),
        Value::Number(n) if n.is_i64() => format!("<int>{n}</int>"),
        Value::Number(n) => format!("<double>{n}</double>"),
        Value::String(s) => format!("<string>{}</string>", escape(s)),
        Value::Array(items) => format!(
            "<array><data>\n{}</data></array>",
            items.iter().map(encode).collect::<String>()
        ),
        Value::Object(members) => format!(
            "<struct>\n{}</struct>",
            members
                .iter()
                .map(|(k, v)| format!(
                    "<member>\n<name>{}</name>\n{}</member>\n",
                    escape(k),
                    encode(v)
                ))
                .collect::<String>()
        ),
    };
    format!("<value>{inner}</value>\n")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Uploads the Odoo spoke and installs it for `tenant` against `odoo` with its database,
/// login and API key, plus `extra` settings (e.g. `default_country`, `team_id`);
/// returns the installation id.
pub async fn install_odoo(
    host: &crate::TestHost,
    odoo: &FakeOdoo,
    tenant: &str,
    extra: Value,
) -> String {
    host.upload_and_install(
        crate::spoke("plugins/odoo"),
        tenant,
        json!({
            "settings": odoo_settings(odoo, extra),
            "allowed_hosts": [odoo.addr.to_string()],
        }),
    )
    .await
}

/// The settings pointing at `odoo`, with `extra` merged over them.
pub fn odoo_settings(odoo: &FakeOdoo, extra: Value) -> Value {
    let mut settings = json!({
        "url": odoo.url,
        "db": ODOO_DB,
        "login": ODOO_LOGIN,
        "api_key": ODOO_API_KEY,
    });
    if let (Some(base), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            base.insert(key.clone(), value.clone());
        }
    }
    settings
}

//! An XML-RPC codec, as Odoo speaks it: `methodCall` out, `methodResponse` in.
//!
//! Requests carry the value types Odoo's Python server reads (`int`, `i8` for ints past
//! 32 bits, `boolean`, `string`, `double`, `array`, `struct` and `nil`, which Odoo
//! allows). Responses are parsed with `quick-xml` into a [`Value`] tree, or a [`Fault`]
//! when the server answered `<fault>`. Odoo marks empty fields with `false`, answers
//! strings either as `<string>` or as bare text in `<value>`, and ints as `<int>` or
//! `<i4>`; all of these are read.

use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// One XML-RPC value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `<int>`, `<i4>` or `<i8>`.
    Int(i64),
    /// `<boolean>`: `0` or `1`.
    Bool(bool),
    /// `<string>` or bare text.
    String(String),
    /// `<double>`.
    Double(f64),
    /// `<array><data>...</data></array>`.
    Array(Vec<Value>),
    /// `<struct>` members, in the order sent or received.
    Struct(Vec<(String, Value)>),
    /// `<nil/>`: Python's `None`.
    Nil,
}

impl Value {
    /// A string value.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A struct value from name and value pairs.
    pub fn structure<'a>(members: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Struct(
            members
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        )
    }

    /// The integer, when this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, when this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The member called `name`, when this is a struct that has one.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether this is Odoo's mark of an empty field: `false` or `nil`.
    pub fn is_empty_field(&self) -> bool {
        matches!(self, Value::Bool(false) | Value::Nil)
    }

    /// Appends this value as `<value>...</value>`.
    fn write_xml(&self, out: &mut String) {
        out.push_str("<value>");
        match self {
            Value::Int(i) if i32::try_from(*i).is_ok() => {
                let _ = write!(out, "<int>{i}</int>");
            }
            Value::Int(i) => {
                let _ = write!(out, "<i8>{i}</i8>");
            }
            Value::Bool(b) => {
                let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
            }
            Value::String(s) => {
                out.push_str("<string>");
                escape_into(s, out);
                out.push_str("</string>");
            }
            // XML-RPC has no spelling for NaN or infinities; Python would refuse them too.
            Value::Double(d) if !d.is_finite() => out.push_str("<nil/>"),
            Value::Double(d) => {
                let _ = write!(out, "<double>{d:?}</double>");
            }
            Value::Array(items) => {
                out.push_str("<array><data>");
                for item in items {
                    item.write_xml(out);
                }
                out.push_str("</data></array>");
            }
            Value::Struct(members) => {
                out.push_str("<struct>");
                for (name, value) in members {
                    out.push_str("<member><name>");
                    escape_into(name, out);
                    out.push_str("</name>");
                    value.write_xml(out);
                    out.push_str("</member>");
                }
                out.push_str("</struct>");
            }
            Value::Nil => out.push_str("<nil/>"),
        }
        out.push_str("</value>");
    }
}

/// Escapes text for element content: markup characters become entities, `\r` a
/// character reference (a parser would turn a raw one into `\n`), and characters XML 1.0
/// cannot carry at all (C0 controls but tab and newline) are dropped.
fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// The XML document of a call to `method` with `params`.
pub fn method_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    escape_into(method, &mut out);
    out.push_str("</methodName><params>");
    for param in params {
        out.push_str("<param>");
        param.write_xml(&mut out);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>");
    out
}

/// The code of a fault: Odoo sends ints from some paths and strings (often the
/// exception's text) from others.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultCode {
    /// An integer code, e.g. `1` or `3` (access denied in old Odoo versions).
    Int(i64),
    /// A string code, e.g. `warning -- Access Denied`.
    Text(String),
}

/// A `<fault>` answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// `faultCode`.
    pub code: FaultCode,
    /// `faultString`: often a whole Python traceback.
    pub string: String,
}

/// Why a response could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError(pub String);

/// Reads a `methodResponse`: its single param, or the fault it carries.
pub fn parse_response(body: &[u8]) -> Result<Result<Value, Fault>, DecodeError> {
    let root = parse_tree(body)?;
    if root.name != "methodResponse" {
        return Err(DecodeError(format!(
            "expected <methodResponse>, found <{}>",
            root.name
        )));
    }
    if let Some(fault) = root.child("fault") {
        let value = to_value(
            fault
                .child("value")
                .ok_or_else(|| missing("value", "fault"))?,
        )?;
        let code = match value.get("faultCode") {
            Some(Value::Int(i)) => FaultCode::Int(*i),
            Some(Value::String(s)) => FaultCode::Text(s.clone()),
            other => {
                return Err(DecodeError(format!(
                    "the fault has no faultCode int or string: {other:?}"
                )));
            }
        };
        let string = match value.get("faultString") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        return Ok(Err(Fault { code, string }));
    }
    let value = root
        .child("params")
        .and_then(|params| params.child("param"))
        .and_then(|param| param.child("value"))
        .ok_or_else(|| missing("params/param/value", "methodResponse"))?;
    Ok(Ok(to_value(value)?))
}

fn missing(what: &str, parent: &str) -> DecodeError {
    DecodeError(format!("<{parent}> has no <{what}>"))
}

/// One element: its name, child elements and text content.
#[derive(Debug, Default)]
struct Node {
    name: String,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses a whole document into its root element.
fn parse_tree(body: &[u8]) -> Result<Node, DecodeError> {
    let mut reader = Reader::from_reader(body);
    let err = |e: &dyn std::fmt::Display| DecodeError(format!("malformed XML: {e}"));
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|e| err(&e))?;
        match event {
            Event::Start(start) => stack.push(Node {
                name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Event::Empty(start) => {
                let node = Node {
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                attach(&mut stack, &mut root, node);
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| DecodeError("unbalanced end tag".into()))?;
                attach(&mut stack, &mut root, node);
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text.xml_content().map_err(|e| err(&e))?);
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data.decode().map_err(|e| err(&e))?);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| err(&e))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().map_err(|e| err(&e))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| DecodeError(format!("unknown entity &{name};")))?
                            .to_owned()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions and doctypes carry no value.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(DecodeError("the document ends inside an element".into()));
    }
    root.ok_or_else(|| DecodeError("the document is empty".into()))
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    }
}

/// Reads a `<value>` element.
fn to_value(value: &Node) -> Result<Value, DecodeError> {
    let Some(typed) = value.children.first() else {
        // No type element: a string, as bare text.
        return Ok(Value::String(value.text.clone()));
    };
    let text = typed.text.trim();
    let number = |kind: &str| DecodeError(format!("<{kind}> holds `{text}`, not a number"));
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => Value::Int(text.parse().map_err(|_| number(&typed.name))?),
        "boolean" => match text {
            "1" | "true" => Value::Bool(true),
            "0" | "false" => Value::Bool(false),
            _ => return Err(DecodeError(format!("<boolean> holds `{text}`"))),
        },
        "string" => Value::String(typed.text.clone()),
        "double" => Value::Double(text.parse().map_err(|_| number("double"))?),
        // Kept as text: Odoo sends dates as strings anyway.
        "dateTime.iso8601" | "base64" => Value::String(text.to_owned()),
        "nil" => Value::Nil,
        "array" => {
            let data = typed
                .child("data")
                .ok_or_else(|| missing("data", "array"))?;
            Value::Array(
                data.children
                    .iter()
                    .filter(|c| c.name == "value")
                    .map(to_value)
                    .collect::<Result<_, _>>()?,
            )
        }
        "struct" => Value::Struct(
            typed
                .children
                .iter()
                .filter(|c| c.name == "member")
                .map(|member| {
                    let name = member
                        .child("name")
                        .ok_or_else(|| missing("name", "member"))?;
                    let value = member
                        .child("value")
                        .ok_or_else(|| missing("value", "member"))?;
                    Ok((name.text.clone(), to_value(value)?))
                })
                .collect::<Result<_, DecodeError>>()?,
        ),
        other => return Err(DecodeError(format!("unknown value type <{other}>"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(value: &str) -> String {
        format!(
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{value}\n</param>\n</params>\n</methodResponse>\n"
        )
    }

    fn parsed(value: &str) -> Value {
        parse_response(response(value).as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn calls_serialize_every_type_with_escaping() {
        let xml = method_call(
            "execute_kw",
            &[
                Value::Int(7),
                Value::Int(1 << 40),
                Value::Bool(true),
                Value::string("a < b & \"c\" > d\r\n\u{1}é"),
                Value::Double(1.5),
                Value::Array(vec![Value::Nil, Value::Bool(false)]),
                Value::structure([("a&b", Value::Int(-3))]),
            ],
        );
        assert_eq!(
            xml,
            "<?xml version=\"1.0\"?>\n<methodCall><methodName>execute_kw</methodName><params>\
             <param><value><int>7</int></value></param>\
             <param><value><i8>1099511627776</i8></value></param>\
             <param><value><boolean>1</boolean></value></param>\
             <param><value><string>a &lt; b &amp; \"c\" &gt; d&#13;\né</string></value></param>\
             <param><value><double>1.5</double></value></param>\
             <param><value><array><data><value><nil/></value><value><boolean>0</boolean></value></data></array></value></param>\
             <param><value><struct><member><name>a&amp;b</name><value><int>-3</int></value></member></struct></value></param>\
             </params></methodCall>"
        );
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let value = Value::Array(vec![
            Value::string("x & y <z> \r\n é 😀"),
            Value::Int(-(1 << 35)),
            Value::Double(-0.25),
            Value::structure([("k", Value::Array(vec![])), ("n", Value::Nil)]),
        ]);
        let mut xml = String::new();
        value.write_xml(&mut xml);
        assert_eq!(parsed(&xml), value);
    }

    #[test]
    fn odoo_answers_parse_with_every_spelling() {
        assert_eq!(parsed("<value><int>42</int></value>"), Value::Int(42));
        assert_eq!(parsed("<value><i4> 7 </i4></value>"), Value::Int(7));
        assert_eq!(
            parsed("<value><boolean>0</boolean></value>"),
            Value::Bool(false)
        );
        assert_eq!(
            parsed("<value>bare &amp; text&#233;</value>"),
            Value::string("bare & text\u{e9}")
        );
        assert_eq!(parsed("<value><string/></value>"), Value::string(""));
        assert_eq!(parsed("<value></value>"), Value::string(""));
        assert_eq!(parsed("<value><nil/></value>"), Value::Nil);
        assert_eq!(
            parsed("<value><string><![CDATA[<raw>]]></string></value>"),
            Value::string("<raw>")
        );
        let records = parsed(
            "<value><array><data>\n<value><struct>\n\
             <member>\n<name>id</name>\n<value><int>3</int></value>\n</member>\n\
             <member>\n<name>phone</name>\n<value><string>+351 912 345 678</string></value>\n</member>\n\
             <member>\n<name>mobile</name>\n<value><boolean>0</boolean></value>\n</member>\n\
             </struct></value>\n</data></array></value>",
        );
        let first = &records.as_array().unwrap()[0];
        assert_eq!(first.get("id").and_then(Value::as_i64), Some(3));
        assert_eq!(
            first.get("phone").and_then(Value::as_str),
            Some("+351 912 345 678")
        );
        assert!(first.get("mobile").unwrap().is_empty_field());
        assert_eq!(first.get("missing"), None);
    }

    #[test]
    fn faults_carry_int_or_string_codes() {
        let fault = |code: &str| {
            format!(
                "<?xml version='1.0'?><methodResponse><fault><value><struct>\
                 <member><name>faultCode</name><value>{code}</value></member>\
                 <member><name>faultString</name><value><string>Traceback: boom &lt;here&gt;</string></value></member>\
                 </struct></value></fault></methodResponse>"
            )
        };
        assert_eq!(
            parse_response(fault("<int>1</int>").as_bytes()).unwrap(),
            Err(Fault {
                code: FaultCode::Int(1),
                string: "Traceback: boom <here>".into()
            })
        );
        assert_eq!(
            parse_response(fault("<string>warning -- Access Denied</string>").as_bytes())
                .unwrap()
                .unwrap_err()
                .code,
            FaultCode::Text("warning -- Access Denied".into())
        );
    }

    #[test]
    fn malformed_answers_are_decode_errors() {
        for body in [
            "",
            "<html><body>502 Bad Gateway</body></html>",
            "<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
            "<methodResponse><params><param><value><int>1</int></value>",
            "<methodResponse><params></params></methodResponse>",
            "<methodResponse><params><param><value><blob/></value></param></params></methodResponse>",
            "<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
        ] {
            assert!(parse_response(body.as_bytes()).is_err(), "{body}");
        }
    }
}

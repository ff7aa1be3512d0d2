//! Conversions between the domain types and the generated protobuf messages.
//!
//! `*_from_pb` run on messages from the other side, so a malformed value is reported as the
//! field that was wrong rather than trusted.

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};

use super::pb;
use crate::registry::{Kind, SettingDefView};
use crate::types::{
    Change, ChangeAction, ChangeNotice, Origin, ResolveAt, Resolved, Scope, ScopeKind,
};

pub fn scope_to_pb(scope: Scope) -> pb::Scope {
    pb::Scope {
        kind: scope.kind().as_str().to_owned(),
        tenant_id: scope.tenant_id().map(|t| t.to_string()),
        installation_id: scope.installation_id().map(|i| i.to_string()),
    }
}

pub fn scope_from_pb(scope: Option<pb::Scope>) -> Result<Scope> {
    let scope = scope.ok_or_else(|| Error::invalid("scope", "required"))?;
    Scope::from_parts(
        ScopeKind::parse("scope.kind", &scope.kind)?,
        scope
            .tenant_id
            .as_deref()
            .map(|t| parse_id("scope.tenant_id", t))
            .transpose()?,
        scope
            .installation_id
            .as_deref()
            .map(|i| parse_id("scope.installation_id", i))
            .transpose()?,
    )
}

pub fn at_from_pb(tenant_id: Option<&str>, installation_id: Option<&str>) -> Result<ResolveAt> {
    Ok(ResolveAt {
        tenant_id: tenant_id.map(|t| parse_id("tenant_id", t)).transpose()?,
        installation_id: installation_id
            .map(|i| parse_id("installation_id", i))
            .transpose()?,
    })
}

pub fn json_to_pb(value: &serde_json::Value) -> String {
    value.to_string()
}

pub fn json_from_pb(field: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            field,
            format!("not JSON ({e}); send e.g. `2000`, `true` or `\"text\"`"),
        )
    })
}

pub fn resolved_to_pb(r: Resolved) -> pb::Resolved {
    pb::Resolved {
        key: r.key,
        value_json: json_to_pb(&r.value),
        from: r.from.as_str().to_owned(),
        version: r.version,
        masked: r.masked,
    }
}

pub fn resolved_from_pb(r: pb::Resolved) -> Result<Resolved> {
    Ok(Resolved {
        value: json_from_pb("value_json", &r.value_json)?,
        from: Origin::parse("from", &r.from)?,
        key: r.key,
        version: r.version,
        masked: r.masked,
    })
}

pub fn change_to_pb(c: Change) -> pb::Change {
    pb::Change {
        version: c.version,
        key: c.key,
        scope: Some(scope_to_pb(c.scope)),
        action: c.action.as_str().to_owned(),
        value_json: c.value.as_ref().map(json_to_pb),
        previous_json: c.previous.as_ref().map(json_to_pb),
        masked: c.masked,
        rolled_back_to: c.rolled_back_to,
        actor: c.actor,
        correlation_id: c.correlation_id,
        at_ms: to_millis(c.at),
    }
}

pub fn change_from_pb(c: pb::Change) -> Result<Change> {
    Ok(Change {
        version: c.version,
        scope: scope_from_pb(c.scope)?,
        action: ChangeAction::parse(&c.action)?,
        value: c
            .value_json
            .as_deref()
            .map(|v| json_from_pb("value_json", v))
            .transpose()?,
        previous: c
            .previous_json
            .as_deref()
            .map(|v| json_from_pb("previous_json", v))
            .transpose()?,
        key: c.key,
        masked: c.masked,
        rolled_back_to: c.rolled_back_to,
        actor: c.actor,
        correlation_id: c.correlation_id,
        at: from_millis(c.at_ms)?,
    })
}

pub fn notice_to_pb(n: ChangeNotice) -> pb::ChangeNotice {
    pb::ChangeNotice {
        version: n.version,
        key: n.key,
        scope: Some(scope_to_pb(n.scope)),
    }
}

pub fn notice_from_pb(n: pb::ChangeNotice) -> Result<ChangeNotice> {
    Ok(ChangeNotice {
        version: n.version,
        scope: scope_from_pb(n.scope)?,
        key: n.key,
    })
}

pub fn def_to_pb(d: SettingDefView) -> pb::SettingDef {
    let (min, max, max_len) = match d.kind {
        Kind::Integer { min, max } => (Some(min), Some(max), None),
        Kind::String { max_len } => (None, None, Some(max_len)),
        Kind::Secret => (None, None, Some(crate::SECRET_MAX_LEN)),
        Kind::Bool => (None, None, None),
    };
    pb::SettingDef {
        key: d.key,
        kind: d.kind.as_str().to_owned(),
        min,
        max,
        max_len,
        default_json: d.default.as_ref().map(json_to_pb),
        scopes: d.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        description: d.description,
        tenant_writable: d.tenant_writable,
    }
}

pub fn def_from_pb(d: pb::SettingDef) -> Result<SettingDefView> {
    let bound = |v: Option<i64>, name: &str| {
        v.ok_or_else(|| Error::internal_msg(format!("config hub sent an integer without {name}")))
    };
    let kind = match d.kind.as_str() {
        "integer" => Kind::Integer {
            min: bound(d.min, "min")?,
            max: bound(d.max, "max")?,
        },
        "bool" => Kind::Bool,
        "string" => Kind::String {
            max_len: d.max_len.unwrap_or_default(),
        },
        "secret" => Kind::Secret,
        other => {
            return Err(Error::internal_msg(format!(
                "config hub sent unknown kind `{other}`"
            )));
        }
    };
    Ok(SettingDefView {
        kind,
        default: d
            .default_json
            .as_deref()
            .map(|v| json_from_pb("default_json", v))
            .transpose()?,
        scopes: d
            .scopes
            .iter()
            .map(|s| ScopeKind::parse("scopes", s))
            .collect::<Result<_>>()?,
        key: d.key,
        description: d.description,
        tenant_writable: d.tenant_writable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BUILTIN;

    #[test]
    fn definitions_and_changes_survive_the_wire() {
        for def in BUILTIN {
            let view = def.view();
            assert_eq!(def_from_pb(def_to_pb(view.clone())).unwrap(), view);
        }
        let change = Change {
            version: 7,
            key: "webhook.signing_secret".into(),
            scope: Scope::Installation {
                tenant_id: nave_hub_core::ids::new_id(),
                installation_id: nave_hub_core::ids::new_id(),
            },
            action: ChangeAction::Rollback,
            value: Some(crate::MASK.into()),
            previous: None,
            masked: true,
            rolled_back_to: Some(3),
            actor: "system".into(),
            correlation_id: "c".into(),
            at: from_millis(1_700_000_000_000).unwrap(),
        };
        assert_eq!(
            change_from_pb(change_to_pb(change.clone())).unwrap(),
            change
        );
    }

    #[test]
    fn malformed_scopes_and_values_name_the_field() {
        let err = scope_from_pb(Some(pb::Scope {
            kind: "tenant".into(),
            tenant_id: None,
            installation_id: None,
        }))
        .unwrap_err();
        assert_eq!(err.fields()[0].field, "scope");
        let err = json_from_pb("value", "2000ms").unwrap_err();
        assert_eq!(err.fields()[0].field, "value");
        assert!(scope_from_pb(None).is_err());
    }
}

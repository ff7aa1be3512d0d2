//! Checking a [`Snapshot`] before it is imported, and its canonical form and digest.
//!
//! Every problem is collected with the path of the field at fault (`plans[2].code`,
//! `tenants[0].plan`), so the billing system's operators can fix a snapshot in one round.

use std::collections::{HashMap, HashSet};

use nave_hub_core::{Error, FieldViolation, Result};
use sha2::{Digest, Sha256};

use crate::types::{AppsAllowed, Snapshot};

/// The longest plan name and app name accepted.
const MAX_NAME: usize = 200;

/// Fails with every problem of `snapshot` at once, or succeeds when it can be imported as is.
pub fn validate(snapshot: &Snapshot) -> Result<()> {
    let mut problems = Vec::new();
    let mut bad = |field: String, message: String| problems.push(FieldViolation { field, message });
    let mut codes: HashMap<&str, usize> = HashMap::new();
    for (i, plan) in snapshot.plans.iter().enumerate() {
        if !is_code(&plan.code) {
            bad(
                format!("plans[{i}].code"),
                format!(
                    "`{}` is not a plan code: use 1 to 64 of a-z, 0-9, `_` and `-`",
                    plan.code
                ),
            );
        } else if let Some(first) = codes.insert(&plan.code, i) {
            codes.insert(&plan.code, first);
            bad(
                format!("plans[{i}].code"),
                format!("`{}` is already the code of plans[{first}]", plan.code),
            );
        }
        let name_len = plan.name.trim().chars().count();
        if name_len == 0 || name_len > MAX_NAME {
            bad(
                format!("plans[{i}].name"),
                format!("use 1 to {MAX_NAME} characters"),
            );
        }
        if let Some(n) = plan.entitlements.messages_per_period
            && i64::try_from(n).is_err()
        {
            bad(
                format!("plans[{i}].entitlements.messages_per_period"),
                format!("{n} is too large: leave it out for unlimited"),
            );
        }
        if let AppsAllowed::Only(apps) = &plan.entitlements.apps {
            let mut seen = HashSet::new();
            for (j, app) in apps.iter().enumerate() {
                let field = format!("plans[{i}].entitlements.apps[{j}]");
                if app.trim().is_empty() || app.chars().count() > MAX_NAME || app.trim() != app {
                    bad(
                        field,
                        format!(
                            "use an app name of 1 to {MAX_NAME} characters without surrounding spaces"
                        ),
                    );
                } else if !seen.insert(app.as_str()) {
                    bad(field, format!("`{app}` is listed twice"));
                }
            }
        }
    }
    let mut tenants: HashMap<uuid::Uuid, usize> = HashMap::new();
    for (i, tenant) in snapshot.tenants.iter().enumerate() {
        if let Some(first) = tenants.insert(tenant.tenant_id, i) {
            tenants.insert(tenant.tenant_id, first);
            bad(
                format!("tenants[{i}].tenant_id"),
                format!(
                    "tenant {} already has a plan in tenants[{first}]",
                    tenant.tenant_id
                ),
            );
        }
        if !codes.contains_key(tenant.plan.as_str()) {
            bad(
                format!("tenants[{i}].plan"),
                format!(
                    "unknown plan `{}`: use the code of a plan in this snapshot",
                    tenant.plan
                ),
            );
        }
        if !(1..=28).contains(&tenant.period_anchor_day) {
            bad(
                format!("tenants[{i}].period_anchor_day"),
                format!(
                    "{} is out of range: use a day from 1 to 28",
                    tenant.period_anchor_day
                ),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(problems))
    }
}

/// 1–64 of `a-z`, `0-9`, `_`, `-`.
fn is_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The snapshot in its canonical order: plans by code, tenants by id, app lists sorted. Two
/// snapshots that say the same thing have the same canonical form, hence the same digest.
pub fn canonical(mut snapshot: Snapshot) -> Snapshot {
    snapshot.plans.sort_by(|a, b| a.code.cmp(&b.code));
    for plan in &mut snapshot.plans {
        if let AppsAllowed::Only(apps) = &mut plan.entitlements.apps {
            apps.sort();
        }
    }
    snapshot.tenants.sort_by_key(|t| t.tenant_id);
    snapshot
}

/// SHA-256 (hex) of the JSON of a canonical snapshot.
pub fn digest(canonical: &Snapshot) -> Result<String> {
    let json = serde_json::to_vec(canonical).map_err(Error::internal)?;
    Ok(hex::encode(Sha256::digest(&json)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Entitlements, Plan, TenantPlan};

    fn plan(code: &str, apps: AppsAllowed) -> Plan {
        Plan {
            code: code.into(),
            name: "A plan".into(),
            entitlements: Entitlements {
                messages_per_period: Some(10),
                installations: None,
                apps,
            },
        }
    }

    #[test]
    fn codes() {
        for good in ["free", "pro-2026", "a", "x_y", &"a".repeat(64)] {
            assert!(is_code(good), "{good}");
        }
        for bad in ["", "Free", "pro plan", "é", &"a".repeat(65)] {
            assert!(!is_code(bad), "{bad}");
        }
    }

    #[test]
    fn order_does_not_change_the_digest() {
        let t1 = nave_hub_core::ids::new_id();
        let t2 = nave_hub_core::ids::new_id();
        let tenant = |id, plan: &str| TenantPlan {
            tenant_id: id,
            plan: plan.into(),
            period_anchor_day: 1,
        };
        let a = Snapshot {
            plans: vec![
                plan("free", AppsAllowed::Only(vec!["b".into(), "a".into()])),
                plan("pro", AppsAllowed::All),
            ],
            tenants: vec![tenant(t1, "free"), tenant(t2, "pro")],
        };
        let b = Snapshot {
            plans: vec![
                plan("pro", AppsAllowed::All),
                plan("free", AppsAllowed::Only(vec!["a".into(), "b".into()])),
            ],
            tenants: vec![tenant(t2, "pro"), tenant(t1, "free")],
        };
        assert_eq!(
            digest(&canonical(a.clone())).unwrap(),
            digest(&canonical(b)).unwrap()
        );
        let mut c = a.clone();
        c.tenants[0].plan = "pro".into();
        assert_ne!(
            digest(&canonical(a)).unwrap(),
            digest(&canonical(c)).unwrap()
        );
    }
}

//! Conversions between the domain types and the generated protobuf messages.

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, FieldViolation, Result};

use super::pb;
use crate::types::{
    AppsAllowed, Entitlements, ImportReport, Metric, Plan, Snapshot, TenantBilling, TenantPlan,
    Usage,
};

pub fn metric(value: &str) -> Result<Metric> {
    value.parse()
}

pub fn plan_to_pb(p: Plan) -> pb::Plan {
    let e = p.entitlements;
    let (all_apps, apps) = match e.apps {
        AppsAllowed::All => (true, Vec::new()),
        AppsAllowed::Only(apps) => (false, apps),
    };
    pb::Plan {
        code: p.code,
        name: p.name,
        entitlements: Some(pb::Entitlements {
            messages_per_period: e.messages_per_period,
            installations: e.installations,
            all_apps,
            apps,
        }),
    }
}

fn entitlements_from_pb(e: pb::Entitlements) -> Entitlements {
    Entitlements {
        messages_per_period: e.messages_per_period,
        installations: e.installations,
        apps: if e.all_apps {
            AppsAllowed::All
        } else {
            AppsAllowed::Only(e.apps)
        },
    }
}

/// A plan received from the hub (its entitlements are always sent).
pub fn plan_from_pb(p: pb::Plan) -> Result<Plan> {
    let e = p.entitlements.ok_or_else(|| {
        Error::internal_msg(format!(
            "billing hub sent plan `{}` without entitlements",
            p.code
        ))
    })?;
    Ok(Plan {
        code: p.code,
        name: p.name,
        entitlements: entitlements_from_pb(e),
    })
}

pub fn snapshot_to_pb(s: Snapshot) -> pb::Snapshot {
    pb::Snapshot {
        plans: s.plans.into_iter().map(plan_to_pb).collect(),
        tenants: s
            .tenants
            .into_iter()
            .map(|t| pb::TenantPlan {
                tenant_id: t.tenant_id.to_string(),
                plan: t.plan,
                period_anchor_day: u32::from(t.period_anchor_day),
            })
            .collect(),
    }
}

/// A snapshot sent by a client; what cannot even be read (a missing entitlements message, a
/// tenant id that is no uuid) is reported for every field at once, with its path.
pub fn snapshot_from_pb(s: pb::Snapshot) -> Result<Snapshot> {
    let mut problems = Vec::new();
    let mut plans = Vec::with_capacity(s.plans.len());
    for (i, p) in s.plans.into_iter().enumerate() {
        match p.entitlements {
            Some(e) => plans.push(Plan {
                code: p.code,
                name: p.name,
                entitlements: entitlements_from_pb(e),
            }),
            None => problems.push(FieldViolation {
                field: format!("plans[{i}].entitlements"),
                message: "send the plan's entitlements".into(),
            }),
        }
    }
    let mut tenants = Vec::with_capacity(s.tenants.len());
    for (i, t) in s.tenants.into_iter().enumerate() {
        let field = format!("tenants[{i}].tenant_id");
        match parse_id(&field, &t.tenant_id) {
            Ok(tenant_id) => tenants.push(TenantPlan {
                tenant_id,
                plan: t.plan,
                // Out-of-range days stay out of range, for the hub to report.
                period_anchor_day: u8::try_from(t.period_anchor_day).unwrap_or(u8::MAX),
            }),
            Err(e) => problems.extend(e.fields().iter().cloned()),
        }
    }
    if problems.is_empty() {
        Ok(Snapshot { plans, tenants })
    } else {
        Err(Error::invalid_fields(problems))
    }
}

pub fn report_to_pb(r: ImportReport) -> pb::ImportReport {
    pb::ImportReport {
        digest: r.digest,
        changed: r.changed,
        plans: r.plans as u64,
        tenants: r.tenants as u64,
    }
}

pub fn report_from_pb(r: pb::ImportReport) -> Result<ImportReport> {
    let count = |n: u64| {
        usize::try_from(n).map_err(|_| Error::internal_msg("billing hub sent a huge count"))
    };
    Ok(ImportReport {
        digest: r.digest,
        changed: r.changed,
        plans: count(r.plans)?,
        tenants: count(r.tenants)?,
    })
}

pub fn usage_to_pb(u: Usage) -> pb::Usage {
    pb::Usage {
        metric: u.metric.as_str().to_owned(),
        used: u.used,
        limit: u.limit,
        period_start_ms: to_millis(u.period_start),
        period_end_ms: to_millis(u.period_end),
    }
}

pub fn usage_from_pb(u: pb::Usage) -> Result<Usage> {
    Ok(Usage {
        metric: metric(&u.metric)?,
        used: u.used,
        limit: u.limit,
        period_start: from_millis(u.period_start_ms)?,
        period_end: from_millis(u.period_end_ms)?,
    })
}

pub fn billing_to_pb(b: TenantBilling) -> pb::TenantBillingInfo {
    pb::TenantBillingInfo {
        tenant_id: b.tenant_id.to_string(),
        plan: Some(plan_to_pb(b.plan)),
        period_start_ms: to_millis(b.period_start),
        period_end_ms: to_millis(b.period_end),
        usage: b.usage.into_iter().map(usage_to_pb).collect(),
    }
}

pub fn billing_from_pb(b: pb::TenantBillingInfo) -> Result<TenantBilling> {
    let plan = b
        .plan
        .ok_or_else(|| Error::internal_msg("billing hub sent tenant billing without a plan"))?;
    Ok(TenantBilling {
        tenant_id: parse_id("tenant_id", &b.tenant_id)?,
        plan: plan_from_pb(plan)?,
        period_start: from_millis(b.period_start_ms)?,
        period_end: from_millis(b.period_end_ms)?,
        usage: b
            .usage
            .into_iter()
            .map(usage_from_pb)
            .collect::<Result<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_snapshot_fields_are_all_reported() {
        let good = pb::Plan {
            code: "pro".into(),
            name: "Pro".into(),
            entitlements: Some(pb::Entitlements {
                messages_per_period: None,
                installations: Some(3),
                all_apps: true,
                apps: Vec::new(),
            }),
        };
        let broken = pb::Snapshot {
            plans: vec![
                good.clone(),
                pb::Plan {
                    entitlements: None,
                    ..good.clone()
                },
            ],
            tenants: vec![pb::TenantPlan {
                tenant_id: "not-a-uuid".into(),
                plan: "pro".into(),
                period_anchor_day: 300,
            }],
        };
        let err = snapshot_from_pb(broken).unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["plans[1].entitlements", "tenants[0].tenant_id"]);

        let snapshot = Snapshot {
            plans: vec![plan_from_pb(good).unwrap()],
            tenants: vec![TenantPlan {
                tenant_id: nave_hub_core::ids::new_id(),
                plan: "pro".into(),
                period_anchor_day: 15,
            }],
        };
        assert_eq!(
            snapshot_from_pb(snapshot_to_pb(snapshot.clone())).unwrap(),
            snapshot
        );
    }
}

//! Account names of the ledger.
//!
//! Each tenant has two accounts, `tenant:<id>:available` and `tenant:<id>:held`, which never go
//! below zero. The platform's accounts are the other side of every movement and may go negative:
//! `platform:funding` is where top-ups come from, `platform:promotions` where gifts come from.

use uuid::Uuid;

/// Where charges go.
pub const REVENUE: &str = "platform:revenue";
/// Where promotional credits come from.
pub const PROMOTIONS: &str = "platform:promotions";
/// Where top-ups come from (money paid in from outside the ledger).
pub const FUNDING: &str = "platform:funding";
/// The prefix of every tenant account; only those are constrained to ≥ 0.
pub const TENANT_PREFIX: &str = "tenant:";

/// A tenant's spendable money.
pub fn available(tenant_id: Uuid) -> String {
    format!("{TENANT_PREFIX}{tenant_id}:available")
}

/// A tenant's money reserved by open holds.
pub fn held(tenant_id: Uuid) -> String {
    format!("{TENANT_PREFIX}{tenant_id}:held")
}

/// Whether `account` belongs to a tenant (and so may never go negative).
pub fn is_tenant(account: &str) -> bool {
    account.starts_with(TENANT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tenant_accounts_are_constrained() {
        let tenant = nave_hub_core::ids::new_id();
        assert!(is_tenant(&available(tenant)) && is_tenant(&held(tenant)));
        assert!(![REVENUE, PROMOTIONS, FUNDING].into_iter().any(is_tenant));
        // Name order is lock order: platform accounts first, then a tenant's available, held.
        assert!(FUNDING < available(tenant).as_str() && available(tenant) < held(tenant));
    }
}

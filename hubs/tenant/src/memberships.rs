//! [`TenantMemberships`]: the identity hub's [`Memberships`] hook backed by any [`TenantApi`]
//! (local or gRPC), so the identity REST routes learn users' tenant roles from this hub.

use std::sync::Arc;

use async_trait::async_trait;
use nave_hub_core::{AuthContext, Result, Role};
use nave_identity::Memberships;
use uuid::Uuid;

use crate::api::TenantApi;

/// Answers [`Memberships::role_of`] by asking a tenant hub, as the platform itself.
#[derive(Clone)]
pub struct TenantMemberships {
    /// The tenant hub asked.
    api: Arc<dyn TenantApi>,
}

impl TenantMemberships {
    /// Wraps a tenant hub.
    pub fn new(api: Arc<dyn TenantApi>) -> Self {
        Self { api }
    }
}

#[async_trait]
impl Memberships for TenantMemberships {
    async fn role_of(&self, user_id: Uuid, tenant_id: Uuid) -> Result<Option<Role>> {
        self.api
            .role_of(&AuthContext::system(), user_id, tenant_id)
            .await
    }
}

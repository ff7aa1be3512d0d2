//! What the message hub needs from the spoke runtime, as a trait the host implements: the
//! hub decides and keeps state, the host runs the spokes.

use async_trait::async_trait;
use uuid::Uuid;

use crate::types::{ChannelMessage, Enrichment, Reply};

/// The role of an installed spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpokeRole {
    /// A messaging platform.
    Channel,
    /// A conversational engine.
    Bot,
    /// Enriches messages.
    Processor,
}

impl SpokeRole {
    /// `channel`, `bot` or `processor`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpokeRole::Channel => "channel",
            SpokeRole::Bot => "bot",
            SpokeRole::Processor => "processor",
        }
    }
}

/// What the hub needs to know of an installation.
#[derive(Debug, Clone)]
pub struct InstalledSpoke {
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Its role.
    pub role: SpokeRole,
    /// The spoke's name, e.g. `botpress`.
    pub name: String,
}

/// Why a spoke call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokeFailure {
    /// A machine-readable code, e.g. `upstream`, `spoke_timeout`, `installation_not_found`.
    pub code: String,
    /// What happened, for people.
    pub message: String,
    /// Whether the same call may succeed later (an outage, a timeout, a rate limit).
    pub retryable: bool,
}

impl std::fmt::Display for SpokeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Runs spokes for the hub. Every call runs as the given installation, with its limits.
#[async_trait]
pub trait Spokes: Send + Sync + 'static {
    /// The installation, or none when it does not exist (any more).
    fn installation(&self, id: Uuid) -> Option<InstalledSpoke>;

    /// A processor's `process`.
    async fn process(
        &self,
        installation: Uuid,
        correlation_id: &str,
        message: &ChannelMessage,
    ) -> Result<Enrichment, SpokeFailure>;

    /// A bot's `converse`.
    async fn converse(
        &self,
        installation: Uuid,
        correlation_id: &str,
        message: &ChannelMessage,
    ) -> Result<Vec<Reply>, SpokeFailure>;

    /// A channel's `deliver`; the ids the platform gave the message.
    async fn deliver(
        &self,
        installation: Uuid,
        correlation_id: &str,
        reply: &Reply,
    ) -> Result<Vec<String>, SpokeFailure>;
}

/// The price of processing one message for a tenant, in the wallet's minor units (0: free).
#[async_trait]
pub trait Tariff: Send + Sync + 'static {
    /// The cost of one message for the tenant.
    async fn message_cost(&self, tenant_id: Uuid) -> i64;
}

/// A fixed price for every tenant.
#[derive(Debug, Clone, Copy)]
pub struct FixedTariff(pub i64);

#[async_trait]
impl Tariff for FixedTariff {
    async fn message_cost(&self, _tenant_id: Uuid) -> i64 {
        self.0
    }
}

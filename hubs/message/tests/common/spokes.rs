//! In-memory spokes for the hub tests: a channel that records what it delivered and fails when
//! told to, a bot that answers `echo: TEXT`, and a processor that learns a phone number.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use nave_message::{
    ChannelMessage, Enrichment, InstalledSpoke, Reply, SpokeFailure, SpokeRole, Spokes,
};
use uuid::Uuid;

/// How a spoke call with a given text fails.
#[derive(Debug, Clone, Copy)]
pub enum Failing {
    /// Retryably, this many more times, then it succeeds.
    Times(u32),
    /// Retryably, every time.
    Always,
    /// For good (not retryable).
    ForGood,
}

/// The phone number the test processor finds in every message.
pub const PHONE: &str = "+15550100";

/// Installations and their behaviour, all in memory.
#[derive(Default)]
pub struct TestSpokes {
    installations: Mutex<HashMap<Uuid, InstalledSpoke>>,
    /// Replies each channel accepted, in delivery order.
    delivered: Mutex<Vec<(Uuid, Reply)>>,
    /// Calls (deliveries by reply text, bot turns by inbound text) that fail.
    failures: Mutex<HashMap<String, Failing>>,
    /// Messages each bot was asked about, by text.
    conversed: Mutex<Vec<String>>,
}

impl TestSpokes {
    /// Installs a spoke for `tenant`; returns its installation id.
    pub fn install(&self, tenant: Uuid, role: SpokeRole, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.installations.lock().unwrap().insert(
            id,
            InstalledSpoke {
                tenant_id: tenant,
                role,
                name: name.into(),
            },
        );
        id
    }

    /// Makes calls about `text` fail (a reply's text for `deliver`, an inbound text for the bot).
    pub fn fail(&self, text: &str, how: Failing) {
        self.failures.lock().unwrap().insert(text.into(), how);
    }

    /// Lets calls about `text` succeed again.
    pub fn heal(&self, text: &str) {
        self.failures.lock().unwrap().remove(text);
    }

    /// The texts a channel installation delivered, in order.
    pub fn delivered_by(&self, channel: Uuid) -> Vec<String> {
        self.delivered
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| *c == channel)
            .map(|(_, r)| r.text.clone().unwrap_or_default())
            .collect()
    }

    /// Every delivered reply with its channel.
    pub fn delivered(&self) -> Vec<(Uuid, Reply)> {
        self.delivered.lock().unwrap().clone()
    }

    /// The inbound texts bots were asked about.
    pub fn conversed(&self) -> Vec<String> {
        self.conversed.lock().unwrap().clone()
    }

    fn check(&self, text: &str) -> Result<(), SpokeFailure> {
        let mut failures = self.failures.lock().unwrap();
        let failure = |retryable| SpokeFailure {
            code: "upstream".into(),
            message: format!("told to fail on `{text}`"),
            retryable,
        };
        match failures.get_mut(text) {
            None => Ok(()),
            Some(Failing::Always) => Err(failure(true)),
            Some(Failing::ForGood) => Err(failure(false)),
            Some(Failing::Times(0)) => {
                failures.remove(text);
                Ok(())
            }
            Some(Failing::Times(n)) => {
                *n -= 1;
                Err(failure(true))
            }
        }
    }

    fn role(&self, id: Uuid, role: SpokeRole) -> Result<(), SpokeFailure> {
        match self.installation(id) {
            Some(s) if s.role == role => Ok(()),
            _ => Err(SpokeFailure {
                code: "installation_not_found".into(),
                message: format!("no {} installation {id}", role.as_str()),
                retryable: false,
            }),
        }
    }
}

#[async_trait]
impl Spokes for TestSpokes {
    fn installation(&self, id: Uuid) -> Option<InstalledSpoke> {
        self.installations.lock().unwrap().get(&id).cloned()
    }

    async fn process(
        &self,
        installation: Uuid,
        _correlation_id: &str,
        _message: &ChannelMessage,
    ) -> Result<Enrichment, SpokeFailure> {
        self.role(installation, SpokeRole::Processor)?;
        Ok(Enrichment {
            contact_fields: vec![("phone".into(), PHONE.into())],
            ..Default::default()
        })
    }

    async fn converse(
        &self,
        installation: Uuid,
        _correlation_id: &str,
        message: &ChannelMessage,
    ) -> Result<Vec<Reply>, SpokeFailure> {
        self.role(installation, SpokeRole::Bot)?;
        let text = message.text.clone().unwrap_or_default();
        self.check(&text)?;
        self.conversed.lock().unwrap().push(text.clone());
        Ok(vec![Reply {
            text: Some(format!("echo: {text}")),
            ..Default::default()
        }])
    }

    async fn deliver(
        &self,
        installation: Uuid,
        _correlation_id: &str,
        reply: &Reply,
    ) -> Result<Vec<String>, SpokeFailure> {
        self.role(installation, SpokeRole::Channel)?;
        self.check(reply.text.as_deref().unwrap_or_default())?;
        let mut delivered = self.delivered.lock().unwrap();
        delivered.push((installation, reply.clone()));
        Ok(vec![format!("mid.{}", delivered.len())])
    }
}

//! The single decision point: works through each conversation's messages in order.
//!
//! Every conversation with pending work gets at most one worker at a time (so its messages are
//! routed, processed, answered and delivered in arrival order), and at most
//! [`EngineConfig::concurrency`] conversations are worked on at once. Work is driven by the
//! database, not by memory: a worker always takes the oldest pending message of its
//! conversation, so a restart (or a lost wake-up) loses nothing; [`Engine::recover`] wakes every
//! conversation with pending work at start-up.
//!
//! An inbound message goes through: routing (the tenant's first matching rule) → the plan's
//! message quota (billing) → a hold of the message's cost (wallet) → the rule's processors in
//! order → the bot (unless people hold the conversation) → its replies queued, the hold
//! captured. A step that fails in a way that may pass (an outage, a timeout) is retried with
//! exponential back-off and jitter, without redoing finished steps ([`Progress`]); after
//! [`EngineConfig::max_attempts`] the message is dead: the hold is released, the count given
//! back, and the message waits in the dead letters for a replay. Replies are delivered through
//! the channel's `deliver` with the same retry and dead-letter rules.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nave_billing::{BillingApi, Metric};
use nave_hub_core::{AuthContext, Clock, Error, Result, Role};
use nave_user::{
    ActivityRecorder, ChannelIdentity, ContactProfile, Direction, MessageActivity, UserApi,
};
use nave_wallet::{NewHold, WalletApi};
use rand::Rng;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::rules::CompiledRules;
use crate::spokes::{Spokes, Tariff};
use crate::store::{MessageRow, MessageStore, NewOutbound, Outcome, Progress};
use crate::types::{ChannelMessage, Conversation, ConversationMode, MessageStatus, Reply};

/// Pending messages of a conversation read at once.
const PREFETCH: u32 = 16;

/// How the engine works.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Conversations worked on at once.
    pub concurrency: usize,
    /// The first retry waits up to this long; each further one doubles it.
    pub retry_base: Duration,
    /// No retry waits longer than this.
    pub retry_max: Duration,
    /// Attempts at a step before the message is dead.
    pub max_attempts: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 64,
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Inbound messages processed.
    pub processed: AtomicU64,
    /// Inbound messages refused (plan or wallet).
    pub refused: AtomicU64,
    /// Replies delivered.
    pub delivered: AtomicU64,
    /// Steps scheduled for a retry.
    pub retries: AtomicU64,
    /// Messages that went dead.
    pub dead: AtomicU64,
}

/// The other hubs the engine calls, through their `Api` traits.
#[derive(Clone)]
pub struct Peers {
    /// Entitlements and usage.
    pub billing: Arc<dyn BillingApi>,
    /// Message costs.
    pub wallet: Arc<dyn WalletApi>,
    /// Contacts.
    pub users: Arc<dyn UserApi>,
    /// Prices.
    pub tariff: Arc<dyn Tariff>,
}

/// The pipeline and its workers.
pub struct Engine {
    store: MessageStore,
    spokes: Arc<dyn Spokes>,
    peers: Peers,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Compiled rules per tenant; dropped when the tenant saves new ones.
    rules: Mutex<HashMap<Uuid, Arc<CompiledRules>>>,
    /// Conversations with a worker, and whether new work arrived while it ran.
    active: Mutex<HashMap<Uuid, bool>>,
    permits: Arc<Semaphore>,
    /// Counts delivered replies on their contacts, in batches.
    activity: ActivityRecorder,
    /// Set by [`Engine::stop`]: no new work starts.
    stopped: std::sync::atomic::AtomicBool,
    /// Counters for `/metrics`.
    pub stats: EngineStats,
}

/// What a step decided.
enum Step {
    /// Record this outcome (with replies to queue and a mode to set).
    Settle {
        outcome: Outcome,
        replies: Vec<NewOutbound>,
        mode: Option<ConversationMode>,
    },
    /// A retryable failure.
    Failed(String),
    /// A failure that will not pass.
    Fatal(String),
    /// Done and already recorded.
    Done,
}

impl Engine {
    /// An engine over the hub's store. Call it on a tokio runtime: it starts the task that
    /// counts replies on their contacts.
    pub fn new(
        store: MessageStore,
        spokes: Arc<dyn Spokes>,
        peers: Peers,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Arc<Self> {
        Arc::new(Engine {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            activity: ActivityRecorder::spawn(peers.users.clone()),
            store,
            spokes,
            peers,
            clock,
            config,
            rules: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
            stopped: std::sync::atomic::AtomicBool::new(false),
            stats: EngineStats::default(),
        })
    }

    /// Wakes every conversation with pending work (at start-up).
    pub async fn recover(self: &Arc<Self>) -> Result<usize> {
        let pending = self.store.pending_conversations().await?;
        for conversation in &pending {
            self.kick(*conversation);
        }
        Ok(pending.len())
    }

    /// Forgets a tenant's compiled rules, after they changed.
    pub fn rules_changed(&self, tenant: Uuid) {
        self.rules.lock().expect("rules lock").remove(&tenant);
    }

    /// Stops taking work: workers finish the step they are on and start no other. What is left
    /// stays pending in the database for the next start.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Makes sure a worker looks at the conversation soon.
    pub fn kick(self: &Arc<Self>, conversation: Uuid) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        {
            let mut active = self.active.lock().expect("active lock");
            if let Some(dirty) = active.get_mut(&conversation) {
                *dirty = true;
                return;
            }
            active.insert(conversation, false);
        }
        let engine = self.clone();
        tokio::spawn(async move { engine.drain(conversation).await });
    }

    fn kick_at(self: &Arc<Self>, conversation: Uuid, at_ms: i64) {
        let wait = (at_ms - self.clock.now_ms()).max(0) as u64;
        let engine = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            engine.kick(conversation);
        });
    }

    /// Works through a conversation until nothing is due.
    ///
    /// Pending messages are read [`PREFETCH`] at a time, oldest first. A step that is to be
    /// retried drops what was read, so the next read finds that message at the head again.
    async fn drain(self: Arc<Self>, conversation: Uuid) {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else {
            return;
        };
        // The conversation as last read, for what never changes (its tenant, channel, person).
        let mut known: Option<Conversation> = None;
        let mut ahead: VecDeque<MessageRow> = VecDeque::new();
        // The conversation read with `ahead`, for the first inbound message read with it.
        let mut fresh: Option<Conversation> = None;
        // The last read was full: more may be pending behind it, kicked or not.
        let mut more = false;
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                self.release(conversation);
                return;
            }
            if ahead.is_empty() {
                // Anything stored after this read wakes the conversation again (`kick`).
                self.active
                    .lock()
                    .expect("active lock")
                    .insert(conversation, false);
                match self.store.pending(conversation, PREFETCH).await {
                    Ok((read, rows)) => {
                        fresh = read;
                        more = rows.len() >= PREFETCH as usize;
                        ahead.extend(rows);
                    }
                    Err(error) => {
                        tracing::warn!(%error, %conversation, "reading a conversation's work failed; trying again in a second");
                        self.release(conversation);
                        self.kick_at(conversation, self.clock.now_ms() + 1000);
                        return;
                    }
                }
            }
            let Some(row) = ahead.pop_front() else {
                let mut active = self.active.lock().expect("active lock");
                match active.get_mut(&conversation) {
                    Some(dirty) if *dirty => {
                        *dirty = false;
                        continue;
                    }
                    _ => {
                        active.remove(&conversation);
                        return;
                    }
                }
            };
            if let Some(at) = row.next_attempt_at_ms
                && row.status == "retrying"
                && at > self.clock.now_ms()
            {
                // The head of the line waits; so does everything behind it (order).
                self.release(conversation);
                self.kick_at(conversation, at);
                return;
            }
            // An inbound message works on the conversation read with it, if it is the first
            // since that read, else on one read anew: people may have taken it meanwhile.
            let read = fresh.take();
            if row.direction == "in" || known.is_none() {
                known = read;
            }
            match self.work(&row, &mut known, &mut ahead).await {
                Ok(true) => {}
                Ok(false) => {
                    ahead.clear();
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, message = %row.id, "recording a message's progress failed; trying again in a second");
                    self.release(conversation);
                    self.kick_at(conversation, self.clock.now_ms() + 1000);
                    return;
                }
            }
            if !ahead.is_empty() {
                continue;
            }
            // Everything read (and every reply queued meanwhile) is done: read again if the
            // read was full or something new was stored since.
            let mut active = self.active.lock().expect("active lock");
            match active.get_mut(&conversation) {
                Some(dirty) if *dirty || more => *dirty = false,
                _ => {
                    active.remove(&conversation);
                    return;
                }
            }
        }
    }

    fn release(&self, conversation: Uuid) {
        self.active
            .lock()
            .expect("active lock")
            .remove(&conversation);
    }

    /// One step on one message; an error means the outcome could not be recorded. Replies it
    /// queued go to the back of `ahead` (they were stored after everything read). False when
    /// the step is to be retried: what was read ahead must wait behind it.
    async fn work(
        self: &Arc<Self>,
        row: &MessageRow,
        known: &mut Option<Conversation>,
        ahead: &mut VecDeque<MessageRow>,
    ) -> Result<bool> {
        let mut progress = row.progress();
        let step = if row.direction == "in" {
            self.inbound(row, &mut progress, known).await
        } else {
            self.outbound(row, known).await
        };
        let now = self.clock.now_ms();
        match step {
            Step::Done => Ok(true),
            Step::Settle {
                outcome,
                replies,
                mode,
            } => {
                if let Outcome::Settled { status, .. } = &outcome {
                    let counter = match status {
                        MessageStatus::Processed => Some(&self.stats.processed),
                        MessageStatus::Refused => Some(&self.stats.refused),
                        _ => None,
                    };
                    if let Some(counter) = counter {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let queued = self
                    .store
                    .settle(row, &outcome, Some(&progress), &replies, mode, now)
                    .await?;
                ahead.extend(queued);
                Ok(true)
            }
            Step::Failed(error) if (row.attempts as u32 + 1) < self.config.max_attempts => {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let at_ms = now + self.backoff(row.attempts as u32 + 1);
                let outcome = Outcome::Retry { at_ms, error };
                self.store
                    .settle(row, &outcome, Some(&progress), &[], None, now)
                    .await?;
                // The message stays at the head of the line until its retry is due.
                Ok(false)
            }
            Step::Failed(error) | Step::Fatal(error) => {
                self.stats.dead.fetch_add(1, Ordering::Relaxed);
                if row.direction == "in" {
                    self.compensate(row, &mut progress).await;
                }
                let outcome = Outcome::Settled {
                    status: MessageStatus::Dead,
                    detail: None,
                    error: Some(error),
                };
                tracing::warn!(message = %row.id, attempts = row.attempts + 1, "a message went to the dead letters");
                self.store
                    .settle(row, &outcome, Some(&progress), &[], None, now)
                    .await?;
                Ok(true)
            }
        }
    }

    /// A random wait in the upper half of an exponential ceiling: spreads the retries of many messages that failed
    /// together (an outage) instead of sending them back in one wave.
    fn backoff(&self, attempt: u32) -> i64 {
        let base = self.config.retry_base.as_millis() as u64;
        let ceiling = base
            .saturating_mul(1u64 << attempt.min(30))
            .min(self.config.retry_max.as_millis() as u64)
            .max(1);
        rand::rng().random_range(ceiling / 2..=ceiling) as i64
    }

    fn context(&self, tenant: Uuid, correlation: &str) -> AuthContext {
        AuthContext::system()
            .in_tenant(tenant, Role::Admin)
            .with_correlation_id(correlation)
    }

    async fn rules_for(&self, tenant: Uuid) -> Result<Arc<CompiledRules>> {
        if let Some(rules) = self.rules.lock().expect("rules lock").get(&tenant) {
            return Ok(rules.clone());
        }
        let rules = Arc::new(CompiledRules::compile(
            self.store.rules(tenant).await?.rules,
        ));
        self.rules
            .lock()
            .expect("rules lock")
            .insert(tenant, rules.clone());
        Ok(rules)
    }

    /// Routes and works on one inbound message.
    async fn inbound(
        self: &Arc<Self>,
        row: &MessageRow,
        progress: &mut Progress,
        known: &mut Option<Conversation>,
    ) -> Step {
        match self.try_inbound(row, progress, known).await {
            Ok(step) => step,
            Err(error) if is_transient(&error) => Step::Failed(format!("{error}")),
            Err(error) => Step::Fatal(format!("{error}")),
        }
    }

    async fn try_inbound(
        &self,
        row: &MessageRow,
        progress: &mut Progress,
        known: &mut Option<Conversation>,
    ) -> Result<Step> {
        let tenant = parse(&row.tenant_id)?;
        let installation = parse(&row.installation_id)?;
        let mut message: ChannelMessage =
            serde_json::from_str(&row.body).map_err(Error::internal)?;
        // Read for each message (with its batch, or now): people may have taken the
        // conversation meanwhile.
        let conversation = match known.take() {
            Some(read) => read,
            None => self
                .store
                .conversation(parse(&row.conversation_id)?)
                .await?
                .ok_or_else(|| Error::internal_msg("a message without its conversation"))?,
        };
        *known = Some(conversation.clone());
        let ctx = self.context(tenant, &row.id);

        let rules = self.rules_for(tenant).await?;
        let Some((index, rule)) = rules.route(installation, &message) else {
            return Ok(settled(MessageStatus::Processed, "no routing rule matched"));
        };
        progress.rule = Some(index);

        if !progress.counted {
            // Counted once per message by billing itself, so a retry after a crash here cannot
            // count it twice, and the progress need not be saved before going on.
            match self
                .peers
                .billing
                .count_once(&ctx, tenant, Metric::Messages, 1, &usage_key(&row.id))
                .await
            {
                Ok(_) => progress.counted = true,
                Err(Error::FailedPrecondition { message, .. }) => {
                    return Ok(refused(format!("quota_exceeded: {message}")));
                }
                Err(Error::NotFound(_)) => {
                    return Ok(refused(
                        "no_plan: the workspace has no billing plan; import one with PUT /v1/billing/snapshot",
                    ));
                }
                Err(error) => return Err(error),
            }
        }
        if progress.hold_id.is_none() {
            let cost = self.peers.tariff.message_cost(tenant).await;
            if cost > 0 {
                let hold = NewHold {
                    amount: cost,
                    reason: "message".into(),
                    idempotency_key: format!("message:{}:hold", row.id),
                    expires_in_secs: Some(24 * 3600),
                };
                match self.peers.wallet.hold(&ctx, tenant, hold).await {
                    Ok(hold) => progress.hold_id = Some(hold.id),
                    Err(Error::FailedPrecondition { message, .. }) => {
                        self.give_back_count(&ctx, tenant, &row.id, progress).await;
                        return Ok(refused(format!("insufficient_funds: {message}")));
                    }
                    Err(error) => return Err(error),
                }
                self.store
                    .save_progress(&row.id, progress, self.clock.now_ms())
                    .await?;
            }
        }

        let contact = self.contact(&ctx, &conversation).await;
        message.set_meta("nave.tenant", tenant.to_string());
        message.set_meta("nave.conversation", conversation.id.to_string());
        message.set_meta("nave.installation", installation.to_string());
        if let Some(contact) = contact {
            message.set_meta("nave.contact", contact.to_string());
        }

        for processor in &rule.actions.processors {
            if progress.processed_by.contains(processor) {
                continue;
            }
            match self.spokes.process(*processor, &row.id, &message).await {
                Ok(enrichment) => {
                    self.learn(&ctx, &conversation, &enrichment.contact_fields)
                        .await;
                    let e = &mut progress.enrichment;
                    e.contact_fields.extend(enrichment.contact_fields);
                    e.files.extend(enrichment.files);
                    e.metadata.extend(enrichment.metadata);
                }
                Err(failure) if failure.retryable => {
                    self.store
                        .save_progress(&row.id, progress, self.clock.now_ms())
                        .await?;
                    return Ok(Step::Failed(format!("processor {processor}: {failure}")));
                }
                Err(failure) => {
                    tracing::warn!(%processor, %failure, message = %row.id, "a processor failed for good; going on without it");
                    progress
                        .processor_errors
                        .push((*processor, failure.to_string()));
                }
            }
            progress.processed_by.push(*processor);
            self.store
                .save_progress(&row.id, progress, self.clock.now_ms())
                .await?;
        }
        // What processors stored travels on to the bot.
        for file in &progress.enrichment.files {
            message
                .metadata
                .push(("nave.file".into(), file.key.clone()));
        }

        let handing_off = rule.actions.handoff && conversation.mode == ConversationMode::Bot;
        let mode = handing_off.then_some(ConversationMode::Waiting);
        let mut replies = Vec::new();
        if let Some(bot) = rule.actions.bot
            && conversation.mode == ConversationMode::Bot
        {
            match self.spokes.converse(bot, &row.id, &message).await {
                Ok(answers) => {
                    replies = answers
                        .into_iter()
                        .map(|reply| outbound(reply, &conversation, &format!("bot:{bot}"), row))
                        .collect::<Result<Vec<_>>>()?;
                }
                Err(failure) if failure.retryable => {
                    return Ok(Step::Failed(format!("bot {bot}: {failure}")));
                }
                Err(failure) => return Ok(Step::Fatal(format!("bot {bot}: {failure}"))),
            }
        }

        if let Some(hold) = progress.hold_id {
            self.peers
                .wallet
                .capture(&ctx, hold, None, format!("message:{}:capture", row.id))
                .await?;
        }
        let detail = match (&rule.actions.bot, conversation.mode, handing_off) {
            (_, _, true) => format!("rule {index} `{}`: handed to people", rule.name),
            (Some(_), ConversationMode::Bot, _) => {
                format!("rule {index} `{}`: {} replies", rule.name, replies.len())
            }
            (Some(_), _, _) => format!(
                "rule {index} `{}`: people hold the conversation; the bot stayed silent",
                rule.name
            ),
            (None, _, _) => format!("rule {index} `{}`", rule.name),
        };
        Ok(Step::Settle {
            outcome: Outcome::Settled {
                status: MessageStatus::Processed,
                detail: Some(detail),
                error: None,
            },
            replies,
            mode,
        })
    }

    /// The contact behind the conversation's person, found once and remembered.
    async fn contact(&self, ctx: &AuthContext, conversation: &Conversation) -> Option<Uuid> {
        if conversation.contact_id.is_some() {
            return conversation.contact_id;
        }
        let found = self
            .peers
            .users
            .find_contact(
                ctx,
                conversation.tenant_id,
                conversation.installation_id,
                &conversation.sender,
            )
            .await;
        match found {
            Ok(Some(contact)) => {
                if let Err(error) = self.store.set_contact(conversation.id, contact.id).await {
                    tracing::warn!(%error, "remembering a conversation's contact failed");
                }
                Some(contact.id)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "looking up a conversation's contact failed");
                None
            }
        }
    }

    /// Stores on the contact what a processor learnt about the person (phone, email).
    async fn learn(
        &self,
        ctx: &AuthContext,
        conversation: &Conversation,
        fields: &[(String, String)],
    ) {
        let mut profile = ContactProfile::default();
        for (name, value) in fields {
            match name.as_str() {
                "phone" => profile.phone = Some(value.clone()),
                "email" => profile.email = Some(value.clone()),
                "name" => profile.name = Some(value.clone()),
                _ => {}
            }
        }
        if profile == ContactProfile::default() {
            return;
        }
        let Some(channel) = self
            .spokes
            .installation(conversation.installation_id)
            .map(|s| s.name)
        else {
            return;
        };
        let identity = ChannelIdentity {
            installation_id: conversation.installation_id,
            channel,
            channel_user_id: conversation.sender.clone(),
        };
        if let Err(error) = self
            .peers
            .users
            .resolve_contact(ctx, conversation.tenant_id, identity, profile)
            .await
        {
            tracing::warn!(%error, conversation = %conversation.id, "storing what a processor learnt on the contact failed");
        }
    }

    /// Undoes the usage count and the hold of a message that will not be worked on.
    async fn compensate(&self, row: &MessageRow, progress: &mut Progress) {
        let Ok(tenant) = parse(&row.tenant_id) else {
            return;
        };
        let ctx = self.context(tenant, &row.id);
        if let Some(hold) = progress.hold_id {
            match self
                .peers
                .wallet
                .release(&ctx, hold, format!("message:{}:release", row.id))
                .await
            {
                Ok(_) => progress.hold_id = None,
                Err(error) => {
                    tracing::warn!(%error, %hold, "releasing a dead message's hold failed; it expires on its own")
                }
            }
        }
        self.give_back_count(&ctx, tenant, &row.id, progress).await;
    }

    /// Gives back the message's usage count. By key, whatever the progress says: a count made
    /// just before a crash is not in it.
    async fn give_back_count(
        &self,
        ctx: &AuthContext,
        tenant: Uuid,
        message: &str,
        progress: &mut Progress,
    ) {
        match self
            .peers
            .billing
            .release_once(ctx, tenant, Metric::Messages, &usage_key(message))
            .await
        {
            Ok(_) => progress.counted = false,
            Err(error) => {
                tracing::warn!(%error, %tenant, "giving back a message's usage count failed")
            }
        }
    }

    /// Delivers one reply through the conversation's channel.
    async fn outbound(&self, row: &MessageRow, known: &mut Option<Conversation>) -> Step {
        let reply: Reply = match serde_json::from_str(&row.body) {
            Ok(reply) => reply,
            Err(error) => return Step::Fatal(format!("stored reply: {error}")),
        };
        let Ok(installation) = parse(&row.installation_id) else {
            return Step::Fatal("stored installation id".into());
        };
        match self.spokes.deliver(installation, &row.id, &reply).await {
            Ok(ids) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = self.store.delivered(row, &ids, self.clock.now_ms()).await {
                    return Step::Failed(format!("recording the delivery: {error}"));
                }
                self.count_out(row, known).await;
                Step::Done
            }
            Err(failure) if failure.retryable => Step::Failed(failure.to_string()),
            Err(failure) => Step::Fatal(failure.to_string()),
        }
    }

    /// Counts a delivered reply on the contact (messages out).
    async fn count_out(&self, row: &MessageRow, known: &mut Option<Conversation>) {
        let (Ok(tenant), Ok(id)) = (parse(&row.tenant_id), parse(&row.conversation_id)) else {
            return;
        };
        if known.as_ref().is_none_or(|c| c.id != id) {
            let Ok(Some(read)) = self.store.conversation(id).await else {
                return;
            };
            *known = Some(read);
        }
        let Some(conversation) = known.as_ref() else {
            return;
        };
        let Some(channel) = self
            .spokes
            .installation(conversation.installation_id)
            .map(|s| s.name)
        else {
            return;
        };
        let identity = ChannelIdentity {
            installation_id: conversation.installation_id,
            channel,
            channel_user_id: conversation.sender.clone(),
        };
        // The conversation's next message does not wait for its counter, only for room in the
        // recorder's queue (a slow user hub slows deliveries rather than piling work up).
        self.activity
            .record(MessageActivity {
                tenant_id: tenant,
                identity,
                direction: Direction::Out,
                at: self.clock.now(),
            })
            .await;
    }
}

/// What billing counts a message under.
fn usage_key(message: &str) -> String {
    format!("message:{message}")
}

fn parse(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(Error::internal)
}

fn settled(status: MessageStatus, detail: &str) -> Step {
    Step::Settle {
        outcome: Outcome::Settled {
            status,
            detail: Some(detail.to_owned()),
            error: None,
        },
        replies: Vec::new(),
        mode: None,
    }
}

fn refused(reason: impl Into<String>) -> Step {
    Step::Settle {
        outcome: Outcome::Settled {
            status: MessageStatus::Refused,
            detail: None,
            error: Some(reason.into()),
        },
        replies: Vec::new(),
        mode: None,
    }
}

fn outbound(
    mut reply: Reply,
    conversation: &Conversation,
    author: &str,
    row: &MessageRow,
) -> Result<NewOutbound> {
    // A bot answers the person who wrote, in their conversation, whatever it filled in.
    if reply.recipient.is_empty() {
        reply.recipient = conversation.sender.clone();
    }
    if reply.conversation.is_empty() {
        reply.conversation = conversation.channel_conversation.clone();
    }
    Ok(NewOutbound {
        id: Uuid::now_v7(),
        author: author.to_owned(),
        body: serde_json::to_string(&reply).map_err(Error::internal)?,
        reply_to: Some(parse(&row.id)?),
    })
}

/// Errors of other hubs that may pass on their own (unavailable, internal, throttled).
fn is_transient(error: &Error) -> bool {
    !matches!(
        error,
        Error::InvalidArgument { .. }
            | Error::PermissionDenied(_)
            | Error::NotFound(_)
            | Error::FailedPrecondition { .. }
            | Error::Unauthenticated { .. }
    )
}

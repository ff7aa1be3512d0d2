//! The authorization matrix: every `/v1` route of the host, called by every kind of caller, with
//! the status each one must get. Nothing of the `acme` workspace leaks to a member of another
//! workspace (404, exactly like a missing tenant), and a route that appears in the OpenAPI
//! document without a row here fails the test, so new routes cannot skip this review.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use nave_tests::{TestHost, json_of, spoke};
use reqwest::Method;
use serde_json::{Value, json};

/// The callers, in the order of each row's expectations.
const CALLERS: [&str; 7] = [
    "anonymous",
    "member of another tenant",
    "viewer",
    "agent",
    "admin",
    "owner",
    "platform admin",
];

/// What a row's path parameter stands for, when each call needs its own (the call removes it).
#[derive(Clone, Copy, PartialEq)]
enum Fresh {
    /// Fixed fixtures: `{id}` is the installation, `{user_id}` a viewer kept for role changes.
    No,
    /// `{id}`: a new installation per call.
    Installation,
    /// `{user_id}`: a new member per call.
    Member,
    /// `{id}`: a new invitation per call.
    Invitation,
    /// `{id}`: a new API key per call.
    ApiKey,
    /// `{id}`: a new contact per call.
    Contact,
    /// `{id}`: a new subscription per call.
    Subscription,
    /// `{key}` is set at the row's scope before each call (for unsets).
    ConfigValue,
}

struct Row {
    method: Method,
    /// The route as the OpenAPI document names it.
    path: &'static str,
    /// A JSON body; `{unique}`, `{tenant_id}`, `{admin_id}`, `{owner_email}` and
    /// `{config_version}` (a version of `{key}` at the row's scope) are filled in.
    body: Option<&'static str>,
    fresh: Fresh,
    /// The status for each of [`CALLERS`].
    expect: [u16; 7],
}

fn row(
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
    fresh: Fresh,
    expect: [u16; 7],
) -> Row {
    Row {
        method,
        path,
        body,
        fresh,
        expect,
    }
}

#[rustfmt::skip]
fn matrix() -> Vec<Row> {
    use Fresh::*;
    let get = Method::GET;
    let post = Method::POST;
    let patch = Method::PATCH;
    let delete = Method::DELETE;
    vec![
        // The plugin catalogue: every signed-in caller reads it, platform admins change it.
        row(post.clone(), "/v1/plugins", None, No, [401, 403, 403, 403, 403, 403, 200]),
        row(get.clone(), "/v1/plugins", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/plugins/{name}/versions", None, No, [401, 200, 200, 200, 200, 200, 200]),
        // Installations: members read, admins and owners change; platform admins read only.
        row(post.clone(), "/v1/tenants/{tenant}/installations", Some(r#"{"plugin": "hostile"}"#), No, [401, 404, 403, 403, 201, 201, 403]),
        row(get.clone(), "/v1/tenants/{tenant}/installations", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/installations/{id}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(patch.clone(), "/v1/tenants/{tenant}/installations/{id}", Some(r#"{"deadline_ms": 1500}"#), No, [401, 404, 403, 403, 200, 200, 403]),
        row(delete.clone(), "/v1/tenants/{tenant}/installations/{id}", None, Installation, [401, 404, 403, 403, 200, 200, 403]),
        row(get.clone(), "/v1/tenants/{tenant}/installations/{id}/events", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/audit", None, No, [401, 404, 403, 403, 200, 200, 200]),
        // Plans, usage and wallets (billing and wallet hubs): the snapshot comes first, so
        // `acme` has a plan for the rows after it.
        row(get.clone(), "/v1/plans", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(Method::PUT, "/v1/billing/snapshot", Some(r#"{"plans": [{"code": "team", "name": "Team", "entitlements": {"messages_per_period": 1000, "installations": 10, "apps": "all"}}], "tenants": [{"tenant_id": "{tenant_id}", "plan": "team"}]}"#), No, [401, 403, 403, 403, 403, 403, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/billing", None, No, [401, 404, 403, 403, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/wallet", None, No, [401, 404, 403, 403, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/wallet/transactions", None, No, [401, 404, 403, 403, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/wallet/credits", Some(r#"{"amount": 500, "source": "top_up", "memo": "welcome", "idempotency_key": "top-up-{unique}"}"#), No, [401, 403, 403, 403, 403, 403, 201]),
        // The app catalogue and subscriptions (app hub; its routes take the tenant's id).
        // Platform admins publish and edit public apps; members see the tenant's catalogue and
        // subscriptions; admins and owners subscribe — viewers and agents get every failed
        // guard, `not_tenant_admin` among them — and unsubscribe; platform admins read.
        row(get.clone(), "/v1/apps", None, No, [401, 403, 403, 403, 403, 403, 200]),
        row(post.clone(), "/v1/apps", Some(r#"{"name": "app-{unique}", "display_name": "App", "publisher": "nave", "role": "bot"}"#), No, [401, 403, 403, 403, 403, 403, 201]),
        row(get.clone(), "/v1/apps/{app}", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(patch.clone(), "/v1/apps/{app}", Some(r#"{"description": "Misbehaves on purpose."}"#), No, [401, 403, 403, 403, 403, 403, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/apps", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/apps", Some(r#"{"name": "own-{unique}", "display_name": "Own", "publisher": "acme", "role": "bot"}"#), No, [401, 404, 403, 403, 201, 201, 201]),
        row(post.clone(), "/v1/tenants/{tenant}/apps/{app}/guards", None, No, [401, 404, 409, 409, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/subscriptions", Some(r#"{"app": "hostile"}"#), No, [401, 404, 409, 409, 201, 201, 403]),
        row(get.clone(), "/v1/tenants/{tenant}/subscriptions", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/subscriptions/{id}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(delete.clone(), "/v1/tenants/{tenant}/subscriptions/{id}", None, Subscription, [401, 404, 403, 403, 200, 200, 403]),
        // Runtime settings (config hub), `{key}` being `spoke.deadline_ms`: every signed-in
        // caller reads the global values and watches, platform admins write them; members read
        // their workspace's and its installations', admins, owners and platform admins write them.
        row(get.clone(), "/v1/config/definitions", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/config/watch", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/config/settings", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/config/settings/{key}", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(Method::PUT, "/v1/config/settings/{key}", Some(r#"{"value": 1900}"#), No, [401, 403, 403, 403, 403, 403, 200]),
        row(delete.clone(), "/v1/config/settings/{key}", None, ConfigValue, [401, 403, 403, 403, 403, 403, 200]),
        row(get.clone(), "/v1/config/settings/{key}/history", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/config/settings/{key}/rollback", Some(r#"{"to_version": {config_version}}"#), No, [401, 403, 403, 403, 403, 403, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/config/settings", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/config/settings/{key}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(Method::PUT, "/v1/tenants/{tenant}/config/settings/{key}", Some(r#"{"value": 1800}"#), No, [401, 404, 403, 403, 200, 200, 200]),
        row(delete.clone(), "/v1/tenants/{tenant}/config/settings/{key}", None, ConfigValue, [401, 404, 403, 403, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/config/settings/{key}/history", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/config/settings/{key}/rollback", Some(r#"{"to_version": {config_version}}"#), No, [401, 404, 403, 403, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/installations/{id}/config/settings", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(Method::PUT, "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}", Some(r#"{"value": 1700}"#), No, [401, 404, 403, 403, 200, 200, 200]),
        row(delete.clone(), "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}", None, ConfigValue, [401, 404, 403, 403, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}/history", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}/rollback", Some(r#"{"to_version": {config_version}}"#), No, [401, 404, 403, 403, 200, 200, 200]),
        // Contacts (user hub): members read, agents and up correct, merge and erase.
        row(get.clone(), "/v1/tenants/{tenant}/contacts", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/contacts/{id}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(patch.clone(), "/v1/tenants/{tenant}/contacts/{id}", Some(r#"{"name": "Ann Lee"}"#), No, [401, 404, 403, 200, 200, 200, 403]),
        row(post.clone(), "/v1/tenants/{tenant}/contacts/{id}/merge", Some(r#"{"merge": "{new_contact}"}"#), No, [401, 404, 403, 200, 200, 200, 403]),
        row(delete.clone(), "/v1/tenants/{tenant}/contacts/{id}", None, Contact, [401, 404, 403, 204, 204, 204, 403]),
        // Conversations (message hub): members read, agents and up reply, take and replay,
        // admins and up change the routing rules.
        row(get.clone(), "/v1/tenants/{tenant}/conversations", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/conversations/{id}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/conversations/{id}/messages", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/conversations/{id}/messages", Some(r#"{"text": "hello from {unique}"}"#), No, [401, 404, 403, 202, 202, 202, 403]),
        row(post.clone(), "/v1/tenants/{tenant}/conversations/{id}/take", None, No, [401, 404, 403, 200, 200, 200, 403]),
        row(post.clone(), "/v1/tenants/{tenant}/conversations/{id}/hand-back", None, No, [401, 404, 403, 200, 200, 200, 403]),
        row(get.clone(), "/v1/tenants/{tenant}/messages/{id}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/routing-rules", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(Method::PUT, "/v1/tenants/{tenant}/routing-rules", Some(r#"{"rules": []}"#), No, [401, 404, 403, 403, 200, 200, 403]),
        row(get.clone(), "/v1/tenants/{tenant}/dead-letters", None, No, [401, 404, 403, 200, 200, 200, 403]),
        row(post.clone(), "/v1/tenants/{tenant}/dead-letters/{id}/replay", None, No, [401, 404, 403, 409, 409, 409, 403]),
        // Workspaces and members (tenant hub).
        row(post.clone(), "/v1/tenants", Some(r#"{"slug": "team-{unique}", "name": "Team"}"#), No, [401, 201, 201, 201, 201, 201, 201]),
        row(get.clone(), "/v1/tenants", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/tenants/{tenant}/members", None, No, [401, 404, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/tenants/{tenant}/members", Some(r#"{"user_id": "{new_user}", "role": "viewer"}"#), No, [401, 404, 403, 403, 201, 201, 403]),
        row(patch.clone(), "/v1/tenants/{tenant}/members/{user_id}", Some(r#"{"role": "agent"}"#), No, [401, 404, 403, 403, 200, 200, 403]),
        row(delete.clone(), "/v1/tenants/{tenant}/members/{user_id}", None, Member, [401, 404, 403, 403, 204, 204, 403]),
        row(post.clone(), "/v1/tenants/{tenant}/leave", None, No, [401, 404, 204, 204, 204, 409, 404]),
        row(post.clone(), "/v1/tenants/{tenant}/transfer-ownership", Some(r#"{"user_id": "{admin_id}"}"#), No, [401, 404, 403, 403, 403, 204, 403]),
        row(post.clone(), "/v1/tenants/{tenant}/invitations", Some(r#"{"email": "invitee-{unique}@example.com", "role": "viewer"}"#), No, [401, 404, 403, 403, 201, 201, 403]),
        row(get.clone(), "/v1/tenants/{tenant}/invitations", None, No, [401, 404, 403, 403, 200, 200, 200]),
        row(delete.clone(), "/v1/tenants/{tenant}/invitations/{id}", None, Invitation, [401, 404, 403, 403, 204, 204, 403]),
        row(post.clone(), "/v1/invitations/accept", Some(r#"{"token": "not-an-invitation"}"#), No, [401, 404, 404, 404, 404, 404, 404]),
        // Accounts and keys (identity hub).
        row(post.clone(), "/v1/auth/signup", Some(r#"{"email": "new-{unique}@example.com", "password": "a long enough password"}"#), No, [201, 201, 201, 201, 201, 201, 201]),
        row(post.clone(), "/v1/auth/login", Some(r#"{"email": "nobody-{unique}@example.com", "password": "a long enough password"}"#), No, [401, 401, 401, 401, 401, 401, 401]),
        row(post.clone(), "/v1/auth/refresh", Some(r#"{"refresh_token": "nave_rt_not-a-token"}"#), No, [401, 401, 401, 401, 401, 401, 401]),
        row(post.clone(), "/v1/auth/logout", Some(r#"{"refresh_token": "nave_rt_not-a-token"}"#), No, [401, 401, 401, 401, 401, 401, 401]),
        row(post.clone(), "/v1/auth/mfa/enroll", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(post.clone(), "/v1/auth/mfa/confirm", Some(r#"{"code": "000000"}"#), No, [401, 400, 400, 400, 400, 400, 400]),
        row(post.clone(), "/v1/api-keys", Some(r#"{"name": "ci", "tenant_id": "{tenant_id}", "role": "viewer"}"#), No, [401, 404, 403, 403, 201, 201, 201]),
        row(get.clone(), "/v1/api-keys?tenant_id={tenant_id}", None, No, [401, 404, 403, 403, 200, 200, 200]),
        row(delete.clone(), "/v1/api-keys/{id}?tenant_id={tenant_id}", None, ApiKey, [401, 404, 403, 403, 204, 204, 204]),
        // The signed-in user's own profile (user hub).
        row(get.clone(), "/v1/me/profile", None, No, [401, 200, 200, 200, 200, 200, 200]),
        row(patch.clone(), "/v1/me/profile", Some(r#"{"display_name": "Ann", "locale": "en"}"#), No, [401, 200, 200, 200, 200, 200, 200]),
        row(patch.clone(), "/v1/me/preferences", Some(r#"{"theme": "dark"}"#), No, [401, 200, 200, 200, 200, 200, 200]),
        row(get.clone(), "/v1/openapi.json", None, No, [200, 200, 200, 200, 200, 200, 200]),
    ]
}

/// Whether the row's route is the app hub's, which names the tenant by id (the host's routes
/// take its slug too).
fn names_tenant_by_id(row: &Row) -> bool {
    row.path.contains("/apps") || (row.path.contains("/subscriptions") && row.method == Method::GET)
}

/// The `acme` workspace with one member of each role, an outsider with a workspace of their
/// own, an installation, and the callers' access tokens.
struct World {
    host: TestHost,
    /// Per caller (see [`CALLERS`]); `None` for anonymous.
    tokens: Vec<Option<String>>,
    /// Per caller, their user id (for re-adding after they leave).
    users: Vec<Option<String>>,
    tenant_id: String,
    installation: String,
    /// A viewer whose role the PATCH row changes.
    victim: String,
    /// A contact of `acme`.
    contact: String,
    /// A conversation of `acme`, with one inbound message.
    conversation: String,
    /// An active subscription of `acme` to `hostile`.
    subscription: String,
    /// That message.
    message: String,
    /// A version of `spoke.deadline_ms` at each scope: global, `acme`, the installation.
    config_versions: [u64; 3],
    counter: AtomicU32,
}

impl World {
    async fn new() -> World {
        let host = TestHost::start().await;
        let (status, _) = host.upload(spoke("fixtures/hostile")).await;
        assert!(status.is_success());
        let mut tokens = vec![None];
        let mut users = vec![None];
        let (other_id, other) = host.sign_up("other@example.com").await;
        tokens.push(Some(other.clone()));
        users.push(Some(other_id));
        let (owner_id, owner) = host.sign_up("owner@example.com").await;
        let world_tenant = |token: &str, slug: &'static str| {
            host.http
                .post(host.at("/v1/tenants"))
                .bearer_auth(token.to_owned())
                .json(&json!({ "slug": slug, "name": slug }))
                .send()
        };
        let (status, acme) = json_of(world_tenant(&owner, "acme").await.unwrap()).await;
        assert_eq!(status, 201, "{acme}");
        let (status, _) = json_of(world_tenant(&other, "globex").await.unwrap()).await;
        assert_eq!(status, 201);
        let mut world = World {
            host,
            tokens: Vec::new(),
            users: Vec::new(),
            tenant_id: acme["id"].as_str().unwrap().to_owned(),
            installation: String::new(),
            victim: String::new(),
            contact: String::new(),
            conversation: String::new(),
            subscription: String::new(),
            message: String::new(),
            config_versions: [0; 3],
            counter: AtomicU32::new(0),
        };
        for role in ["viewer", "agent", "admin"] {
            let (id, token) = world.host.sign_up(&format!("{role}@example.com")).await;
            world.add("acme", &owner, &id, role).await;
            tokens.push(Some(token));
            users.push(Some(id));
        }
        tokens.push(Some(owner.clone()));
        users.push(Some(owner_id));
        tokens.push(Some(world.host.admin_token.clone()));
        users.push(None);
        world.tokens = tokens;
        world.users = users;
        world.installation = world.new_installation().await;
        world.victim = world.new_member().await;
        world.contact = world.new_contact().await;
        (world.conversation, world.message) = world.new_conversation().await;
        world.host.import_plans(&["acme"]).await;
        world.subscription = world.new_subscription().await;
        for level in 0..3 {
            world.config_versions[level] = world.set_config(level).await;
        }
        world
    }

    /// The scope a config row acts at: 0 global, 1 `acme`, 2 the installation.
    fn config_level(row: &Row) -> usize {
        match (
            row.path.contains("/tenants/"),
            row.path.contains("/installations/"),
        ) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 2,
        }
    }

    /// Sets `spoke.deadline_ms` at a scope, as the platform; returns the version.
    async fn set_config(&self, level: usize) -> u64 {
        let tenant: uuid::Uuid = self.tenant_id.parse().unwrap();
        let scope = match level {
            0 => nave_config::Scope::Global,
            1 => nave_config::Scope::Tenant(tenant),
            _ => nave_config::Scope::Installation {
                tenant_id: tenant,
                installation_id: self.installation.parse().unwrap(),
            },
        };
        let system = nave_hub_core::AuthContext::system();
        self.host
            .app
            .hubs
            .config
            .set(&system, scope, "spoke.deadline_ms", json!(1600), None)
            .await
            .unwrap()
            .version
    }

    /// An active subscription of `acme` to the free `hostile` app, as its owner makes it.
    async fn new_subscription(&self) -> String {
        let body = self
            .as_owner(
                Method::POST,
                "/v1/tenants/acme/subscriptions",
                json!({ "app": "hostile" }),
            )
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// A conversation of `acme` with one inbound message, as the webhook inbox feeds it.
    async fn new_conversation(&self) -> (String, String) {
        let message = nave_message::ChannelMessage {
            platform: "hostile".into(),
            id: "mid-1".into(),
            conversation: "psid-conversation".into(),
            sender: "psid-conversation".into(),
            recipient: "page".into(),
            text: Some("hello".into()),
            ..Default::default()
        };
        let inbound = nave_message::Inbound {
            tenant_id: self.tenant_id.parse().unwrap(),
            installation_id: self.installation.parse().unwrap(),
            message,
            correlation_id: "authorization".into(),
        };
        let system = nave_hub_core::AuthContext::system();
        let new = self
            .host
            .app
            .messages
            .ingest(&system, vec![inbound])
            .await
            .unwrap();
        assert_eq!(new, [true]);
        let tenant = self.tenant_id.parse().unwrap();
        let page = self
            .host
            .app
            .messages
            .list_conversations(
                &system.clone().in_tenant(tenant, nave_hub_core::Role::Owner),
                tenant,
                Default::default(),
            )
            .await
            .unwrap();
        let conversation = page.items[0].id;
        let messages = self
            .host
            .app
            .messages
            .list_messages(
                &system.in_tenant(tenant, nave_hub_core::Role::Owner),
                tenant,
                conversation,
                0,
                10,
            )
            .await
            .unwrap();
        (conversation.to_string(), messages.items[0].id.to_string())
    }

    fn owner(&self) -> &str {
        self.tokens[5].as_deref().unwrap()
    }

    async fn add(&self, slug: &str, token: &str, user_id: &str, role: &str) {
        let response = self
            .host
            .http
            .post(self.host.at(&format!("/v1/tenants/{slug}/members")))
            .bearer_auth(token)
            .json(&json!({ "user_id": user_id, "role": role }))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(status, 201, "adding {role}: {body}");
    }

    async fn as_owner(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self
            .host
            .http
            .request(method, self.host.at(path))
            .bearer_auth(self.owner())
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn new_installation(&self) -> String {
        let body = self
            .as_owner(
                Method::POST,
                "/v1/tenants/acme/installations",
                json!({ "plugin": "hostile" }),
            )
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    async fn new_user(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.host.sign_up(&format!("user-{n}@example.com")).await.0
    }

    async fn new_member(&self) -> String {
        let id = self.new_user().await;
        self.add("acme", self.owner(), &id, "viewer").await;
        id
    }

    async fn new_invitation(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let body = self
            .as_owner(
                Method::POST,
                "/v1/tenants/acme/invitations",
                json!({ "email": format!("guest-{n}@example.com"), "role": "agent" }),
            )
            .await;
        body["invitation"]["id"].as_str().unwrap().to_owned()
    }

    async fn new_api_key(&self) -> String {
        let body = self
            .as_owner(
                Method::POST,
                "/v1/api-keys",
                json!({ "name": "doomed", "tenant_id": self.tenant_id, "role": "viewer" }),
            )
            .await;
        body["key"]["id"]
            .as_str()
            .or(body["id"].as_str())
            .unwrap()
            .to_owned()
    }

    /// A contact of `acme`, as a channel spoke would create it.
    async fn new_contact(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tenant: uuid::Uuid = self.tenant_id.parse().unwrap();
        let identity = nave_user::ChannelIdentity {
            installation_id: self.installation.parse().unwrap(),
            channel: "hostile".into(),
            channel_user_id: format!("psid-{n}"),
        };
        let ctx = nave_hub_core::AuthContext::system();
        let resolved = self
            .host
            .app
            .hubs
            .user
            .resolve_contact(&ctx, tenant, identity, Default::default())
            .await
            .unwrap();
        resolved.contact.id.to_string()
    }

    /// Calls `row` as caller `who`; returns the status and body.
    async fn call(&self, row: &Row, who: usize) -> (u16, Value) {
        if row.fresh == Fresh::ConfigValue {
            self.set_config(World::config_level(row)).await;
        }
        let id = match row.fresh {
            Fresh::Installation => self.new_installation().await,
            Fresh::Invitation => self.new_invitation().await,
            Fresh::ApiKey => self.new_api_key().await,
            Fresh::Contact => self.new_contact().await,
            Fresh::Subscription => self.new_subscription().await,
            Fresh::No | Fresh::Member if row.path.contains("/subscriptions/") => {
                self.subscription.clone()
            }
            Fresh::No | Fresh::Member if row.path.contains("/contacts/") => self.contact.clone(),
            Fresh::No | Fresh::Member if row.path.contains("/conversations/") => {
                self.conversation.clone()
            }
            Fresh::No | Fresh::Member
                if row.path.contains("/messages/") || row.path.contains("/dead-letters/") =>
            {
                self.message.clone()
            }
            Fresh::No | Fresh::Member | Fresh::ConfigValue => self.installation.clone(),
        };
        let user_id = match row.fresh {
            Fresh::Member => self.new_member().await,
            _ => self.victim.clone(),
        };
        let tenant = if names_tenant_by_id(row) {
            self.tenant_id.as_str()
        } else {
            "acme"
        };
        let path = row
            .path
            .replace("{tenant}", tenant)
            .replace("{app}", "hostile")
            .replace("{tenant_id}", &self.tenant_id)
            .replace("{name}", "hostile")
            .replace("{id}", &id)
            .replace("{key}", "spoke.deadline_ms")
            .replace("{user_id}", &user_id);
        let mut request = self
            .host
            .http
            .request(row.method.clone(), self.host.at(&path));
        if let Some(token) = &self.tokens[who] {
            request = request.bearer_auth(token);
        }
        if row.path == "/v1/plugins" && row.method == Method::POST {
            request = request
                .header("content-type", "application/wasm")
                .body(spoke("fixtures/hostile"));
        } else if let Some(body) = row.body {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let mut text = body
                .replace("{unique}", &n.to_string())
                .replace("{tenant_id}", &self.tenant_id)
                .replace("{admin_id}", self.users[4].as_deref().unwrap())
                .replace(
                    "{config_version}",
                    &self.config_versions[World::config_level(row)].to_string(),
                );
            if text.contains("{new_user}") {
                text = text.replace("{new_user}", &self.new_user().await);
            }
            if text.contains("{new_contact}") {
                text = text.replace("{new_contact}", &self.new_contact().await);
            }
            request = request
                .header("content-type", "application/json")
                .body(text);
        }
        let response = request.send().await.unwrap();
        if row.path == "/v1/config/watch" {
            // An event stream does not end: the status is the answer.
            return (response.status().as_u16(), Value::Null);
        }
        let (status, body) = json_of(response).await;
        (status.as_u16(), body)
    }

    /// Undoes what a successful call changed in the world: a member who left comes back, and
    /// ownership returns to the owner.
    async fn restore(&self, row: &Row, who: usize) {
        if row.path.ends_with("/leave") {
            let role = ["", "", "viewer", "agent", "admin"][who];
            let user = self.users[who].as_deref().unwrap();
            self.add("acme", self.owner(), user, role).await;
        }
        if row.path.ends_with("/transfer-ownership") {
            let back = self
                .host
                .http
                .post(self.host.at("/v1/tenants/acme/transfer-ownership"))
                .bearer_auth(self.tokens[4].as_deref().unwrap())
                .json(&json!({ "user_id": self.users[5] }))
                .send()
                .await
                .unwrap();
            assert_eq!(back.status().as_u16(), 204, "ownership goes back");
        }
    }
}

#[tokio::test]
async fn every_v1_route_answers_each_kind_of_caller_as_the_matrix_says() {
    let world = World::new().await;
    let rows = matrix();
    let mut wrong = Vec::new();
    for row in &rows {
        for (who, caller) in CALLERS.iter().enumerate() {
            let (status, body) = world.call(row, who).await;
            let expected = row.expect[who];
            if status != expected {
                wrong.push(format!(
                    "{} {} as {caller}: expected {expected}, got {status} {body}",
                    row.method, row.path
                ));
            } else if (200..300).contains(&status) {
                world.restore(row, who).await;
            }
            let sent_tenant_id = row.path.contains("{tenant_id}")
                || names_tenant_by_id(row)
                || row.body.is_some_and(|b| b.contains("{tenant_id}"));
            if status == 404 && who == 1 && !sent_tenant_id {
                // Another tenant's workspace looks exactly like one that does not exist.
                assert_eq!(
                    body["code"], "not_found",
                    "{} {}: {body}",
                    row.method, row.path
                );
                assert!(
                    !body.to_string().contains(&world.tenant_id),
                    "{} {} leaks the tenant id: {body}",
                    row.method,
                    row.path
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Every /v1 operation of the OpenAPI document has a row, and every row is documented.
    let (_, doc) = json_of(
        world
            .host
            .http
            .get(world.host.at("/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/v1/"))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let covered: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.path != "/v1/openapi.json")
        .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap()))
        .collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
    let undocumented: Vec<_> = covered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "rows for routes the OpenAPI document does not list: {undocumented:?}"
    );
}

#[tokio::test]
async fn an_api_key_acts_in_its_workspace_with_its_role_until_revoked() {
    let world = World::new().await;
    let key = world
        .as_owner(
            Method::POST,
            "/v1/api-keys",
            json!({ "name": "crm sync", "tenant_id": world.tenant_id, "role": "agent" }),
        )
        .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let key_id = key["key"]["id"].as_str().unwrap().to_owned();
    let call = |method: Method, path: &str| {
        world
            .host
            .http
            .request(method, world.host.at(path))
            .bearer_auth(&secret)
            .send()
    };
    // Its own workspace, with its role: reads, and agent work, but not admin work.
    let listed = call(Method::GET, "/v1/tenants/acme/installations")
        .await
        .unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    let contacts = call(Method::GET, "/v1/tenants/acme/contacts")
        .await
        .unwrap();
    assert_eq!(contacts.status().as_u16(), 200);
    let (status, body) = json_of(
        world
            .host
            .http
            .post(world.host.at("/v1/tenants/acme/installations"))
            .bearer_auth(&secret)
            .json(&json!({ "plugin": "hostile" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (403, Some("permission_denied"))
    );
    // Another workspace does not exist for it; the platform catalogue stays closed.
    let other = call(Method::GET, "/v1/tenants/globex/installations")
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let upload = world
        .host
        .http
        .post(world.host.at("/v1/plugins"))
        .bearer_auth(&secret)
        .header("content-type", "application/wasm")
        .body(spoke("fixtures/hostile"))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 403);

    // Revoked, it stops at once.
    let revoked = world
        .host
        .http
        .delete(world.host.at(&format!(
            "/v1/api-keys/{key_id}?tenant_id={}",
            world.tenant_id
        )))
        .bearer_auth(world.owner())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    let (status, body) = json_of(
        call(Method::GET, "/v1/tenants/acme/installations")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (401, Some("unauthenticated")),
        "{body}"
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_not_taken_for_anonymous() {
    let world = World::new().await;
    for credential in [
        "Bearer not-a-jwt",
        "Bearer nave_ak_not-a-real-key",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer ",
    ] {
        let (status, body) = json_of(
            world
                .host
                .http
                .get(world.host.at("/v1/plugins"))
                .header("authorization", credential)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (401, Some("unauthenticated")),
            "{credential}: {body}"
        );
    }
    // An access token of a session that was logged out is refused at the gateway.
    let tokens = world
        .host
        .log_in("viewer@example.com", "a long enough password")
        .await;
    let logout = world
        .host
        .http
        .post(world.host.at("/v1/auth/logout"))
        .json(&json!({ "refresh_token": tokens["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 204);
    let after = world
        .host
        .http
        .get(world.host.at("/v1/tenants/acme"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 401);
}

//! The REST routes, called through the router without a socket, over every tenant hub
//! implementation; callers sign in at a real identity hub.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use nave_hub_core::testing::TestDb;
use nave_hub_core::{AuthContext, Backend, ManualClock, Role};
use nave_identity::{IdentityApi, IdentityConfig, LocalIdentity, LogIn, PasswordCost, SignUp};
use nave_tenant::rest::router;
use nave_tenant::{NewInvitation, NewTenant, TenantMemberships};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

/// The callers of the matrix, in column order.
const CALLERS: [&str; 7] = [
    "anonymous",
    "outsider",
    "viewer",
    "agent",
    "admin",
    "owner",
    "platform_admin",
];

struct Fixture {
    app: Router,
    identity: LocalIdentity,
    _identity_db: TestDb,
    /// Access token and user id per caller name (none for anonymous).
    users: Vec<(&'static str, Option<(String, Uuid)>)>,
}

async fn fixture(hub: &Hub) -> Fixture {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = IdentityConfig {
        password_cost: PasswordCost::InsecureFastForTests,
        ..IdentityConfig::default()
    };
    let identity = LocalIdentity::open(&db.config, config, Arc::new(ManualClock::starting_now()))
        .await
        .unwrap();
    let anon = AuthContext::anonymous();
    let mut users = vec![("anonymous", None)];
    for name in &CALLERS[1..6] {
        let signup = SignUp {
            email: format!("{name}@example.com"),
            password: PASSWORD.into(),
        };
        let tokens = identity.sign_up(&anon, signup).await.unwrap();
        users.push((*name, Some((tokens.access_token, tokens.user.id))));
    }
    identity
        .bootstrap_admin("root@example.com", Some(PASSWORD.into()))
        .await
        .unwrap();
    let login = LogIn {
        email: "root@example.com".into(),
        password: PASSWORD.into(),
        totp_code: None,
    };
    let tokens = identity.log_in(&anon, login).await.unwrap();
    users.push((
        "platform_admin",
        Some((tokens.access_token, tokens.user.id)),
    ));
    let app = router(hub.api.clone(), Arc::new(identity.clone()));
    Fixture {
        app,
        identity,
        _identity_db: db,
        users,
    }
}

impl Fixture {
    fn id(&self, name: &str) -> Uuid {
        self.users
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, u)| u.as_ref())
            .unwrap()
            .1
    }

    fn token(&self, name: &str) -> Option<String> {
        self.users
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .as_ref()
            .map(|u| u.0.clone())
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-correlation-id", "rest-test");
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, json)
}

/// One row of the matrix: a route and the status each caller (in [`CALLERS`] order) gets.
struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    expect: [u16; 7],
}

fn rows() -> Vec<Row> {
    let row = |method, path, body, expect| Row {
        method,
        path,
        body,
        expect,
    };
    vec![
        row(
            "POST",
            "/v1/tenants",
            Some(json!({"slug": "{fresh}", "name": "New"})),
            [401, 201, 201, 201, 201, 201, 201],
        ),
        row(
            "GET",
            "/v1/tenants",
            None,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/v1/tenants/{t}",
            None,
            [401, 404, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/v1/tenants/{t}/members",
            None,
            [401, 404, 200, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/v1/tenants/{t}/members",
            Some(json!({"user_id": "{newcomer}", "role": "viewer"})),
            [401, 404, 403, 403, 201, 201, 403],
        ),
        row(
            "PATCH",
            "/v1/tenants/{t}/members/{target}",
            Some(json!({"role": "agent"})),
            [401, 404, 403, 403, 200, 200, 403],
        ),
        row(
            "DELETE",
            "/v1/tenants/{t}/members/{target}",
            None,
            [401, 404, 403, 403, 204, 204, 403],
        ),
        row(
            "POST",
            "/v1/tenants/{t}/leave",
            None,
            [401, 404, 204, 204, 204, 409, 404],
        ),
        row(
            "POST",
            "/v1/tenants/{t}/transfer-ownership",
            Some(json!({"user_id": "{target}"})),
            [401, 404, 403, 403, 403, 204, 403],
        ),
        row(
            "POST",
            "/v1/tenants/{t}/invitations",
            Some(json!({"email": "n@example.com", "role": "viewer"})),
            [401, 404, 403, 403, 201, 201, 403],
        ),
        row(
            "GET",
            "/v1/tenants/{t}/invitations",
            None,
            [401, 404, 403, 403, 200, 200, 200],
        ),
        row(
            "DELETE",
            "/v1/tenants/{t}/invitations/{inv}",
            None,
            [401, 404, 403, 403, 204, 204, 403],
        ),
        row(
            "POST",
            "/v1/invitations/accept",
            Some(json!({"token": "{token}"})),
            [401, 200, 409, 409, 409, 409, 200],
        ),
    ]
}

#[tokio::test]
async fn authorization_matrix() {
    let mut n = 0;
    for hub in hubs().await {
        let f = fixture(&hub).await;
        create(&hub, f.id("outsider"), "elsewhere").await;
        for row in rows() {
            for (column, caller) in CALLERS.iter().enumerate() {
                // A fresh tenant per cell, so every call starts from the same state.
                n += 1;
                let slug = format!("tenant-{n}");
                let owner = user(f.id("owner"));
                hub.api
                    .create_tenant(
                        &owner,
                        NewTenant {
                            slug: slug.clone(),
                            name: "T".into(),
                        },
                    )
                    .await
                    .unwrap();
                for (name, role) in [
                    ("admin", Role::Admin),
                    ("agent", Role::Agent),
                    ("viewer", Role::Viewer),
                ] {
                    hub.api
                        .add_member(&owner, &slug, f.id(name), role)
                        .await
                        .unwrap();
                }
                let target = nave_hub_core::ids::new_id();
                hub.api
                    .add_member(&owner, &slug, target, Role::Viewer)
                    .await
                    .unwrap();
                let inv = hub
                    .api
                    .create_invitation(
                        &owner,
                        &slug,
                        NewInvitation {
                            email: "i@example.com".into(),
                            role: Role::Agent,
                        },
                    )
                    .await
                    .unwrap();
                let fill = |s: &str| {
                    s.replace("{t}", &slug)
                        .replace("{target}", &target.to_string())
                        .replace("{inv}", &inv.invitation.id.to_string())
                        .replace("{token}", &inv.token)
                        .replace("{fresh}", &format!("fresh-{n}"))
                        .replace("{newcomer}", &nave_hub_core::ids::new_id().to_string())
                };
                let body = row
                    .body
                    .as_ref()
                    .map(|b| serde_json::from_str(&fill(&b.to_string())).unwrap());
                let token = f.token(caller);
                let (status, json) =
                    call(&f.app, row.method, &fill(row.path), token.as_deref(), body).await;
                assert_eq!(
                    status.as_u16(),
                    row.expect[column],
                    "[{}] {} {} as {caller}: {json}",
                    hub.label,
                    row.method,
                    row.path
                );
                if status.is_client_error() {
                    assert!(
                        json["code"].is_string() && json["message"].is_string(),
                        "JSON error body: {json}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_workspace_through_rest() {
    for hub in hubs().await {
        let f = fixture(&hub).await;
        let owner = f.token("owner").unwrap();
        let (status, created) = call(
            &f.app,
            "POST",
            "/v1/tenants",
            Some(&owner),
            Some(json!({"slug": "acme", "name": "Acme"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {created}", hub.label);
        assert_eq!(created["role"], "owner");
        let (_, mine) = call(&f.app, "GET", "/v1/tenants", Some(&owner), None).await;
        assert_eq!(mine[0]["slug"], "acme");

        let (status, inv) = call(
            &f.app,
            "POST",
            "/v1/tenants/acme/invitations",
            Some(&owner),
            Some(json!({"email": "agent@example.com", "role": "agent"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let agent = f.token("agent").unwrap();
        let (status, member) = call(
            &f.app,
            "POST",
            "/v1/invitations/accept",
            Some(&agent),
            Some(json!({"token": inv["token"]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{member}");
        assert_eq!(member["role"], "agent");
        let (_, members) = call(
            &f.app,
            "GET",
            "/v1/tenants/acme/members",
            Some(&agent),
            None,
        )
        .await;
        assert_eq!(members.as_array().unwrap().len(), 2);

        // The last owner cannot leave: a JSON conflict that says what to do.
        let (status, err) =
            call(&f.app, "POST", "/v1/tenants/acme/leave", Some(&owner), None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(err["code"], "conflict");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("transfer ownership")
        );

        // Bad input is a 400 naming the field; a bad token a 401.
        let (status, err) = call(
            &f.app,
            "POST",
            "/v1/tenants",
            Some(&owner),
            Some(json!({"slug": "A B", "name": "x"})),
        )
        .await;
        assert_eq!(
            (status, err["fields"][0]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("slug"))
        );
        let (status, _) = call(&f.app, "GET", "/v1/tenants", Some("not-a-token"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn identity_routes_learn_roles_from_the_tenant_hub() {
    for hub in hubs().await {
        let f = fixture(&hub).await;
        let tenant = create(&hub, f.id("owner"), "keys").await;
        hub.api
            .add_member(&user(f.id("owner")), "keys", f.id("agent"), Role::Agent)
            .await
            .unwrap();
        let identity_app = nave_identity::rest::router(
            Arc::new(f.identity.clone()),
            Arc::new(TenantMemberships::new(hub.api.clone())),
        );
        let body = json!({"name": "ci", "tenant_id": tenant.id, "role": "agent"});
        let owner = f.token("owner").unwrap();
        let (status, key) = call(
            &identity_app,
            "POST",
            "/v1/api-keys",
            Some(&owner),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {key}", hub.label);
        let agent = f.token("agent").unwrap();
        let (status, _) = call(
            &identity_app,
            "POST",
            "/v1/api-keys",
            Some(&agent),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "[{}]", hub.label);

        // The API key acts in its tenant through the tenant routes, with its own role.
        let secret = key["secret"].as_str().unwrap();
        let (status, seen) = call(&f.app, "GET", "/v1/tenants/keys", Some(secret), None).await;
        assert_eq!(
            (status, seen["role"].as_str()),
            (StatusCode::OK, Some("agent")),
            "{seen}"
        );
        let (status, _) = call(
            &f.app,
            "POST",
            "/v1/tenants/keys/invitations",
            Some(secret),
            Some(json!({"email": "z@example.com", "role": "viewer"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

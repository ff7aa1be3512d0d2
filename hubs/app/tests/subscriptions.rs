//! Subscriptions after the saga: upgrade and rollback, cancel (uninstall), the audit events,
//! and the REST routes.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use nave_app::SubscriptionStatus;
use nave_app::rest::router;
use nave_app::saga::{InstallRequest, Installer, SubscribeRequest, Subscriber};
use nave_billing::AppsAllowed;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, EventScope, Result, Role};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// Installs at once and records removals.
#[derive(Default)]
struct Recorder {
    removed: Mutex<Vec<Uuid>>,
}

#[async_trait]
impl Installer for Recorder {
    async fn install(&self, request: InstallRequest) -> Result<Uuid> {
        Ok(request.run_id)
    }
    async fn installation_of(&self, run_id: Uuid) -> Result<Option<Uuid>> {
        Ok(Some(run_id))
    }
    async fn remove(&self, installation: Uuid) -> Result<()> {
        self.removed.lock().unwrap().push(installation);
        Ok(())
    }
}

#[tokio::test]
async fn upgrade_rollback_cancel_and_the_audit_trail() {
    for hub in hubs().await {
        let app = published(&hub, "echo", 0).await;
        hub.api
            .record_version(&system(), app.id, new_version("1.1.0", 'b'))
            .await
            .unwrap();
        let t = tenant(&hub, AppsAllowed::All, None, 0).await;
        let admin = member(t, Role::Admin);
        let installer = Arc::new(Recorder::default());
        let subscriber = Subscriber::new(
            hub.api.clone(),
            Arc::new(hub.wallet.clone()),
            installer.clone(),
            hub.local.saga_runner(),
        );
        let request = SubscribeRequest {
            app_id: app.id,
            version: Some("1.0.0".into()),
            settings: Value::Null,
            allowed_hosts: vec![],
            deadline_ms: None,
            memory_mib: None,
        };
        let sub = subscriber.subscribe(&admin, t, request).await.unwrap();
        assert_eq!(
            (sub.version.as_str(), sub.fee.amount, sub.hold_id),
            ("1.0.0", 0, None)
        );

        // Upgrade, rollback, and versions that do not exist.
        let up = hub
            .api
            .set_version(&admin, sub.id, "1.1.0".into())
            .await
            .unwrap();
        assert_eq!(
            (up.version.as_str(), up.previous_version.as_deref()),
            ("1.1.0", Some("1.0.0"))
        );
        let back = hub
            .api
            .set_version(&admin, sub.id, "1.0.0".into())
            .await
            .unwrap();
        assert_eq!(
            (back.version.as_str(), back.previous_version.as_deref()),
            ("1.0.0", Some("1.1.0"))
        );
        let err = assert_err(
            &hub,
            hub.api.set_version(&admin, sub.id, "9.9.9".into()).await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "version");
        assert_err(
            &hub,
            hub.api
                .set_version(&member(t, Role::Agent), sub.id, "1.1.0".into())
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .get_subscription(&member(new_id(), Role::Owner), sub.id)
                .await,
            "not_found",
        );

        // Unlisting keeps the existing subscription.
        hub.api
            .update_listing(
                &platform_admin(),
                app.id,
                nave_app::ListingChange {
                    unlisted: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            hub.api
                .get_subscription(&admin, sub.id)
                .await
                .unwrap()
                .status,
            SubscriptionStatus::Active
        );

        // Cancel: the installer uninstalls, the subscription is cancelled; again changes nothing.
        let cancelled = subscriber.unsubscribe(&admin, sub.id).await.unwrap();
        assert_eq!(cancelled.status, SubscriptionStatus::Cancelled);
        assert_eq!(
            *installer.removed.lock().unwrap(),
            [sub.installation_id.unwrap()]
        );
        assert_eq!(
            subscriber.unsubscribe(&admin, sub.id).await.unwrap().status,
            SubscriptionStatus::Cancelled
        );
        assert_eq!(
            installer.removed.lock().unwrap().len(),
            1,
            "[{}] uninstalled once",
            hub.label
        );
        assert_err(
            &hub,
            hub.api.set_version(&admin, sub.id, "1.1.0".into()).await,
            "failed_precondition",
        );

        // Saga steps are the platform's alone.
        assert_err(
            &hub,
            hub.api
                .activate_subscription(&admin, sub.id, new_id())
                .await,
            "permission_denied",
        );

        // The tenant's audit trail, with the subscriber as actor.
        let page = hub
            .api
            .list_events(&admin, EventScope::Tenant(t), 0, 100)
            .await
            .unwrap();
        let kinds: Vec<_> = page.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "app.subscription_created",
                "app.subscription_activated",
                "app.subscription_version_changed",
                "app.subscription_version_changed",
                "app.subscription_cancelled",
            ],
            "[{}]",
            hub.label
        );
        assert!(
            page.events
                .iter()
                .all(|e| e.actor == admin.actor() && e.tenant_id == Some(t))
        );
        assert_eq!(page.events[2].payload["to"], "1.1.0");
        let platform = hub
            .api
            .list_events(&platform_admin(), EventScope::Platform, 0, 100)
            .await
            .unwrap();
        let kinds: Vec<_> = platform.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "app.listing_published",
                "app.version_recorded",
                "app.version_recorded",
                "app.listing_updated"
            ]
        );
        assert_err(
            &hub,
            hub.api
                .list_events(&member(t, Role::Agent), EventScope::Tenant(t), 0, 10)
                .await,
            "permission_denied",
        );
    }
}

async fn send(
    hub: &Hub,
    method: &str,
    path: &str,
    ctx: Option<AuthContext>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    if let Some(ctx) = ctx {
        request.extensions_mut().insert(ctx);
    }
    let response = router(hub.api.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn rest_routes() {
    for hub in hubs().await {
        let body = serde_json::to_value(new_listing("echo", 200)).unwrap();
        let (status, _) = send(&hub, "POST", "/v1/apps", None, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, listing) =
            send(&hub, "POST", "/v1/apps", Some(platform_admin()), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {listing}", hub.label);
        let id = listing["id"].as_str().unwrap().to_owned();
        hub.api
            .record_version(&system(), id.parse().unwrap(), new_version("1.0.0", 'a'))
            .await
            .unwrap();

        let t = tenant(&hub, AppsAllowed::All, None, 500).await;
        let admin = member(t, Role::Admin);
        let mut private = new_listing("Bad Name", 0);
        private.icon_url = Some("nope".into());
        let (status, err) = send(
            &hub,
            "POST",
            &format!("/v1/tenants/{t}/apps"),
            Some(admin.clone()),
            Some(serde_json::to_value(private).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["fields"][1]["field"], "icon_url");
        let (status, mine) = send(
            &hub,
            "POST",
            &format!("/v1/tenants/{t}/apps"),
            Some(admin.clone()),
            Some(serde_json::to_value(new_listing("crm", 0)).unwrap()),
        )
        .await;
        assert_eq!(
            (
                status,
                mine["visibility"].as_str(),
                mine["owner_tenant_id"].as_str()
            ),
            (
                StatusCode::CREATED,
                Some("private"),
                Some(t.to_string().as_str())
            )
        );

        let (status, apps) = send(
            &hub,
            "GET",
            &format!("/v1/tenants/{t}/apps"),
            Some(admin.clone()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(apps.as_array().unwrap().len(), 2);
        let (status, _) = send(
            &hub,
            "GET",
            &format!("/v1/apps?tenant={t}"),
            Some(member(new_id(), Role::Owner)),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, by_name) = send(&hub, "GET", "/v1/apps/echo", Some(admin.clone()), None).await;
        assert_eq!(
            (status, by_name["id"].as_str()),
            (StatusCode::OK, Some(id.as_str()))
        );
        let (status, patched) = send(
            &hub,
            "PATCH",
            &format!("/v1/apps/{id}"),
            Some(platform_admin()),
            Some(serde_json::json!({"install_fee": 150})),
        )
        .await;
        assert_eq!(
            (status, patched["install_fee"]["amount"].as_i64()),
            (StatusCode::OK, Some(150))
        );

        // Guards: 200 when they pass, 409 with every reason when not.
        let (status, report) = send(
            &hub,
            "POST",
            &format!("/v1/tenants/{t}/apps/echo/guards"),
            Some(admin.clone()),
            None,
        )
        .await;
        assert_eq!(
            (status, report["ok"].as_bool()),
            (StatusCode::OK, Some(true)),
            "[{}] {report}",
            hub.label
        );
        let (status, err) = send(
            &hub,
            "POST",
            &format!("/v1/tenants/{t}/apps/{id}/guards"),
            Some(member(t, Role::Viewer)),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(err["reasons"][0]["code"], "not_tenant_admin");

        let (status, subs) = send(
            &hub,
            "GET",
            &format!("/v1/tenants/{t}/subscriptions"),
            Some(admin.clone()),
            None,
        )
        .await;
        assert_eq!(
            (status, subs.as_array().map(Vec::len)),
            (StatusCode::OK, Some(0))
        );
        let (status, _) = send(
            &hub,
            "GET",
            &format!("/v1/tenants/{t}/subscriptions/{}", new_id()),
            Some(admin),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

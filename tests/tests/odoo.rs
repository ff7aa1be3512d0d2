//! The Odoo processor spoke end to end against a fake Odoo speaking real XML-RPC: install
//! (authentication), phone capture into partners and leads, de-duplication, Odoo 18.2
//! without `mobile`, outages (staging, then exactly one push) and refused credentials.

use nave::runtime::CallError;
use nave::runtime::Enrichment;
use nave::runtime::bindings::types::{Message, Profile, SpokeError};
use nave_tests::odoo::{FakeOdoo, ODOO_UID, install_odoo, odoo_settings};
use nave_tests::{TestHost, spoke};
use serde_json::json;

async fn setup(extra: serde_json::Value) -> (TestHost, FakeOdoo, String) {
    let host = TestHost::start().await;
    let odoo = FakeOdoo::start().await;
    let id = install_odoo(&host, &odoo, "acme", extra).await;
    (host, odoo, id)
}

/// A message from Ada Lovelace on Messenger, with the metadata the message hub adds.
fn message(id: &str, text: &str) -> Message {
    Message {
        platform: "facebook".into(),
        id: id.into(),
        conversation: "PAGE1:USER1".into(),
        sender: "USER1".into(),
        recipient: "PAGE1".into(),
        text: Some(text.into()),
        attachments: vec![],
        payload: None,
        timestamp_ms: 1_700_000_000_000,
        sender_profile: Some(Profile {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            picture_url: None,
        }),
        metadata: vec![
            (
                "nave.tenant".into(),
                "0190b6c4-0000-7000-8000-000000000001".into(),
            ),
            (
                "nave.conversation".into(),
                "0190b6c4-0000-7000-8000-000000000002".into(),
            ),
            (
                "nave.contact".into(),
                "0190b6c4-0000-7000-8000-000000000003".into(),
            ),
            (
                "nave.installation".into(),
                "0190b6c4-0000-7000-8000-000000000004".into(),
            ),
        ],
    }
}

async fn process(host: &TestHost, id: &str, message: &Message) -> Result<Enrichment, CallError> {
    let installation = host.app.registry.installation(id.parse().unwrap()).unwrap();
    let ctx = installation.call_context(&format!("odoo-test-{}", message.id));
    host.app
        .runtime
        .process(&installation.spoke, &ctx, message)
        .await
}

fn meta<'a>(enrichment: &'a Enrichment, key: &str) -> Option<&'a str> {
    enrichment
        .metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn install_authenticates_and_learns_the_partner_fields() {
    let (_host, odoo, _id) = setup(json!({})).await;
    assert_eq!(
        odoo.call_names(),
        ["common.authenticate", "res.partner.fields_get"]
    );
    let calls = odoo.calls();
    assert_eq!(
        calls[0].params,
        [
            json!("acme-prod"),
            json!("bot@acme.example"),
            json!("odoo-api-key-1"),
            json!({})
        ]
    );
    assert_eq!(calls[1].params[1], json!(ODOO_UID));
    assert_eq!(calls[1].kwargs(), json!({"attributes": ["type"]}));
}

#[tokio::test]
async fn a_phone_in_a_message_becomes_a_partner_and_a_lead_in_the_configured_team_and_stage() {
    let (host, odoo, id) =
        setup(json!({"default_country": "PT", "team_id": "5", "stage_id": "2"})).await;
    odoo.clear_calls();

    let enrichment = process(
        &host,
        &id,
        &message("m-1", "Olá! Liguem-me para o 912 345 678, obrigada"),
    )
    .await
    .expect("processed");

    assert_eq!(
        enrichment.contact_fields,
        [("phone".to_owned(), "+351912345678".to_owned())]
    );
    let partners = odoo.partners();
    let leads = odoo.leads();
    assert_eq!(partners.len(), 1, "{partners:?}");
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(partners[0]["phone"], "+351912345678");
    assert_eq!(partners[0]["name"], "Ada Lovelace");
    let lead = &leads[0];
    assert_eq!(lead["partner_id"], partners[0]["id"]);
    assert_eq!(lead["phone"], "+351912345678");
    assert_eq!(lead["team_id"], 5);
    assert_eq!(lead["stage_id"], 2);
    assert_eq!(lead["name"], "Ada Lovelace (facebook)");
    assert!(
        lead["description"]
            .as_str()
            .unwrap()
            .contains("912 345 678")
    );
    assert_eq!(
        meta(&enrichment, "odoo.partner_id"),
        Some(partners[0]["id"].to_string().as_str())
    );
    assert_eq!(
        meta(&enrichment, "odoo.lead_id"),
        Some(lead["id"].to_string().as_str())
    );
    assert_eq!(meta(&enrichment, "odoo.staged"), Some("0"));

    // The session came from kv: no new authentication; the search covered phone and mobile.
    assert_eq!(
        odoo.call_names(),
        [
            "res.partner.search_read",
            "res.partner.create",
            "crm.lead.create"
        ]
    );
    let search = &odoo.calls()[0];
    let domain = search.args()[0].clone();
    assert_eq!(domain[0], "|");
    assert_eq!(domain[1][0], "phone");
    assert_eq!(domain[2][0], "mobile");
    let variants = domain[1][2].as_array().unwrap();
    assert!(
        variants.contains(&json!("+351912345678")) && variants.contains(&json!("+351 912 345 678"))
    );
}

#[tokio::test]
async fn the_same_phone_again_creates_no_duplicate() {
    let (host, odoo, id) = setup(json!({"default_country": "PT"})).await;
    let first = process(&host, &id, &message("m-1", "my number: 912345678"))
        .await
        .unwrap();
    odoo.clear_calls();

    // The same message again (a redelivery): answered from kv, Odoo is not asked.
    let again = process(&host, &id, &message("m-1", "my number: 912345678"))
        .await
        .unwrap();
    assert_eq!(odoo.call_names(), Vec::<String>::new());
    assert_eq!(again.metadata, first.metadata);

    // Another message with the number written another way: found, not created.
    let other = process(&host, &id, &message("m-2", "again, +351 912-345-678"))
        .await
        .unwrap();
    assert_eq!(odoo.call_names(), ["res.partner.search_read"]);
    assert_eq!(
        other.contact_fields,
        [("phone".to_owned(), "+351912345678".to_owned())]
    );
    assert_eq!(
        meta(&other, "odoo.partner_id"),
        meta(&first, "odoo.partner_id")
    );
    assert_eq!(
        meta(&other, "odoo.lead_id"),
        None,
        "no new lead for a known partner"
    );
    assert_eq!((odoo.partners().len(), odoo.leads().len()), (1, 1));
}

#[tokio::test]
async fn a_partner_made_in_odoo_with_a_formatted_number_is_found() {
    let host = TestHost::start().await;
    let odoo = FakeOdoo::start().await;
    let existing =
        odoo.add_partner(json!({"name": "Grace", "phone": false, "mobile": "+33 6 12 34 56 78"}));
    let id = install_odoo(&host, &odoo, "acme", json!({"default_country": "FR"})).await;

    let enrichment = process(&host, &id, &message("m-1", "appelez le 06.12.34.56.78"))
        .await
        .unwrap();
    assert_eq!(
        meta(&enrichment, "odoo.partner_id"),
        Some(existing.to_string().as_str())
    );
    assert_eq!((odoo.partners().len(), odoo.leads().len()), (1, 0));
}

#[tokio::test]
async fn odoo_18_2_without_mobile_works_without_touching_mobile() {
    let host = TestHost::start().await;
    let odoo = FakeOdoo::start().await;
    odoo.set_odoo_18_2(true);
    let id = install_odoo(&host, &odoo, "acme", json!({"default_country": "US"})).await;

    let enrichment = process(&host, &id, &message("m-1", "call me at (415) 555-2671"))
        .await
        .expect("no Invalid field fault");
    assert_eq!(
        enrichment.contact_fields,
        [("phone".to_owned(), "+14155552671".to_owned())]
    );
    assert_eq!((odoo.partners().len(), odoo.leads().len()), (1, 1));
    for call in odoo.calls() {
        let params = serde_json::to_string(&call.params).unwrap();
        assert!(
            !params.contains("mobile"),
            "{} named mobile: {params}",
            call.name()
        );
    }
}

#[tokio::test]
async fn an_odoo_outage_stages_the_capture_and_the_next_call_pushes_it_once() {
    let (host, odoo, id) = setup(json!({"default_country": "PT"})).await;
    odoo.set_down(true);
    odoo.clear_calls();

    let staged = process(&host, &id, &message("m-1", "ligue 912345678"))
        .await
        .expect("an outage does not fail the message");
    assert_eq!(
        staged.contact_fields,
        [("phone".to_owned(), "+351912345678".to_owned())]
    );
    assert_eq!(meta(&staged, "odoo.staged"), Some("1"));
    assert_eq!(meta(&staged, "odoo.partner_id"), None);
    assert!(odoo.refused() >= 1, "the spoke tried");
    assert_eq!((odoo.partners().len(), odoo.leads().len()), (0, 0));

    // Still down: a message without a phone neither fails nor loses the staged one.
    let waiting = process(&host, &id, &message("m-2", "are you there?"))
        .await
        .unwrap();
    assert_eq!(meta(&waiting, "odoo.staged"), Some("1"));

    odoo.set_down(false);
    wait_out_the_circuit(&host).await;
    let flushed = process(&host, &id, &message("m-3", "thanks"))
        .await
        .unwrap();
    assert_eq!(meta(&flushed, "odoo.staged"), Some("0"));
    assert_eq!(flushed.contact_fields, vec![]);
    let partners = odoo.partners();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0]["phone"], "+351912345678");
    assert_eq!(odoo.leads().len(), 1);

    // Nothing left: later calls push nothing more and do not call Odoo.
    odoo.clear_calls();
    let later = process(&host, &id, &message("m-4", "bye")).await.unwrap();
    assert_eq!(odoo.call_names(), Vec::<String>::new());
    assert!(later.metadata.is_empty(), "{:?}", later.metadata);
    assert_eq!((odoo.partners().len(), odoo.leads().len()), (1, 1));
}

#[tokio::test]
async fn a_wrong_api_key_refuses_the_installation_as_unauthorized() {
    let host = TestHost::start().await;
    let odoo = FakeOdoo::start().await;
    let (status, plugin) = host.upload(spoke("plugins/odoo")).await;
    assert!(status.is_success(), "{plugin}");
    let (status, body) = host
        .install(
            "acme",
            json!({
                "plugin": plugin["name"], "version": plugin["version"],
                "settings": odoo_settings(&odoo, json!({"api_key": "not-the-key"})),
                "allowed_hosts": [odoo.addr.to_string()],
            }),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{body}");
    assert_eq!(body["code"], "install_refused");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("unauthorized") && message.contains("api_key"),
        "{message}"
    );
    assert_eq!(odoo.call_names(), ["common.authenticate"]);
}

#[tokio::test]
async fn a_bad_default_country_refuses_the_installation_naming_the_setting() {
    let host = TestHost::start().await;
    let odoo = FakeOdoo::start().await;
    let (_, plugin) = host.upload(spoke("plugins/odoo")).await;
    let (status, body) = host
        .install(
            "acme",
            json!({
                "plugin": plugin["name"], "version": plugin["version"],
                "settings": odoo_settings(&odoo, json!({"default_country": "Portugal"})),
                "allowed_hosts": [odoo.addr.to_string()],
            }),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("`default_country`"),
        "{body}"
    );
    assert!(odoo.calls().is_empty());
}

#[tokio::test]
async fn a_revoked_key_fails_processing_as_unauthorized_and_keeps_the_capture() {
    let (host, odoo, id) = setup(json!({"default_country": "PT"})).await;
    odoo.set_api_key("rotated");
    match process(&host, &id, &message("m-1", "912345678")).await {
        Err(CallError::Spoke(SpokeError::Unauthorized(m))) => {
            assert!(m.contains("Access Denied"), "{m}")
        }
        other => panic!("expected unauthorized: {other:?}"),
    }
    assert!(odoo.partners().is_empty());

    // Once Odoo takes the key again, the capture that waited goes out.
    odoo.set_api_key(nave_tests::odoo::ODOO_API_KEY);
    let enrichment = process(&host, &id, &message("m-2", "hello")).await.unwrap();
    assert_eq!(meta(&enrichment, "odoo.staged"), Some("0"));
    assert_eq!(odoo.partners().len(), 1);
    assert_eq!(odoo.partners()[0]["phone"], "+351912345678");
}

#[tokio::test]
async fn a_message_without_a_phone_sends_nothing_to_odoo() {
    let (host, odoo, id) = setup(json!({"default_country": "PT"})).await;
    odoo.clear_calls();
    let enrichment = process(
        &host,
        &id,
        &message(
            "m-1",
            "When do you open? Order #912345678 placed on 2024-01-15, total 12.50",
        ),
    )
    .await
    .unwrap();
    assert!(enrichment.contact_fields.is_empty());
    assert!(enrichment.metadata.is_empty(), "{:?}", enrichment.metadata);
    assert!(odoo.calls().is_empty(), "{:?}", odoo.call_names());
    assert_eq!(odoo.refused(), 0);
}

/// An outage may have opened Odoo's circuit (failures in a row; see `runtime::breaker`): calls
/// are refused without trying until it has been open `circuit_open_ms`, then one probe closes it.
async fn wait_out_the_circuit(host: &TestHost) {
    let open = host.app.config.limits.circuit_open_ms;
    tokio::time::sleep(std::time::Duration::from_millis(open + 50)).await;
}

#[tokio::test]
async fn a_backlog_drains_oldest_first_a_bounded_number_per_call() {
    let (host, odoo, id) = setup(json!({"default_country": "PT"})).await;
    odoo.set_down(true);
    // Twelve people leave their number during the outage.
    let phones: Vec<String> = (0..12).map(|i| format!("91234{:04}", 5600 + i)).collect();
    for (i, phone) in phones.iter().enumerate() {
        let staged = process(&host, &id, &message(&format!("m-{i}"), phone))
            .await
            .unwrap();
        assert_eq!(
            meta(&staged, "odoo.staged"),
            Some((i + 1).to_string().as_str())
        );
    }

    odoo.set_down(false);
    wait_out_the_circuit(&host).await;
    let first = process(&host, &id, &message("m-a", "ok")).await.unwrap();
    assert_eq!(meta(&first, "odoo.staged"), Some("2"), "ten per call");
    let pushed: Vec<String> = odoo
        .partners()
        .iter()
        .map(|p| p["phone"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = phones[..10].iter().map(|p| format!("+351{p}")).collect();
    assert_eq!(pushed, expected, "oldest first");

    let second = process(&host, &id, &message("m-b", "ok")).await.unwrap();
    assert_eq!(meta(&second, "odoo.staged"), Some("0"));
    assert_eq!((odoo.partners().len(), odoo.leads().len()), (12, 12));
}

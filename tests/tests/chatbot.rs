//! A working chatbot end to end, with the real spokes: a signed Facebook webhook → the message
//! hub → MinIO stores the image and its thumbnail in a real S3 server → Odoo captures the
//! phone → Botpress answers → the reply reaches the fake Graph API for the right PSID. Also
//! what happens while Botpress or Odoo is down.

use std::time::Duration;

use nave_tests::botpress::FakeBotpress;
use nave_tests::odoo::{FakeOdoo, install_odoo};
use nave_tests::s3::{FakeCdn, S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, TestS3};
use nave_tests::{
    FACEBOOK_APP_SECRET, FakeGraph, TestHost, facebook_signature, install_facebook, json_of,
    metric, spoke, until,
};
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

struct Chatbot {
    host: TestHost,
    graph: FakeGraph,
    botpress: FakeBotpress,
    odoo: FakeOdoo,
    s3: TestS3,
    cdn: FakeCdn,
    facebook: String,
}

/// Facebook, MinIO (bucket `media`), Odoo (Portugal, team 5) and Botpress (v12 Converse API, bot `welcome-bot`)
/// in `acme`, with one rule: every message goes through MinIO and Odoo, then to Botpress.
async fn chatbot() -> Chatbot {
    let host = TestHost::start().await;
    let graph = FakeGraph::start().await;
    let botpress = FakeBotpress::start().await;
    let odoo = FakeOdoo::start().await;
    let s3 = TestS3::start().await;
    s3.create_bucket("media");
    let cdn = FakeCdn::start().await;
    let facebook = install_facebook(&host, &graph, "acme").await;
    let media = host
        .upload_and_install(
            spoke("plugins/minio"),
            "acme",
            json!({
                "settings": {
                    "endpoint": s3.endpoint,
                    "bucket": "media",
                    "access_key": S3_ACCESS_KEY,
                    "secret_key": S3_SECRET_KEY,
                    "media_host": cdn.host,
                },
                "allowed_hosts": [s3.host, cdn.host],
            }),
        )
        .await;
    let crm = install_odoo(
        &host,
        &odoo,
        "acme",
        json!({"default_country": "PT", "team_id": "5"}),
    )
    .await;
    let bot = nave_tests::botpress::install_botpress(
        &host,
        &botpress,
        "acme",
        json!({"api": "converse", "bot_id": "welcome-bot"}),
    )
    .await;
    host.import_plans(&["acme"]).await;
    host.set_routing_rules(
        "acme",
        json!([{ "name": "sales", "then": { "processors": [media, crm], "bot": bot } }]),
    )
    .await;
    Chatbot {
        host,
        graph,
        botpress,
        odoo,
        s3,
        cdn,
        facebook,
    }
}

async fn write(c: &Chatbot, sender: &str, mid: &str, text: &str) {
    write_message(c, sender, json!({"mid": mid, "text": text})).await;
}

async fn write_message(c: &Chatbot, sender: &str, message: serde_json::Value) {
    let body = serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": 1700000000000u64, "messaging": [
            {"sender": {"id": sender}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000001u64,
             "message": message}
        ]}
    ]}))
    .unwrap();
    let response = c
        .host
        .http
        .post(c.host.at(&format!("/hooks/{}", c.facebook)))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            facebook_signature(FACEBOOK_APP_SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn to(psid: &str, texts: &[&str]) -> Vec<(String, String)> {
    texts
        .iter()
        .map(|t| (psid.to_owned(), (*t).to_owned()))
        .collect()
}

/// Reads an object with an S3 client that owes nothing to the spoke (rusty-s3 signs).
async fn read_object(s3: &TestS3, key: &str) -> reqwest::Response {
    use rusty_s3::S3Action;
    let bucket = rusty_s3::Bucket::new(
        s3.endpoint.parse().unwrap(),
        rusty_s3::UrlStyle::Path,
        "media",
        S3_REGION,
    )
    .unwrap();
    let credentials = rusty_s3::Credentials::new(S3_ACCESS_KEY, S3_SECRET_KEY);
    let url = bucket
        .get_object(Some(&credentials), key)
        .sign(Duration::from_secs(60));
    reqwest::get(url).await.unwrap()
}

fn meta(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(format!("x-amz-meta-{name}"))
        .unwrap_or_else(|| panic!("no x-amz-meta-{name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_facebook_message_with_a_phone_and_an_image_is_stored_captured_and_answered() {
    let c = chatbot().await;
    let image = format!("{}/photo.png", c.cdn.url);
    write_message(
        &c,
        "USER1",
        json!({"mid": "m-1", "text": "Olá! Liguem-me para o 912 345 678",
               "attachments": [{"type": "image", "payload": {"url": image}}]}),
    )
    .await;
    let sent = c.graph.wait_for_sent(1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "USER1", "the reply goes to the right PSID");
    assert!(
        sent[0]
            .1
            .starts_with("You said: Olá! Liguem-me para o 912 345 678"),
        "{sent:?}"
    );

    // The image and its thumbnail are in the bucket, under the tenant and conversation.
    let tenant = c.host.tenant_id("acme").await;
    let sha = hex::encode(Sha256::digest(c.cdn.png.as_slice()));

    let partners = c.odoo.partners();
    assert_eq!(partners.len(), 1, "{partners:?}");
    assert_eq!(partners[0]["phone"], "+351912345678");
    let leads = c.odoo.leads();
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0]["team_id"], 5);
    assert_eq!(leads[0]["partner_id"], partners[0]["id"]);

    let asked = c
        .botpress
        .received()
        .into_iter()
        .find(|r| r.path.starts_with("/api/v1/bots/welcome-bot/converse/"))
        .expect("Botpress was asked");
    assert_eq!(
        asked.json()["text"],
        format!("Olá! Liguem-me para o 912 345 678\n{image}"),
        "Botpress gets the text and the image's URL"
    );

    // The phone the Odoo spoke found is now on the platform contact, too, and the reply is
    // counted on it (after its delivery, so a moment after the Graph API saw it).
    let contact = until("the contact's phone and its messages counted", || async {
        let (_, page) = json_of(
            c.host
                .operator(Method::GET, "/v1/tenants/acme/contacts")
                .send()
                .await
                .unwrap(),
        )
        .await;
        let contact = page["contacts"][0].clone();
        let counted = contact["messages_in"].as_i64().unwrap_or(0) > 0
            && contact["messages_out"].as_i64().unwrap_or(0) > 0;
        (contact["phone"] == "+351912345678" && counted).then_some(contact)
    })
    .await;
    assert_eq!(contact["messages_in"], 1, "{contact}");
    assert_eq!(
        contact["messages_out"], 1,
        "the reply counts too: {contact}"
    );

    // The enrichment is on the message.
    let (_, conversations) = json_of(
        c.host
            .operator(Method::GET, "/v1/tenants/acme/conversations")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = conversations["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, messages) = json_of(
        c.host
            .operator(
                Method::GET,
                &format!("/v1/tenants/acme/conversations/{id}/messages"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let inbound = &messages["items"][0];
    assert_eq!(
        inbound["enrichment"]["contact_fields"],
        json!([["phone", "+351912345678"]]),
        "{inbound}"
    );
    let key = format!("{tenant}/{id}/{sha}");
    let file = &inbound["enrichment"]["files"][0];
    assert_eq!(file["key"], key.as_str(), "{inbound}");
    assert_eq!(file["source_url"], image.as_str());
    let stored = read_object(&c.s3, &key).await;
    assert_eq!(stored.status(), 200);
    assert_eq!(meta(&stored, "sha256"), sha);
    assert_eq!(meta(&stored, "source"), image);
    assert_eq!(meta(&stored, "width"), "800");
    assert_eq!(meta(&stored, "height"), "400");
    assert_eq!(stored.bytes().await.unwrap().as_ref(), c.cdn.png.as_slice());
    let thumbnail = read_object(&c.s3, &format!("{key}.thumb.jpg")).await;
    assert_eq!(
        thumbnail.status(),
        200,
        "the thumbnail is beside the original"
    );
    let thumbnail = image::load_from_memory(&thumbnail.bytes().await.unwrap()).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (256, 128));
    // The presigned URL in the enrichment fetches the image with a plain GET.
    let presigned = reqwest::get(file["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(
        presigned.bytes().await.unwrap().as_ref(),
        c.cdn.png.as_slice()
    );
}

#[tokio::test]
async fn botpress_down_opens_its_circuit_and_every_reply_goes_out_once_it_is_back() {
    let c = chatbot().await;
    c.botpress.set_down(true);
    for i in 0..3 {
        write(&c, "USER1", &format!("m-{i}"), &format!("question {i}")).await;
    }
    let host_label = format!(
        "nave_circuit_state{{host=\"{}\"}}",
        c.botpress.url.trim_start_matches("http://")
    );
    until("the Botpress circuit open", || async {
        let text = c.host.metrics().await;
        (metric(&text, &host_label) == 1.0).then_some(())
    })
    .await;
    assert!(c.graph.sent().is_empty(), "nothing answered while down");
    c.botpress.set_down(false);
    assert_eq!(
        c.graph.wait_for_sent(3).await,
        to(
            "USER1",
            &[
                "You said: question 0",
                "You said: question 1",
                "You said: question 2"
            ]
        )
    );
    let text = c.host.metrics().await;
    assert_eq!(metric(&text, &host_label), 0.0, "closed again");
    assert!(metric(&text, "nave_circuit_opened_total") >= 1.0);
    assert!(metric(&text, "nave_messages{kind=\"retried\"}") >= 1.0);
}

#[tokio::test]
async fn odoo_down_stages_the_phone_and_the_next_message_pushes_it() {
    let c = chatbot().await;
    c.odoo.set_down(true);
    write(&c, "USER1", "m-1", "my number is 912 345 678").await;
    assert_eq!(
        c.graph.wait_for_sent(1).await,
        to("USER1", &["You said: my number is 912 345 678"]),
        "the bot answers even while Odoo is down"
    );
    assert!(c.odoo.partners().is_empty());
    c.odoo.set_down(false);
    write(&c, "USER1", "m-2", "thanks").await;
    c.graph.wait_for_sent(2).await;
    let partners = until("the staged partner pushed", || async {
        let partners = c.odoo.partners();
        (!partners.is_empty()).then_some(partners)
    })
    .await;
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0]["phone"], "+351912345678");
    assert_eq!(c.odoo.leads().len(), 1);
}

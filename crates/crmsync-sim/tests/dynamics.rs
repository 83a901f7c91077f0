//! The Dataverse simulator on the wire: status codes, headers and bodies as the
//! reference describes them.

use std::time::Duration;

use crmsync_sim::dynamics::{DynamicsSim, DynamicsSimConfig};
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Client {
    fn new(sim: &DynamicsSim) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: format!("{}/api/data/v9.2", sim.org_url()),
            token: sim.access_token(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/{path}", self.api)
        };
        self.http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("OData-Version", "4.0")
            .header("Accept", "application/json")
    }
}

async fn json_of(r: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn config(contacts: usize) -> DynamicsSimConfig {
    DynamicsSimConfig {
        contacts,
        accounts: 5,
        leads: 0,
        opportunities: 0,
        seed: 3,
        ..DynamicsSimConfig::default()
    }
}

#[tokio::test]
async fn the_token_endpoint_speaks_the_identity_platform() {
    let sim = DynamicsSim::start(config(0)).await.expect("sim");
    let http = reqwest::Client::new();
    let form = |scope: &str, secret: &str| {
        vec![
            ("client_id", sim.client_id()),
            ("client_secret", secret.to_owned()),
            ("scope", scope.to_owned()),
            ("grant_type", "client_credentials".to_owned()),
        ]
    };
    let ok = http
        .post(sim.token_url())
        .form(&form(
            &format!("{}/.default", sim.org_url()),
            &sim.client_secret(),
        ))
        .send()
        .await
        .expect("token");
    let (status, _, body) = json_of(ok).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 3000));
    let scope = http
        .post(sim.token_url())
        .form(&form(
            "https://other.crm.dynamics.com/.default",
            &sim.client_secret(),
        ))
        .send()
        .await
        .expect("token");
    let (status, _, body) = json_of(scope).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");
    assert!(body["error_codes"].is_array() && body["trace_id"].is_string());
    let secret = http
        .post(sim.token_url())
        .form(&form(&format!("{}/.default", sim.org_url()), "wrong"))
        .send()
        .await
        .expect("token");
    assert_eq!(secret.status().as_u16(), 401);
}

#[tokio::test]
async fn writes_answer_with_dataverse_status_codes_and_bodies() {
    let sim = DynamicsSim::start(config(3)).await.expect("sim");
    let c = Client::new(&sim);
    let created = c
        .req(reqwest::Method::POST, "contacts")
        .json(&json!({"firstname": "Ada", "lastname": "Lovelace"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status().as_u16(), 204);
    let entity = created.headers()["OData-EntityId"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        entity.starts_with(&format!("{}/contacts(", c.api)),
        "{entity}"
    );
    let represented = c
        .req(reqwest::Method::POST, "contacts?$select=lastname")
        .header("Prefer", "return=representation")
        .json(&json!({"lastname": "Hopper"}))
        .send()
        .await
        .expect("create");
    let (status, headers, body) = json_of(represented).await;
    assert_eq!(status, 201);
    assert_eq!(headers["Preference-Applied"], "return=representation");
    assert_eq!(body["lastname"], "Hopper");
    assert!(
        body["@odata.etag"]
            .as_str()
            .is_some_and(|e| e.starts_with("W/\""))
    );

    let missing = "00000000-0000-0000-0000-0000000000ff";
    let update_only = c
        .req(reqwest::Method::PATCH, &format!("contacts({missing})"))
        .header("If-Match", "*")
        .json(&json!({"lastname": "X"}))
        .send()
        .await
        .expect("patch");
    let (status, _, body) = json_of(update_only).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": {"code": "", "message": format!("contact With Id = {missing} Does Not Exist")}})
    );
    let id = entity
        .rsplit_once('(')
        .map(|(_, r)| r.trim_end_matches(')'))
        .unwrap_or_default()
        .to_owned();
    let create_only = c
        .req(reqwest::Method::PATCH, &format!("contacts({id})"))
        .header("If-None-Match", "*")
        .json(&json!({"lastname": "X"}))
        .send()
        .await
        .expect("patch");
    let (status, _, body) = json_of(create_only).await;
    assert_eq!(status, 412);
    assert_eq!(
        body["error"]["message"],
        "A record with matching key values already exists."
    );
    let stale = c
        .req(reqwest::Method::PATCH, &format!("contacts({id})"))
        .header("If-Match", "W/\"1\"")
        .json(&json!({"lastname": "X"}))
        .send()
        .await
        .expect("patch");
    let (status, _, body) = json_of(stale).await;
    assert_eq!(status, 412);
    assert_eq!(
        body["error"]["message"],
        "The version of the existing record doesn't match the RowVersion property provided."
    );

    // Upsert on the alternate key: 201 the first time, 200 after.
    for expected in [201, 200] {
        let r = c
            .req(
                reqwest::Method::PATCH,
                "contacts(crmsync_externalid='app-1')?$select=contactid",
            )
            .header("Prefer", "return=representation")
            .json(&json!({"lastname": "Keyed"}))
            .send()
            .await
            .expect("upsert");
        assert_eq!(r.status().as_u16(), expected);
    }
    assert_eq!(
        sim.records("contact")
            .iter()
            .filter(|r| r.str("lastname") == Some("Keyed"))
            .count(),
        1
    );
    let deleted = c
        .req(reqwest::Method::DELETE, &format!("contacts({id})"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    let again = c
        .req(reqwest::Method::DELETE, &format!("contacts({id})"))
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status().as_u16(), 404);
}

#[tokio::test]
async fn queries_page_at_5000_and_refuse_skip() {
    let sim = DynamicsSim::start(config(6_100)).await.expect("sim");
    let c = Client::new(&sim);
    let (status, _, page) = json_of(
        c.req(reqwest::Method::GET, "contacts?$select=lastname")
            .header("Prefer", "odata.maxpagesize=9000")
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["value"].as_array().map(Vec::len), Some(5_000));
    let next = page["@odata.nextLink"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        next.contains("$skiptoken=%3Ccookie%20pagenumber%3D%222%22"),
        "{next}"
    );
    let (_, _, rest) = json_of(
        c.req(reqwest::Method::GET, &next)
            .send()
            .await
            .expect("next"),
    )
    .await;
    assert_eq!(rest["value"].as_array().map(Vec::len), Some(1_100));
    assert!(rest.get("@odata.nextLink").is_none());
    let skip = c
        .req(reqwest::Method::GET, "contacts?$skip=10")
        .send()
        .await
        .expect("skip");
    assert_eq!(skip.status().as_u16(), 400);
    // $top is ignored when a page size is asked for.
    let (_, _, top) = json_of(
        c.req(reqwest::Method::GET, "contacts?$select=lastname&$top=3")
            .header("Prefer", "odata.maxpagesize=10")
            .send()
            .await
            .expect("top"),
    )
    .await;
    assert_eq!(top["value"].as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn change_tracking_returns_changes_tombstones_and_expires() {
    let sim = DynamicsSim::start(config(30)).await.expect("sim");
    let c = Client::new(&sim);
    let refused = c
        .req(
            reqwest::Method::GET,
            "contacts?$select=lastname&$filter=lastname ne null",
        )
        .header("Prefer", "odata.track-changes")
        .send()
        .await
        .expect("tracking");
    assert_eq!(refused.status().as_u16(), 400);
    let (status, headers, first) = json_of(
        c.req(reqwest::Method::GET, "contacts?$select=lastname,jobtitle")
            .header("Prefer", "odata.track-changes")
            .send()
            .await
            .expect("tracking"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["Preference-Applied"], "odata.track-changes");
    let delta = first["@odata.deltaLink"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(delta.contains("$deltatoken="), "{delta}");
    let rows = sim.records("contact");
    sim.edit("contact", &rows[0].id, &[("jobtitle", json!("Changed"))]);
    sim.delete("contact", &rows[1].id);
    let (_, _, changes) = json_of(
        c.req(reqwest::Method::GET, &delta)
            .header("Prefer", "odata.track-changes")
            .send()
            .await
            .expect("delta"),
    )
    .await;
    assert!(
        changes["@odata.context"]
            .as_str()
            .is_some_and(|s| s.ends_with("/$delta"))
    );
    let items = changes["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["jobtitle"], "Changed");
    assert_eq!(items[1]["id"], rows[1].id.as_str());
    assert_eq!(items[1]["reason"], "deleted");
    assert!(
        items[1]["@odata.context"]
            .as_str()
            .is_some_and(|s| s.ends_with("#contacts/$deletedEntity"))
    );
    let next = changes["@odata.deltaLink"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    sim.expire_delta_tokens();
    let (status, _, body) = json_of(
        c.req(reqwest::Method::GET, &next)
            .send()
            .await
            .expect("expired"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "0x80044352");
}

fn batch_body(parts: &[String], changeset: bool) -> String {
    let mut body = String::new();
    if changeset {
        body.push_str("--batch_t\r\nContent-Type: multipart/mixed; boundary=changeset_t\r\n\r\n");
        for (i, p) in parts.iter().enumerate() {
            body.push_str(&format!("--changeset_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {}\r\n\r\n{p}\r\n", i + 1));
        }
        body.push_str("--changeset_t--\r\n");
    } else {
        for p in parts {
            body.push_str(&format!("--batch_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{p}\r\n"));
        }
    }
    body.push_str("--batch_t--\r\n");
    body
}

fn post(last: &str) -> String {
    format!(
        "POST /api/data/v9.2/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"lastname\":\"{last}\"}}"
    )
}

#[tokio::test]
async fn batches_keep_change_sets_atomic_and_cap_at_1000() {
    let sim = DynamicsSim::start(config(0)).await.expect("sim");
    let c = Client::new(&sim);
    let send = |body: String, prefer: Option<&str>| {
        let mut r = c
            .req(reqwest::Method::POST, "$batch")
            .header("Content-Type", "multipart/mixed; boundary=batch_t")
            .body(body);
        if let Some(p) = prefer {
            r = r.header("Prefer", p);
        }
        r.send()
    };
    let bad = format!(
        "POST /api/data/v9.2/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"firstname\":\"{}\"}}",
        "x".repeat(60)
    );
    let r = send(batch_body(&[post("A"), bad.clone(), post("B")], true), None)
        .await
        .expect("batch");
    assert_eq!(r.status().as_u16(), 200);
    let content_type = r.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("multipart/mixed; boundary=batchresponse_"));
    let text = r.text().await.unwrap_or_default();
    assert!(text.contains("HTTP/1.1 400 Bad Request"), "{text}");
    assert!(
        sim.records("contact").is_empty(),
        "the change set rolled back"
    );
    let r = send(
        batch_body(&[post("A"), bad, post("B")], false),
        Some("odata.continue-on-error"),
    )
    .await
    .expect("batch");
    let text = r.text().await.unwrap_or_default();
    assert_eq!(text.matches("HTTP/1.1 204 No Content").count(), 2, "{text}");
    assert_eq!(sim.records("contact").len(), 2);
    let many: Vec<String> = (0..1001).map(|i| post(&format!("N{i}"))).collect();
    let r = send(batch_body(&many, false), None).await.expect("batch");
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn service_protection_answers_429_with_retry_after_and_the_code() {
    let sim = DynamicsSim::start(DynamicsSimConfig {
        requests_per_window: 3,
        protection_window: Duration::from_secs(30),
        ..config(2)
    })
    .await
    .expect("sim");
    let c = Client::new(&sim);
    for _ in 0..3 {
        let r = c
            .req(reqwest::Method::GET, "contacts?$select=lastname")
            .send()
            .await
            .expect("get");
        assert_eq!(r.status().as_u16(), 200);
        assert!(
            r.headers()
                .contains_key("x-ms-ratelimit-burst-remaining-xrm-requests")
        );
    }
    let (status, headers, body) = json_of(
        c.req(reqwest::Method::GET, "contacts")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 429);
    assert!(
        headers["Retry-After"]
            .to_str()
            .unwrap_or_default()
            .parse::<u64>()
            .is_ok_and(|s| (1..=30).contains(&s))
    );
    assert_eq!(body["error"]["code"], "0x80072322");
    assert_eq!(
        body["error"]["message"],
        "Number of requests exceeded the limit of 3 over time window of 30 seconds."
    );
}

#[tokio::test]
async fn entity_definitions_describe_columns() {
    let sim = DynamicsSim::start(config(0)).await.expect("sim");
    let c = Client::new(&sim);
    let (status, _, body) = json_of(
        c.req(
            reqwest::Method::GET,
            "EntityDefinitions(LogicalName='contact')/Attributes",
        )
        .send()
        .await
        .expect("metadata"),
    )
    .await;
    assert_eq!(status, 200);
    let attrs = body["value"].as_array().cloned().unwrap_or_default();
    let last = attrs
        .iter()
        .find(|a| a["LogicalName"] == "lastname")
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["AttributeType"], "String");
    assert_eq!(last["RequiredLevel"]["Value"], "ApplicationRequired");
    let parent = attrs
        .iter()
        .find(|a| a["LogicalName"] == "parentcustomerid")
        .cloned()
        .unwrap_or_default();
    assert_eq!(parent["Targets"], json!(["account", "contact"]));
    let (_, _, defs) = json_of(
        c.req(reqwest::Method::GET, "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter=EntitySetName eq 'crmsync_projects'")
            .send()
            .await
            .expect("definitions"),
    )
    .await;
    assert_eq!(defs["value"][0]["PrimaryIdAttribute"], "crmsync_projectid");
}

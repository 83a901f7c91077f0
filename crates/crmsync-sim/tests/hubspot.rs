//! The HubSpot simulator, exercised over HTTP the way real clients use it.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A simulator without rate limits unless a test asks for them.
async fn sim(contacts: usize, companies: usize, deals: usize) -> std::io::Result<HubSpotSim> {
    HubSpotSim::start(HubSpotSimConfig {
        contacts,
        companies,
        deals,
        seed: 42,
        rate_limit_10s: 0,
        search_rate_per_s: 0,
        ..Default::default()
    })
    .await
}

async fn get(client: &Client, sim: &HubSpotSim, path: &str) -> reqwest::Result<Response> {
    client.get(format!("{}{path}", sim.base_url())).bearer_auth(sim.access_token()).send().await
}

async fn post(client: &Client, sim: &HubSpotSim, path: &str, body: &Value) -> reqwest::Result<Response> {
    client.post(format!("{}{path}", sim.base_url())).bearer_auth(sim.access_token()).json(body).send().await
}

async fn json_of(response: Response) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let status = response.status();
    let text = response.text().await?;
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? };
    Ok((status, value))
}

fn ids(results: &Value) -> Vec<String> {
    results.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().map(str::to_string)).collect()
}

fn assert_hubspot_error(body: &Value, category: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["correlationId"].as_str().map(str::len), Some(36), "{body}");
}

#[tokio::test]
async fn list_paging_covers_every_record_exactly_once() -> TestResult {
    let sim = sim(1234, 10, 0).await?;
    let client = Client::new();
    let mut seen = Vec::new();
    let mut next = Some(format!("{}/crm/v3/objects/contacts?limit=100&properties=email", sim.base_url()));
    let mut pages = 0;
    while let Some(url) = next {
        let (status, page) = json_of(client.get(&url).bearer_auth(sim.access_token()).send().await?).await?;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        seen.extend(ids(&page["results"]));
        // Clients follow the absolute link as is.
        next = page["paging"]["next"]["link"].as_str().map(str::to_string);
        if let Some(link) = &next {
            assert!(link.starts_with("http://127.0.0.1:"), "{link}");
            assert!(link.contains("properties=email"), "{link}");
            assert_eq!(Some(page["paging"]["next"]["after"].as_str().unwrap_or_default()), seen_next_id(&sim, seen.len()).as_deref());
        }
    }
    assert_eq!(pages, 13);
    let expected: Vec<String> = sim.records("contacts").into_iter().map(|r| r.id).collect();
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 1234);

    // `limit` defaults to 10 and is clamped to 100.
    let (_, page) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(10));
    let (_, page) = json_of(get(&client, &sim, "/crm/v3/objects/contacts?limit=500").await?).await?;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(100));
    Ok(())
}

fn seen_next_id(sim: &HubSpotSim, index: usize) -> Option<String> {
    sim.records("contacts").get(index).map(|r| r.id.clone())
}

#[tokio::test]
async fn records_have_hubspot_shape_and_requested_properties_only() -> TestResult {
    let sim = sim(50, 5, 5).await?;
    let client = Client::new();
    let (_, page) = json_of(get(&client, &sim, "/crm/v3/objects/contacts?limit=50").await?).await?;
    let first = &page["results"][0];
    for key in ["id", "properties", "createdAt", "updatedAt", "archived"] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    assert_eq!(first["archived"], false);
    let props = first["properties"].as_object().ok_or("properties")?;
    let default: BTreeSet<&str> =
        ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"].into();
    assert!(props.keys().all(|k| default.contains(k.as_str())), "{props:?}");
    assert_eq!(props["hs_object_id"], first["id"]);
    assert_eq!(props["lastmodifieddate"], first["updatedAt"]);
    assert_eq!(props["createdate"], first["createdAt"]);
    let updated = first["updatedAt"].as_str().ok_or("updatedAt")?;
    assert!(updated.ends_with('Z') && updated.len() == 24, "{updated}");

    // `properties` arrives repeated (official SDKs) and comma-separated (taps); unknown ones
    // are ignored.
    for query in [
        "properties=phone&properties=city&properties=nosuchthing",
        "properties=phone,city,nosuchthing",
    ] {
        let (status, page) =
            json_of(get(&client, &sim, &format!("/crm/v3/objects/contacts?limit=50&{query}")).await?).await?;
        assert_eq!(status, StatusCode::OK);
        for r in page["results"].as_array().ok_or("results")? {
            let keys: BTreeSet<&str> = r["properties"].as_object().ok_or("p")?.keys().map(String::as_str).collect();
            let allowed: BTreeSet<&str> = ["phone", "city", "hs_object_id", "createdate", "lastmodifieddate"].into();
            assert!(keys.is_subset(&allowed), "{keys:?}");
            assert!(keys.contains("city"));
        }
    }

    // Object types by plural, singular and type id; deals carry hs_lastmodifieddate.
    for alias in ["contacts", "contact", "0-1"] {
        let (status, _) = json_of(get(&client, &sim, &format!("/crm/v3/objects/{alias}?limit=1")).await?).await?;
        assert_eq!(status, StatusCode::OK, "{alias}");
    }
    let (_, deals) = json_of(get(&client, &sim, "/crm/v3/objects/0-3?associations=companies").await?).await?;
    let deal = &deals["results"][0];
    assert_eq!(deal["properties"]["pipeline"], "default");
    assert!(deal["properties"]["hs_lastmodifieddate"].is_string());
    assert_eq!(deal["associations"]["companies"]["results"][0]["type"], "deal_to_company");
    Ok(())
}

#[tokio::test]
async fn single_record_crud_and_archived_listing() -> TestResult {
    let sim = sim(20, 3, 0).await?;
    let client = Client::new();
    let (status, created) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts", &json!({"properties": {"email": "Ada@Example.com", "firstname": "Ada"}}))
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().ok_or("id")?.to_string();
    assert_eq!(created["properties"]["email"], "ada@example.com");

    let (status, by_email) =
        json_of(get(&client, &sim, "/crm/v3/objects/contacts/ada@example.com?idProperty=email").await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_email["id"], id.as_str());

    tokio::time::sleep(Duration::from_millis(5)).await;
    let patched = client
        .patch(format!("{}/crm/v3/objects/contacts/{id}", sim.base_url()))
        .bearer_auth(sim.access_token())
        .json(&json!({"properties": {"lastname": "Lovelace"}}))
        .send()
        .await?;
    let (status, patched) = json_of(patched).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(patched["updatedAt"].as_str() > created["updatedAt"].as_str());
    assert_eq!(patched["properties"]["lastmodifieddate"], patched["updatedAt"]);

    let (status, conflict) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts", &json!({"properties": {"email": "ada@example.com"}})).await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_hubspot_error(&conflict, "CONFLICT");

    let deleted = client
        .delete(format!("{}/crm/v3/objects/contacts/{id}", sim.base_url()))
        .bearer_auth(sim.access_token())
        .send()
        .await?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, missing) = json_of(get(&client, &sim, &format!("/crm/v3/objects/contacts/{id}")).await?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_hubspot_error(&missing, "OBJECT_NOT_FOUND");

    let (_, archived) = json_of(get(&client, &sim, "/crm/v3/objects/contacts?archived=true").await?).await?;
    assert_eq!(ids(&archived["results"]), vec![id.clone()]);
    assert_eq!(archived["results"][0]["archived"], true);
    assert!(archived["results"][0]["archivedAt"].is_string());
    assert_eq!(sim.archived("contacts").len(), 1);
    Ok(())
}

async fn search(client: &Client, sim: &HubSpotSim, body: Value) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let response = post(client, sim, "/crm/v3/objects/contacts/search", &body).await?;
    assert!(response.headers().get("x-hubspot-ratelimit-max").is_none(), "search carries no rate-limit headers");
    json_of(response).await
}

#[tokio::test]
async fn search_filters_sorts_and_pages() -> TestResult {
    let sim = sim(500, 20, 0).await?;
    let client = Client::new();
    let records = sim.records("contacts");

    // Default: createdate ascending; total counts every match.
    let (status, page) = search(&client, &sim, json!({"limit": 5})).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 500);
    assert_eq!(ids(&page["results"]), records.iter().take(5).map(|r| r.id.clone()).collect::<Vec<_>>());
    assert_eq!(page["paging"]["next"]["after"], "5");

    // Sort by lastmodifieddate descending.
    let (_, page) = search(
        &client,
        &sim,
        json!({"sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}], "limit": 200}),
    )
    .await?;
    let stamps: Vec<&str> =
        page["results"].as_array().ok_or("results")?.iter().filter_map(|r| r["updatedAt"].as_str()).collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]));

    // GTE on a date with epoch ms and with ISO-8601 give the same answer.
    let mut updated: Vec<DateTime<Utc>> = records.iter().map(|r| r.updated_at).collect();
    updated.sort();
    let cut = updated[400];
    let expected = records.iter().filter(|r| r.updated_at >= cut).count();
    for value in [json!(cut.timestamp_millis().to_string()), json!(cut.to_rfc3339())] {
        let (_, page) = search(
            &client,
            &sim,
            json!({"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": value}]}], "limit": 0}),
        )
        .await?;
        assert_eq!(page["total"], expected);
    }

    // EQ is case-insensitive; groups are ORed, filters ANDed.
    let a = records[3].properties.get("email").cloned().ok_or("email")?;
    let b = records[9].properties.get("email").cloned().ok_or("email")?;
    let (_, page) = search(
        &client,
        &sim,
        json!({"filterGroups": [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": a.to_uppercase()}]},
            {"filters": [{"propertyName": "email", "operator": "IN", "values": [b]},
                         {"propertyName": "email", "operator": "HAS_PROPERTY"}]}
        ], "properties": ["email"]}),
    )
    .await?;
    assert_eq!(ids(&page["results"]), vec![records[3].id.clone(), records[9].id.clone()]);

    // BETWEEN on the record id (numeric compare) and NOT_HAS_PROPERTY.
    let (lo, hi) = (&records[10].id, &records[19].id);
    let (_, page) = search(
        &client,
        &sim,
        json!({"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "BETWEEN", "value": lo, "highValue": hi}]}], "limit": 100}),
    )
    .await?;
    assert_eq!(page["total"], 10);
    let without_phone = records.iter().filter(|r| !r.properties.contains_key("phone")).count();
    let (_, page) = search(
        &client,
        &sim,
        json!({"filterGroups": [{"filters": [{"propertyName": "phone", "operator": "NOT_HAS_PROPERTY"}]}]}),
    )
    .await?;
    assert_eq!(page["total"], without_phone);

    // Limits: after ≥ 10,000 or past it, too many groups, bad JSON.
    for body in [
        json!({"after": "10000"}),
        json!({"after": "9950", "limit": 100}),
        json!({"filterGroups": vec![json!({"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}); 6]}),
        json!({"limit": 201}),
    ] {
        let (status, err) = search(&client, &sim, body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_hubspot_error(&err, "VALIDATION_ERROR");
    }
    let bad = client
        .post(format!("{}/crm/v3/objects/contacts/search", sim.base_url()))
        .bearer_auth(sim.access_token())
        .body("{\"filterGroups\": [")
        .send()
        .await?;
    let (status, err) = json_of(bad).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_hubspot_error(&err, "VALIDATION_ERROR");
    Ok(())
}

#[tokio::test]
async fn search_stops_at_ten_thousand_results() -> TestResult {
    let sim = sim(10_100, 0, 0).await?;
    let client = Client::new();
    let mut after: Option<String> = None;
    let mut seen = 0;
    loop {
        let mut body = json!({"limit": 200, "properties": ["email"]});
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let (status, page) = search(&client, &sim, body).await?;
        if status == StatusCode::BAD_REQUEST {
            assert_hubspot_error(&page, "VALIDATION_ERROR");
            break;
        }
        assert_eq!(page["total"], 10_100);
        seen += page["results"].as_array().map_or(0, Vec::len);
        after = page["paging"]["next"]["after"].as_str().map(str::to_string);
        assert!(after.is_some(), "more results remain, so paging.next is present");
    }
    assert_eq!(seen, 10_000);
    assert_eq!(after.as_deref(), Some("10000"));
    Ok(())
}

#[tokio::test]
async fn search_has_its_own_secondly_limit() -> TestResult {
    let sim = sim(10, 0, 0).await?;
    sim.set_search_rate_limit_per_s(2);
    let client = Client::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, body) = search(&client, &sim, json!({})).await?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["message"], "You have reached your secondly limit.");
            assert_eq!(body["policyName"], "SECONDLY");
            assert_eq!(body["errorType"], "RATE_LIMIT");
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..2], &[StatusCode::OK, StatusCode::OK]);
    assert!(statuses[2..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(sim.stats().throttled_429, 2);
    Ok(())
}

#[tokio::test]
async fn batch_endpoints_answer_with_hubspot_status_codes() -> TestResult {
    let sim = sim(30, 5, 0).await?;
    let client = Client::new();
    let existing = sim.records("contacts");
    let taken = existing[0].properties.get("email").cloned().ok_or("email")?;

    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/create", &json!({"inputs": [
            {"properties": {"email": "one@example.org", "firstname": "One"}},
            {"properties": {"email": "two@example.org"}, "associations": []}
        ]}))
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["status"], "COMPLETE");
    assert!(body["startedAt"].is_string() && body["completedAt"].is_string());
    let new_ids = ids(&body["results"]);
    assert_eq!(new_ids.len(), 2);

    // Without trace ids a failing input fails the batch; with them it is a 207.
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/create", &json!({"inputs": [
            {"properties": {"email": taken}}, {"properties": {"email": "three@example.org"}}
        ]}))
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_hubspot_error(&body, "CONFLICT");
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/create", &json!({"inputs": [
            {"properties": {"email": taken}, "objectWriteTraceId": "t1"},
            {"properties": {"email": "three@example.org"}, "objectWriteTraceId": "t2"}
        ]}))
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["numErrors"], 1);
    assert_eq!(body["errors"][0]["category"], "CONFLICT");
    assert_eq!(body["errors"][0]["context"]["objectWriteTraceId"][0], "t1");
    assert_eq!(body["results"][0]["objectWriteTraceId"], "t2");

    // Read: 200 when all exist, 207 naming the missing ids.
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/read", &json!({"inputs": [{"id": new_ids[0]}], "properties": ["email"]}))
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"][0]["properties"]["email"], "one@example.org");
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/read", &json!({"inputs": [{"id": new_ids[0]}, {"id": "999999"}]}))
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(body["errors"][0]["context"]["ids"][0], "999999");
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/read", &json!({"inputs": [{"id": "ONE@example.org"}], "idProperty": "email"}))
            .await?,
    )
    .await?;
    assert_eq!((status, ids(&body["results"])), (StatusCode::OK, vec![new_ids[0].clone()]));

    // Update: 200, or 207 with OBJECT_NOT_FOUND for a missing id.
    let (status, _) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/update", &json!({"inputs": [{"id": new_ids[0], "properties": {"jobtitle": "CTO"}}]}))
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sim.get("contacts", &new_ids[0]).and_then(|r| r.properties.get("jobtitle").cloned()).as_deref(), Some("CTO"));
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/update", &json!({"inputs": [
            {"id": new_ids[0], "properties": {"jobtitle": "CEO"}}, {"id": "424242", "properties": {"jobtitle": "CEO"}}
        ]}))
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(body["errors"][0]["context"]["ids"], json!(["424242"]));
    assert_eq!(body["results"].as_array().map(Vec::len), Some(1));

    // Upsert by email: one existing, one new.
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/upsert", &json!({"inputs": [
            {"id": "one@example.org", "idProperty": "email", "properties": {"lastname": "Uno"}},
            {"id": "four@example.org", "idProperty": "email", "properties": {"lastname": "Cuatro"}}
        ]}))
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let news: Vec<(String, bool)> = body["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .map(|r| (r["properties"]["email"].as_str().unwrap_or_default().to_string(), r["new"].as_bool().unwrap_or_default()))
        .collect();
    assert_eq!(news, vec![("one@example.org".into(), false), ("four@example.org".into(), true)]);

    // Unknown property: 400 PROPERTY_DOESNT_EXIST with the name in context.
    let (status, body) = json_of(
        post(&client, &sim, "/crm/v3/objects/contacts/batch/update", &json!({"inputs": [{"id": new_ids[0], "properties": {"favourite_colour": "red"}}]}))
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_hubspot_error(&body, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(body["errors"][0]["context"]["propertyName"][0], "favourite_colour");

    // More than 100 inputs.
    let inputs: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    let (status, body) =
        json_of(post(&client, &sim, "/crm/v3/objects/contacts/batch/read", &json!({"inputs": inputs})).await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_hubspot_error(&body, "VALIDATION_ERROR");

    // Archive: 204 with no body; the records move to the archived list.
    let response = post(&client, &sim, "/crm/v3/objects/contacts/batch/archive", &json!({"inputs": [{"id": new_ids[0]}, {"id": new_ids[1]}]})).await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await?.is_empty());
    let archived: Vec<String> = sim.archived("contacts").into_iter().map(|r| r.id).collect();
    assert_eq!(archived, new_ids);
    Ok(())
}

#[tokio::test]
async fn properties_endpoint_lists_the_schema() -> TestResult {
    let sim = sim(1, 0, 0).await?;
    let client = Client::new();
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/properties/contacts").await?).await?;
    assert_eq!(status, StatusCode::OK);
    let results = body["results"].as_array().ok_or("results")?;
    let email = results.iter().find(|p| p["name"] == "email").ok_or("email property")?;
    for key in ["name", "label", "type", "fieldType", "groupName", "description", "options"] {
        assert!(!email[key].is_null(), "{key}");
    }
    assert!(results.iter().any(|p| p["hubspotDefined"] == false), "custom properties are listed");
    let status_prop = results.iter().find(|p| p["name"] == "hs_lead_status").ok_or("hs_lead_status")?;
    assert_eq!(status_prop["type"], "enumeration");
    assert!(status_prop["options"].as_array().is_some_and(|o| o.len() == 8));
    let (status, _) = json_of(get(&client, &sim, "/crm/v3/properties/deals/amount").await?).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn tokens_expire_and_refresh() -> TestResult {
    let sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 3,
        token_ttl: Duration::from_millis(1500),
        rate_limit_10s: 0,
        ..Default::default()
    })
    .await?;
    let client = Client::new();
    let old = sim.access_token();
    assert_eq!(get(&client, &sim, "/crm/v3/objects/contacts").await?.status(), StatusCode::OK);

    let (status, body) = json_of(client.get(format!("{}/crm/v3/objects/contacts", sim.base_url())).send().await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_hubspot_error(&body, "INVALID_AUTHENTICATION");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_hubspot_error(&body, "EXPIRED_AUTHENTICATION");

    let form = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", sim.refresh_token()),
    ];
    let (status, token) = json_of(client.post(sim.token_url()).form(&form).send().await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 1);
    assert_eq!(token["refresh_token"], sim.refresh_token().as_str());
    let fresh = token["access_token"].as_str().ok_or("access_token")?.to_string();
    assert_ne!(fresh, old);
    assert_eq!(sim.access_token(), fresh);
    let ok = client.get(format!("{}/crm/v3/objects/contacts", sim.base_url())).bearer_auth(&fresh).send().await?;
    assert_eq!(ok.status(), StatusCode::OK);

    let bad = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", "not-a-token".to_string()),
    ];
    let (status, body) = json_of(client.post(sim.token_url()).form(&bad).send().await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "BAD_REFRESH_TOKEN");
    assert_eq!(body["message"], "refresh token is invalid, expired or revoked");

    // The private app token never expires and reports the daily quota.
    let pat = client
        .get(format!("{}/crm/v3/objects/companies", sim.base_url()))
        .bearer_auth(sim.private_app_token())
        .send()
        .await?;
    assert_eq!(pat.status(), StatusCode::OK);
    assert!(sim.private_app_token().starts_with("pat-"));

    // Injected expiry: every 2nd OAuth request finds its token expired until refreshed.
    sim.faults().expire_tokens_every(2);
    let url = format!("{}/crm/v3/objects/contacts", sim.base_url());
    assert_eq!(client.get(&url).bearer_auth(&fresh).send().await?.status(), StatusCode::OK);
    let (status, body) = json_of(client.get(&url).bearer_auth(&fresh).send().await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_hubspot_error(&body, "EXPIRED_AUTHENTICATION");
    assert_eq!(client.get(&url).bearer_auth(&fresh).send().await?.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn rate_limit_headers_then_429() -> TestResult {
    let sim = HubSpotSim::start(HubSpotSimConfig { contacts: 3, rate_limit_10s: 4, ..Default::default() }).await?;
    let client = Client::new();
    for remaining in (0..4).rev() {
        let response = get(&client, &sim, "/crm/v3/objects/contacts").await?;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["x-hubspot-ratelimit-max"], "4");
        assert_eq!(h["x-hubspot-ratelimit-remaining"], remaining.to_string().as_str());
        assert_eq!(h["x-hubspot-ratelimit-interval-milliseconds"], "10000");
        assert!(h.get("x-hubspot-ratelimit-daily").is_none(), "no daily headers for OAuth");
    }
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["status"], "error");
    assert_eq!(body["message"], "You have reached your ten_secondly_rolling limit.");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(body["correlationId"].is_string() && body["requestId"].is_string());
    assert_eq!(sim.stats().throttled_429, 1);

    // The private app has its own window and gets the daily headers.
    let pat = client
        .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
        .bearer_auth(sim.private_app_token())
        .send()
        .await?;
    assert_eq!(pat.status(), StatusCode::OK);
    assert!(pat.headers().get("x-hubspot-ratelimit-daily").is_some());
    assert!(pat.headers().get("x-hubspot-ratelimit-daily-remaining").is_some());

    // The token endpoint is not rate-limited.
    let form = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", sim.refresh_token()),
    ];
    assert_eq!(client.post(sim.token_url()).form(&form).send().await?.status(), StatusCode::OK);

    // An injected burst carries Retry-After when asked to.
    sim.set_rate_limit_10s(0);
    sim.faults().rate_limit_burst(1, Some(2));
    let response = client
        .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
        .bearer_auth(sim.private_app_token())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    let stats = sim.stats();
    assert_eq!(stats.throttled_429, 2);
    assert_eq!(stats.by_endpoint.get("token"), Some(&1));
    assert_eq!(stats.by_endpoint.get("list"), Some(&7));
    Ok(())
}

#[tokio::test]
async fn injected_faults_break_responses_as_scheduled() -> TestResult {
    let sim = sim(5, 0, 0).await?;
    let client = Client::new();

    sim.faults().malformed_bodies(1);
    let response = get(&client, &sim, "/crm/v3/objects/contacts").await?;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await?;
    assert!(serde_json::from_str::<Value>(&text).is_err(), "body must be invalid JSON: {text}");
    let (status, _) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(status, StatusCode::OK);

    sim.faults().server_errors(2);
    let (first, body) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_hubspot_error(&body, "INTERNAL_ERROR");
    let (second, _) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!((first, second), (StatusCode::BAD_GATEWAY, StatusCode::SERVICE_UNAVAILABLE));

    sim.faults().connection_resets(1);
    assert!(get(&client, &sim, "/crm/v3/objects/contacts").await.is_err(), "the connection is dropped");
    assert_eq!(get(&client, &sim, "/crm/v3/objects/contacts").await?.status(), StatusCode::OK);

    sim.faults().slow_responses(1, Duration::from_millis(300));
    let started = std::time::Instant::now();
    get(&client, &sim, "/crm/v3/objects/contacts").await?;
    assert!(started.elapsed() >= Duration::from_millis(300));

    let stats = sim.stats();
    assert_eq!(stats.errors_5xx, 2);
    assert_eq!(stats.connection_resets, 1);
    sim.faults().clear();
    sim.reset_stats();
    assert_eq!(sim.stats().requests, 0);
    Ok(())
}

#[tokio::test]
async fn unknown_routes_and_types_answer_in_hubspot_shape() -> TestResult {
    let sim = sim(3, 0, 0).await?;
    let client = Client::new();
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/imports").await?).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_hubspot_error(&body, "MISSING_SCOPES");
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/objects/tickets").await?).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_hubspot_error(&body, "MISSING_SCOPES");
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/objects/widgets").await?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_hubspot_error(&body, "OBJECT_NOT_FOUND");

    // A GET with a `{}` body, then more requests on the same keep-alive connection.
    for _ in 0..3 {
        let response = client
            .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
            .bearer_auth(sim.access_token())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
    }
    Ok(())
}

#[tokio::test]
async fn same_seed_gives_the_same_data() -> TestResult {
    let at: DateTime<Utc> = "2026-01-15T12:00:00Z".parse()?;
    let config = HubSpotSimConfig { contacts: 300, companies: 40, deals: 60, seed: 9, seed_time: Some(at), ..Default::default() };
    let a = HubSpotSim::start(config.clone()).await?;
    let b = HubSpotSim::start(config.clone()).await?;
    let c = HubSpotSim::start(HubSpotSimConfig { seed: 10, ..config }).await?;
    for object in ["contacts", "companies", "deals"] {
        assert_eq!(a.records(object), b.records(object), "{object}");
        assert_ne!(a.records(object), c.records(object), "{object}");
    }
    let contacts = a.records("contacts");
    let emails: Vec<&String> = contacts.iter().filter_map(|r| r.properties.get("email")).collect();
    assert!(emails.iter().all(|e| e.as_str() == e.to_lowercase()));
    assert_eq!(emails.iter().collect::<BTreeSet<_>>().len(), emails.len(), "emails are unique");
    let updated: BTreeSet<_> = contacts.iter().map(|r| r.updated_at).collect();
    assert_eq!(updated.len(), contacts.len(), "updatedAt values are distinct");
    assert!(contacts.iter().all(|r| r.updated_at <= at && r.created_at >= at - chrono::Duration::days(30)));
    assert!(contacts.iter().any(|r| r.associations.contains_key("companies")));
    Ok(())
}

#[tokio::test]
async fn remote_edits_bump_the_modification_time() -> TestResult {
    let sim = sim(10, 0, 0).await?;
    let id = sim.records("contacts")[0].id.clone();
    let before = sim.get("contacts", &id).ok_or("record")?.updated_at;
    assert!(sim.edit("contacts", &id, &[("firstname", "Grace")]));
    let after = sim.get("contacts", &id).ok_or("record")?;
    assert!(after.updated_at > before);
    assert_eq!(after.properties["firstname"], "Grace");
    assert_eq!(after.properties["lastmodifieddate"], after.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));

    let ids: Vec<String> = sim.records("contacts").iter().take(3).map(|r| r.id.clone()).collect();
    let at: DateTime<Utc> = "2026-02-01T00:00:00.000Z".parse()?;
    sim.set_updated_at("contacts", &ids, at);
    assert!(ids.iter().all(|id| sim.get("contacts", id).is_some_and(|r| r.updated_at == at)));
    let new_id = sim.create("contact", &[("email", "NEW@example.com")]);
    assert_eq!(sim.get("contacts", &new_id).and_then(|r| r.properties.get("email").cloned()).as_deref(), Some("new@example.com"));
    assert!(sim.archive("0-1", &new_id));
    assert!(!sim.archive("contacts", &new_id));
    Ok(())
}

#[tokio::test]
async fn binary_prints_credentials_and_serves() -> TestResult {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_crmsync-sim"))
        .args(["hubspot", "--port", "0", "--contacts", "25", "--companies", "3", "--deals", "4", "--seed", "5", "--rate-limit-10s", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    let result: TestResult = async {
        let info: Value = serde_json::from_str(&line)?;
        assert_eq!(info["provider"], "hubspot");
        let base = info["base_url"].as_str().ok_or("base_url")?;
        let client = Client::new();
        for key in ["access_token", "private_app_token"] {
            let response = client
                .get(format!("{base}/crm/v3/objects/contacts?limit=100"))
                .bearer_auth(info[key].as_str().ok_or("token")?)
                .send()
                .await?;
            let (status, body) = json_of(response).await?;
            assert_eq!(status, StatusCode::OK, "{key}");
            assert_eq!(body["results"].as_array().map(Vec::len), Some(25));
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", info["client_id"].as_str().ok_or("client_id")?),
            ("client_secret", info["client_secret"].as_str().ok_or("client_secret")?),
            ("refresh_token", info["refresh_token"].as_str().ok_or("refresh_token")?),
        ];
        let token_url = info["token_url"].as_str().ok_or("token_url")?;
        assert_eq!(client.post(token_url).form(&form).send().await?.status(), StatusCode::OK);
        Ok(())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result?;

    let status = Command::new(env!("CARGO_BIN_EXE_crmsync-sim")).args(["hubspot", "--contacts", "many"]).stderr(Stdio::null()).status()?;
    assert_eq!(status.code(), Some(64));
    Ok(())
}

//! List, read, create, update and archive; record shape; properties; routing.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_sim::HubSpotSim;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn list_paging_covers_every_record_exactly_once() -> TestResult {
    let sim = sim(1234, 10, 0).await?;
    let client = Client::new();
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "{}/crm/v3/objects/contacts?limit=100&properties=email",
        sim.base_url()
    ));
    let mut pages = 0;
    while let Some(url) = next {
        let (status, page) = json_of(
            client
                .get(&url)
                .bearer_auth(sim.access_token())
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        seen.extend(ids(&page["results"]));
        // Clients follow the absolute link as is.
        next = page["paging"]["next"]["link"].as_str().map(str::to_string);
        if let Some(link) = &next {
            assert!(link.starts_with("http://127.0.0.1:"), "{link}");
            assert!(link.contains("properties=email"), "{link}");
            assert_eq!(
                Some(page["paging"]["next"]["after"].as_str().unwrap_or_default()),
                seen_next_id(&sim, seen.len()).as_deref()
            );
        }
    }
    assert_eq!(pages, 13);
    let expected: Vec<String> = sim.records("contacts").into_iter().map(|r| r.id).collect();
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 1234);

    // `limit` defaults to 10 and is clamped to 100.
    let (_, page) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(10));
    let (_, page) =
        json_of(get(&client, &sim, "/crm/v3/objects/contacts?limit=500").await?).await?;
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
    let default: BTreeSet<&str> = [
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ]
    .into();
    assert!(
        props.keys().all(|k| default.contains(k.as_str())),
        "{props:?}"
    );
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
        let (status, page) = json_of(
            get(
                &client,
                &sim,
                &format!("/crm/v3/objects/contacts?limit=50&{query}"),
            )
            .await?,
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        for r in page["results"].as_array().ok_or("results")? {
            let keys: BTreeSet<&str> = r["properties"]
                .as_object()
                .ok_or("p")?
                .keys()
                .map(String::as_str)
                .collect();
            let allowed: BTreeSet<&str> = [
                "phone",
                "city",
                "hs_object_id",
                "createdate",
                "lastmodifieddate",
            ]
            .into();
            assert!(keys.is_subset(&allowed), "{keys:?}");
            assert!(keys.contains("city"));
        }
    }

    // Object types by plural, singular and type id; deals carry hs_lastmodifieddate.
    for alias in ["contacts", "contact", "0-1"] {
        let (status, _) =
            json_of(get(&client, &sim, &format!("/crm/v3/objects/{alias}?limit=1")).await?).await?;
        assert_eq!(status, StatusCode::OK, "{alias}");
    }
    let (_, deals) =
        json_of(get(&client, &sim, "/crm/v3/objects/0-3?associations=companies").await?).await?;
    let deal = &deals["results"][0];
    assert_eq!(deal["properties"]["pipeline"], "default");
    assert!(deal["properties"]["hs_lastmodifieddate"].is_string());
    assert_eq!(
        deal["associations"]["companies"]["results"][0]["type"],
        "deal_to_company"
    );
    Ok(())
}

#[tokio::test]
async fn single_record_crud_and_archived_listing() -> TestResult {
    let sim = sim(20, 3, 0).await?;
    let client = Client::new();
    let (status, created) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "Ada@Example.com", "firstname": "Ada"}}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().ok_or("id")?.to_string();
    assert_eq!(created["properties"]["email"], "ada@example.com");

    let (status, by_email) = json_of(
        get(
            &client,
            &sim,
            "/crm/v3/objects/contacts/ada@example.com?idProperty=email",
        )
        .await?,
    )
    .await?;
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
    assert_eq!(
        patched["properties"]["lastmodifieddate"],
        patched["updatedAt"]
    );

    let (status, conflict) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "ada@example.com"}}),
        )
        .await?,
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
    let (status, missing) =
        json_of(get(&client, &sim, &format!("/crm/v3/objects/contacts/{id}")).await?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_hubspot_error(&missing, "OBJECT_NOT_FOUND");

    let (_, archived) =
        json_of(get(&client, &sim, "/crm/v3/objects/contacts?archived=true").await?).await?;
    assert_eq!(ids(&archived["results"]), vec![id.clone()]);
    assert_eq!(archived["results"][0]["archived"], true);
    assert!(archived["results"][0]["archivedAt"].is_string());
    assert_eq!(sim.archived("contacts").len(), 1);
    Ok(())
}

#[tokio::test]
async fn properties_endpoint_lists_the_schema() -> TestResult {
    let sim = sim(1, 0, 0).await?;
    let client = Client::new();
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/properties/contacts").await?).await?;
    assert_eq!(status, StatusCode::OK);
    let results = body["results"].as_array().ok_or("results")?;
    let email = results
        .iter()
        .find(|p| p["name"] == "email")
        .ok_or("email property")?;
    for key in [
        "name",
        "label",
        "type",
        "fieldType",
        "groupName",
        "description",
        "options",
    ] {
        assert!(!email[key].is_null(), "{key}");
    }
    assert!(
        results.iter().any(|p| p["hubspotDefined"] == false),
        "custom properties are listed"
    );
    let status_prop = results
        .iter()
        .find(|p| p["name"] == "hs_lead_status")
        .ok_or("hs_lead_status")?;
    assert_eq!(status_prop["type"], "enumeration");
    assert!(
        status_prop["options"]
            .as_array()
            .is_some_and(|o| o.len() == 8)
    );
    let (status, _) = json_of(get(&client, &sim, "/crm/v3/properties/deals/amount").await?).await?;
    assert_eq!(status, StatusCode::OK);
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
async fn remote_edits_bump_the_modification_time() -> TestResult {
    let sim = sim(10, 0, 0).await?;
    let id = sim.records("contacts")[0].id.clone();
    let before = sim.get("contacts", &id).ok_or("record")?.updated_at;
    assert!(sim.edit("contacts", &id, &[("firstname", "Grace")]));
    let after = sim.get("contacts", &id).ok_or("record")?;
    assert!(after.updated_at > before);
    assert_eq!(after.properties["firstname"], "Grace");
    assert_eq!(
        after.properties["lastmodifieddate"],
        after
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );

    let ids: Vec<String> = sim
        .records("contacts")
        .iter()
        .take(3)
        .map(|r| r.id.clone())
        .collect();
    let at: DateTime<Utc> = "2026-02-01T00:00:00.000Z".parse()?;
    sim.set_updated_at("contacts", &ids, at);
    assert!(
        ids.iter()
            .all(|id| sim.get("contacts", id).is_some_and(|r| r.updated_at == at))
    );
    let new_id = sim.create("contact", &[("email", "NEW@example.com")]);
    assert_eq!(
        sim.get("contacts", &new_id)
            .and_then(|r| r.properties.get("email").cloned())
            .as_deref(),
        Some("new@example.com")
    );
    assert!(sim.archive("0-1", &new_id));
    assert!(!sim.archive("contacts", &new_id));
    Ok(())
}

//! The search API: filters, sorts, paging, the 10,000-result cap, its own rate limit.

use chrono::{DateTime, Utc};
use crmsync_sim::HubSpotSim;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

async fn search(
    client: &Client,
    sim: &HubSpotSim,
    body: Value,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let response = post(client, sim, "/crm/v3/objects/contacts/search", &body).await?;
    assert!(
        response.headers().get("x-hubspot-ratelimit-max").is_none(),
        "search carries no rate-limit headers"
    );
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
    assert_eq!(
        ids(&page["results"]),
        records
            .iter()
            .take(5)
            .map(|r| r.id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(page["paging"]["next"]["after"], "5");

    // Sort by lastmodifieddate descending.
    let (_, page) = search(
        &client,
        &sim,
        json!({"sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}], "limit": 200}),
    )
    .await?;
    let stamps: Vec<&str> = page["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .filter_map(|r| r["updatedAt"].as_str())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]));

    // GTE on a date with epoch ms and with ISO-8601 give the same answer.
    let mut updated: Vec<DateTime<Utc>> = records.iter().map(|r| r.updated_at).collect();
    updated.sort();
    let cut = updated[400];
    let expected = records.iter().filter(|r| r.updated_at >= cut).count();
    for value in [
        json!(cut.timestamp_millis().to_string()),
        json!(cut.to_rfc3339()),
    ] {
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
    assert_eq!(
        ids(&page["results"]),
        vec![records[3].id.clone(), records[9].id.clone()]
    );

    // BETWEEN on the record id (numeric compare) and NOT_HAS_PROPERTY.
    let (lo, hi) = (&records[10].id, &records[19].id);
    let (_, page) = search(
        &client,
        &sim,
        json!({"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "BETWEEN", "value": lo, "highValue": hi}]}], "limit": 100}),
    )
    .await?;
    assert_eq!(page["total"], 10);
    let without_phone = records
        .iter()
        .filter(|r| !r.properties.contains_key("phone"))
        .count();
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
        assert!(
            after.is_some(),
            "more results remain, so paging.next is present"
        );
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
    // Six searches at once: two fit in the one-second window, the rest are refused.
    let (a, b, c, d, e, f) = tokio::join!(
        search(&client, &sim, json!({})),
        search(&client, &sim, json!({})),
        search(&client, &sim, json!({})),
        search(&client, &sim, json!({})),
        search(&client, &sim, json!({})),
        search(&client, &sim, json!({})),
    );
    let mut throttled = 0;
    let mut ok = 0;
    for result in [a, b, c, d, e, f] {
        let (status, body) = result?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["message"], "You have reached your secondly limit.");
            assert_eq!(body["policyName"], "SECONDLY");
            assert_eq!(body["errorType"], "RATE_LIMIT");
            throttled += 1;
        } else {
            assert_eq!(status, StatusCode::OK);
            ok += 1;
        }
    }
    assert!(ok >= 2 && throttled >= 1, "ok={ok} throttled={throttled}");
    assert_eq!(sim.stats().throttled_429, throttled);
    Ok(())
}

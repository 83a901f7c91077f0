//! Batch endpoints and their status codes.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn batch_endpoints_answer_with_hubspot_status_codes() -> TestResult {
    let sim = sim(30, 5, 0).await?;
    let client = Client::new();
    let existing = sim.records("contacts");
    let taken = existing[0]
        .properties
        .get("email")
        .cloned()
        .ok_or("email")?;

    let (status, body) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/create",
            &json!({"inputs": [
                {"properties": {"email": "one@example.org", "firstname": "One"}},
                {"properties": {"email": "two@example.org"}, "associations": []}
            ]}),
        )
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
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/create",
            &json!({"inputs": [
                {"properties": {"email": taken}}, {"properties": {"email": "three@example.org"}}
            ]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_hubspot_error(&body, "CONFLICT");
    let (status, body) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/create",
            &json!({"inputs": [
                {"properties": {"email": taken}, "objectWriteTraceId": "t1"},
                {"properties": {"email": "three@example.org"}, "objectWriteTraceId": "t2"}
            ]}),
        )
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
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/read",
            &json!({"inputs": [{"id": new_ids[0]}], "properties": ["email"]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"][0]["properties"]["email"], "one@example.org");
    let (status, body) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/read",
            &json!({"inputs": [{"id": new_ids[0]}, {"id": "999999"}]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(body["errors"][0]["context"]["ids"][0], "999999");
    let (status, body) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/read",
            &json!({"inputs": [{"id": "ONE@example.org"}], "idProperty": "email"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, ids(&body["results"])),
        (StatusCode::OK, vec![new_ids[0].clone()])
    );

    // Update: 200, or 207 with OBJECT_NOT_FOUND for a missing id.
    let (status, _) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/update",
            &json!({"inputs": [{"id": new_ids[0], "properties": {"jobtitle": "CTO"}}]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sim.get("contacts", &new_ids[0])
            .and_then(|r| r.properties.get("jobtitle").cloned())
            .as_deref(),
        Some("CTO")
    );
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
        .map(|r| {
            (
                r["properties"]["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["new"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        news,
        vec![
            ("one@example.org".into(), false),
            ("four@example.org".into(), true)
        ]
    );

    // Unknown property: 400 PROPERTY_DOESNT_EXIST with the name in context.
    let (status, body) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/update",
            &json!({"inputs": [{"id": new_ids[0], "properties": {"favourite_colour": "red"}}]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_hubspot_error(&body, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(
        body["errors"][0]["context"]["propertyName"][0],
        "favourite_colour"
    );

    // More than 100 inputs.
    let inputs: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    let (status, body) = json_of(
        post(
            &client,
            &sim,
            "/crm/v3/objects/contacts/batch/read",
            &json!({"inputs": inputs}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_hubspot_error(&body, "VALIDATION_ERROR");

    // Archive: 204 with no body; the records move to the archived list.
    let response = post(
        &client,
        &sim,
        "/crm/v3/objects/contacts/batch/archive",
        &json!({"inputs": [{"id": new_ids[0]}, {"id": new_ids[1]}]}),
    )
    .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await?.is_empty());
    let archived: Vec<String> = sim.archived("contacts").into_iter().map(|r| r.id).collect();
    assert_eq!(archived, new_ids);
    Ok(())
}

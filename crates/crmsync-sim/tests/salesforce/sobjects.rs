//! `/sobjects`: CRUD, validation, upsert by external id, describe, `updated` / `deleted`,
//! and the Rust-side handle.

use chrono::{Duration, Utc};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn create_read_update_delete() -> TestResult {
    let sim = sim(3).await?;
    let client = Client::new();
    let account = sim.records("Account")[0].id.clone();
    let (status, created) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/sobjects/Contact",
            &json!({"attributes": {"type": "Contact"}, "FirstName": "Ada", "LastName": "Lovelace",
                    "Email": "Ada@Example.com", "AccountId": account, "Birthdate": "1815-12-10"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["errors"], json!([]));
    let id = created["id"].as_str().ok_or("id")?.to_string();
    assert!(id.starts_with("003") && id.len() == 18);

    let (status, record) =
        json_of(get(&client, &sim, &format!("/sobjects/Contact/{id}")).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["attributes"]["type"], "Contact");
    assert_eq!(
        record["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Contact/{id}")
    );
    assert_eq!(record["Name"], "Ada Lovelace");
    assert_eq!(record["Email"], "ada@example.com");
    assert_eq!(record["Birthdate"], "1815-12-10");
    assert_eq!(record["OwnerId"], sim.user_id());
    assert_eq!(record["IsDeleted"], false);
    assert_eq!(record["HasOptedOutOfEmail"], false);
    let stamp = record["SystemModstamp"]
        .as_str()
        .ok_or("SystemModstamp")?
        .to_string();
    assert!(stamp.ends_with("+0000") && stamp.len() == 28, "{stamp}");

    let (status, some) = json_of(
        get(
            &client,
            &sim,
            &format!("/sobjects/Contact/{}?fields=LastName,Email", &id[..15]),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&String> = some.as_object().ok_or("object")?.keys().collect();
    assert_eq!(keys.len(), 3, "{some}");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let response = send_json(
        &client,
        &sim,
        Method::PATCH,
        &format!("/sobjects/Contact/{id}"),
        &json!({"Title": "Analyst", "Email": null}),
    )
    .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = sim.get("Contact", &id).ok_or("after")?;
    assert_eq!(after.str("Title"), Some("Analyst"));
    assert!(after.fields["Email"].is_null());
    assert!(after.system_modstamp > after.created_date);
    assert_eq!(after.last_modified_date, after.system_modstamp);

    let response = request(
        &client,
        &sim,
        Method::DELETE,
        &format!("/sobjects/Contact/{id}"),
    )
    .send()
    .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) =
        json_of(get(&client, &sim, &format!("/sobjects/Contact/{id}")).await?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_sf_error(&body, "ENTITY_IS_DELETED");
    let (status, body) = json_of(
        request(
            &client,
            &sim,
            Method::DELETE,
            &format!("/sobjects/Contact/{id}"),
        )
        .send()
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_sf_error(&body, "ENTITY_IS_DELETED");
    assert!(
        sim.deleted("Contact")
            .iter()
            .any(|r| r.id == id && r.is_deleted)
    );

    let lead = sim.records("Lead")[0].id.clone();
    let (status, body) =
        json_of(get(&client, &sim, &format!("/sobjects/Contact/{lead}")).await?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_sf_error(&body, "NOT_FOUND");
    Ok(())
}

#[tokio::test]
async fn invalid_writes_answer_salesforce_errors() -> TestResult {
    let sim = sim(1).await?;
    let client = Client::new();
    let opportunity = sim.records("Opportunity")[0].id.clone();
    let cases: Vec<(&str, Value, &str, Vec<&str>)> = vec![
        (
            "/sobjects/Lead",
            json!({"FirstName": "No"}),
            "REQUIRED_FIELD_MISSING",
            vec!["LastName", "Company"],
        ),
        (
            "/sobjects/Lead",
            json!({"LastName": "X", "Company": "Y", "Status": "Bogus"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            vec!["Status"],
        ),
        (
            "/sobjects/Contact",
            json!({"LastName": "X", "Email": "not-an-email"}),
            "INVALID_EMAIL_ADDRESS",
            vec!["Email"],
        ),
        (
            "/sobjects/Contact",
            json!({"LastName": "X", "CreatedDate": "2024-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            vec!["CreatedDate"],
        ),
        (
            "/sobjects/Contact",
            json!({"LastName": "X", "AccountId": opportunity}),
            "FIELD_INTEGRITY_EXCEPTION",
            vec!["AccountId"],
        ),
        (
            "/sobjects/Contact",
            json!({"LastName": "X".repeat(81)}),
            "STRING_TOO_LONG",
            vec!["LastName"],
        ),
    ];
    for (path, body, code, fields) in cases {
        let (status, answer) =
            json_of(send_json(&client, &sim, Method::POST, path, &body).await?).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_sf_error(&answer, code);
        assert_eq!(answer[0]["fields"], json!(fields), "{answer}");
    }
    let (status, answer) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/sobjects/Contact",
            &json!({"LastName": "X", "Bogus": 1}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&answer, "INVALID_FIELD");
    let (status, answer) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/sobjects/Account",
            &json!({"Name": "X", "NumberOfEmployees": "many"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&answer, "JSON_PARSER_ERROR");
    let (status, answer) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/sobjects/Widget",
            &json!({"Name": "X"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_sf_error(&answer, "NOT_FOUND");
    // Opportunity probability follows the stage unless set.
    let (_, created) = json_of(
        send_json(&client, &sim, Method::POST, "/sobjects/Opportunity",
            &json!({"Name": "Deal", "StageName": "Negotiation/Review", "CloseDate": "2026-03-01", "Amount": 1500})).await?,
    )
    .await?;
    let opp = sim
        .get("Opportunity", created["id"].as_str().ok_or("id")?)
        .ok_or("opp")?;
    assert_eq!(opp.fields["Probability"], json!(90.0));
    assert_eq!(opp.fields["Amount"], json!(1500.0));
    Ok(())
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates() -> TestResult {
    let sim = sim(2).await?;
    let client = Client::new();
    let path = "/sobjects/Contact/External_Id__c/EXT-1";
    let (status, first) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            path,
            &json!({"LastName": "First"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["created"], true);
    let id = first["id"].as_str().ok_or("id")?.to_string();
    // External ids match without regard to case.
    let (status, second) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/sobjects/Contact/External_Id__c/ext-1",
            &json!({"LastName": "Second"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(
        (second["created"].as_bool(), second["id"].as_str()),
        (Some(false), Some(id.as_str()))
    );
    assert_eq!(
        sim.get("Contact", &id).ok_or("c")?.str("LastName"),
        Some("Second")
    );
    // Before API 46.0 an update answers 204.
    let response = client
        .patch(format!("{}/services/data/v45.0{path}", sim.instance_url()))
        .bearer_auth(sim.access_token())
        .json(&json!({"Title": "CEO"}))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, record) = json_of(get(&client, &sim, path).await?).await?;
    assert_eq!(
        (status, record["Id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let (status, body) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/sobjects/Contact/Email/a@b.com",
            &json!({"LastName": "X"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_sf_error(&body, "NOT_FOUND");
    let (status, _) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/sobjects/Contact/External_Id__c/EXT-2?updateOnly=true",
            &json!({"LastName": "X"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let stats = sim.stats();
    assert_eq!(stats.by_endpoint.get("upsert"), Some(&5));

    // A non-unique external id can match several records: 300 with their URLs.
    for last in ["Twin A", "Twin B"] {
        sim.create(
            "Contact",
            &[("LastName", json!(last)), ("Legacy_Id__c", json!("L-1"))],
        );
    }
    let (status, choices) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/sobjects/Contact/Legacy_Id__c/L-1",
            &json!({"Title": "X"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(choices.as_array().map(Vec::len), Some(2));
    assert!(
        choices[0]
            .as_str()
            .is_some_and(|u| u.starts_with("/services/data/v62.0/sobjects/Contact/003"))
    );
    // POST with `_HttpMethod=PATCH` is a PATCH.
    let response = request(
        &client,
        &sim,
        Method::POST,
        &format!("/sobjects/Contact/{id}?_HttpMethod=PATCH"),
    )
    .json(&json!({"Title": "Overridden"}))
    .send()
    .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.get("Contact", &id).ok_or("c")?.str("Title"),
        Some("Overridden")
    );
    Ok(())
}

#[tokio::test]
async fn describe_lists_fields_with_metadata() -> TestResult {
    let sim = sim(1).await?;
    let client = Client::new();
    let (status, global) = json_of(get(&client, &sim, "/sobjects").await?).await?;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .ok_or("sobjects")?
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["Account", "Contact", "Lead", "Opportunity", "Task"]);
    let (status, lead) = json_of(get(&client, &sim, "/sobjects/Lead/describe").await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead["keyPrefix"], "00Q");
    let field = |name: &str| {
        lead["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let status_field = field("Status");
    assert_eq!(status_field["type"], "picklist");
    assert_eq!(status_field["nillable"], false);
    assert_eq!(
        status_field["picklistValues"][0]["value"],
        "Open - Not Contacted"
    );
    let ext = field("External_Id__c");
    assert_eq!(
        (
            ext["custom"].as_bool(),
            ext["externalId"].as_bool(),
            ext["unique"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(field("LastName")["nillable"], false);
    assert_eq!(field("SystemModstamp")["type"], "datetime");
    assert_eq!(field("Email")["type"], "email");
    let (_, contact) = json_of(get(&client, &sim, "/sobjects/Contact/describe/").await?).await?;
    let account_id = contact["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "AccountId"))
        .ok_or("AccountId")?;
    assert_eq!(account_id["referenceTo"], json!(["Account"]));
    assert_eq!(account_id["relationshipName"], "Account");
    Ok(())
}

#[tokio::test]
async fn updated_and_deleted_cover_their_windows() -> TestResult {
    let sim = sim(5).await?;
    let client = Client::new();
    let contacts = sim.records("Contact");
    let (edited, removed) = (contacts[0].id.clone(), contacts[1].id.clone());
    let old = Utc::now() - Duration::days(3);
    sim.set_system_modstamp(
        "Contact",
        &contacts.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        old,
    );
    assert!(sim.edit("Contact", &edited, &[("Title", json!("VP"))]));
    assert!(sim.delete("Contact", &removed));
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let window = [
        ("start", fmt(Utc::now() - Duration::hours(1))),
        ("end", fmt(Utc::now() + Duration::minutes(2))),
    ];
    let (status, updated) = json_of(
        request(&client, &sim, Method::GET, "/sobjects/Contact/updated/")
            .query(&window)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["ids"], json!([edited]));
    assert!(
        updated["latestDateCovered"]
            .as_str()
            .is_some_and(|d| d.ends_with("+0000"))
    );
    let (status, deleted) = json_of(
        request(&client, &sim, Method::GET, "/sobjects/Contact/deleted/")
            .query(&window)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["deletedRecords"][0]["id"], removed.as_str());
    assert!(deleted["deletedRecords"][0]["deletedDate"].is_string());
    assert!(deleted["earliestDateAvailable"].is_string());
    let too_old = [
        ("start", fmt(Utc::now() - Duration::days(31))),
        ("end", fmt(Utc::now())),
    ];
    let (status, body) = json_of(
        request(&client, &sim, Method::GET, "/sobjects/Contact/updated")
            .query(&too_old)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "INVALID_REPLICATION_DATE");
    let sixteen = [
        ("start", fmt(Utc::now() - Duration::days(16))),
        ("end", fmt(Utc::now())),
    ];
    let (status, _) = json_of(
        request(&client, &sim, Method::GET, "/sobjects/Contact/deleted")
            .query(&sixteen)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn rust_handle_edits_like_a_user() -> TestResult {
    let sim = sim(4).await?;
    let id = sim.create(
        "Lead",
        &[("LastName", json!("Doe")), ("Company", json!("Acme"))],
    );
    assert!(id.starts_with("00Q"));
    let lead = sim.get("Lead", &id).ok_or("lead")?;
    assert_eq!(lead.str("Status"), Some("Open - Not Contacted"));
    assert_eq!(lead.object, "Lead");
    assert!(
        !sim.edit("Lead", &id, &[("Status", json!("Nope"))]),
        "validation applies"
    );
    assert!(!sim.edit("Lead", "00Q000000000000", &[("Title", json!("X"))]));
    let at = Utc::now() - Duration::days(1);
    let ids: Vec<String> = sim.records("Contact").into_iter().map(|r| r.id).collect();
    sim.set_system_modstamp("Contact", &ids, at);
    assert!(
        sim.records("Contact")
            .iter()
            .all(|r| r.system_modstamp.timestamp_millis() == at.timestamp_millis())
    );

    sim.add_duplicate_rule("Contact", "Email");
    let email = sim
        .records("Contact")
        .iter()
        .find_map(|r| r.str("Email").map(str::to_string))
        .ok_or("email")?;
    let other = ids
        .iter()
        .find(|i| {
            sim.get("Contact", i)
                .and_then(|r| r.str("Email").map(str::to_string))
                != Some(email.clone())
        })
        .ok_or("other")?;
    assert!(
        !sim.edit("Contact", other, &[("Email", json!(email.to_uppercase()))]),
        "duplicate rule"
    );
    Ok(())
}

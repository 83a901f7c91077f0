//! sObject Collections and composite requests.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn contact(last: Value, email: &str) -> Value {
    json!({"attributes": {"type": "Contact"}, "LastName": last, "Email": email})
}

#[tokio::test]
async fn collections_answer_per_record() -> TestResult {
    let sim = sim(3).await?;
    let client = Client::new();
    sim.add_duplicate_rule("Contact", "Email");
    let taken = sim
        .records("Contact")
        .iter()
        .find_map(|r| r.str("Email").map(str::to_string))
        .ok_or("email")?;
    let records = json!([
        contact(json!("Fine"), "fine@example.com"),
        contact(json!("Dup"), &taken.to_uppercase()),
        contact(Value::Null, "nameless@example.com"),
        {"attributes": {"type": "Account"}, "Name": "Mixed Types Ltd"},
    ]);
    let (status, results) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/composite/sobjects",
            &json!({"allOrNone": false, "records": records}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(results[0]["success"], true);
    assert!(
        results[0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("003"))
    );
    assert_eq!(results[1]["success"], false);
    assert_eq!(results[1]["errors"][0]["statusCode"], "DUPLICATES_DETECTED");
    assert_eq!(
        results[2]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[2]["errors"][0]["fields"], json!(["LastName"]));
    assert!(
        results[3]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("001"))
    );
    assert_eq!(sim.records("Contact").len(), 4);

    // allOrNone: one failure rolls the others back.
    let (status, results) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/composite/sobjects",
            &json!({"allOrNone": true, "records": [
                contact(json!("Would Be"), "wouldbe@example.com"),
                contact(json!("Dup"), &taken),
            ]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert!(results[0].get("id").is_none_or(Value::is_null));
    assert_eq!(results[1]["errors"][0]["statusCode"], "DUPLICATES_DETECTED");
    assert_eq!(sim.records("Contact").len(), 4, "nothing was kept");

    // Update by Id, with one unknown id.
    let first = results_id(&sim, 0)?;
    let (_, results) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/composite/sobjects",
            &json!({"records": [
                {"attributes": {"type": "Contact"}, "Id": first, "Title": "Boss"},
                {"attributes": {"type": "Contact"}, "Id": "003000000000000AAA", "Title": "Ghost"},
                {"attributes": {"type": "Contact"}, "Title": "No Id"},
            ]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["success"], false);
    assert_eq!(results[2]["errors"][0]["statusCode"], "MISSING_ARGUMENT");
    assert_eq!(
        sim.get("Contact", &first).ok_or("first")?.str("Title"),
        Some("Boss")
    );

    // Upsert by external id: results say what was created.
    let upsert = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Contact"}, "External_Id__c": "E-1", "LastName": "One"},
        {"attributes": {"type": "Contact"}, "External_Id__c": "E-2", "LastName": "Two"},
    ]});
    let (status, results) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/composite/sobjects/Contact/External_Id__c",
            &upsert,
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(
        (
            results[0]["created"].as_bool(),
            results[1]["created"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let (_, results) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            "/composite/sobjects/Contact/External_Id__c",
            &upsert,
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (
            results[0]["created"].as_bool(),
            results[1]["created"].as_bool()
        ),
        (Some(false), Some(false))
    );

    // Retrieve, then delete (twice: the second finds them deleted).
    let ids: Vec<String> = results
        .as_array()
        .ok_or("array")?
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    let (status, rows) = json_of(
        request(&client, &sim, Method::GET, "/composite/sobjects/Contact")
            .query(&[
                ("ids", format!("{},003000000000000AAA", ids.join(","))),
                ("fields", "LastName,External_Id__c".to_string()),
            ])
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows[0]["LastName"], "One");
    assert!(rows[2].is_null());
    for expected in [true, false] {
        let (status, results) = json_of(
            request(&client, &sim, Method::DELETE, "/composite/sobjects")
                .query(&[("ids", ids.join(",")), ("allOrNone", "false".to_string())])
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(results[0]["success"], expected, "{results}");
        if !expected {
            assert_eq!(results[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
        }
    }
    let too_many: Vec<Value> = (0..201)
        .map(|i| contact(json!(format!("N{i}")), "x@example.com"))
        .collect();
    let (status, body) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/composite/sobjects",
            &json!({"records": too_many}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "EXCEEDED_ID_LIMIT");
    Ok(())
}

fn results_id(sim: &crmsync_sim::SalesforceSim, i: usize) -> Result<String, &'static str> {
    sim.records("Contact")
        .get(i)
        .map(|r| r.id.clone())
        .ok_or("record")
}

#[tokio::test]
async fn composite_resolves_references_in_order() -> TestResult {
    let sim = sim(0).await?;
    let client = Client::new();
    let body = json!({"allOrNone": false, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "newAccount",
         "body": {"Name": "Composite Co"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "newContact",
         "body": {"LastName": "Ref", "AccountId": "@{newAccount.id}"}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{newContact.id}?fields=AccountId",
         "referenceId": "readBack"},
        {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id,Name+FROM+Account+WHERE+Id='@{newAccount.id}'",
         "referenceId": "find"},
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Account/@{find.records[0].Id}",
         "referenceId": "rename", "body": {"Name": "Renamed Co"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad",
         "body": {"FirstName": "NoLast"}},
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Contact/@{bad.id}", "referenceId": "dependent",
         "body": {"Title": "X"}},
    ]});
    let (status, answer) =
        json_of(send_json(&client, &sim, Method::POST, "/composite", &body).await?).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["compositeResponse"]
        .as_array()
        .ok_or("compositeResponse")?;
    let codes: Vec<u64> = results
        .iter()
        .filter_map(|r| r["httpStatusCode"].as_u64())
        .collect();
    assert_eq!(codes, [201, 201, 200, 200, 204, 400, 400]);
    let account = results[0]["body"]["id"].as_str().ok_or("account id")?;
    assert_eq!(results[2]["body"]["AccountId"], account);
    assert!(
        results[0]["httpHeaders"]["Location"]
            .as_str()
            .is_some_and(|l| l.ends_with(account))
    );
    assert_eq!(results[5]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(results[6]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(results[6]["referenceId"], "dependent");
    assert_eq!(
        sim.get("Account", account).ok_or("account")?.str("Name"),
        Some("Renamed Co")
    );
    assert_eq!(sim.stats().by_endpoint.get("composite"), Some(&1));
    assert_eq!(sim.stats().api_usage, 1, "a composite request counts once");

    // allOrNone: the failure rolls back what came before and halts what comes after.
    let accounts_before = sim.records("Account").len();
    let body = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "a", "body": {"Name": "Kept?"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "b", "body": {}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "c", "body": {"Name": "Never"}},
    ]});
    let (_, answer) =
        json_of(send_json(&client, &sim, Method::POST, "/composite", &body).await?).await?;
    let results = answer["compositeResponse"]
        .as_array()
        .ok_or("compositeResponse")?;
    assert_eq!(results[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(results[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(results[2]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(
        sim.records("Account").len(),
        accounts_before,
        "the first account was rolled back"
    );

    let many: Vec<Value> = (0..26)
        .map(|i| json!({"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": format!("r{i}")}))
        .collect();
    let (status, body) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/composite",
            &json!({"compositeRequest": many}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.is_array());
    let queries: Vec<Value> = (0..6)
        .map(|i| json!({"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Account", "referenceId": format!("q{i}")}))
        .collect();
    let (status, _) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/composite",
            &json!({"compositeRequest": queries}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "at most five queries");
    Ok(())
}

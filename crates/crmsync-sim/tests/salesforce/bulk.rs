//! Bulk API 2.0 ingest and query jobs.

use crmsync_sim::SalesforceSim;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

/// Polls a job until it is finished; returns the final info and the states seen.
async fn wait(
    client: &Client,
    sim: &SalesforceSim,
    path: &str,
) -> Result<(Value, Vec<String>), Box<dyn std::error::Error>> {
    let mut states = Vec::new();
    for _ in 0..20 {
        let (status, info) = json_of(get(client, sim, path).await?).await?;
        assert_eq!(status, StatusCode::OK, "{info}");
        let state = info["state"].as_str().unwrap_or_default().to_string();
        states.push(state.clone());
        if ["JobComplete", "Failed", "Aborted"].contains(&state.as_str()) {
            return Ok((info, states));
        }
    }
    Err("the job never finished".into())
}

async fn csv_of(
    client: &Client,
    sim: &SalesforceSim,
    path: &str,
) -> Result<(StatusCode, reqwest::header::HeaderMap, String), Box<dyn std::error::Error>> {
    let response = get(client, sim, path).await?;
    let status = response.status();
    let headers = response.headers().clone();
    Ok((status, headers, response.text().await?))
}

/// Creates an ingest job, uploads `csv`, closes it, and waits for it.
async fn ingest(
    client: &Client,
    sim: &SalesforceSim,
    job: Value,
    csv: &str,
) -> Result<(String, Value), Box<dyn std::error::Error>> {
    let (status, info) =
        json_of(send_json(client, sim, Method::POST, "/jobs/ingest", &job).await?).await?;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["state"], "Open");
    let id = info["id"].as_str().ok_or("job id")?.to_string();
    let response = request(
        client,
        sim,
        Method::PUT,
        &format!("/jobs/ingest/{id}/batches"),
    )
    .header("Content-Type", "text/csv")
    .body(csv.to_string())
    .send()
    .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, closed) = json_of(
        send_json(
            client,
            sim,
            Method::PATCH,
            &format!("/jobs/ingest/{id}"),
            &json!({"state": "UploadComplete"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["state"], "UploadComplete");
    let (info, _) = wait(client, sim, &format!("/jobs/ingest/{id}")).await?;
    Ok((id, info))
}

#[tokio::test]
async fn ingest_insert_reports_successes_and_failures() -> TestResult {
    let sim = sim(0).await?;
    let client = Client::new();
    let (status, info) = json_of(
        send_json(&client, &sim, Method::POST, "/jobs/ingest",
            &json!({"object": "Contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"})).await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let id = info["id"].as_str().ok_or("id")?.to_string();
    assert!(id.starts_with("750"));
    assert_eq!(info["jobType"], "V2Ingest");
    assert_eq!(info["columnDelimiter"], "COMMA");
    let csv = "FirstName,LastName,Email,Title\nAda,Lovelace,ada@example.com,#N/A\nGrace,Hopper,grace@example.com,Admiral\nNo,,nolast@example.com,\n";
    let put = |body: &'static str| {
        request(
            &client,
            &sim,
            Method::PUT,
            &format!("/jobs/ingest/{id}/batches"),
        )
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
    };
    assert_eq!(put(csv).await?.status(), StatusCode::CREATED);
    let (status, body) = json_of(put(csv).await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "one upload per job");
    assert_sf_error(&body, "BULK_API_ERROR");
    let (status, body) = json_of(
        get(
            &client,
            &sim,
            &format!("/jobs/ingest/{id}/successfulResults"),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_sf_error(&body, "JOB_NOT_COMPLETE");
    send_json(
        &client,
        &sim,
        Method::PATCH,
        &format!("/jobs/ingest/{id}"),
        &json!({"state": "UploadComplete"}),
    )
    .await?;
    let (info, states) = wait(&client, &sim, &format!("/jobs/ingest/{id}")).await?;
    assert_eq!(states, ["InProgress", "JobComplete"]);
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(3), Some(1))
    );

    let (status, headers, ok) = csv_of(
        &client,
        &sim,
        &format!("/jobs/ingest/{id}/successfulResults"),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str()?.starts_with("text/csv"));
    let lines: Vec<&str> = ok.lines().collect();
    assert_eq!(
        lines[0],
        r#""sf__Id","sf__Created","FirstName","LastName","Email","Title""#
    );
    assert_eq!(lines.len(), 3, "{ok}");
    assert!(
        lines[1].starts_with("\"003") && lines[1].contains("\"true\",\"Ada\""),
        "{ok}"
    );
    let (_, _, failed) = csv_of(&client, &sim, &format!("/jobs/ingest/{id}/failedResults")).await?;
    let lines: Vec<&str> = failed.lines().collect();
    assert_eq!(
        lines[0],
        r#""sf__Id","sf__Error","FirstName","LastName","Email","Title""#
    );
    assert_eq!(
        lines[1],
        r#""","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","No","","nolast@example.com","""#
    );
    let (_, _, unprocessed) = csv_of(
        &client,
        &sim,
        &format!("/jobs/ingest/{id}/unprocessedrecords"),
    )
    .await?;
    assert_eq!(unprocessed.lines().count(), 1, "{unprocessed}");
    let ada = sim
        .records("Contact")
        .into_iter()
        .find(|c| c.str("LastName") == Some("Lovelace"))
        .ok_or("ada")?;
    assert!(ada.fields["Title"].is_null());
    let stats = sim.stats();
    for (name, n) in [
        ("bulk_ingest_create", 1),
        ("bulk_ingest_upload", 2),
        ("bulk_ingest_close", 1),
        ("bulk_ingest_status", 2),
        ("bulk_ingest_results", 4),
    ] {
        assert_eq!(stats.by_endpoint.get(name), Some(&n), "{name}");
    }
    let response = request(&client, &sim, Method::DELETE, &format!("/jobs/ingest/{id}"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    Ok(())
}

#[tokio::test]
async fn ingest_update_upsert_delete_and_ten_thousand_rows() -> TestResult {
    let sim = sim(0).await?;
    let client = Client::new();
    let mut csv = String::from("Name,External_Id__c,NumberOfEmployees\n");
    for i in 0..10_000 {
        csv.push_str(&format!("Bulk {i},B-{i},{i}\n"));
    }
    let job = json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "External_Id__c"});
    let (_, info) = ingest(&client, &sim, job.clone(), &csv).await?;
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(10_000), Some(0))
    );
    assert_eq!(info["externalIdFieldName"], "External_Id__c");
    assert_eq!(sim.records("Account").len(), 10_010);
    // The same rows again: every one updates.
    let (id, _) = ingest(&client, &sim, job, "Name,External_Id__c\nRenamed,b-7\n").await?;
    let (_, _, ok) = csv_of(
        &client,
        &sim,
        &format!("/jobs/ingest/{id}/successfulResults"),
    )
    .await?;
    assert!(
        ok.lines().nth(1).is_some_and(|l| l.contains("\"false\"")),
        "{ok}"
    );

    let target = sim
        .records("Account")
        .into_iter()
        .find(|a| {
            a.str("External_Id__c")
                .is_some_and(|e| e.eq_ignore_ascii_case("B-7"))
        })
        .ok_or("B-7")?;
    assert_eq!(target.str("Name"), Some("Renamed"));
    let update = format!(
        "Id|Phone\r\n{}|+1 415 555 0100\r\n001000000000000AAA|x\r\n",
        target.id
    );
    let (id, info) = ingest(&client, &sim,
        json!({"object": "Account", "operation": "update", "columnDelimiter": "PIPE", "lineEnding": "CRLF"}), &update).await?;
    assert_eq!(info["numberRecordsFailed"], 1);
    let (_, _, ok) = csv_of(
        &client,
        &sim,
        &format!("/jobs/ingest/{id}/successfulResults"),
    )
    .await?;
    assert!(
        ok.contains("\r\n") && ok.contains('|'),
        "results use the job's format: {ok:?}"
    );
    assert_eq!(
        sim.get("Account", &target.id).ok_or("t")?.str("Phone"),
        Some("+1 415 555 0100")
    );

    let (_, info) = ingest(
        &client,
        &sim,
        json!({"object": "Account", "operation": "delete"}),
        &format!("Id\n{}\n", target.id),
    )
    .await?;
    assert_eq!(info["numberRecordsProcessed"], 1);
    assert!(sim.get("Account", &target.id).is_some_and(|a| a.is_deleted));

    // Job-level problems fail the job.
    let (_, info) = ingest(
        &client,
        &sim,
        json!({"object": "Account", "operation": "insert"}),
        "Name,Bogus\nX,1\n",
    )
    .await?;
    assert_eq!(info["state"], "Failed");
    assert!(
        info["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("Bogus"))
    );
    let (status, body) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/jobs/ingest",
            &json!({"object": "Account", "operation": "upsert"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.is_array());
    Ok(())
}

#[tokio::test]
async fn bulk_query_pages_with_locators_until_null() -> TestResult {
    let sim = sim(5000).await?;
    let client = Client::new();
    let (status, info) = json_of(
        send_json(&client, &sim, Method::POST, "/jobs/query",
            &json!({"operation": "query", "query": "SELECT Id, Email, Account.Name, SystemModstamp FROM Contact"})).await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["state"], "UploadComplete");
    let id = info["id"].as_str().ok_or("id")?.to_string();
    let (status, body) =
        json_of(get(&client, &sim, &format!("/jobs/query/{id}/results")).await?).await?;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_sf_error(&body, "JOB_NOT_COMPLETE");
    let (info, states) = wait(&client, &sim, &format!("/jobs/query/{id}")).await?;
    assert_eq!(states.last().map(String::as_str), Some("JobComplete"));
    assert_eq!(info["numberRecordsProcessed"], 5000);
    assert_eq!(info["jobType"], "V2Query");

    let mut locator: Option<String> = None;
    let mut rows = 0;
    let mut chunks = 0;
    loop {
        let mut path = format!("/jobs/query/{id}/results?maxRecords=2000");
        if let Some(l) = &locator {
            path.push_str(&format!("&locator={l}"));
        }
        let (status, headers, body) = csv_of(&client, &sim, &path).await?;
        assert_eq!(status, StatusCode::OK);
        let n: usize = headers["sforce-numberofrecords"].to_str()?.parse()?;
        let mut lines = body.lines();
        assert_eq!(
            lines.next(),
            Some(r#""Id","Email","Account.Name","SystemModstamp""#)
        );
        let first = lines.next().ok_or("a row")?;
        assert!(first.ends_with("Z\""), "bulk date-times end in Z: {first}");
        assert_eq!(body.lines().count() - 1, n);
        rows += n;
        chunks += 1;
        let next = headers["sforce-locator"].to_str()?.to_string();
        if next == "null" {
            break;
        }
        locator = Some(next);
    }
    assert_eq!((rows, chunks), (5000, 3));

    // queryAll sees deleted rows; bad queries are refused at creation.
    let gone = sim.records("Contact")[0].id.clone();
    sim.delete("Contact", &gone);
    let (_, info) = json_of(
        send_json(&client, &sim, Method::POST, "/jobs/query",
            &json!({"operation": "queryAll", "query": "SELECT Id FROM Contact WHERE IsDeleted = true"})).await?,
    )
    .await?;
    let all_id = info["id"].as_str().ok_or("id")?.to_string();
    wait(&client, &sim, &format!("/jobs/query/{all_id}")).await?;
    let (_, headers, body) =
        csv_of(&client, &sim, &format!("/jobs/query/{all_id}/results")).await?;
    assert_eq!(headers["sforce-locator"], "null");
    assert!(body.contains(&gone));
    let (status, body) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/jobs/query",
            &json!({"operation": "query", "query": "SELECT Nope FROM Contact"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "INVALID_FIELD");
    let stats = sim.stats();
    assert_eq!(stats.by_endpoint.get("bulk_query_results"), Some(&5));
    Ok(())
}

#[tokio::test]
async fn an_aborted_ingest_job_leaves_its_rows_unprocessed() -> TestResult {
    let sim = sim(0).await?;
    let client = Client::new();
    let (_, info) = json_of(
        send_json(
            &client,
            &sim,
            Method::POST,
            "/jobs/ingest",
            &json!({"object": "Lead", "operation": "insert"}),
        )
        .await?,
    )
    .await?;
    let id = info["id"].as_str().ok_or("id")?.to_string();
    let response = request(
        &client,
        &sim,
        Method::PUT,
        &format!("/jobs/ingest/{id}/batches"),
    )
    .header("Content-Type", "text/csv")
    .body("LastName,Company\nDoe,Acme\nRoe,Initech\n")
    .send()
    .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, info) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            &format!("/jobs/ingest/{id}"),
            &json!({"state": "Aborted"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, info["state"].as_str()),
        (StatusCode::OK, Some("Aborted"))
    );
    let (status, _, unprocessed) = csv_of(
        &client,
        &sim,
        &format!("/jobs/ingest/{id}/unprocessedrecords"),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        unprocessed,
        "\"LastName\",\"Company\"\n\"Doe\",\"Acme\"\n\"Roe\",\"Initech\"\n"
    );
    let (_, _, ok) = csv_of(
        &client,
        &sim,
        &format!("/jobs/ingest/{id}/successfulResults"),
    )
    .await?;
    assert_eq!(ok.lines().count(), 1);
    assert_eq!(sim.records("Lead").len(), 10, "nothing was written");
    let (status, body) = json_of(
        send_json(
            &client,
            &sim,
            Method::PATCH,
            &format!("/jobs/ingest/{id}"),
            &json!({"state": "UploadComplete"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "INVALIDJOBSTATE");
    Ok(())
}

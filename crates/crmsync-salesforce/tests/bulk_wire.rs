//! Bulk API 2.0 and sObject Collections on the wire (wiremock): job steps, CSV in and
//! out, result rows mapped back to ops, locator paging.

use std::time::Duration;

use crmsync_core::{ChangesRequest, CrmProvider, ErrorKind, Fields, ObjectKind, RecordId, WriteOp};
use crmsync_http::RetryPolicy;
use crmsync_salesforce::{SalesforceConfig, SalesforceProvider};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_partial_json, header, method, path, query_param, query_param_is_missing},
};

const JOBS: &str = "/services/data/v62.0/jobs";

fn provider(server: &MockServer, conn: &str) -> SalesforceProvider {
    let mut config = SalesforceConfig::session(server.uri(), "static").scope("bulk-wire", conn);
    config.retry = RetryPolicy::fast();
    config.bulk_poll_interval = Duration::from_millis(5);
    config.bulk_write_threshold = 2;
    config.bulk_query_threshold = 3;
    config
        .external_id_fields
        .insert(ObjectKind::Contact, "External_Id__c".into());
    SalesforceProvider::new(config).expect("provider")
}

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn csv(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Content-Type", "text/csv")
        .set_body_string(body)
}

fn job(id: &str, state: &str, processed: u64, failed: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": id, "state": state, "object": "Contact", "jobType": "V2Ingest",
        "numberRecordsProcessed": processed, "numberRecordsFailed": failed,
    }))
}

#[tokio::test]
async fn bulk_upserts_build_csv_and_map_every_result_row() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{JOBS}/ingest")))
        .and(body_partial_json(json!({
            "object": "Contact", "operation": "upsert", "externalIdFieldName": "External_Id__c",
            "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA",
        })))
        .respond_with(job("750A", "Open", 0, 0))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{JOBS}/ingest/750A/batches")))
        .and(header("content-type", "text/csv"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{JOBS}/ingest/750A")))
        .and(body_partial_json(json!({"state": "UploadComplete"})))
        .respond_with(job("750A", "UploadComplete", 0, 0))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS}/ingest/750A")))
        .respond_with(job("750A", "InProgress", 0, 0))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS}/ingest/750A")))
        .respond_with(job("750A", "JobComplete", 3, 1))
        .mount(&server)
        .await;
    // Results come back in another order than uploaded.
    Mock::given(path(format!("{JOBS}/ingest/750A/successfulResults")))
        .respond_with(csv(
            "\"sf__Id\",\"sf__Created\",\"External_Id__c\",\"LastName\",\"Title\"\n\
             \"003C\",\"false\",\"k-3\",\"Hopper\",\"#N/A\"\n\
             \"003A\",\"true\",\"k-1\",\"Lovelace\",\"Countess, \"\"Analyst\"\"\"\n",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("{JOBS}/ingest/750A/failedResults")))
        .respond_with(csv(
            "\"sf__Id\",\"sf__Error\",\"External_Id__c\",\"LastName\",\"Title\"\n\
             \"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --\",\"k-2\",\"\",\"\"\n",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("{JOBS}/ingest/750A/unprocessedrecords")))
        .respond_with(csv("External_Id__c,LastName,Title\n"))
        .expect(0)
        .mount(&server)
        .await;
    let sf = provider(&server, "upsert");
    let ops = vec![
        WriteOp {
            key: "one".into(),
            id: None,
            idempotency_key: Some("k-1".into()),
            fields: fields(&[
                ("LastName", json!("Lovelace")),
                ("Title", json!("Countess, \"Analyst\"")),
            ]),
        },
        WriteOp {
            key: "two".into(),
            id: None,
            idempotency_key: Some("k-2".into()),
            fields: fields(&[("Title", json!("x"))]),
        },
        WriteOp {
            key: "three".into(),
            id: None,
            idempotency_key: Some("k-3".into()),
            fields: fields(&[("LastName", json!("Hopper")), ("Title", Value::Null)]),
        },
    ];
    let outcomes = sf
        .upsert(&ObjectKind::Contact, ops)
        .await
        .expect("bulk upsert");
    let by_key = |k: &str| outcomes.iter().find(|o| o.key == k).expect(k);
    let one = by_key("one").result.as_ref().expect("one ok");
    assert_eq!((one.id.as_str(), one.created), ("003A", true));
    let three = by_key("three").result.as_ref().expect("three ok");
    assert_eq!((three.id.as_str(), three.created), ("003C", false));
    let two = by_key("two").result.as_ref().expect_err("two fails");
    assert_eq!(two.kind(), ErrorKind::Validation);
    assert_eq!(two.context().record.as_deref(), Some("two"));
    assert_eq!(two.context().field.as_deref(), Some("LastName"));

    let uploads: Vec<_> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    let body = String::from_utf8_lossy(&uploads[0].body).into_owned();
    assert_eq!(
        body,
        "External_Id__c,LastName,Title\n\
         k-1,Lovelace,\"Countess, \"\"Analyst\"\"\"\n\
         k-2,,x\n\
         k-3,Hopper,#N/A\n"
    );
}

#[tokio::test]
async fn bulk_deletes_count_records_already_gone_as_deleted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{JOBS}/ingest")))
        .and(body_partial_json(json!({"operation": "delete"})))
        .respond_with(job("750D", "Open", 0, 0))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{JOBS}/ingest/750D/batches")))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{JOBS}/ingest/750D")))
        .respond_with(job("750D", "UploadComplete", 0, 0))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS}/ingest/750D")))
        .respond_with(job("750D", "JobComplete", 3, 2))
        .mount(&server)
        .await;
    Mock::given(path(format!("{JOBS}/ingest/750D/successfulResults")))
        .respond_with(csv("sf__Id,sf__Created,Id\n003A,false,003A\n"))
        .mount(&server)
        .await;
    Mock::given(path(format!("{JOBS}/ingest/750D/failedResults")))
        .respond_with(csv("sf__Id,sf__Error,Id\n\
             003B,ENTITY_IS_DELETED:entity is deleted:--,003B\n\
             003X,MALFORMED_ID:bad id 003X:Id --,003X\n"))
        .mount(&server)
        .await;
    let sf = provider(&server, "delete");
    let ids = [
        RecordId::new("003A"),
        RecordId::new("003B"),
        RecordId::new("003X"),
    ];
    let outcomes = sf
        .delete(&ObjectKind::Contact, &ids)
        .await
        .expect("bulk delete");
    assert!(outcomes[0].result.is_ok());
    assert!(
        outcomes[1].result.is_ok(),
        "already deleted counts as deleted"
    );
    let bad = outcomes[2].result.as_ref().expect_err("malformed id");
    assert_eq!(bad.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn small_batches_go_through_one_collections_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/data/v62.0/composite/sobjects"))
        .and(body_partial_json(json!({"allOrNone": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "003N", "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "fields": []}]},
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/services/data/v62.0/composite/sobjects"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "003U", "success": true, "errors": []},
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = SalesforceConfig::session(server.uri(), "static").scope("bulk-wire", "small");
    config.retry = RetryPolicy::fast();
    let sf = SalesforceProvider::new(config).expect("provider");
    let ops = vec![
        WriteOp {
            key: "new".into(),
            id: None,
            idempotency_key: None,
            fields: fields(&[("LastName", json!("A"))]),
        },
        WriteOp {
            key: "dup".into(),
            id: None,
            idempotency_key: None,
            fields: fields(&[("LastName", json!("B"))]),
        },
        WriteOp {
            key: "upd".into(),
            id: Some(RecordId::new("003U")),
            idempotency_key: None,
            fields: fields(&[("Title", Value::Null)]),
        },
    ];
    let outcomes = sf.upsert(&ObjectKind::Contact, ops).await.expect("writes");
    assert_eq!(outcomes.len(), 3);
    let by_key = |k: &str| outcomes.iter().find(|o| o.key == k).expect(k);
    assert!(by_key("new").result.as_ref().is_ok_and(|w| w.created));
    assert_eq!(
        by_key("dup").result.as_ref().map_err(|e| e.kind()).err(),
        Some(ErrorKind::Conflict)
    );
    assert!(by_key("upd").result.as_ref().is_ok_and(|w| !w.created));
    let requests = server.received_requests().await.unwrap_or_default();
    let update: Value = requests
        .iter()
        .find(|r| r.method.as_str() == "PATCH")
        .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(update["records"][0]["id"], "003U");
    assert_eq!(
        update["records"][0]["Title"],
        Value::Null,
        "null clears the field"
    );
    assert_eq!(update["records"][0]["attributes"]["type"], "Contact");
}

#[tokio::test]
async fn a_large_full_pass_reads_a_bulk_query_by_locator() {
    let server = MockServer::start().await;
    Mock::given(path("/services/data/v62.0/query"))
        .and(query_param("q", "SELECT COUNT() FROM Contact"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalSize": 4, "done": true, "records": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/services/data/v62.0/sobjects/Contact/describe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"fields": [
            {"name": "Id", "type": "id"}, {"name": "Email", "type": "email"},
            {"name": "HasOptedOutOfEmail", "type": "boolean"},
            {"name": "SystemModstamp", "type": "datetime"}, {"name": "IsDeleted", "type": "boolean"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{JOBS}/query")))
        .and(body_partial_json(json!({
            "operation": "query",
            "query": "SELECT Email, HasOptedOutOfEmail, Id, IsDeleted, SystemModstamp FROM Contact",
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "750Q", "state": "UploadComplete"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS}/query/750Q")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "750Q", "state": "JobComplete"})),
        )
        .mount(&server)
        .await;
    let header = "\"Email\",\"HasOptedOutOfEmail\",\"Id\",\"SystemModstamp\",\"IsDeleted\"\n";
    Mock::given(path(format!("{JOBS}/query/750Q/results")))
        .and(query_param_is_missing("locator"))
        .and(query_param("maxRecords", "2"))
        .respond_with(csv(&format!("{header}\"a@x.io\",\"true\",\"003A\",\"2024-05-01T10:00:00.000Z\",\"false\"\n\"\",\"false\",\"003B\",\"2024-05-01T10:00:00.000Z\",\"false\"\n"))
            .insert_header("Sforce-Locator", "MjAwMA")
            .insert_header("Sforce-NumberOfRecords", "2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("{JOBS}/query/750Q/results")))
        .and(query_param("locator", "MjAwMA"))
        .respond_with(csv(&format!("{header}\"c@x.io\",\"false\",\"003C\",\"2024-05-01T11:00:00.000Z\",\"false\"\n\"d@x.io\",\"false\",\"003D\",\"2024-05-01T12:00:00.000Z\",\"false\"\n"))
            .insert_header("Sforce-Locator", "null"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/services/data/v62.0/queryAll"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalSize": 0, "done": true, "records": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sf = provider(&server, "bulk-query");
    let mut request = ChangesRequest {
        page_size: 2,
        full: true,
        ..ChangesRequest::default()
    };
    let mut ids = Vec::new();
    let mut first = None;
    for _ in 0..10 {
        let page = sf
            .changes(&ObjectKind::Contact, request.clone())
            .await
            .expect("page");
        if first.is_none() {
            first = page.changes.first().map(|c| c.record.clone());
            assert_eq!(page.estimated_total, Some(4));
        }
        ids.extend(page.changes.iter().map(|c| c.record.id.as_str().to_owned()));
        request.cursor = page.next;
        if page.complete {
            break;
        }
    }
    assert_eq!(ids, ["003A", "003B", "003C", "003D"]);
    let first = first.expect("a record");
    assert_eq!(
        first.fields.get("HasOptedOutOfEmail"),
        Some(&json!(true)),
        "typed from describe"
    );
    assert!(first.modified_at.is_some());
}

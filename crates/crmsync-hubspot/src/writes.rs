//! Reads by id, look-ups by match key, and batch writes with per-record outcomes.
//!
//! A batch answered 207 maps each error to its records (`context.ids`,
//! `context.objectWriteTraceId`). A batch rejected whole with a 400 (one bad value
//! fails HubSpot's whole batch) is split in halves until the bad records are alone,
//! so the rest of the batch goes on.

use std::collections::{HashMap, HashSet};

use crmsync_core::{
    Error, ErrorKind, MatchKey, ObjectKind, Record, RecordId, RecordMatch, Result, WriteOp,
    WriteOutcome, Written, write_bisecting,
};
use crmsync_http::ApiRequest;
use serde_json::{Value, json};

use crate::{
    HubSpotProvider,
    core::{HsBatch, HsObject},
    objects::{hs_type, parse_instant, to_properties, to_record},
};

/// HubSpot's batch limit.
pub(crate) const BATCH: usize = 100;

/// Properties a batch read can use as `idProperty`.
const UNIQUE_PROPERTIES: [&str; 3] = ["email", "hs_object_id", "external_id"];

/// Search results read per `IN` look-up (one page): enough candidates for matching.
const SEARCH_CANDIDATES: usize = 200;

enum Flavor {
    Update,
    UpsertByEmail,
    Create,
}

impl HubSpotProvider {
    pub(crate) async fn read_records(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
        id_property: Option<&str>,
    ) -> Result<Vec<Record>> {
        let t = hs_type(object)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let mut body = json!({
                "inputs": chunk.iter().map(|id| json!({"id": id.as_str()})).collect::<Vec<_>>(),
                "properties": fields,
            });
            if let Some(prop) = id_property {
                body["idProperty"] = json!(prop);
            }
            let req = ApiRequest::post(
                "hubspot.batch_read",
                format!("/crm/v3/objects/{}/batch/read", t.path),
                body,
                true,
            )
            .query("archived", "false");
            let (_, batch): (_, HsBatch) = self.client.send_json(&req).await?;
            out.extend(batch.results.into_iter().map(|r| to_record(object, r)));
        }
        Ok(out)
    }

    /// Records whose `property` is one of `values`, by search (`IN`, 100 values per
    /// query, one page of candidates each).
    async fn search_in(
        &self,
        object: &ObjectKind,
        property: &str,
        values: &[RecordId],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        let t = hs_type(object)?;
        let mut out = Vec::new();
        for chunk in values.chunks(BATCH) {
            let values: Vec<String> = chunk.iter().map(|v| v.as_str().to_lowercase()).collect();
            let body = json!({
                "filterGroups": [{"filters": [{"propertyName": property, "operator": "IN", "values": values}]}],
                "properties": fields,
                "limit": SEARCH_CANDIDATES,
            });
            let req = ApiRequest::post(
                "hubspot.search",
                format!("/crm/v3/objects/{}/search", t.path),
                body,
                true,
            )
            .bucket("search");
            let (_, page): (_, crate::core::HsPage) = self.client.send_json(&req).await?;
            out.extend(page.results.into_iter().map(|r| to_record(object, r)));
        }
        Ok(out)
    }

    pub(crate) async fn find_records(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        let mut by_id: Vec<(usize, RecordId)> = Vec::new();
        let mut by_property: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            match key {
                MatchKey::Id(id) => by_id.push((i, id.clone())),
                MatchKey::Email(email) if *object == ObjectKind::Contact => by_property
                    .entry("email".to_owned())
                    .or_default()
                    .push((i, email.trim().to_lowercase())),
                MatchKey::Field { name, value } => by_property
                    .entry(name.clone())
                    .or_default()
                    .push((i, value.clone())),
                // Phone numbers are stored as typed; matching them needs the
                // normalised search of the matching layer.
                _ => {}
            }
        }
        let mut out = Vec::new();
        if !by_id.is_empty() {
            let ids: Vec<RecordId> = by_id.iter().map(|(_, id)| id.clone()).collect();
            let records = self.read_records(object, &ids, fields, None).await?;
            for record in records {
                for (i, id) in &by_id {
                    if *id == record.id {
                        out.push(RecordMatch {
                            key_index: *i,
                            record: record.clone(),
                        });
                    }
                }
            }
        }
        for (property, wanted) in by_property {
            let mut props = fields.to_vec();
            if !props.contains(&property) {
                props.push(property.clone());
            }
            let values: Vec<RecordId> = wanted
                .iter()
                .map(|(_, v)| RecordId::new(v.clone()))
                .collect();
            // Batch read by `idProperty` works on unique properties only; any other
            // property is looked up through search (`IN`, lower-case values).
            let records = if UNIQUE_PROPERTIES.contains(&property.as_str()) {
                self.read_records(object, &values, &props, Some(&property))
                    .await?
            } else {
                self.search_in(object, &property, &values, &props).await?
            };
            for record in records {
                let Some(found) = record.field_str(&property).map(|v| v.trim().to_lowercase())
                else {
                    continue;
                };
                for (i, value) in &wanted {
                    if value.trim().to_lowercase() == found {
                        out.push(RecordMatch {
                            key_index: *i,
                            record: record.clone(),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn write_records(
        &self,
        object: &ObjectKind,
        ops: Vec<WriteOp>,
    ) -> Result<Vec<WriteOutcome>> {
        let mut updates = Vec::new();
        let mut upserts = Vec::new();
        let mut creates = Vec::new();
        for op in ops {
            if op.id.is_some() {
                updates.push(op);
            } else if *object == ObjectKind::Contact
                && op
                    .fields
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| !e.trim().is_empty())
            {
                upserts.push(op);
            } else {
                creates.push(op);
            }
        }
        let mut out = Vec::new();
        for (flavor, ops) in [
            (Flavor::Update, updates),
            (Flavor::UpsertByEmail, upserts),
            (Flavor::Create, creates),
        ] {
            for chunk in ops.chunks(BATCH) {
                let flavor = &flavor;
                out.extend(
                    write_bisecting(chunk.to_vec(), "hubspot.batch_write", |ops| async move {
                        self.write_batch(object, flavor, &ops).await
                    })
                    .await?,
                );
            }
        }
        Ok(out)
    }

    async fn write_batch(
        &self,
        object: &ObjectKind,
        flavor: &Flavor,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>> {
        let t = hs_type(object)?;
        let (operation, action, idempotent, inputs): (_, _, _, Vec<Value>) = match flavor {
            Flavor::Update => (
                "hubspot.batch_update",
                "update",
                true,
                ops.iter()
                    .map(|op| {
                        json!({
                            "id": op.id.as_ref().map(RecordId::as_str).unwrap_or_default(),
                            "properties": to_properties(&op.fields),
                        })
                    })
                    .collect(),
            ),
            Flavor::UpsertByEmail => (
                "hubspot.batch_upsert",
                "upsert",
                true,
                ops.iter()
                    .map(|op| {
                        let email = op
                            .fields
                            .get("email")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .trim()
                            .to_lowercase();
                        json!({"id": email, "idProperty": "email", "properties": to_properties(&op.fields)})
                    })
                    .collect(),
            ),
            Flavor::Create => (
                "hubspot.batch_create",
                "create",
                false,
                ops.iter()
                    .map(|op| json!({"properties": to_properties(&op.fields), "associations": [], "objectWriteTraceId": op.key}))
                    .collect(),
            ),
        };
        let req = ApiRequest::post(
            operation,
            format!("/crm/v3/objects/{}/batch/{action}", t.path),
            json!({ "inputs": inputs }),
            idempotent,
        );
        let (_, batch): (_, HsBatch) = self.client.send_json(&req).await?;
        Ok(match_outcomes(flavor, ops, batch))
    }

    pub(crate) async fn archive_records(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
    ) -> Result<Vec<WriteOutcome>> {
        let t = hs_type(object)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let req = ApiRequest::post(
                "hubspot.batch_archive",
                format!("/crm/v3/objects/{}/batch/archive", t.path),
                json!({"inputs": chunk.iter().map(|id| json!({"id": id.as_str()})).collect::<Vec<_>>()}),
                true,
            );
            self.client.send(&req).await?;
            out.extend(chunk.iter().map(|id| {
                WriteOutcome::ok(
                    id.as_str(),
                    Written {
                        id: id.clone(),
                        created: false,
                        modified_at: None,
                    },
                )
            }));
        }
        Ok(out)
    }
}

/// Pairs a batch response's results and errors with the ops that caused them.
fn match_outcomes(flavor: &Flavor, ops: &[WriteOp], batch: HsBatch) -> Vec<WriteOutcome> {
    let mut failed: HashMap<String, Error> = HashMap::new();
    for err in &batch.errors {
        let status = if err.category.as_deref() == Some("OBJECT_NOT_FOUND") {
            404
        } else {
            400
        };
        let error = err.to_error(status);
        let mut names = err.context_values("ids");
        names.extend(err.context_values("id"));
        names.extend(err.context_values("objectWriteTraceId"));
        names.extend(err.context_values("email"));
        for name in names {
            failed.insert(
                name.to_lowercase(),
                Error::new(error.kind(), error.message().to_owned()),
            );
        }
    }
    let key_of = |op: &WriteOp| -> String {
        match flavor {
            Flavor::Update => op
                .id
                .as_ref()
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
            Flavor::UpsertByEmail => op
                .fields
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_lowercase(),
            Flavor::Create => op.key.to_lowercase(),
        }
    };
    let mut results: HashMap<String, HsObject> = HashMap::new();
    let mut unkeyed: Vec<HsObject> = Vec::new();
    for r in batch.results {
        let key = match flavor {
            Flavor::Update => Some(r.id.clone()),
            Flavor::UpsertByEmail => r
                .properties
                .get("email")
                .and_then(|v| v.as_deref())
                .map(|e| e.trim().to_lowercase()),
            Flavor::Create => None,
        };
        match key {
            Some(k) => {
                results.insert(k, r);
            }
            None => unkeyed.push(r),
        }
    }
    // Batch create results carry no trace id: pair them, in order, with the ops that
    // did not fail.
    if matches!(flavor, Flavor::Create) {
        let mut unkeyed = unkeyed.into_iter();
        for op in ops {
            let key = key_of(op);
            if !failed.contains_key(&key) {
                if let Some(r) = unkeyed.next() {
                    results.insert(key, r);
                }
            }
        }
    }
    let mut seen = HashSet::new();
    ops.iter()
        .map(|op| {
            let key = key_of(op);
            if let Some(err) = failed.remove(&key) {
                return WriteOutcome::failed(op.key.clone(), err.with_record(op.key.clone()));
            }
            match results.remove(&key) {
                Some(r) if seen.insert(r.id.clone()) => WriteOutcome::ok(
                    op.key.clone(),
                    Written {
                        id: RecordId::new(r.id),
                        created: match flavor {
                            Flavor::Update => false,
                            Flavor::UpsertByEmail => r.new.unwrap_or(false),
                            Flavor::Create => true,
                        },
                        modified_at: r.updated_at.as_deref().and_then(parse_instant),
                    },
                ),
                _ => WriteOutcome::failed(
                    op.key.clone(),
                    Error::new(
                        ErrorKind::Decode,
                        "record missing from HubSpot's batch response",
                    )
                    .with_record(op.key.clone()),
                ),
            }
        })
        .collect()
}

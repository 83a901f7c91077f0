//! Reads by id and look-ups by match key (batched `IN` queries), and writes through
//! sObject Collections (200 records per call, `allOrNone=false`) with per-record
//! outcomes. Larger batches go to Bulk API 2.0 (`bulk.rs`).
//!
//! A collections call rejected as a whole for a record-level reason (an unknown
//! field, a malformed value) is split in halves until the bad records are alone, so
//! the rest of the batch goes on.
//!
//! The daily budget is checked once when a write starts, not between its calls: a
//! write stopped half-way would leave records written whose outcomes are lost.

use std::collections::{BTreeMap, HashSet};

use crmsync_core::{
    Error, ErrorKind, MatchKey, ObjectKind, Record, RecordId, RecordMatch, Result, WriteOp,
    WriteOutcome, Written, write_bisecting,
};
use crmsync_http::{ApiRequest, Method};
use serde_json::{Map, Value, json};

use crate::{
    SalesforceProvider,
    core::{SaveResult, record_error},
    objects::to_record,
    soql::{Cond, Soql, SoqlValue, validate_identifier},
};

/// sObject Collections' limit per call.
pub(crate) const COLLECTION: usize = 200;

/// Ids or values per `IN` query (keeps the SOQL well under 16k characters).
const IN_CHUNK: usize = 200;

/// Error codes that mean a delete found nothing left to delete.
pub(crate) fn already_gone(code: &str) -> bool {
    matches!(
        code,
        "ENTITY_IS_DELETED" | "NOT_FOUND" | "INVALID_CROSS_REFERENCE_KEY"
    )
}

/// How a group of ops is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `PATCH /composite/sobjects` by Id.
    Update,
    /// `PATCH /composite/sobjects/{T}/{field}` by external id (the idempotency key).
    Upsert(String),
    /// `POST /composite/sobjects`.
    Create,
}

impl Flavor {
    /// The flavor of one op, given the object's external id field.
    pub(crate) fn of(op: &WriteOp, external_id: Option<&str>) -> Self {
        match (&op.id, &op.idempotency_key, external_id) {
            (Some(_), _, _) => Flavor::Update,
            (None, Some(_), Some(field)) => Flavor::Upsert(field.to_owned()),
            _ => Flavor::Create,
        }
    }
}

/// A record's field values for a write: no `attributes`, no `Id` (set apart).
pub(crate) fn writable_fields(op: &WriteOp) -> Map<String, Value> {
    op.fields
        .iter()
        .filter(|(k, _)| *k != "attributes" && !k.eq_ignore_ascii_case("id"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Does a record's value equal a looked-up text (case-insensitively)?
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a record id answers a requested id (15-character ids match the
/// 18-character form).
fn same_id(record: &str, wanted: &str) -> bool {
    record == wanted || (wanted.len() == 15 && record.len() == 18 && record.starts_with(wanted))
}

impl SalesforceProvider {
    /// The object's external id field, validated, if configured.
    pub(crate) fn external_id_field(&self, object: &ObjectKind) -> Result<Option<String>> {
        match self.config.external_id_fields.get(object) {
            Some(field) => validate_identifier(field)
                .map(|f| Some(f.to_owned()))
                .map_err(|e| Error::new(ErrorKind::Config, e.message().to_owned())),
            None => Ok(None),
        }
    }

    pub(crate) async fn read_records(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        let sobject = self.sobject(object)?;
        let select = self.select_fields(&sobject, fields).await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let soql = Soql::select(&select)
                .from(sobject.as_str())
                .where_(Cond::in_("Id", chunk.iter().map(RecordId::as_str)))
                .build()?;
            for raw in self.query_all_pages(&soql).await? {
                out.push(to_record(object, raw, fields)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn find_records(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        let sobject = self.sobject(object)?;
        let mut by_id: Vec<(usize, &RecordId)> = Vec::new();
        let mut by_field: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        let mut has_email = None;
        for (i, key) in keys.iter().enumerate() {
            match key {
                MatchKey::Id(id) => by_id.push((i, id)),
                MatchKey::Email(email) => {
                    if has_email.is_none() {
                        let types = self.field_types(&sobject).await?;
                        has_email = Some(types.types.contains_key("Email"));
                    }
                    if has_email == Some(true) {
                        by_field
                            .entry("Email".to_owned())
                            .or_default()
                            .push((i, email.trim().to_lowercase()));
                    }
                }
                MatchKey::Field { name, value } => {
                    validate_identifier(name)?;
                    by_field
                        .entry(name.clone())
                        .or_default()
                        .push((i, value.clone()));
                }
                // Phones are stored as typed; matching them needs the normalised
                // search of the matching layer.
                _ => {}
            }
        }
        let mut out = Vec::new();
        if !by_id.is_empty() {
            let ids: Vec<RecordId> = by_id.iter().map(|(_, id)| (*id).clone()).collect();
            for record in self.read_records(object, &ids, fields).await? {
                for (i, id) in &by_id {
                    if same_id(record.id.as_str(), id.as_str()) {
                        out.push(RecordMatch {
                            key_index: *i,
                            record: record.clone(),
                        });
                    }
                }
            }
        }
        for (field, wanted) in by_field {
            let mut select = self.select_fields(&sobject, fields).await?;
            if !select.contains(&field) {
                select.push(field.clone());
            }
            let mut values: Vec<&str> = wanted.iter().map(|(_, v)| v.as_str()).collect();
            values.sort_unstable();
            values.dedup();
            for chunk in values.chunks(IN_CHUNK) {
                let soql = Soql::select(&select)
                    .from(sobject.as_str())
                    .where_(Cond::in_(
                        field.as_str(),
                        chunk.iter().map(|v| SoqlValue::from(*v)),
                    ))
                    .build()?;
                for raw in self.query_all_pages(&soql).await? {
                    let found = raw.get(&field).and_then(value_text);
                    let record = to_record(object, raw, fields)?;
                    let Some(found) = found else { continue };
                    for (i, value) in &wanted {
                        if value.trim().to_lowercase() == found && chunk.contains(&value.as_str()) {
                            out.push(RecordMatch {
                                key_index: *i,
                                record: record.clone(),
                            });
                        }
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
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        self.check_budget("salesforce.upsert").await?;
        let sobject = self.sobject(object)?;
        let external_id = self.external_id_field(object)?;
        if ops.len() > self.config.bulk_write_threshold {
            return self.bulk_write(&sobject, external_id.as_deref(), ops).await;
        }
        let mut groups: Vec<(Flavor, Vec<WriteOp>)> = Vec::new();
        for op in ops {
            let flavor = Flavor::of(&op, external_id.as_deref());
            match groups.iter_mut().find(|(f, _)| *f == flavor) {
                Some((_, group)) => group.push(op),
                None => groups.push((flavor, vec![op])),
            }
        }
        let mut out = Vec::new();
        for (flavor, group) in groups {
            for chunk in group.chunks(COLLECTION) {
                let (sobject, flavor) = (&sobject, &flavor);
                out.extend(
                    write_bisecting(chunk.to_vec(), "salesforce.collections", |ops| async move {
                        self.write_collection(sobject, flavor, &ops).await
                    })
                    .await?,
                );
            }
        }
        Ok(out)
    }

    async fn write_collection(
        &self,
        sobject: &str,
        flavor: &Flavor,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>> {
        let records: Vec<Value> = ops
            .iter()
            .map(|op| {
                let mut record = writable_fields(op);
                record.insert("attributes".into(), json!({ "type": sobject }));
                match flavor {
                    Flavor::Update => {
                        let id = op.id.as_ref().map(RecordId::as_str).unwrap_or_default();
                        record.insert("id".into(), json!(id));
                    }
                    Flavor::Upsert(field) => {
                        let key = op.idempotency_key.clone().unwrap_or_default();
                        record.insert(field.clone(), json!(key));
                    }
                    Flavor::Create => {}
                }
                Value::Object(record)
            })
            .collect();
        let body = json!({ "allOrNone": false, "records": records });
        let (operation, req) = match flavor {
            Flavor::Create => (
                "salesforce.collections_create",
                ApiRequest::post(
                    "salesforce.collections_create",
                    self.data_path("/composite/sobjects"),
                    body,
                    false,
                ),
            ),
            Flavor::Update => (
                "salesforce.collections_update",
                ApiRequest::post(
                    "salesforce.collections_update",
                    self.data_path("/composite/sobjects"),
                    body,
                    true,
                )
                .method(Method::PATCH),
            ),
            Flavor::Upsert(field) => (
                "salesforce.collections_upsert",
                ApiRequest::post(
                    "salesforce.collections_upsert",
                    self.data_path(&format!("/composite/sobjects/{sobject}/{field}")),
                    body,
                    true,
                )
                .method(Method::PATCH),
            ),
        };
        let results: Vec<SaveResult> = self.continue_json(&req).await?;
        Ok(pair_results(flavor, ops, results, operation))
    }

    pub(crate) async fn delete_records(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
    ) -> Result<Vec<WriteOutcome>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.check_budget("salesforce.delete").await?;
        let sobject = self.sobject(object)?;
        let mut seen = HashSet::new();
        let unique: Vec<RecordId> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        let mut results: BTreeMap<String, Result<()>> = BTreeMap::new();
        if unique.len() > self.config.bulk_write_threshold {
            results = self.bulk_delete(&sobject, &unique).await?;
        } else {
            for chunk in unique.chunks(COLLECTION) {
                let mut pending = vec![chunk.to_vec()];
                while let Some(part) = pending.pop() {
                    match self.delete_collection(&part).await {
                        Ok(done) => results.extend(done),
                        Err(err) if err.kind().is_record_level() && part.len() > 1 => {
                            let mut left = part;
                            let right = left.split_off(left.len() / 2);
                            pending.push(right);
                            pending.push(left);
                        }
                        Err(err) if err.kind().is_record_level() => {
                            for id in part {
                                let e = Error::new(err.kind(), err.message().to_owned())
                                    .with_record(id.as_str());
                                results.insert(id.as_str().to_owned(), Err(e));
                            }
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        Ok(ids
            .iter()
            .map(|id| {
                let written = Written {
                    id: id.clone(),
                    created: false,
                    modified_at: None,
                };
                match results.get(id.as_str()) {
                    Some(Ok(())) => WriteOutcome::ok(id.as_str(), written),
                    Some(Err(e)) => WriteOutcome::failed(
                        id.as_str(),
                        Error::new(e.kind(), e.message().to_owned())
                            .with_retry(e.retry())
                            .with_record(id.as_str())
                            .with_operation("salesforce.delete"),
                    ),
                    None => WriteOutcome::failed(
                        id.as_str(),
                        Error::new(ErrorKind::Decode, "no delete result for this record")
                            .with_record(id.as_str()),
                    ),
                }
            })
            .collect())
    }

    async fn delete_collection(&self, ids: &[RecordId]) -> Result<Vec<(String, Result<()>)>> {
        let joined = ids
            .iter()
            .map(RecordId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let req = ApiRequest::get(
            "salesforce.collections_delete",
            self.data_path("/composite/sobjects"),
        )
        .method(Method::DELETE)
        .query("ids", joined)
        .query("allOrNone", "false");
        let results: Vec<SaveResult> = self.continue_json(&req).await?;
        if results.len() != ids.len() {
            return Err(Error::new(
                ErrorKind::Decode,
                format!("{} delete results for {} ids", results.len(), ids.len()),
            ));
        }
        Ok(ids
            .iter()
            .zip(results)
            .map(|(id, r)| {
                let gone = r.errors.iter().all(|e| already_gone(&e.code));
                let result = if r.success || (!r.errors.is_empty() && gone) {
                    Ok(())
                } else {
                    Err(record_error(
                        &r.errors,
                        id.as_str(),
                        "salesforce.collections_delete",
                    ))
                };
                (id.as_str().to_owned(), result)
            })
            .collect())
    }
}

/// Pairs an ordered collections response with its ops.
fn pair_results(
    flavor: &Flavor,
    ops: &[WriteOp],
    results: Vec<SaveResult>,
    operation: &str,
) -> Vec<WriteOutcome> {
    if results.len() != ops.len() {
        return ops
            .iter()
            .map(|op| {
                WriteOutcome::failed(
                    op.key.clone(),
                    Error::new(
                        ErrorKind::Decode,
                        format!(
                            "Salesforce answered {} results for {} records",
                            results.len(),
                            ops.len()
                        ),
                    )
                    .with_record(op.key.clone())
                    .with_operation(operation.to_owned()),
                )
            })
            .collect();
    }
    ops.iter()
        .zip(results)
        .map(|(op, r)| {
            let id =
                r.id.clone()
                    .or_else(|| op.id.as_ref().map(|i| i.as_str().to_owned()));
            match (r.success, id) {
                (true, Some(id)) => WriteOutcome::ok(
                    op.key.clone(),
                    Written {
                        id: RecordId::new(id),
                        created: match flavor {
                            Flavor::Create => true,
                            Flavor::Update => false,
                            Flavor::Upsert(_) => r.created.unwrap_or(false),
                        },
                        modified_at: None,
                    },
                ),
                _ => WriteOutcome::failed(
                    op.key.clone(),
                    record_error(&r.errors, &op.key, operation),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SfError;

    fn op(key: &str, id: Option<&str>, idem: Option<&str>) -> WriteOp {
        WriteOp {
            key: key.into(),
            id: id.map(RecordId::new),
            fields: [
                ("LastName".to_owned(), json!("L")),
                ("Id".to_owned(), json!("x")),
            ]
            .into_iter()
            .collect(),
            idempotency_key: idem.map(str::to_owned),
        }
    }

    #[test]
    fn ops_pick_their_endpoint() {
        let ext = Some("External_Id__c");
        assert_eq!(
            Flavor::of(&op("a", Some("003"), Some("k")), ext),
            Flavor::Update
        );
        assert_eq!(
            Flavor::of(&op("a", None, Some("k")), ext),
            Flavor::Upsert("External_Id__c".into())
        );
        assert_eq!(Flavor::of(&op("a", None, Some("k")), None), Flavor::Create);
        assert_eq!(Flavor::of(&op("a", None, None), ext), Flavor::Create);
        assert!(!writable_fields(&op("a", None, None)).contains_key("Id"));
    }

    #[test]
    fn per_record_errors_map_to_their_ops() {
        let ops = [
            op("good", None, None),
            op("dup", None, None),
            op("req", None, None),
        ];
        let results = vec![
            SaveResult {
                id: Some("003A".into()),
                success: true,
                errors: vec![],
                created: None,
            },
            SaveResult {
                id: None,
                success: false,
                errors: vec![SfError {
                    code: "DUPLICATES_DETECTED".into(),
                    message: "Use one of these records?".into(),
                    fields: vec![],
                }],
                created: None,
            },
            SaveResult {
                id: None,
                success: false,
                errors: vec![SfError {
                    code: "REQUIRED_FIELD_MISSING".into(),
                    message: "Required fields are missing: [LastName]".into(),
                    fields: vec!["LastName".into()],
                }],
                created: None,
            },
        ];
        let out = pair_results(
            &Flavor::Create,
            &ops,
            results,
            "salesforce.collections_create",
        );
        assert!(
            out[0]
                .result
                .as_ref()
                .is_ok_and(|w| w.created && w.id.as_str() == "003A")
        );
        let dup = out[1].result.as_ref().expect_err("dup");
        assert_eq!(dup.kind(), ErrorKind::Conflict);
        assert_eq!(dup.context().record.as_deref(), Some("dup"));
        let req = out[2].result.as_ref().expect_err("req");
        assert_eq!(req.kind(), ErrorKind::Validation);
        assert_eq!(req.context().field.as_deref(), Some("LastName"));
    }

    #[test]
    fn short_ids_match_long_ones() {
        assert!(same_id("003000000000001AAA", "003000000000001"));
        assert!(same_id("003000000000001AAA", "003000000000001AAA"));
        assert!(!same_id("003000000000001AAA", "003000000000002"));
    }
}

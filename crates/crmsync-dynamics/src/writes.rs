//! Reads by id and look-ups by match key (batched `$filter … or …` queries), and writes
//! and deletes through `$batch`.
//!
//! Writes:
//! - an update (`WriteOp::id`) is `PATCH {set}({id})` with `If-Match: *`: update only,
//!   a row deleted meanwhile is a 404 for that record, never a re-create;
//! - a create with an idempotency key, when the object has an alternate key
//!   ([`DynamicsConfig::alternate_keys`](crate::DynamicsConfig::alternate_keys)), is an
//!   upsert `PATCH {set}({column}='{key}')` with `Prefer: return=representation`
//!   (`201` created, `200` updated): a retried create updates the row it made;
//! - any other create is `POST {set}` (`204` with the new row in `OData-EntityId`).
//!
//! Up to [`DynamicsConfig::batch_size`](crate::DynamicsConfig::batch_size) (at most
//! 1,000) operations go in one `$batch`, each as its own part (not in a change set: a
//! change set is atomic, so one bad record would fail the whole set) with
//! `Prefer: odata.continue-on-error` (otherwise Dataverse stops at the first failure).
//! Each part's answer becomes that record's [`WriteOutcome`]. Parts answered with a
//! throttling error are sent again after `Retry-After` (throttling never fails a
//! record); a batch rejected as a whole for a record-level reason is split in halves
//! ([`write_bisecting`]).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crmsync_core::{
    Error, ErrorKind, MatchKey, ObjectKind, Record, RecordId, RecordMatch, Result, Retry, WriteOp,
    WriteOutcome, Written, write_bisecting,
};
use crmsync_http::ApiRequest;
use serde_json::{Map, Value};

use crate::{
    DynamicsProvider,
    batch::{self, BatchAnswer, BatchOp},
    changes::ODataPage,
    core::{THROTTLING_CODES, encode_query, parse_failure, to_error},
    odata::{Filter, Guid, ODataValue, escape_literal, validate_column},
    tables::{Columns, Table, to_record},
};

/// Dataverse's limit of operations per `$batch`.
pub(crate) const MAX_BATCH: usize = 1_000;

/// Columns the platform writes; never sent.
const SYSTEM: [&str; 4] = ["createdon", "modifiedon", "versionnumber", "@odata.etag"];

/// How an op is written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Flavor {
    Update(Guid),
    Upsert(String),
    Create,
}

/// The id at the end of an `OData-EntityId` (`…/contacts(guid)`).
fn entity_id(url: &str) -> Option<String> {
    let inner = url.trim_end_matches(')').rsplit_once('(')?.1;
    Guid::parse(inner).ok().map(|g| g.as_str().to_owned())
}

/// Whether an answer is throttling (sent again, never a record failure).
fn throttled(answer: &BatchAnswer) -> bool {
    if answer.status == 429 {
        return true;
    }
    serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/code")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .is_some_and(|code| THROTTLING_CODES.contains(&code.as_str()))
}

fn retry_after_of(answer: &BatchAnswer) -> Option<Duration> {
    answer
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl DynamicsProvider {
    /// Every row of a query, following next links.
    async fn query_all(
        &self,
        operation: &'static str,
        first: String,
    ) -> Result<Vec<Map<String, Value>>> {
        let prefer = vec![format!("odata.maxpagesize={}", crate::changes::MAX_PAGE)];
        let mut url = first;
        let mut rows = Vec::new();
        loop {
            let (_, page): (_, ODataPage) = self.get_json(operation, &url, &prefer).await?;
            rows.extend(page.value);
            match page.next_link {
                Some(next) if next.starts_with(self.config.org_url.as_str()) => url = next,
                _ => return Ok(rows),
            }
        }
    }

    fn query_url(&self, table: &Table, select: Option<&str>, filter: &str) -> String {
        let mut q = Vec::new();
        if let Some(s) = select {
            q.push(format!("$select={}", encode_query(s)));
        }
        q.push(format!("$filter={}", encode_query(filter)));
        self.api_path(&format!("{}?{}", table.set, q.join("&")))
    }

    pub(crate) async fn read_records(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        let table = self.table(object).await?;
        let select = self.select(&table, fields).await?;
        let mut guids: Vec<Guid> = ids
            .iter()
            .filter_map(|id| Guid::parse(id.as_str()).ok())
            .collect();
        guids.sort();
        guids.dedup();
        let mut out = Vec::with_capacity(guids.len());
        for chunk in guids.chunks(self.config.filter_chunk.max(1)) {
            let Some(filter) = Filter::any_of(&table.id, chunk.iter().cloned()) else {
                continue;
            };
            let url = self.query_url(&table, select.as_deref(), &filter.build()?);
            for row in self.query_all("dynamics.read", url).await? {
                out.push(to_record(object, &table, row, fields)?);
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
        let table = self.table(object).await?;
        let columns = self.columns(&table).await?;
        let mut by_id: Vec<(usize, &RecordId)> = Vec::new();
        // Column → (key index, wanted value).
        let mut by_column: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        for (i, key) in keys.iter().enumerate() {
            match key {
                MatchKey::Id(id) => by_id.push((i, id)),
                MatchKey::Email(email) if columns.by_name.contains_key("emailaddress1") => {
                    by_column
                        .entry("emailaddress1".into())
                        .or_default()
                        .push((i, email.trim().to_lowercase()));
                }
                MatchKey::Phone(phone) => {
                    // Numbers are stored as typed: this finds those kept in E.164; the
                    // matching layer's normalized search finds the rest.
                    for column in ["telephone1", "mobilephone"] {
                        if columns.by_name.contains_key(column) {
                            by_column
                                .entry(column.into())
                                .or_default()
                                .push((i, phone.trim().to_owned()));
                        }
                    }
                }
                MatchKey::Field { name, value } => {
                    validate_column(name)?;
                    by_column
                        .entry(name.clone())
                        .or_default()
                        .push((i, value.clone()));
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        if !by_id.is_empty() {
            let ids: Vec<RecordId> = by_id.iter().map(|(_, id)| (*id).clone()).collect();
            for record in self.read_records(object, &ids, fields).await? {
                for (i, id) in &by_id {
                    if id.as_str().eq_ignore_ascii_case(record.id.as_str()) {
                        out.push(RecordMatch {
                            key_index: *i,
                            record: record.clone(),
                        });
                    }
                }
            }
        }
        for (column, wanted) in by_column {
            let lookup = columns.is_lookup(&column);
            let filter_column = if lookup {
                format!("_{column}_value")
            } else {
                column.clone()
            };
            let mut select_fields = fields.to_vec();
            if !select_fields.is_empty() && !select_fields.contains(&column) {
                select_fields.push(column.clone());
            }
            let select = self.select(&table, &select_fields).await?;
            let mut values: Vec<&str> = wanted.iter().map(|(_, v)| v.as_str()).collect();
            values.sort_unstable();
            values.dedup();
            for chunk in values.chunks(self.config.filter_chunk.max(1)) {
                let literals: Vec<ODataValue> = chunk
                    .iter()
                    .map(|v| match (lookup, Guid::parse(v)) {
                        (true, Ok(g)) => ODataValue::Guid(g),
                        _ => ODataValue::Text((*v).to_owned()),
                    })
                    .collect();
                let Some(filter) = Filter::any_of(&filter_column, literals) else {
                    continue;
                };
                let url = self.query_url(&table, select.as_deref(), &filter.build()?);
                for row in self.query_all("dynamics.find", url).await? {
                    let found = row
                        .get(&filter_column)
                        .and_then(Value::as_str)
                        .map(|s| s.trim().to_lowercase());
                    let record = to_record(object, &table, row, fields)?;
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

    fn alternate_key(&self, object: &ObjectKind) -> Result<Option<String>> {
        match self.config.alternate_keys.get(object) {
            Some(column) => validate_column(column)
                .map(|c| Some(c.to_owned()))
                .map_err(|e| Error::new(ErrorKind::Config, e.message().to_owned())),
            None => Ok(None),
        }
    }

    /// The JSON body of a write: no primary key, no platform columns, lookups bound.
    fn body(table: &Table, columns: &Columns, op: &WriteOp, skip: Option<&str>) -> Value {
        let mut body = Map::new();
        for (name, value) in &op.fields {
            if *name == table.id
                || SYSTEM.contains(&name.as_str())
                || name.contains('@')
                || Some(name.as_str()) == skip
            {
                continue;
            }
            if columns.is_lookup(name) {
                match value.as_str().and_then(|v| Guid::parse(v).ok()) {
                    Some(guid) => {
                        if let Some((nav, target)) = columns.bind(name, guid.as_str()) {
                            body.insert(nav, Value::String(target));
                        }
                    }
                    None if value.is_null() => {
                        if let Some((nav, _)) = columns.bind(name, "") {
                            body.insert(nav, Value::Null);
                        }
                    }
                    // Not a GUID: Dataverse would refuse the bind; let it say so by name.
                    None => {
                        body.insert(name.clone(), value.clone());
                    }
                }
                continue;
            }
            body.insert(name.clone(), value.clone());
        }
        Value::Object(body)
    }

    /// Sends operations in one `$batch`, sending throttled ones again after their
    /// `Retry-After`; one answer per operation, in order.
    async fn send_batch(&self, ops: &[BatchOp]) -> Result<Vec<BatchAnswer>> {
        let mut answers: Vec<Option<BatchAnswer>> = vec![None; ops.len()];
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let sent: Vec<BatchOp> = pending.iter().map(|i| ops[*i].clone()).collect();
            let got = self.post_batch(&sent).await?;
            let mut again = Vec::new();
            let mut wait = Duration::ZERO;
            for (k, i) in pending.iter().enumerate() {
                match got.get(k) {
                    Some(a) if throttled(a) => {
                        wait = wait.max(retry_after_of(a).unwrap_or(Duration::from_secs(1)));
                        again.push(*i);
                    }
                    Some(a) => answers[*i] = Some(a.clone()),
                    // Not processed (the batch stopped early): send again.
                    None => again.push(*i),
                }
            }
            if again.is_empty() {
                break;
            }
            attempt += 1;
            if attempt > self.config.batch_retries {
                return Err(Error::new(
                    ErrorKind::RateLimited,
                    format!(
                        "{} operations of a $batch were still throttled after {} attempts",
                        again.len(),
                        attempt
                    ),
                )
                .with_retry(Retry::RetryAfter(wait.max(Duration::from_secs(1))))
                .with_operation("dynamics.batch"));
            }
            if wait > self.config.retry.max_retry_after {
                return Err(Error::new(
                    ErrorKind::RateLimited,
                    format!(
                        "Dataverse asks to wait {} s before the next write",
                        wait.as_secs()
                    ),
                )
                .with_retry(Retry::RetryAfter(wait))
                .with_operation("dynamics.batch"));
            }
            self.client.pacer().hold("default", wait);
            tokio::time::sleep(wait).await;
            pending = again;
        }
        Ok(answers.into_iter().map(Option::unwrap_or_default).collect())
    }

    async fn post_batch(&self, ops: &[BatchOp]) -> Result<Vec<BatchAnswer>> {
        let boundary = format!("batch_crmsync_{:016x}", batch_nonce());
        let base = format!(
            "{}{}",
            self.config.org_url,
            self.api_path("").trim_end_matches('/')
        );
        let (content_type, body) = batch::build(&boundary, &base, ops);
        // Updates and deletes are safe to repeat; creates are not.
        let idempotent = ops.iter().all(|o| o.method != "POST");
        let req = ApiRequest::post(
            "dynamics.batch",
            self.api_path("$batch"),
            Value::Null,
            idempotent,
        )
        .raw_body(content_type, body)
        .header("OData-MaxVersion", "4.0")
        .header("OData-Version", "4.0")
        .header("Prefer", "odata.continue-on-error");
        let response = self.client.send(&req).await?;
        let content_type = response
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = String::from_utf8_lossy(&response.body);
        batch::parse(&content_type, &text).ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                "the $batch response is not a multipart batch response",
            )
            .with_operation("dynamics.batch")
            .with_endpoint(format!("POST {}", self.api_path("$batch")))
        })
    }

    pub(crate) async fn write_records(
        &self,
        object: &ObjectKind,
        ops: Vec<WriteOp>,
    ) -> Result<Vec<WriteOutcome>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let table = self.table(object).await?;
        let columns = self.columns(&table).await?;
        let key_column = self.alternate_key(object)?;
        let mut out = Vec::with_capacity(ops.len());
        let mut valid = Vec::with_capacity(ops.len());
        for op in ops {
            match &op.id {
                Some(id) => match Guid::parse(id.as_str()) {
                    Ok(_) => valid.push(op),
                    Err(e) => {
                        let key = op.key.clone();
                        out.push(WriteOutcome::failed(
                            key.clone(),
                            e.with_record(key).with_operation("dynamics.update"),
                        ));
                    }
                },
                None => valid.push(op),
            }
        }
        let size = self.config.batch_size.clamp(1, MAX_BATCH);
        let mut rest = valid;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(size));
            let chunk = std::mem::replace(&mut rest, tail);
            let (table, columns, key_column) = (&table, &columns, key_column.as_deref());
            out.extend(
                write_bisecting(chunk, "dynamics.batch", |ops| async move {
                    self.write_batch(table, columns, key_column, ops).await
                })
                .await?,
            );
        }
        Ok(out)
    }

    async fn write_batch(
        &self,
        table: &Table,
        columns: &Columns,
        key_column: Option<&str>,
        ops: Vec<WriteOp>,
    ) -> Result<Vec<WriteOutcome>> {
        let flavors: Vec<Flavor> = ops
            .iter()
            .map(|op| match (&op.id, &op.idempotency_key, key_column) {
                (Some(id), _, _) => Guid::parse(id.as_str()).map_or(Flavor::Create, Flavor::Update),
                (None, Some(key), Some(_)) => Flavor::Upsert(key.clone()),
                _ => Flavor::Create,
            })
            .collect();
        let requests: Vec<BatchOp> = ops
            .iter()
            .zip(&flavors)
            .map(|(op, flavor)| match flavor {
                Flavor::Update(id) => BatchOp {
                    method: "PATCH",
                    url: format!("{}({id})", table.set),
                    headers: vec![("If-Match", "*".into())],
                    body: Some(Self::body(table, columns, op, None)),
                },
                Flavor::Upsert(key) => BatchOp {
                    method: "PATCH",
                    url: format!(
                        "{}({}={})?$select={}",
                        table.set,
                        key_column.unwrap_or_default(),
                        encode_query(&escape_literal(key)),
                        table.id
                    ),
                    headers: vec![("Prefer", "return=representation".into())],
                    body: Some(Self::body(table, columns, op, key_column)),
                },
                Flavor::Create => BatchOp {
                    method: "POST",
                    url: table.set.clone(),
                    headers: Vec::new(),
                    body: Some(Self::body(table, columns, op, None)),
                },
            })
            .collect();
        let answers = self.send_batch(&requests).await?;
        Ok(ops
            .into_iter()
            .zip(flavors)
            .zip(answers)
            .map(|((op, flavor), answer)| outcome(table, op, &flavor, &answer))
            .collect())
    }

    pub(crate) async fn delete_records(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
    ) -> Result<Vec<WriteOutcome>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let table = self.table(object).await?;
        let mut seen = HashSet::new();
        let mut results: BTreeMap<String, Result<()>> = BTreeMap::new();
        let mut valid: Vec<(String, Guid)> = Vec::new();
        for id in ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            match Guid::parse(id.as_str()) {
                Ok(g) => valid.push((id.as_str().to_owned(), g)),
                Err(e) => {
                    results.insert(id.as_str().to_owned(), Err(e));
                }
            }
        }
        for chunk in valid.chunks(self.config.batch_size.clamp(1, MAX_BATCH)) {
            let requests: Vec<BatchOp> = chunk
                .iter()
                .map(|(_, g)| BatchOp {
                    method: "DELETE",
                    url: format!("{}({g})", table.set),
                    headers: Vec::new(),
                    body: None,
                })
                .collect();
            let answers = self.send_batch(&requests).await?;
            for ((id, _), answer) in chunk.iter().zip(answers) {
                // A row already gone is deleted.
                let result = if (200..300).contains(&answer.status) || answer.status == 404 {
                    Ok(())
                } else {
                    Err(parse_failure(answer.status, None, answer.body.as_bytes()))
                };
                results.insert(id.clone(), result);
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
                match results.remove(id.as_str()) {
                    Some(Ok(())) => WriteOutcome::ok(id.as_str(), written),
                    Some(Err(e)) => WriteOutcome::failed(
                        id.as_str(),
                        e.with_record(id.as_str()).with_operation("dynamics.delete"),
                    ),
                    // A duplicate id: the first one's outcome was taken.
                    None => WriteOutcome::ok(id.as_str(), written),
                }
            })
            .collect())
    }
}

/// One op's outcome from its batch answer.
fn outcome(table: &Table, op: WriteOp, flavor: &Flavor, answer: &BatchAnswer) -> WriteOutcome {
    let operation = match flavor {
        Flavor::Update(_) => "dynamics.update",
        Flavor::Upsert(_) => "dynamics.upsert",
        Flavor::Create => "dynamics.create",
    };
    if !(200..300).contains(&answer.status) {
        let err = if answer.status == 0 {
            to_error(
                500,
                "",
                "no answer for this operation in the $batch response",
                None,
            )
        } else {
            parse_failure(answer.status, None, answer.body.as_bytes())
        };
        return WriteOutcome::failed(
            op.key.clone(),
            err.with_record(op.key).with_operation(operation),
        );
    }
    let from_body = || {
        serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.get(&table.id)
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            })
    };
    let id = match flavor {
        Flavor::Update(id) => Some(id.as_str().to_owned()),
        _ => answer
            .header("OData-EntityId")
            .and_then(entity_id)
            .or_else(from_body),
    };
    let Some(id) = id else {
        return WriteOutcome::failed(
            op.key.clone(),
            Error::new(
                ErrorKind::Decode,
                "Dataverse did not say which row it wrote",
            )
            .with_record(op.key)
            .with_operation(operation),
        );
    };
    let created = match flavor {
        Flavor::Update(_) => false,
        Flavor::Upsert(_) => answer.status == 201,
        Flavor::Create => true,
    };
    WriteOutcome::ok(
        op.key,
        Written {
            id: RecordId::new(id),
            created,
            modified_at: None,
        },
    )
}

/// A value that differs per batch (boundaries must not occur in the body).
fn batch_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> Table {
        Table {
            set: "contacts".into(),
            logical: "contact".into(),
            id: "contactid".into(),
        }
    }

    fn op(key: &str) -> WriteOp {
        WriteOp {
            key: key.into(),
            id: None,
            fields: [
                ("lastname".to_owned(), json!("L")),
                ("contactid".to_owned(), json!("x")),
                ("modifiedon".to_owned(), json!("2024-01-01T00:00:00Z")),
            ]
            .into_iter()
            .collect(),
            idempotency_key: None,
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> BatchAnswer {
        BatchAnswer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: body.into(),
        }
    }

    #[test]
    fn bodies_leave_out_keys_and_platform_columns() {
        let body = DynamicsProvider::body(&table(), &Columns::default(), &op("a"), None);
        assert_eq!(body, json!({"lastname": "L"}));
    }

    #[test]
    fn answers_become_outcomes() {
        let created = outcome(
            &table(),
            op("new"),
            &Flavor::Create,
            &answer(
                204,
                &[(
                    "OData-EntityId",
                    "http://x/api/data/v9.2/contacts(7A1B2C3D-0000-0000-0000-000000000001)",
                )],
                "",
            ),
        );
        let w = created.result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (w.id.as_str(), w.created),
            ("7a1b2c3d-0000-0000-0000-000000000001", true)
        );
        let updated = outcome(
            &table(),
            op("up"),
            &Flavor::Upsert("k".into()),
            &answer(
                200,
                &[],
                r#"{"contactid":"00000000-0000-0000-0000-000000000002"}"#,
            ),
        );
        assert!(updated.result.is_ok_and(|w| !w.created));
        let bad = outcome(
            &table(),
            op("bad"),
            &Flavor::Create,
            &answer(
                400,
                &[],
                r#"{"error":{"code":"0x80060888","message":"The property 'nosuch' does not exist on type 'Microsoft.Dynamics.CRM.contact'."}}"#,
            ),
        );
        let e = bad.result.expect_err("fails");
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.context().record.as_deref(), Some("bad"));
        assert_eq!(e.context().field.as_deref(), Some("nosuch"));
        let gone = outcome(
            &table(),
            op("gone"),
            &Flavor::Update(
                Guid::parse("00000000-0000-0000-0000-000000000003")
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            &answer(
                404,
                &[],
                r#"{"error":{"code":"","message":"contact With Id = 00000000-0000-0000-0000-000000000003 Does Not Exist"}}"#,
            ),
        );
        assert_eq!(
            gone.result.map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::NotFound)
        );
    }

    #[test]
    fn throttled_parts_are_recognised() {
        assert!(throttled(&answer(429, &[("Retry-After", "3")], "")));
        assert!(throttled(&answer(
            400,
            &[],
            r#"{"error":{"code":"0x80072326","message":"x"}}"#
        )));
        assert!(!throttled(&answer(
            400,
            &[],
            r#"{"error":{"code":"0x80060888","message":"x"}}"#
        )));
        assert_eq!(
            retry_after_of(&answer(429, &[("Retry-After", "3")], "")),
            Some(Duration::from_secs(3))
        );
    }
}

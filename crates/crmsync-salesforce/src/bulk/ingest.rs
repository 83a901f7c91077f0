//! Ingest jobs: create the job, upload the CSV, close it (`UploadComplete`), poll
//! until `JobComplete` / `Failed` / `Aborted`, then read `successfulResults`,
//! `failedResults` and `unprocessedrecords` (each only when the job's counts say it
//! holds rows) and pair their rows with the ops by a correlation column: the `Id`
//! for updates and deletes, the external id for upserts, the whole row for inserts.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crmsync_core::{Error, ErrorKind, RecordId, Result, WriteOp, WriteOutcome, Written};
use crmsync_http::{ApiRequest, Method};
use serde_json::{Map, Value, json};

use super::{JobInfo, read_csv, write_csv};
use crate::{
    SalesforceProvider,
    core::{SfError, record_error},
    soql::validate_identifier,
    writes::{Flavor, already_gone, writable_fields},
};

/// Largest CSV uploaded to one job (Salesforce accepts 100 MB after encoding).
const MAX_UPLOAD_BYTES: usize = 90 * 1024 * 1024;
/// One row's outcome: the record id and whether it was created.
type RowResult = Result<(String, bool)>;

/// A JSON value as a Bulk CSV cell: `#N/A` clears a field (an empty cell would leave
/// it unchanged), multi-select values are `;`-joined.
pub(crate) fn csv_cell(value: &Value) -> String {
    match value {
        Value::Null => "#N/A".to_owned(),
        Value::String(s) if s.is_empty() => "#N/A".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
        Value::Object(_) => value.to_string(),
    }
}

/// `sf__Error` text (`CODE:message:fields --`) as an error element.
pub(crate) fn parse_sf_error(text: &str) -> SfError {
    let text = text.trim().trim_end_matches("--").trim_end();
    let (code, rest) = match text.split_once(':') {
        Some((code, rest))
            if !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_') =>
        {
            (code.to_owned(), rest)
        }
        _ => ("UNKNOWN".to_owned(), text),
    };
    let (message, fields) = match rest.rsplit_once(':') {
        Some((message, fields))
            if !fields.trim().is_empty()
                && fields
                    .split(',')
                    .all(|f| validate_identifier(f.trim()).is_ok()) =>
        {
            (
                message.to_owned(),
                fields.split(',').map(|f| f.trim().to_owned()).collect(),
            )
        }
        _ => (rest.trim_end_matches(':').to_owned(), Vec::new()),
    };
    SfError {
        code,
        message: message.trim().to_owned(),
        fields,
    }
}

/// Pairs result rows with uploaded rows by a correlation column (or the whole row).
struct Correlator {
    columns: Vec<String>,
    by_key: HashMap<String, VecDeque<usize>>,
    results: Vec<Option<RowResult>>,
    corr: Option<usize>,
}

impl Correlator {
    fn new(columns: &[String], rows: &[Vec<String>], corr: Option<usize>) -> Self {
        let mut by_key: HashMap<String, VecDeque<usize>> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            by_key.entry(key_of(row, corr)).or_default().push_back(i);
        }
        Self {
            columns: columns.to_vec(),
            by_key,
            results: (0..rows.len()).map(|_| None).collect(),
            corr,
        }
    }

    /// Assigns the rows of one results file; `outcome` reads the `sf__` columns.
    fn assign(
        &mut self,
        header: &[String],
        rows: Vec<Vec<String>>,
        outcome: impl Fn(&dyn Fn(&str) -> Option<String>) -> RowResult,
    ) {
        let position: Vec<Option<usize>> = self
            .columns
            .iter()
            .map(|c| header.iter().position(|h| h == c))
            .collect();
        let mut unmatched = Vec::new();
        for row in rows {
            let original: Vec<String> = position
                .iter()
                .map(|p| p.and_then(|p| row.get(p).cloned()).unwrap_or_default())
                .collect();
            let get = |name: &str| {
                header
                    .iter()
                    .position(|h| h == name)
                    .and_then(|p| row.get(p).cloned())
            };
            let result = outcome(&get);
            let slot = self
                .by_key
                .get_mut(&key_of(&original, self.corr))
                .and_then(VecDeque::pop_front);
            match slot {
                Some(i) => self.results[i] = Some(result),
                None => unmatched.push(result),
            }
        }
        // Rows whose echo differs from what was sent: pair in order with the rows
        // still waiting for an outcome.
        let mut waiting = self.results.iter_mut().filter(|r| r.is_none());
        for result in unmatched {
            match waiting.next() {
                Some(slot) => *slot = Some(result),
                None => break,
            }
        }
        if self.results.iter().all(Option::is_some) {
            self.by_key.clear();
        }
    }
}

fn key_of(row: &[String], corr: Option<usize>) -> String {
    match corr {
        Some(i) => row.get(i).cloned().unwrap_or_default(),
        None => row.join("\u{1f}"),
    }
}

impl SalesforceProvider {
    /// Runs one ingest job over `rows`; one result per row, in order.
    async fn ingest(
        &self,
        sobject: &str,
        operation: &str,
        external_id: Option<&str>,
        columns: &[String],
        rows: &[Vec<String>],
        corr: Option<usize>,
    ) -> Result<Vec<RowResult>> {
        let csv = write_csv(columns, rows)?;
        if csv.len() > MAX_UPLOAD_BYTES && rows.len() > 1 {
            let (left, right) = rows.split_at(rows.len() / 2);
            let mut out =
                Box::pin(self.ingest(sobject, operation, external_id, columns, left, corr)).await?;
            out.extend(
                Box::pin(self.ingest(sobject, operation, external_id, columns, right, corr))
                    .await?,
            );
            return Ok(out);
        }
        let mut body = json!({
            "object": sobject, "operation": operation, "contentType": "CSV",
            "lineEnding": "LF", "columnDelimiter": "COMMA",
        });
        if let Some(field) = external_id {
            body["externalIdFieldName"] = json!(field);
        }
        let create = ApiRequest::post(
            "salesforce.bulk_ingest_create",
            self.job_path("ingest", ""),
            body,
            false,
        );
        let job: JobInfo = self.continue_json(&create).await?;
        let upload = ApiRequest::get(
            "salesforce.bulk_ingest_upload",
            self.job_path("ingest", &format!("/{}/batches", job.id)),
        )
        .method(Method::PUT)
        .raw_body("text/csv", csv);
        let upload = ApiRequest {
            idempotent: false,
            ..upload
        };
        let close = |state: &str| {
            ApiRequest::post(
                "salesforce.bulk_ingest_close",
                self.job_path("ingest", &format!("/{}", job.id)),
                json!({ "state": state }),
                true,
            )
            .method(Method::PATCH)
        };
        if let Err(e) = self.client.send(&upload).await {
            let _ = self.client.send(&close("Aborted")).await;
            return Err(e);
        }
        self.client.send(&close("UploadComplete")).await?;
        let info = self.wait_for_job("ingest", &job.id).await?;
        let mut correlator = Correlator::new(columns, rows, corr);
        let total = rows.len() as u64;
        let failed = info.number_records_failed;
        let processed = info.number_records_processed;
        let deleting = operation == "delete";
        if info.state != "Aborted" && processed.is_none_or(|p| p > failed.unwrap_or(0)) {
            let (header, rows) = self.job_results(&job.id, "successfulResults").await?;
            correlator.assign(&header, rows, |get| {
                let id = get("sf__Id").unwrap_or_default();
                let created = get("sf__Created").is_some_and(|c| c.eq_ignore_ascii_case("true"));
                Ok((id, created))
            });
        }
        if failed.is_none_or(|f| f > 0) {
            let (header, rows) = self.job_results(&job.id, "failedResults").await?;
            correlator.assign(&header, rows, |get| {
                let error = parse_sf_error(&get("sf__Error").unwrap_or_default());
                if deleting && already_gone(&error.code) {
                    return Ok((
                        get("sf__Id").or_else(|| get("Id")).unwrap_or_default(),
                        false,
                    ));
                }
                Err(record_error(&[error], "", "salesforce.bulk_ingest"))
            });
        }
        if processed.is_none_or(|p| p < total) {
            let (header, rows) = self.job_results(&job.id, "unprocessedrecords").await?;
            let reason = info
                .error_message
                .clone()
                .unwrap_or_else(|| format!("job {}", info.state));
            correlator.assign(&header, rows, |_| {
                Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("not processed by the Bulk API job: {reason}"),
                ))
            });
        }
        let missing = |state: &str| match (state, &info.error_message) {
            ("Failed", Some(message)) => Error::new(
                ErrorKind::InvalidRequest,
                format!("Bulk API job failed: {message}"),
            ),
            ("Aborted", _) => Error::new(ErrorKind::Unavailable, "the Bulk API job was aborted"),
            _ => Error::new(
                ErrorKind::Decode,
                "record missing from the Bulk API job results",
            ),
        };
        Ok(correlator
            .results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(missing(&info.state))))
            .collect())
    }

    async fn job_results(&self, id: &str, which: &str) -> Result<(Vec<String>, Vec<Vec<String>>)> {
        let req = ApiRequest::get(
            "salesforce.bulk_ingest_results",
            self.job_path("ingest", &format!("/{id}/{which}")),
        )
        .header("Accept", "text/csv");
        read_csv(&self.client.send(&req).await?.body)
    }

    /// Writes ops through ingest jobs: one per flavor (update by Id, upsert by the
    /// external id, insert).
    pub(crate) async fn bulk_write(
        &self,
        sobject: &str,
        external_id: Option<&str>,
        ops: Vec<WriteOp>,
    ) -> Result<Vec<WriteOutcome>> {
        let mut groups: BTreeMap<u8, (Flavor, Vec<WriteOp>)> = BTreeMap::new();
        for op in ops {
            let flavor = Flavor::of(&op, external_id);
            let rank = match flavor {
                Flavor::Update => 0,
                Flavor::Upsert(_) => 1,
                Flavor::Create => 2,
            };
            groups
                .entry(rank)
                .or_insert_with(|| (flavor, Vec::new()))
                .1
                .push(op);
        }
        let mut out = Vec::new();
        for (flavor, ops) in groups.into_values() {
            let (operation, key_column, ext) = match &flavor {
                Flavor::Update => ("update", Some("Id".to_owned()), None),
                Flavor::Upsert(field) => ("upsert", Some(field.clone()), Some(field.as_str())),
                Flavor::Create => ("insert", None, None),
            };
            let mut columns: Vec<String> = key_column.iter().cloned().collect();
            let patches: Vec<Map<String, Value>> = ops.iter().map(writable_fields).collect();
            for patch in &patches {
                for name in patch.keys() {
                    if !columns.contains(name) {
                        validate_identifier(name)?;
                        columns.push(name.clone());
                    }
                }
            }
            let rows: Vec<Vec<String>> = ops
                .iter()
                .zip(&patches)
                .map(|(op, patch)| {
                    columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| match (&flavor, i) {
                            (Flavor::Update, 0) => op
                                .id
                                .as_ref()
                                .map(|id| id.as_str().to_owned())
                                .unwrap_or_default(),
                            (Flavor::Upsert(_), 0) => {
                                op.idempotency_key.clone().unwrap_or_default()
                            }
                            _ => patch.get(c).map(csv_cell).unwrap_or_default(),
                        })
                        .collect()
                })
                .collect();
            let corr = key_column.as_ref().map(|_| 0);
            let results = self
                .ingest(sobject, operation, ext, &columns, &rows, corr)
                .await?;
            for (op, result) in ops.into_iter().zip(results) {
                out.push(match result {
                    Ok((id, created)) => {
                        let id = if id.is_empty() {
                            op.id
                                .clone()
                                .map(|i| i.as_str().to_owned())
                                .unwrap_or_default()
                        } else {
                            id
                        };
                        WriteOutcome::ok(
                            op.key,
                            Written {
                                id: RecordId::new(id),
                                created: created || flavor == Flavor::Create,
                                modified_at: None,
                            },
                        )
                    }
                    Err(e) => {
                        let e = e.with_record(op.key.clone());
                        WriteOutcome::failed(op.key, e)
                    }
                });
            }
        }
        Ok(out)
    }

    /// Deletes ids through one ingest job; records already gone count as deleted.
    pub(crate) async fn bulk_delete(
        &self,
        sobject: &str,
        ids: &[RecordId],
    ) -> Result<BTreeMap<String, Result<()>>> {
        let columns = vec!["Id".to_owned()];
        let rows: Vec<Vec<String>> = ids.iter().map(|id| vec![id.as_str().to_owned()]).collect();
        let results = self
            .ingest(sobject, "delete", None, &columns, &rows, Some(0))
            .await?;
        Ok(ids
            .iter()
            .zip(results)
            .map(|(id, r)| (id.as_str().to_owned(), r.map(|_| ())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_clear_with_na_and_join_multiselects() {
        assert_eq!(csv_cell(&Value::Null), "#N/A");
        assert_eq!(csv_cell(&json!("")), "#N/A");
        assert_eq!(csv_cell(&json!("a, \"b\"")), "a, \"b\"");
        assert_eq!(csv_cell(&json!(12.5)), "12.5");
        assert_eq!(csv_cell(&json!(true)), "true");
        assert_eq!(csv_cell(&json!(["A", "B"])), "A;B");
    }

    #[test]
    fn sf_errors_split_into_code_message_and_fields() {
        let e = parse_sf_error(
            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
        );
        assert_eq!(e.code, "REQUIRED_FIELD_MISSING");
        assert_eq!(e.message, "Required fields are missing: [LastName]");
        assert_eq!(e.fields, vec!["LastName".to_owned()]);
        let e = parse_sf_error(
            "DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record with id: 003A:--",
        );
        assert_eq!(e.code, "DUPLICATE_VALUE");
        assert!(e.fields.is_empty());
        assert!(e.message.contains("003A"), "{}", e.message);
        let e = parse_sf_error("something odd");
        assert_eq!(e.code, "UNKNOWN");
        assert_eq!(e.message, "something odd");
    }

    #[test]
    fn results_pair_by_key_then_by_row_content() {
        let columns = vec!["LastName".to_owned(), "Email".to_owned()];
        let rows = vec![
            vec!["A".to_owned(), "a@x.io".to_owned()],
            vec!["B".to_owned(), "b@x.io".to_owned()],
            vec!["A".to_owned(), "a@x.io".to_owned()],
        ];
        let mut c = Correlator::new(&columns, &rows, None);
        let header: Vec<String> = ["sf__Id", "sf__Created", "LastName", "Email"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ok = vec![
            vec!["003B".into(), "true".into(), "B".into(), "b@x.io".into()],
            vec!["003A1".into(), "true".into(), "A".into(), "a@x.io".into()],
        ];
        c.assign(&header, ok, |get| {
            Ok((get("sf__Id").unwrap_or_default(), true))
        });
        let header: Vec<String> = ["sf__Id", "sf__Error", "LastName", "Email"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let bad = vec![vec![
            "".into(),
            "DUPLICATES_DETECTED:dup:--".into(),
            "A".into(),
            "A@X.IO".into(),
        ]];
        c.assign(&header, bad, |get| {
            Err(record_error(
                &[parse_sf_error(&get("sf__Error").unwrap_or_default())],
                "",
                "t",
            ))
        });
        let ids: Vec<Option<String>> = c
            .results
            .iter()
            .map(|r| {
                r.as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map(|(id, _)| id.clone())
            })
            .collect();
        assert_eq!(ids, vec![Some("003A1".into()), Some("003B".into()), None]);
        assert!(matches!(&c.results[2], Some(Err(e)) if e.kind() == ErrorKind::Conflict));
    }
}

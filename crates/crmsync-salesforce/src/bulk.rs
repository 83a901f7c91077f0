//! Bulk API 2.0: ingest jobs for large writes and deletes (`bulk/ingest.rs`), query
//! jobs for large full passes (here). CSV is written and read by the `csv` crate.
//!
//! Query: create the job, poll with backoff until it completes, then page the results
//! by `Sforce-Locator` until it is the string `null`.

mod ingest;

use std::time::Instant;

use crmsync_core::{ChangePage, Error, ErrorKind, ObjectKind, Result, Retry};
use crmsync_http::ApiRequest;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    SalesforceProvider,
    changes::{SfCursor, window},
    objects::{to_record, typed_cell},
    soql::Soql,
};

/// A Bulk API 2.0 job's info.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobInfo {
    pub id: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub number_records_processed: Option<u64>,
    #[serde(default)]
    pub number_records_failed: Option<u64>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// Writes a header and rows as LF-terminated CSV.
pub(crate) fn write_csv(columns: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let fail = |e: csv::Error| Error::new(ErrorKind::Internal, "cannot write CSV").with_source(e);
    writer.write_record(columns).map_err(fail)?;
    for row in rows {
        writer.write_record(row).map_err(fail)?;
    }
    writer.into_inner().map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot write CSV: {}", e.error()),
        )
    })
}

/// Reads CSV into its header and rows.
pub(crate) fn read_csv(bytes: &[u8]) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let fail = |e: csv::Error| {
        Error::new(ErrorKind::Decode, "Bulk API results are not valid CSV")
            .with_retry(Retry::Retry)
            .with_source(e)
    };
    let header = reader
        .headers()
        .map_err(fail)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let mut rows = Vec::new();
    for row in reader.records() {
        rows.push(row.map_err(fail)?.iter().map(str::to_owned).collect());
    }
    Ok((header, rows))
}

impl SalesforceProvider {
    fn job_path(&self, kind: &str, rest: &str) -> String {
        self.data_path(&format!("/jobs/{kind}{rest}"))
    }

    /// Polls a job with backoff until it reaches a final state.
    async fn wait_for_job(&self, kind: &str, id: &str) -> Result<JobInfo> {
        let started = Instant::now();
        let first = self.config.bulk_poll_interval;
        let mut delay = first;
        loop {
            tokio::time::sleep(delay).await;
            let req = ApiRequest::get(
                "salesforce.bulk_job_status",
                self.job_path(kind, &format!("/{id}")),
            );
            let info: JobInfo = self.continue_json(&req).await?;
            if matches!(info.state.as_str(), "JobComplete" | "Failed" | "Aborted") {
                return Ok(info);
            }
            if started.elapsed() > self.config.bulk_timeout {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "Bulk API job {id} still {} after {:?}; it keeps running in Salesforce",
                        info.state, self.config.bulk_timeout
                    ),
                )
                .with_retry(Retry::DontRetry));
            }
            delay = (delay * 2).min(first * 16);
        }
    }

    /// One page of a full pass through a Bulk API query job.
    pub(crate) async fn bulk_page(
        &self,
        object: &ObjectKind,
        sobject: &str,
        fields: &[String],
        requested: &[String],
        size: usize,
        mut cursor: SfCursor,
    ) -> Result<ChangePage> {
        let job = match cursor.job.clone() {
            Some(job) => job,
            None => {
                let mut query = Soql::select(fields).from(sobject);
                if let Some(cond) = window(&None, cursor.since) {
                    query = query.where_(cond);
                }
                let body = json!({
                    "operation": "query", "query": query.build()?, "contentType": "CSV",
                    "columnDelimiter": "COMMA", "lineEnding": "LF",
                });
                let create = ApiRequest::post(
                    "salesforce.bulk_query_create",
                    self.job_path("query", ""),
                    body,
                    false,
                );
                let job: JobInfo = self.call_json(&create).await?;
                let info = self.wait_for_job("query", &job.id).await?;
                if info.state != "JobComplete" {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "Bulk API query job {} ended {}: {}",
                            job.id,
                            info.state,
                            info.error_message.unwrap_or_default()
                        ),
                    ));
                }
                cursor.job = Some(job.id.clone());
                job.id
            }
        };
        let mut req = ApiRequest::get(
            "salesforce.bulk_query_results",
            self.job_path("query", &format!("/{job}/results")),
        )
        .query("maxRecords", size.to_string())
        .header("Accept", "text/csv");
        if let Some(locator) = &cursor.locator {
            req = req.query("locator", locator.clone());
        }
        let response = match self.call(&req).await {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // The job's results expired: start the bulk read again.
                tracing::debug!(error = %e, "bulk query results expired; starting a new job");
                cursor.job = None;
                cursor.locator = None;
                return Ok(ChangePage {
                    changes: Vec::new(),
                    estimated_total: cursor.total,
                    next: Some(cursor.encode()),
                    complete: false,
                });
            }
            Err(e) => return Err(e),
        };
        let locator = response
            .headers
            .get("sforce-locator")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "null")
            .map(str::to_owned);
        let (header, rows) = read_csv(&response.body)?;
        let types = self.field_types(sobject).await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let raw: Map<String, Value> = header
                .iter()
                .zip(row)
                .map(|(name, cell)| {
                    let kind = types.types.get(name).map(String::as_str);
                    (name.clone(), typed_cell(kind, &cell))
                })
                .collect();
            records.push(to_record(object, raw, requested)?);
        }
        Ok(self.bulk_changes(records, locator, cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_quotes_commas_and_newlines() {
        let columns = vec!["Id".to_owned(), "Description".to_owned()];
        let rows = vec![vec!["003A".to_owned(), "say \"hi\",\nthen go".to_owned()]];
        let bytes = write_csv(&columns, &rows).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("Id,Description\n"), "{text}");
        assert!(!text.contains('\r'));
        let (header, back) = read_csv(&bytes).unwrap_or_default();
        assert_eq!(header, columns);
        assert_eq!(back, rows);
    }
}

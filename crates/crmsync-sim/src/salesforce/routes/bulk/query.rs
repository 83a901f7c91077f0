//! Bulk API 2.0 query jobs: create (`query` or `queryAll`), poll, read results as CSV in
//! chunks named by `Sforce-Locator` (the literal `null` after the last chunk), abort, delete.

use std::sync::Arc;

use axum::http::{HeaderName, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use super::{JobHeader, JobState, Jobs, invalid_state, job_list, not_complete, poll};
use crate::salesforce::Shared;
use crate::salesforce::csv::{self, Delimiter};
use crate::salesforce::errors::{ApiError, Reply};
use crate::salesforce::render::csv_row;
use crate::salesforce::routes::{Call, Ctx, parse_json};
use crate::salesforce::schema;
use crate::salesforce::soql::{self, Plan};
use crate::salesforce::values;

/// Records per results chunk when the client does not say (`maxRecords`).
const DEFAULT_CHUNK: usize = 100_000;

/// One query job.
#[derive(Debug)]
pub(crate) struct QueryJob {
    id: String,
    all: bool,
    plan: Arc<Plan>,
    ids: Arc<Vec<String>>,
    delimiter: Delimiter,
    crlf: bool,
    api_version: String,
    created_by: String,
    created_ms: i64,
    modstamp_ms: i64,
    state: JobState,
    polls: u32,
}

impl QueryJob {
    fn info(&self) -> Value {
        let mut map = JobHeader {
            id: &self.id,
            operation: if self.all { "queryAll" } else { "query" },
            object: schema::def(self.plan.object).name,
            created_by: &self.created_by,
            created_ms: self.created_ms,
            modstamp_ms: self.modstamp_ms,
            state: self.state,
            api_version: &self.api_version,
            line_ending: self.crlf,
            delimiter: self.delimiter.name,
        }
        .to_json();
        if self.state != JobState::UploadComplete {
            map.insert("jobType".into(), "V2Query".into());
            let processed = if self.state == JobState::JobComplete {
                self.ids.len()
            } else {
                0
            };
            map.insert("numberRecordsProcessed".into(), processed.into());
            map.insert("retries".into(), 0.into());
            map.insert("totalProcessingTime".into(), 0.into());
        }
        Value::Object(map)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    operation: String,
    query: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    column_delimiter: Option<String>,
    #[serde(default)]
    line_ending: Option<String>,
}

fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOB", message)
}

fn find<'a>(jobs: &'a mut Jobs, id: &str) -> Result<&'a mut QueryJob, ApiError> {
    jobs.query.get_mut(id).ok_or_else(ApiError::not_found)
}

/// `POST /jobs/query` → 200 with the job info (`state: UploadComplete`). The query is checked
/// and its matching ids snapshotted now.
pub(crate) fn create(
    jobs: &mut Jobs,
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
) -> Result<Reply, ApiError> {
    let body: CreateBody = parse_json(call.body)?;
    let all = match body.operation.as_str() {
        "query" => false,
        "queryAll" => true,
        other => {
            return Err(invalid_job(format!(
                "InvalidJob : Invalid operation: {other}"
            )));
        }
    };
    if body
        .content_type
        .as_deref()
        .is_some_and(|c| !c.eq_ignore_ascii_case("CSV"))
    {
        return Err(invalid_job("InvalidJob : contentType must be CSV"));
    }
    let delimiter = Delimiter::parse(body.column_delimiter.as_deref())
        .ok_or_else(|| invalid_job("InvalidJob : Invalid columnDelimiter"))?;
    let crlf = csv::parse_line_ending(body.line_ending.as_deref())
        .ok_or_else(|| invalid_job("InvalidJob : Invalid lineEnding"))?;
    let plan = soql::prepare(&body.query, values::now_ms())?;
    if plan.count.is_some() || plan.offset > 0 {
        return Err(ApiError::bad_request(
            "API_ERROR",
            "Bulk API 2.0 queries do not support aggregate functions or OFFSET",
        ));
    }
    let ids = ctx.db.read(|store| plan.run(store, all));
    let now = values::now_ms();
    let job = QueryJob {
        id: jobs.next_id(),
        all,
        plan: Arc::new(plan),
        ids: Arc::new(ids),
        delimiter,
        crlf,
        api_version: call.version.clone(),
        created_by: ctx.shared.auth.user_id.clone(),
        created_ms: now,
        modstamp_ms: now,
        state: JobState::UploadComplete,
        polls: 0,
    };
    let info = job.info();
    jobs.query.insert(job.id.clone(), job);
    Ok(Reply::json(StatusCode::OK, &info))
}

/// `GET /jobs/query`.
pub(crate) fn list(jobs: &Jobs, _shared: &Shared) -> Reply {
    job_list(jobs.query.values().map(QueryJob::info).collect())
}

/// `GET /jobs/query/{id}`: each poll moves the job along.
pub(crate) fn status(jobs: &mut Jobs, shared: &Shared, id: &str) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    poll(
        &mut job.state,
        &mut job.polls,
        shared.config.bulk_poll_steps,
        JobState::JobComplete,
    );
    Ok(Reply::json(StatusCode::OK, &job.info()))
}

#[derive(Deserialize)]
struct StateBody {
    state: String,
}

/// `PATCH /jobs/query/{id}` with `{"state":"Aborted"}`.
pub(crate) fn abort(
    jobs: &mut Jobs,
    _shared: &Shared,
    call: &Call<'_>,
    id: &str,
) -> Result<Reply, ApiError> {
    let body: StateBody = parse_json(call.body)?;
    let job = find(jobs, id)?;
    if body.state != "Aborted" {
        return Err(invalid_state(format!(
            "Cannot change the job state to {}",
            body.state
        )));
    }
    if job.state.is_final() {
        return Err(invalid_state(format!(
            "Job {id} is already {}",
            job.state.name()
        )));
    }
    job.state = JobState::Aborted;
    job.modstamp_ms = values::now_ms();
    Ok(Reply::json(StatusCode::OK, &job.info()))
}

/// `DELETE /jobs/query/{id}`.
pub(crate) fn delete(jobs: &mut Jobs, id: &str) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    if !job.state.is_final() {
        return Err(invalid_state(format!(
            "Job {id} is {}; it cannot be deleted yet",
            job.state.name()
        )));
    }
    jobs.query.remove(id);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

fn encode_locator(offset: usize) -> String {
    STANDARD_NO_PAD.encode(offset.to_string())
}

fn decode_locator(locator: &str) -> Option<usize> {
    let bytes = STANDARD_NO_PAD.decode(locator.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

/// `GET /jobs/query/{id}/results?locator=&maxRecords=`: one CSV chunk, with
/// `Sforce-NumberOfRecords` and `Sforce-Locator` (`null` after the last chunk).
pub(crate) fn results(
    jobs: &mut Jobs,
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    id: &str,
) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    if job.state != JobState::JobComplete {
        return Err(not_complete(job.state));
    }
    if call.version != job.api_version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "API_VERSION_MISMATCH",
            format!(
                "The job was created with API version {}; read its results with the same version",
                job.api_version
            ),
        ));
    }
    let offset = match call.query.get("locator").filter(|l| !l.is_empty()) {
        None => 0,
        Some(l) => decode_locator(l)
            .filter(|o| *o <= job.ids.len())
            .ok_or_else(|| {
                ApiError::bad_request("INVALIDLOCATOR", format!("Invalid locator: {l}"))
            })?,
    };
    let max = match call.query.get("maxRecords") {
        None => DEFAULT_CHUNK,
        Some(m) => m
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|m| *m > 0)
            .ok_or_else(|| {
                ApiError::bad_request("INVALIDPARAMETER", format!("Invalid maxRecords: {m}"))
            })?,
    };
    let end = offset.saturating_add(max).min(job.ids.len());
    let plan = job.plan.clone();
    let ids = job.ids.clone();
    let (delimiter, crlf) = (job.delimiter, job.crlf);
    let (count, body) = ctx.db.read(|store| {
        let rows: Vec<Vec<String>> = ids[offset..end]
            .iter()
            .filter_map(|id| store.get(plan.object, id))
            .map(|r| csv_row(store, r, &plan.columns))
            .collect();
        let count = rows.len();
        let header = plan.columns.iter().map(|c| c.label.as_str());
        (count, csv::write(header, rows, delimiter, crlf))
    });
    let locator = if end < ids.len() {
        encode_locator(end)
    } else {
        "null".to_string()
    };
    Ok(Reply::csv(StatusCode::OK, body)
        .with_header(
            HeaderName::from_static("sforce-numberofrecords"),
            count.to_string(),
        )
        .with_header(HeaderName::from_static("sforce-locator"), locator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_are_opaque_base64_offsets() {
        assert_eq!(encode_locator(10_000), "MTAwMDA");
        assert_eq!(decode_locator("MTAwMDA"), Some(10_000));
        assert_eq!(decode_locator("not base64!"), None);
    }
}

//! Bulk API 2.0: ingest jobs (`/jobs/ingest`) and query jobs (`/jobs/query`) with their real
//! states, `Open` → `UploadComplete` → `InProgress` → `JobComplete` | `Failed` | `Aborted`
//! (reference §2.6).
//!
//! The work itself happens at once (an ingest job's rows are applied when it is closed, a
//! query job's ids are snapshotted when it is created); status polls then walk the job
//! through `InProgress` for `bulk_poll_steps` polls before it completes, so clients exercise
//! their polling loops.

mod ingest;
mod query;

use std::collections::BTreeMap;
use std::sync::PoisonError;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Call, Ctx, Route};
use crate::salesforce::errors::{ApiError, Reply};
use crate::salesforce::ids;
use crate::salesforce::values;

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }

    /// Whether the job is finished.
    pub(crate) fn is_final(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// What a status poll shows a job whose work is done: `InProgress` for the first `steps`
/// polls, then its outcome.
pub(crate) fn poll(state: &mut JobState, polls: &mut u32, steps: u32, outcome: JobState) {
    if matches!(*state, JobState::UploadComplete | JobState::InProgress) {
        *polls += 1;
        *state = if *polls <= steps {
            JobState::InProgress
        } else {
            outcome
        };
    }
}

/// Every job, by id.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    serial: u64,
    ingest: BTreeMap<String, ingest::IngestJob>,
    query: BTreeMap<String, query::QueryJob>,
}

impl Jobs {
    fn next_id(&mut self) -> String {
        self.serial += 1;
        ids::make("750", self.serial)
    }
}

/// The fields every job info carries.
pub(crate) struct JobHeader<'a> {
    pub id: &'a str,
    pub operation: &'a str,
    pub object: &'a str,
    pub created_by: &'a str,
    pub created_ms: i64,
    pub modstamp_ms: i64,
    pub state: JobState,
    pub api_version: &'a str,
    pub line_ending: bool,
    pub delimiter: &'a str,
}

impl JobHeader<'_> {
    pub(crate) fn to_json(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": values::rest_datetime(self.created_ms),
            "systemModstamp": values::rest_datetime(self.modstamp_ms),
            "state": self.state.name(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": self.api_version.parse::<f64>().unwrap_or(0.0),
            "lineEnding": if self.line_ending { "CRLF" } else { "LF" },
            "columnDelimiter": self.delimiter,
        });
        match v {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// 412 `JOB_NOT_COMPLETE`.
pub(crate) fn not_complete(state: JobState) -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "JOB_NOT_COMPLETE",
        format!(
            "The job is in state {}; results are available once it is JobComplete",
            state.name()
        ),
    )
}

/// 400 for a state change the job cannot make.
pub(crate) fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOBSTATE", message)
}

/// `{"done": true, "records": [...], "nextRecordsUrl": null}`.
pub(crate) fn job_list(records: Vec<Value>) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({"done": true, "records": records, "nextRecordsUrl": null}),
    )
}

/// Every `/jobs/...` request.
pub(crate) fn handle(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Reply, ApiError> {
    let shared = ctx.shared;
    let mut jobs = shared.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    let jobs = &mut *jobs;
    let m = call.method.clone();
    let bad_method = |allowed: &str| Err(ApiError::method_not_allowed(m.as_str(), allowed));
    match Route::parse(&call.segments) {
        Route::IngestJobs => match m {
            Method::POST => ingest::create(jobs, shared, call),
            Method::GET => Ok(ingest::list(jobs, shared)),
            _ => bad_method("GET,POST"),
        },
        Route::IngestJob(id) => match m {
            Method::GET => ingest::status(jobs, shared, &id),
            Method::PATCH => ingest::change_state(jobs, ctx, call, &id),
            Method::DELETE => ingest::delete(jobs, &id),
            _ => bad_method("GET,PATCH,DELETE"),
        },
        Route::IngestBatches(id) => match m {
            Method::PUT => ingest::upload(jobs, call, &id),
            _ => bad_method("PUT"),
        },
        Route::IngestResults(id, kind) => match m {
            Method::GET => ingest::results(jobs, &id, &kind),
            _ => bad_method("GET"),
        },
        Route::QueryJobs => match m {
            Method::POST => query::create(jobs, ctx, call),
            Method::GET => Ok(query::list(jobs, shared)),
            _ => bad_method("GET,POST"),
        },
        Route::QueryJob(id) => match m {
            Method::GET => query::status(jobs, shared, &id),
            Method::PATCH => query::abort(jobs, shared, call, &id),
            Method::DELETE => query::delete(jobs, &id),
            _ => bad_method("GET,PATCH,DELETE"),
        },
        Route::QueryResults(id) => match m {
            Method::GET => query::results(jobs, ctx, call, &id),
            _ => bad_method("GET"),
        },
        _ => Err(ApiError::not_found()),
    }
}

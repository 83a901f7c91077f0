//! Bulk API 2.0 ingest jobs: create, upload CSV once, close (`UploadComplete`) or abort,
//! poll, and read `successfulResults`, `failedResults` and `unprocessedrecords`.
//!
//! Closing a job applies its rows one by one, like a collection with `allOrNone: false`:
//! a bad row fails alone with `sf__Error` = `CODE:message:Fields --`.

use std::time::Instant;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JobHeader, JobState, Jobs, invalid_state, job_list, not_complete, poll};
use crate::salesforce::Shared;
use crate::salesforce::csv::{self, Delimiter, Table};
use crate::salesforce::errors::{ApiError, RecordError, Reply};
use crate::salesforce::ids;
use crate::salesforce::routes::{Call, Ctx, parse_json};
use crate::salesforce::schema::{self, ID, ObjectKind};
use crate::salesforce::store::{Store, Undo};
use crate::salesforce::values::{self, Val};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    HardDelete,
}

impl Operation {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "insert" => Operation::Insert,
            "update" => Operation::Update,
            "upsert" => Operation::Upsert,
            "delete" => Operation::Delete,
            "hardDelete" => Operation::HardDelete,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::HardDelete => "hardDelete",
        }
    }
}

/// What became of one row.
#[derive(Debug)]
enum RowOutcome {
    Saved { id: String, created: bool },
    Failed { id: String, error: String },
}

/// One ingest job.
#[derive(Debug)]
pub(crate) struct IngestJob {
    id: String,
    object: ObjectKind,
    operation: Operation,
    external_id: Option<usize>,
    delimiter: Delimiter,
    crlf: bool,
    api_version: String,
    created_by: String,
    created_ms: i64,
    modstamp_ms: i64,
    state: JobState,
    polls: u32,
    table: Option<Table>,
    outcomes: Vec<RowOutcome>,
    error_message: Option<String>,
    processing_ms: u64,
}

impl IngestJob {
    fn info(&self) -> Value {
        let mut map = JobHeader {
            id: &self.id,
            operation: self.operation.name(),
            object: schema::def(self.object).name,
            created_by: &self.created_by,
            created_ms: self.created_ms,
            modstamp_ms: self.modstamp_ms,
            state: self.state,
            api_version: &self.api_version,
            line_ending: self.crlf,
            delimiter: self.delimiter.name,
        }
        .to_json();
        let finished = self.state.is_final();
        let failed = self
            .outcomes
            .iter()
            .filter(|o| matches!(o, RowOutcome::Failed { .. }))
            .count();
        let mut put = |k: &str, v: Value| {
            map.insert(k.to_string(), v);
        };
        if let Some(field) = self.external_id {
            put(
                "externalIdFieldName",
                json!(schema::def(self.object).fields[field].name),
            );
        }
        put("jobType", json!("V2Ingest"));
        put(
            "contentUrl",
            json!(format!(
                "services/data/v{}/jobs/ingest/{}/batches",
                self.api_version, self.id
            )),
        );
        let processed = if finished { self.outcomes.len() } else { 0 };
        put("numberRecordsProcessed", json!(processed));
        put(
            "numberRecordsFailed",
            json!(if finished { failed } else { 0 }),
        );
        put("retries", json!(0));
        put(
            "totalProcessingTime",
            json!(if finished { self.processing_ms } else { 0 }),
        );
        put(
            "apiActiveProcessingTime",
            json!(if finished { self.processing_ms } else { 0 }),
        );
        put("apexProcessingTime", json!(0));
        if let Some(e) = &self.error_message {
            put("errorMessage", json!(e));
        }
        Value::Object(map)
    }

    fn outcome(&self) -> JobState {
        if self.error_message.is_some() {
            JobState::Failed
        } else {
            JobState::JobComplete
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    object: String,
    operation: String,
    #[serde(default)]
    external_id_field_name: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    line_ending: Option<String>,
    #[serde(default)]
    column_delimiter: Option<String>,
}

fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOB", message)
}

fn find<'a>(jobs: &'a mut Jobs, id: &str) -> Result<&'a mut IngestJob, ApiError> {
    jobs.ingest.get_mut(id).ok_or_else(ApiError::not_found)
}

/// `POST /jobs/ingest` → 200 with the job info (`state: Open`).
pub(crate) fn create(jobs: &mut Jobs, shared: &Shared, call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: CreateBody = parse_json(call.body)?;
    let object = schema::object(&body.object).ok_or_else(|| {
        invalid_job(format!(
            "InvalidJob : Invalid sObject type: {}",
            body.object
        ))
    })?;
    let operation = Operation::parse(&body.operation).ok_or_else(|| {
        invalid_job(format!(
            "InvalidJob : Invalid operation: {}",
            body.operation
        ))
    })?;
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
    let def = schema::def(object);
    let external_id = match (operation, &body.external_id_field_name) {
        (Operation::Upsert, None) => {
            return Err(invalid_job("InvalidJob : externalIdFieldName is required for upsert"));
        }
        (Operation::Upsert, Some(name)) => Some(
            def.field(name)
                .filter(|&i| i == ID || def.fields[i].external_id)
                .ok_or_else(|| {
                    invalid_job(format!(
                        "InvalidJob : Field name provided, {name} is not an External ID or indexed field for {}",
                        def.name
                    ))
                })?,
        ),
        _ => None,
    };
    let now = values::now_ms();
    let job = IngestJob {
        id: jobs.next_id(),
        object,
        operation,
        external_id,
        delimiter,
        crlf,
        api_version: call.version.clone(),
        created_by: shared.auth.user_id.clone(),
        created_ms: now,
        modstamp_ms: now,
        state: JobState::Open,
        polls: 0,
        table: None,
        outcomes: Vec::new(),
        error_message: None,
        processing_ms: 0,
    };
    let info = job.info();
    jobs.ingest.insert(job.id.clone(), job);
    Ok(Reply::json(StatusCode::OK, &info))
}

/// `GET /jobs/ingest`.
pub(crate) fn list(jobs: &Jobs, _shared: &Shared) -> Reply {
    job_list(jobs.ingest.values().map(IngestJob::info).collect())
}

/// `PUT /jobs/ingest/{id}/batches` (text/csv) → 201. Only one upload per job.
pub(crate) fn upload(jobs: &mut Jobs, call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    if job.state != JobState::Open {
        return Err(invalid_state(format!(
            "Job {id} is not Open; data can no longer be uploaded"
        )));
    }
    if job.table.is_some() {
        return Err(ApiError::bad_request(
            "BULK_API_ERROR",
            format!(
                "Found multiple contents for job: <{id}>, please 'Close' / 'Abort' / 'Delete' the \
                 current Job then create a new Job and make sure you only do 'PUT' once on a given Job."
            ),
        ));
    }
    let table = csv::read(call.body, job.delimiter, job.crlf)
        .map_err(|e| ApiError::bad_request("INVALIDJOB", e))?;
    job.table = Some(table);
    job.modstamp_ms = values::now_ms();
    Ok(Reply::empty(StatusCode::CREATED))
}

#[derive(Deserialize)]
struct StateBody {
    state: String,
}

/// `PATCH /jobs/ingest/{id}` with `{"state":"UploadComplete"}` (apply the rows) or
/// `{"state":"Aborted"}`.
pub(crate) fn change_state(
    jobs: &mut Jobs,
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    id: &str,
) -> Result<Reply, ApiError> {
    let body: StateBody = parse_json(call.body)?;
    let job = find(jobs, id)?;
    match body.state.as_str() {
        "UploadComplete" => {
            if job.state != JobState::Open {
                return Err(invalid_state(format!("Job {id} is not Open")));
            }
            let started = Instant::now();
            let now = values::now_ms();
            ctx.db.write(|store, undo| process(job, store, undo, now));
            job.processing_ms = started.elapsed().as_millis() as u64;
            job.state = JobState::UploadComplete;
        }
        "Aborted" => {
            if job.state.is_final() {
                return Err(invalid_state(format!(
                    "Job {id} is already {}",
                    job.state.name()
                )));
            }
            job.state = JobState::Aborted;
        }
        other => {
            return Err(invalid_state(format!(
                "Cannot change the job state to {other}"
            )));
        }
    }
    job.modstamp_ms = values::now_ms();
    Ok(Reply::json(StatusCode::OK, &job.info()))
}

/// `GET /jobs/ingest/{id}`: each poll moves a closed job along.
pub(crate) fn status(jobs: &mut Jobs, shared: &Shared, id: &str) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    let outcome = job.outcome();
    poll(
        &mut job.state,
        &mut job.polls,
        shared.config.bulk_poll_steps,
        outcome,
    );
    Ok(Reply::json(StatusCode::OK, &job.info()))
}

/// `DELETE /jobs/ingest/{id}`: only finished jobs.
pub(crate) fn delete(jobs: &mut Jobs, id: &str) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    if !job.state.is_final() {
        return Err(invalid_state(format!(
            "Job {id} is {}; it cannot be deleted yet",
            job.state.name()
        )));
    }
    jobs.ingest.remove(id);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `GET /jobs/ingest/{id}/{successfulResults|failedResults|unprocessedrecords}`.
pub(crate) fn results(jobs: &mut Jobs, id: &str, kind: &str) -> Result<Reply, ApiError> {
    let job = find(jobs, id)?;
    if !job.state.is_final() {
        return Err(not_complete(job.state));
    }
    let empty = Table::default();
    let table = job.table.as_ref().unwrap_or(&empty);
    let header = table.header.iter().map(String::as_str);
    let rows = table
        .rows
        .iter()
        .zip(job.outcomes.iter().map(Some).chain(std::iter::repeat(None)));
    let body = match kind {
        "successfulResults" => csv::write(
            ["sf__Id", "sf__Created"].into_iter().chain(header),
            rows.filter_map(|(row, o)| match o {
                Some(RowOutcome::Saved { id, created }) => Some(
                    [id.clone(), created.to_string()]
                        .into_iter()
                        .chain(row.iter().cloned())
                        .collect(),
                ),
                _ => None,
            }),
            job.delimiter,
            job.crlf,
        ),
        "failedResults" => csv::write(
            ["sf__Id", "sf__Error"].into_iter().chain(header),
            rows.filter_map(|(row, o)| match o {
                Some(RowOutcome::Failed { id, error }) => Some(
                    [id.clone(), error.clone()]
                        .into_iter()
                        .chain(row.iter().cloned())
                        .collect(),
                ),
                _ => None,
            }),
            job.delimiter,
            job.crlf,
        ),
        "unprocessedrecords" => csv::write(
            header,
            rows.filter(|(_, o)| o.is_none())
                .map(|(row, _)| row.clone()),
            job.delimiter,
            job.crlf,
        ),
        _ => return Err(ApiError::not_found()),
    };
    Ok(Reply::csv(StatusCode::OK, body))
}

/// A column of the upload.
#[derive(Debug, Clone, Copy)]
enum Column {
    Id,
    Field(usize),
}

/// Applies every row of a closed job; a job-level problem (unknown column, wrong columns
/// for a delete) fails the job instead.
fn process(job: &mut IngestJob, store: &mut Store, undo: &mut Vec<Undo>, now: i64) {
    let Some(table) = &job.table else {
        job.error_message = Some("InvalidBatch : No data was uploaded for the job".to_string());
        return;
    };
    let def = schema::def(job.object);
    let mut columns = Vec::with_capacity(table.header.len());
    for name in &table.header {
        match def.field(name) {
            Some(ID) => columns.push(Column::Id),
            Some(i) => columns.push(Column::Field(i)),
            None => {
                job.error_message = Some(format!("InvalidBatch : Field name not found : {name}"));
                return;
            }
        }
    }
    let deleting = matches!(job.operation, Operation::Delete | Operation::HardDelete);
    if deleting && columns.iter().any(|c| matches!(c, Column::Field(_))) {
        job.error_message =
            Some("InvalidBatch : The 'delete' batch must contain only ids".to_string());
        return;
    }
    let outcomes = table
        .rows
        .iter()
        .map(|row| {
            apply_row(
                job.object,
                job.operation,
                job.external_id,
                &columns,
                row,
                store,
                undo,
                now,
            )
        })
        .collect();
    job.outcomes = outcomes;
}

#[allow(clippy::too_many_arguments)]
fn apply_row(
    kind: ObjectKind,
    operation: Operation,
    external_id: Option<usize>,
    columns: &[Column],
    row: &[String],
    store: &mut Store,
    undo: &mut Vec<Undo>,
    now: i64,
) -> RowOutcome {
    let def = schema::def(kind);
    let mut raw_id = String::new();
    let mut given = Vec::with_capacity(columns.len());
    let fail = |id: &str, e: RecordError| RowOutcome::Failed {
        id: id.to_string(),
        error: e.to_bulk(),
    };
    for (ci, column) in columns.iter().enumerate() {
        let cell = row.get(ci).map_or("", String::as_str);
        match column {
            Column::Id => raw_id = cell.trim().to_string(),
            Column::Field(i) => {
                if cell == "#N/A" {
                    given.push((*i, Val::Null));
                } else if !cell.is_empty() {
                    let field = &def.fields[*i];
                    match values::from_text(field, cell) {
                        Ok(v) => given.push((*i, v)),
                        Err(_) => {
                            return fail(
                                "",
                                RecordError::new(
                                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                                    format!("{}: value not of required type: {cell}", field.label),
                                    vec![field.name.to_string()],
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    let id_of = |raw: &str| -> Result<String, RecordError> {
        if raw.is_empty() {
            return Err(RecordError::new(
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
                vec![],
            ));
        }
        let id = ids::normalize(raw).ok_or_else(|| RecordError::malformed_id(raw))?;
        if ids::prefix(&id) != def.key_prefix {
            return Err(RecordError::malformed_id(raw));
        }
        Ok(id)
    };
    let result: Result<(String, bool), RecordError> = match operation {
        Operation::Insert if !raw_id.is_empty() => Err(RecordError::new(
            "INVALID_FIELD",
            "cannot specify Id in an insert call",
            vec!["Id".to_string()],
        )),
        Operation::Insert => store
            .insert(kind, &given, now, now, undo)
            .map(|id| (id, true)),
        Operation::Update => id_of(&raw_id).and_then(|id| {
            store
                .update(kind, &id, &given, now, undo)
                .map(|()| (id, false))
        }),
        Operation::Delete => {
            id_of(&raw_id).and_then(|id| store.delete(kind, &id, now, undo).map(|()| (id, false)))
        }
        Operation::HardDelete => id_of(&raw_id).and_then(|id| {
            store
                .hard_delete(kind, &id, now, undo)
                .map(|()| (id, false))
        }),
        Operation::Upsert => {
            let field = external_id.unwrap_or(ID);
            let found = if field == ID {
                id_of(&raw_id).map(|id| vec![id])
            } else {
                match given
                    .iter()
                    .find(|(i, _)| *i == field)
                    .map(|(_, v)| v.clone())
                {
                    Some(v) if !v.is_null() => Ok(store.find_by(kind, field, &v)),
                    _ => Err(RecordError::new(
                        "MISSING_ARGUMENT",
                        format!("{} not specified", def.fields[field].name),
                        vec![],
                    )),
                }
            };
            match found.as_deref() {
                Err(e) => Err(e.clone()),
                Ok([]) => store
                    .insert(kind, &given, now, now, undo)
                    .map(|id| (id, true)),
                Ok([id]) => store
                    .update(kind, id, &given, now, undo)
                    .map(|()| (id.clone(), false)),
                Ok(several) => Err(RecordError::new(
                    "DUPLICATE_EXTERNAL_ID",
                    format!(
                        "{}: more than one record found for external id field: [{}]",
                        def.fields[field].name,
                        several.join(", ")
                    ),
                    vec![def.fields[field].name.to_string()],
                )),
            }
        }
    };
    match result {
        Ok((id, created)) => RowOutcome::Saved { id, created },
        Err(e) => fail(&ids::normalize(&raw_id).unwrap_or_default(), e),
    }
}

//! `POST /composite`: up to 25 subrequests (at most 5 of them queries) run in order in one
//! transaction; later ones name earlier results with `@{referenceId.path}`. The answer is
//! always 200 with one `compositeResponse` entry per subrequest (reference §2.4).
//!
//! A subrequest whose reference cannot be resolved (the referenced one failed, or has no such
//! value) answers `PROCESSING_HALTED`. With `allOrNone: true`, the first failure rolls back
//! everything and halts the rest.

use std::collections::{HashMap, HashSet};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Call, Ctx, Db, Route, dispatch, parse_json};
use crate::salesforce::Shared;
use crate::salesforce::errors::{ApiError, Reply};
use crate::salesforce::store::{Store, Undo};

/// Most query subrequests (query, queryAll, next page) in one composite request.
const MAX_QUERIES: usize = 5;

#[derive(Deserialize)]
struct CompositeBody {
    #[serde(default, rename = "allOrNone")]
    all_or_none: bool,
    #[serde(rename = "compositeRequest")]
    requests: Vec<SubRequest>,
}

#[derive(Deserialize)]
struct SubRequest {
    method: String,
    url: String,
    #[serde(rename = "referenceId")]
    reference_id: String,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default, rename = "httpHeaders")]
    http_headers: Map<String, Value>,
}

/// One finished subrequest.
struct SubResult {
    reference_id: String,
    status: StatusCode,
    body: Value,
    headers: Map<String, Value>,
}

impl SubResult {
    fn ok(&self) -> bool {
        self.status.is_success()
    }

    fn halted(reference_id: &str, message: String) -> Self {
        Self {
            reference_id: reference_id.to_string(),
            status: StatusCode::BAD_REQUEST,
            body: json!([{"errorCode": "PROCESSING_HALTED", "message": message}]),
            headers: Map::new(),
        }
    }
}

fn batch_error(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_BATCH_REQUEST", message)
}

/// Evaluates `ref.a.b[0].c` against the earlier results.
fn lookup(expr: &str, done: &HashMap<String, Value>) -> Option<Value> {
    let split = expr.find(['.', '[']).unwrap_or(expr.len());
    let mut value = done.get(&expr[..split])?;
    let mut rest = &expr[split..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            value = value.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            value = value.get(r[..end].trim().parse::<usize>().ok()?)?;
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(value.clone())
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replaces every `@{…}` in `text`; `Err(expr)` names the first that cannot be resolved.
fn interpolate(text: &str, done: &HashMap<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let expr = &after[..end];
        let value = lookup(expr, done).ok_or_else(|| expr.to_string())?;
        out.push_str(&as_text(&value));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves references inside a JSON body; a string that is exactly one reference takes the
/// referenced value with its type.
fn resolve_body(value: &Value, done: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => {
            let whole = s
                .strip_prefix("@{")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|inner| !inner.contains('}'));
            match whole {
                Some(expr) => lookup(expr, done).ok_or_else(|| expr.to_string())?,
                None => Value::String(interpolate(s, done)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_body(v, done))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_body(v, done)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn is_query(url: &str) -> bool {
    let headers = HeaderMap::new();
    Call::parse(Method::GET, url, &headers, &[]).is_some_and(|c| {
        matches!(
            Route::parse(&c.segments),
            Route::Query { .. } | Route::QueryMore(_)
        )
    })
}

/// Runs one subrequest against the transaction's store.
fn run_one(
    shared: &Shared,
    store: &mut Store,
    undo: &mut Vec<Undo>,
    sub: &SubRequest,
    done: &HashMap<String, Value>,
) -> SubResult {
    let halted = |expr: String| {
        let name = expr.split(['.', '[']).next().unwrap_or("").to_string();
        SubResult::halted(
            &sub.reference_id,
            format!(
                "Invalid reference specified. No value for {expr} found in {name}. Provided \
                 referenceId ({name}) must start with a letter or a number, and it can contain \
                 only letters, numbers and underscores (_)."
            ),
        )
    };
    let url = match interpolate(&sub.url, done) {
        Ok(u) => u,
        Err(expr) => return halted(expr),
    };
    let body = match sub.body.as_ref().map(|b| resolve_body(b, done)).transpose() {
        Ok(b) => b,
        Err(expr) => return halted(expr),
    };
    let bytes = body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    for (k, v) in &sub.http_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&as_text(v)),
        ) {
            headers.insert(name, value);
        }
    }
    let method = Method::from_bytes(sub.method.trim().to_ascii_uppercase().as_bytes())
        .unwrap_or(Method::GET);
    let reply = match Call::parse(method, &url, &headers, &bytes) {
        None => Reply::from(ApiError::not_found()),
        Some(call) => match Route::parse(&call.segments) {
            Route::Composite
            | Route::IngestJobs
            | Route::IngestJob(_)
            | Route::IngestBatches(_)
            | Route::IngestResults(..)
            | Route::QueryJobs
            | Route::QueryJob(_)
            | Route::QueryResults(_) => Reply::from(batch_error(format!(
                "The resource {url} is not supported in a composite request"
            ))),
            _ => {
                let mut ctx = Ctx {
                    shared,
                    db: Db::Tx(store, undo),
                };
                dispatch(&mut ctx, &call)
            }
        },
    };
    let headers = reply
        .headers
        .iter()
        .filter(|(n, _)| *n == axum::http::header::LOCATION)
        .map(|(_, v)| ("Location".to_string(), json!(v)))
        .collect();
    SubResult {
        reference_id: sub.reference_id.clone(),
        status: reply.status,
        body: reply.body_value(),
        headers,
    }
}

/// `POST /composite`.
pub(crate) fn composite(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Reply, ApiError> {
    let input: CompositeBody = parse_json(call.body)?;
    let max = ctx.shared.config.max_composite;
    if input.requests.is_empty() {
        return Err(batch_error(
            "compositeRequest must contain at least one subrequest",
        ));
    }
    if input.requests.len() > max {
        return Err(batch_error(format!(
            "Composite API: a request can contain at most {max} subrequests"
        )));
    }
    let mut seen = HashSet::new();
    for sub in &input.requests {
        let id = &sub.reference_id;
        let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(batch_error(format!("Invalid referenceId: {id}")));
        }
        if !seen.insert(id.clone()) {
            return Err(batch_error(format!(
                "Duplicate referenceId provided in the request: {id}"
            )));
        }
    }
    if input.requests.iter().filter(|s| is_query(&s.url)).count() > MAX_QUERIES {
        return Err(batch_error(format!(
            "Composite API: a request can contain at most {MAX_QUERIES} query operations"
        )));
    }
    let shared = ctx.shared;
    let results = ctx.db.write(|store, undo| {
        let mark = undo.len();
        let mut done: HashMap<String, Value> = HashMap::new();
        let mut results: Vec<SubResult> = Vec::with_capacity(input.requests.len());
        let mut failed = false;
        for sub in &input.requests {
            if failed && input.all_or_none {
                results.push(SubResult::halted(
                    &sub.reference_id,
                    "The transaction was rolled back since another operation in the same \
                     transaction failed."
                        .to_string(),
                ));
                continue;
            }
            let result = run_one(shared, store, undo, sub, &done);
            if result.ok() {
                done.insert(result.reference_id.clone(), result.body.clone());
            } else {
                failed = true;
            }
            results.push(result);
        }
        if failed && input.all_or_none {
            store.rollback(undo.split_off(mark));
            for r in results.iter_mut().filter(|r| r.ok()) {
                *r = SubResult::halted(
                    &r.reference_id,
                    "The transaction was rolled back since another operation in the same \
                     transaction failed."
                        .to_string(),
                );
            }
        }
        results
    });
    let body: Vec<Value> = results
        .into_iter()
        .map(|r| {
            json!({
                "body": r.body,
                "httpHeaders": r.headers,
                "httpStatusCode": r.status.as_u16(),
                "referenceId": r.reference_id,
            })
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        &json!({"compositeResponse": body}),
    ))
}

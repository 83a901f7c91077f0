//! The HTTP surface: the router, the gate every request passes (stats, faults, session,
//! daily limit, `Sforce-Limit-Info`), and the dispatcher that maps `/services/data/vXX.X/…`
//! paths to handlers. The dispatcher is plain synchronous code over a [`Ctx`], so composite
//! requests run their subrequests through it inside one transaction.

mod bulk;
mod call;
mod collections;
mod composite;
mod gate;
mod oauth;
mod query;
mod sobjects;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub(crate) use bulk::Jobs;
use call::version_ok;
pub(crate) use call::{Call, Route};
pub(crate) use query::Cursors;

use super::Shared;
use super::errors::{ApiError, Reply};
use super::schema::{self, ObjectKind};
use super::store::{Store, Undo};

/// The state every handler gets.
pub(crate) type AppState = Arc<Shared>;

/// Builds the Salesforce router.
pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/oauth2/revoke",
            post(oauth::revoke).get(oauth::revoke),
        )
        .route("/services/oauth2/userinfo", get(oauth::userinfo))
        .route("/id/{org}/{user}", get(oauth::identity))
        .fallback(data)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(shared.clone(), gate::gate))
        .with_state(shared)
}

/// Store access for a handler: the live store behind its lock, or the store a composite
/// request holds for its whole transaction (with its undo log).
pub(crate) enum Db<'a> {
    Live(&'a Shared),
    Tx(&'a mut Store, &'a mut Vec<Undo>),
}

impl Db<'_> {
    pub(crate) fn read<R>(&mut self, f: impl FnOnce(&Store) -> R) -> R {
        match self {
            Db::Live(shared) => f(&shared.read()),
            Db::Tx(store, _) => f(store),
        }
    }

    pub(crate) fn write<R>(&mut self, f: impl FnOnce(&mut Store, &mut Vec<Undo>) -> R) -> R {
        match self {
            Db::Live(shared) => f(&mut shared.write(), &mut Vec::new()),
            Db::Tx(store, undo) => f(store, undo),
        }
    }
}

/// What a handler works with.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub db: Db<'a>,
}

/// Resolves an sObject type named in a path.
pub(crate) fn object_of(name: &str) -> Result<ObjectKind, ApiError> {
    schema::object(name).ok_or_else(|| ApiError::unknown_object(name))
}

/// Parses a JSON request body; failures are Salesforce's 400 `JSON_PARSER_ERROR`.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::json_parser(format!("{e} at [line:{}, column:{}]", e.line(), e.column()))
    })
}

fn allow(method: &Method, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(method) || (method == Method::HEAD && allowed.contains(&Method::GET)) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        Err(ApiError::method_not_allowed(
            method.as_str(),
            &names.join(","),
        ))
    }
}

/// Runs one call; errors become their array answers.
pub(crate) fn dispatch(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Reply {
    handle(ctx, call).unwrap_or_else(Reply::from)
}

fn handle(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Reply, ApiError> {
    use Method as M;
    if !version_ok(&call.version) {
        return Err(ApiError::not_found());
    }
    let m = &call.method;
    match Route::parse(&call.segments) {
        Route::Resources => allow(m, &[M::GET]).map(|()| resources(call)),
        Route::Limits => allow(m, &[M::GET]).map(|()| limits(ctx.shared)),
        Route::Query { all } => {
            allow(m, &[M::GET])?;
            query::query(ctx, call, all)
        }
        Route::QueryMore(locator) => {
            allow(m, &[M::GET])?;
            query::query_more(ctx, call, &locator)
        }
        Route::SObjects => allow(m, &[M::GET]).map(|()| sobjects::list(call)),
        Route::ObjectRoot(t) => match *m {
            M::POST => sobjects::create(ctx, call, &t),
            _ => allow(m, &[M::GET, M::POST]).and_then(|()| sobjects::object_info(call, &t)),
        },
        Route::Describe(t) => allow(m, &[M::GET]).and_then(|()| sobjects::describe(call, &t)),
        Route::Updated(t) => {
            allow(m, &[M::GET])?;
            sobjects::updated(ctx, call, &t)
        }
        Route::Deleted(t) => {
            allow(m, &[M::GET])?;
            sobjects::deleted(ctx, call, &t)
        }
        Route::Record(t, id) => {
            allow(m, &[M::GET, M::PATCH, M::DELETE])?;
            sobjects::record(ctx, call, &t, &id)
        }
        Route::ByExternalId(t, field, value) => {
            allow(m, &[M::GET, M::PATCH, M::DELETE])?;
            sobjects::by_external_id(ctx, call, &t, &field, &value)
        }
        Route::Composite => {
            allow(m, &[M::POST])?;
            composite::composite(ctx, call)
        }
        Route::Collections => {
            allow(m, &[M::POST, M::PATCH, M::DELETE])?;
            collections::write(ctx, call)
        }
        Route::CollectionsOf(t) => {
            allow(m, &[M::GET, M::POST])?;
            collections::retrieve(ctx, call, &t)
        }
        Route::CollectionsUpsert(t, field) => {
            allow(m, &[M::PATCH])?;
            collections::upsert(ctx, call, &t, &field)
        }
        Route::IngestJobs
        | Route::IngestJob(_)
        | Route::IngestBatches(_)
        | Route::IngestResults(..)
        | Route::QueryJobs
        | Route::QueryJob(_)
        | Route::QueryResults(_) => bulk::handle(ctx, call),
        Route::Unknown => Err(ApiError::not_found()),
    }
}

/// `GET /services/data/vXX.X`: the resources of that version.
fn resources(call: &Call<'_>) -> Reply {
    let base = format!("/services/data/v{}", call.version);
    let mut map = serde_json::Map::new();
    for name in [
        "sobjects",
        "query",
        "queryAll",
        "composite",
        "limits",
        "jobs/ingest",
        "jobs/query",
    ] {
        let key = name.replace("jobs/", "jobs_");
        map.insert(key, json!(format!("{base}/{name}")));
    }
    Reply::json(StatusCode::OK, &Value::Object(map))
}

/// `GET /services/data/vXX.X/limits`.
fn limits(shared: &Shared) -> Reply {
    let max = shared.limits.max();
    let remaining = max.saturating_sub(shared.limits.used());
    let pair = |max: u64, remaining: u64| json!({"Max": max, "Remaining": remaining});
    Reply::json(
        StatusCode::OK,
        &json!({
            "DailyApiRequests": pair(max, remaining),
            "DailyBulkApiBatches": pair(15_000, 15_000),
            "DailyBulkV2QueryJobs": pair(10_000, 10_000),
            "DailyBulkV2QueryFileStorageMB": pair(976_562, 976_562),
            "DataStorageMB": pair(1_024, 1_000),
            "FileStorageMB": pair(2_048, 2_048),
            "HourlyODataCallout": pair(10_000, 10_000),
        }),
    )
}

/// `GET /services/data`: the versions served (31.0 to the configured one).
fn versions(shared: &Shared) -> Reply {
    let newest = shared
        .config
        .api_version
        .split('.')
        .next()
        .and_then(|m| m.parse::<i64>().ok())
        .unwrap_or(62)
        .max(31);
    let list: Vec<Value> = (31..=newest)
        .map(|v| {
            let season = ["Spring", "Summer", "Winter"][v.rem_euclid(3) as usize];
            let year = 25 + (v - 62).div_euclid(3);
            json!({
                "label": format!("{season} '{year:02}"),
                "url": format!("/services/data/v{v}.0"),
                "version": format!("{v}.0"),
            })
        })
        .collect();
    Reply::json(StatusCode::OK, &list)
}

/// Every request that is not OAuth: `/services/data…`, or a 404.
async fn data(
    State(shared): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if path == "/services/data" || path == "/services/data/" {
        return versions(&shared).into_response();
    }
    let target = uri.path_and_query().map_or(path, |pq| pq.as_str());
    let Some(call) = Call::parse(method, target, &headers, &body) else {
        return ApiError::not_found().into_response();
    };
    let mut ctx = Ctx {
        shared: &shared,
        db: Db::Live(&shared),
    };
    dispatch(&mut ctx, &call).into_response()
}

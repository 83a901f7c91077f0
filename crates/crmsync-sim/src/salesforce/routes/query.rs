//! `GET query?q=` and `queryAll?q=`, and the server-side cursors behind `nextRecordsUrl`.
//!
//! A query's matching ids are snapshotted when it runs; each page renders the records as they
//! are when the page is fetched. Cursors expire after 15 minutes without use, and the last
//! page closes them. `queryAll`'s next links also point at `/query/` (reference §2.2).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::{Call, Ctx};
use crate::salesforce::Shared;
use crate::salesforce::errors::{ApiError, Reply};
use crate::salesforce::ids;
use crate::salesforce::render::RowJson;
use crate::salesforce::soql::{self, Count, Plan};
use crate::salesforce::store::Store;
use crate::salesforce::values;

/// How long an unused cursor lives.
const CURSOR_IDLE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
struct Cursor {
    plan: Arc<Plan>,
    ids: Arc<Vec<String>>,
    last_used: Instant,
}

/// The open query cursors.
#[derive(Debug, Default)]
pub(crate) struct Cursors {
    map: HashMap<String, Cursor>,
    serial: u64,
}

impl Cursors {
    /// Opens a cursor; with `max` already open, the oldest is released first.
    fn open(&mut self, plan: Arc<Plan>, ids: Arc<Vec<String>>, max: usize) -> String {
        let now = Instant::now();
        self.map
            .retain(|_, c| now.duration_since(c.last_used) < CURSOR_IDLE);
        while self.map.len() >= max.max(1) {
            if let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone())
            {
                self.map.remove(&oldest);
            } else {
                break;
            }
        }
        self.serial += 1;
        let id = ids::make("01g", self.serial);
        self.map.insert(
            id.clone(),
            Cursor {
                plan,
                ids,
                last_used: now,
            },
        );
        id
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<'a> {
    total_size: usize,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_records_url: Option<String>,
    records: Vec<RowJson<'a>>,
}

/// Records per page: `Sforce-Query-Options: batchSize=N` (200 to 2,000) or the default.
fn page_size(shared: &Shared, headers: &HeaderMap) -> usize {
    let asked = headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("batchSize")
                    .then(|| v.trim().parse::<usize>().ok())
                    .flatten()
            })
        });
    match asked {
        Some(n) => n.clamp(200, 2000),
        None => shared.config.query_page_size.max(1),
    }
}

/// Renders `ids[from..]`'s first page.
fn render(
    store: &Store,
    plan: &Plan,
    ids: &[String],
    from: usize,
    size: usize,
    version: &str,
    next: impl FnOnce(usize) -> String,
) -> Reply {
    let end = from.saturating_add(size).min(ids.len());
    let records = ids
        .get(from..end)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| store.get(plan.object, id))
        .map(|record| RowJson {
            store,
            kind: plan.object,
            record,
            columns: &plan.columns,
            version,
        })
        .collect();
    let done = end >= ids.len();
    Reply::json(
        StatusCode::OK,
        &Page {
            total_size: ids.len(),
            done,
            next_records_url: (!done).then(|| next(end)),
            records,
        },
    )
}

/// `GET query?q=…` and `GET queryAll?q=…` (`all`).
pub(crate) fn query(ctx: &mut Ctx<'_>, call: &Call<'_>, all: bool) -> Result<Reply, ApiError> {
    let q = call
        .query
        .get("q")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::malformed_query("A query string has to be specified"))?;
    let plan = Arc::new(soql::prepare(q, values::now_ms())?);
    let size = page_size(ctx.shared, call.headers);
    let shared = ctx.shared;
    let version = call.version.as_str();
    Ok(ctx.db.read(|store| {
        let ids = plan.run(store, all);
        match &plan.count {
            Some(Count::All) => Reply::json(
                StatusCode::OK,
                &json!({"totalSize": ids.len(), "done": true, "records": []}),
            ),
            Some(Count::Field { column, alias }) => {
                let n = ids
                    .iter()
                    .filter_map(|id| store.get(plan.object, id))
                    .filter(|r| !column.value(store, r).is_null())
                    .count();
                Reply::json(
                    StatusCode::OK,
                    &json!({
                        "totalSize": 1,
                        "done": true,
                        "records": [{"attributes": {"type": "AggregateResult"}, alias: n}],
                    }),
                )
            }
            None => {
                let ids = Arc::new(ids);
                render(store, &plan, &ids, 0, size, version, |end| {
                    let cursor = shared
                        .cursors
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .open(plan.clone(), ids.clone(), shared.config.max_query_cursors);
                    format!("/services/data/v{version}/query/{cursor}-{end}")
                })
            }
        }
    }))
}

fn invalid_locator() -> ApiError {
    ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
}

/// `GET query/{cursor}-{offset}` (any `q` parameter is ignored).
pub(crate) fn query_more(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    locator: &str,
) -> Result<Reply, ApiError> {
    let (cursor_id, offset) = locator.rsplit_once('-').ok_or_else(invalid_locator)?;
    let offset: usize = offset.parse().map_err(|_| invalid_locator())?;
    let (plan, ids, size) = {
        let mut cursors = ctx
            .shared
            .cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let cursor = cursors.map.get_mut(cursor_id).ok_or_else(invalid_locator)?;
        if now.duration_since(cursor.last_used) >= CURSOR_IDLE || offset > cursor.ids.len() {
            cursors.map.remove(cursor_id);
            return Err(invalid_locator());
        }
        cursor.last_used = now;
        let size = page_size(ctx.shared, call.headers);
        if offset.saturating_add(size) >= cursor.ids.len() {
            // The last page closes the cursor.
            let c = cursors.map.remove(cursor_id).ok_or_else(invalid_locator)?;
            (c.plan, c.ids, size)
        } else {
            (cursor.plan.clone(), cursor.ids.clone(), size)
        }
    };
    let version = call.version.as_str();
    Ok(ctx.db.read(|store| {
        render(store, &plan, &ids, offset, size, version, |end| {
            format!("/services/data/v{version}/query/{cursor_id}-{end}")
        })
    }))
}

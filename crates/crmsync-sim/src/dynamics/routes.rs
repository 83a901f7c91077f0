//! The Web API surface: `/api/data/v9.x/{entityset}` (query, change tracking, create,
//! update, upsert, delete), `EntityDefinitions`, `WhoAmI` and `$batch`. Handlers are
//! plain synchronous code over the locked store, so a change set runs its operations
//! inside one transaction and rolls back on the first failure.

use axum::http::{Method, StatusCode};
use chrono::{NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::Shared;
use super::batch::{self, Answer, Answered, Element, Operation};
use super::errors::{ApiError, Reply};
use super::query::{self, Cookie, encode_query_value, percent_decode};
use super::schema::{self, Kind, TABLES, Table};
use super::store::{Store, Undo, now_ms, parse_guid};

/// The most rows one page holds, and the default page size.
pub(crate) const MAX_PAGE: usize = 5000;

/// One Web API request, below `/api/data/v9.x/`.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub version: String,
    /// The resource path, percent-decoded (`contacts(…)`).
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Call {
    /// Parses `/api/data/v9.2/contacts?$select=…` (a path, or an absolute URL as batch
    /// operations may use, or a path relative to the service root).
    pub(crate) fn parse(
        method: Method,
        target: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Option<Self> {
        let without_host = match target.find("://") {
            Some(i) => {
                let rest = &target[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            None => target,
        };
        let (path, raw_query) = without_host.split_once('?').unwrap_or((without_host, ""));
        let (version, resource) = match path.strip_prefix("/api/data/") {
            Some(rest) => {
                let (v, r) = rest.split_once('/').unwrap_or((rest, ""));
                (v.to_owned(), r.to_owned())
            }
            None => ("v9.2".to_owned(), path.trim_start_matches('/').to_owned()),
        };
        if !matches!(version.as_str(), "v9.0" | "v9.1" | "v9.2") {
            return None;
        }
        let query = url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        Some(Self {
            method,
            version,
            path: percent_decode(&resource),
            query,
            headers,
            body,
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn prefer(&self) -> Prefer {
        let mut p = Prefer::default();
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("prefer") {
                continue;
            }
            for item in value.split(',').map(str::trim) {
                let (key, val) = item.split_once('=').unwrap_or((item, ""));
                match key.trim() {
                    "odata.maxpagesize" => p.max_page_size = val.trim().parse().ok(),
                    "odata.track-changes" => p.track_changes = true,
                    "return" if val.trim() == "representation" => p.representation = true,
                    "odata.include-annotations" => p.annotations = !val.trim().is_empty(),
                    "odata.continue-on-error" => p.continue_on_error = true,
                    _ => {}
                }
            }
        }
        p
    }
}

/// The `Prefer` header's preferences this server applies.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Prefer {
    pub max_page_size: Option<usize>,
    pub track_changes: bool,
    pub representation: bool,
    pub annotations: bool,
    pub continue_on_error: bool,
}

/// The name a request is counted under in the stats.
pub(crate) fn endpoint(call: &Call) -> &'static str {
    let path = call.path.as_str();
    if path == "$batch" {
        return "batch";
    }
    if path.starts_with("EntityDefinitions") {
        return "metadata";
    }
    if path == "WhoAmI" || path == "WhoAmI()" {
        return "whoami";
    }
    let keyed = path.contains('(');
    match (&call.method, keyed) {
        (&Method::GET, false) if call.param("$deltatoken").is_some() => "delta",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::GET, true) => "get",
        (&Method::PATCH, true) => "upsert",
        (&Method::DELETE, true) => "delete",
        _ => "other",
    }
}

/// Runs one call against the locked store; errors become `{error:{code,message}}`.
pub(crate) fn dispatch(
    shared: &Shared,
    store: &mut Store,
    undo: &mut Vec<Undo>,
    call: &Call,
) -> Reply {
    let mut reply = handle(shared, store, undo, call).unwrap_or_else(Reply::from);
    reply.headers.push(("OData-Version".into(), "4.0".into()));
    reply
}

fn handle(
    shared: &Shared,
    store: &mut Store,
    undo: &mut Vec<Undo>,
    call: &Call,
) -> Result<Reply, ApiError> {
    let path = call.path.trim_end_matches('/');
    if path == "$batch" {
        return Err(ApiError::query("A batch cannot hold a batch."));
    }
    if path.starts_with("EntityDefinitions") {
        return metadata(shared, call, path);
    }
    if path == "WhoAmI" || path == "WhoAmI()" {
        return Ok(Reply::json(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/api/data/{}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", shared.base_url, call.version),
                "BusinessUnitId": shared.business_unit_id,
                "UserId": shared.user_id,
                "OrganizationId": shared.organization_id,
            }),
        ));
    }
    let (set, key) = match path.split_once('(') {
        Some((set, rest)) => {
            let key = rest
                .strip_suffix(')')
                .ok_or_else(|| ApiError::not_found_resource(path))?;
            (set, Some(key))
        }
        None => (path, None),
    };
    let t = schema::by_set(set).ok_or_else(|| ApiError::not_found_resource(set))?;
    match (key, &call.method) {
        (None, &Method::GET) => list(shared, store, call, t),
        (None, &Method::POST) => create(shared, store, undo, call, t),
        (None, m) => Err(ApiError::method_not_allowed(m.as_str())),
        (Some(key), m) => {
            let key = parse_key(TABLES[t], key)?;
            match *m {
                Method::GET => get(store, call, t, &key),
                Method::PATCH => patch(shared, store, undo, call, t, &key),
                Method::DELETE => delete(store, undo, t, &key),
                _ => Err(ApiError::method_not_allowed(m.as_str())),
            }
        }
    }
}

/// How a path names a row.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    Id(String),
    Alternate(&'static str, Value),
}

fn parse_key(table: &Table, raw: &str) -> Result<Key, ApiError> {
    if let Some(id) = parse_guid(raw) {
        return Ok(Key::Id(id));
    }
    let Some((name, value)) = raw.split_once('=') else {
        return Err(ApiError::bad_request(
            "0x80060888",
            &format!("Bad Request - Error in query syntax. The key '{raw}' is not valid."),
        ));
    };
    let name = name.trim();
    if name == table.id {
        return parse_guid(value.trim())
            .map(Key::Id)
            .ok_or_else(|| ApiError::query(&format!("The key value '{value}' is not a GUID.")));
    }
    let Some(column) = table.alternate_key.filter(|k| *k == name) else {
        return Err(ApiError::bad_request(
            "0x80060888",
            &format!(
                "The key used in the request does not exist on entity {}: {name}",
                table.logical
            ),
        ));
    };
    let value = value.trim();
    let value = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(text) => Value::String(text.replace("''", "'")),
        None => value
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| ApiError::query(&format!("The key value {value} is not valid.")))?,
    };
    Ok(Key::Alternate(column, value))
}

fn find(store: &Store, t: usize, key: &Key) -> Option<String> {
    match key {
        Key::Id(id) => store.get(t, id).map(|r| r.id.clone()),
        Key::Alternate(column, value) => store.by_key(t, column, value).map(|r| r.id.clone()),
    }
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Id(id) => id.clone(),
        Key::Alternate(c, v) => format!("{c}:{}", v.as_str().map_or(v.to_string(), str::to_owned)),
    }
}

fn entity_url(shared: &Shared, call: &Call, table: &Table, id: &str) -> String {
    format!(
        "{}/api/data/{}/{}({id})",
        shared.base_url, call.version, table.set
    )
}

fn context(
    shared: &Shared,
    call: &Call,
    table: &Table,
    selected: Option<&[String]>,
    suffix: &str,
) -> String {
    match selected {
        Some(cols) => format!(
            "{}/api/data/{}/$metadata#{}({}){suffix}",
            shared.base_url,
            call.version,
            table.set,
            cols.join(",")
        ),
        None => format!(
            "{}/api/data/{}/$metadata#{}{suffix}",
            shared.base_url, call.version, table.set
        ),
    }
}

fn parse_body(call: &Call) -> Result<Map<String, Value>, ApiError> {
    if call.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&call.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "0x80048d19",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::bad_request(
            "0x80048d19",
            &format!("Error identified in Payload provided by the user. Invalid JSON: {e}"),
        )),
    }
}

fn representation(
    shared: &Shared,
    call: &Call,
    store: &Store,
    t: usize,
    id: &str,
    status: StatusCode,
) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    let selected = query::select(table, call.param("$select"))?;
    let Some(row) = store.get(t, id) else {
        return Err(ApiError::does_not_exist(table, id, "0x80040217"));
    };
    let mut value = query::render(table, row, selected.as_deref(), call.prefer().annotations);
    if let Value::Object(map) = &mut value {
        map.insert(
            "@odata.context".into(),
            Value::String(context(
                shared,
                call,
                table,
                selected.as_deref(),
                "/$entity",
            )),
        );
    }
    Ok(Reply::json(status, &value)
        .header("Preference-Applied", "return=representation")
        .header("ETag", format!("W/\"{}\"", row.version))
        .header("OData-EntityId", entity_url(shared, call, table, id)))
}

fn create(
    shared: &Shared,
    store: &mut Store,
    undo: &mut Vec<Undo>,
    call: &Call,
    t: usize,
) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    let body = parse_body(call)?;
    let id = match body.get(table.id) {
        Some(Value::String(s)) => Some(parse_guid(s).ok_or_else(|| {
            ApiError::payload(
                table,
                &format!("Cannot convert the literal '{s}' to the expected type 'Edm.Guid'."),
            )
        })?),
        _ => None,
    };
    let parsed = store.parse_body(t, &body)?;
    let id = store.insert(t, id, &parsed, now_ms(), undo)?;
    if call.prefer().representation {
        return representation(shared, call, store, t, &id, StatusCode::CREATED);
    }
    Ok(Reply::empty(StatusCode::NO_CONTENT)
        .header("OData-EntityId", entity_url(shared, call, table, &id)))
}

fn get(store: &Store, call: &Call, t: usize, key: &Key) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    let selected = query::select(table, call.param("$select"))?;
    let id = find(store, t, key)
        .ok_or_else(|| ApiError::does_not_exist(table, &key_text(key), "0x80040217"))?;
    let row = store
        .get(t, &id)
        .ok_or_else(|| ApiError::does_not_exist(table, &id, "0x80040217"))?;
    let value = query::render(table, row, selected.as_deref(), call.prefer().annotations);
    Ok(Reply::json(StatusCode::OK, &value).header("ETag", format!("W/\"{}\"", row.version)))
}

fn patch(
    shared: &Shared,
    store: &mut Store,
    undo: &mut Vec<Undo>,
    call: &Call,
    t: usize,
    key: &Key,
) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    let existing = find(store, t, key);
    let if_match = call.header("if-match").map(str::trim);
    let if_none_match = call.header("if-none-match").map(str::trim);
    if if_none_match == Some("*") && existing.is_some() {
        return Err(ApiError::duplicate_key());
    }
    if let Some(wanted) = if_match {
        let Some(id) = &existing else {
            // The reference's example: an empty code.
            return Err(ApiError::does_not_exist(table, &key_text(key), ""));
        };
        if wanted != "*" {
            let version = store.get(t, id).map(|r| r.version).unwrap_or_default();
            let given = wanted
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .ok();
            if given != Some(version) {
                return Err(ApiError::version_mismatch());
            }
        }
    }
    let body = parse_body(call)?;
    let mut parsed = store.parse_body(t, &body)?;
    let (id, created) = match existing {
        Some(id) => {
            store.update(t, &id, &parsed, now_ms(), undo)?;
            (id, false)
        }
        None => {
            let id = match key {
                Key::Id(id) => Some(id.clone()),
                Key::Alternate(column, value) => {
                    parsed.values.retain(|(n, _)| n != column);
                    parsed.values.push((column, value.clone()));
                    None
                }
            };
            (store.insert(t, id, &parsed, now_ms(), undo)?, true)
        }
    };
    if call.prefer().representation {
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return representation(shared, call, store, t, &id, status);
    }
    Ok(Reply::empty(StatusCode::NO_CONTENT)
        .header("OData-EntityId", entity_url(shared, call, table, &id)))
}

fn delete(store: &mut Store, undo: &mut Vec<Undo>, t: usize, key: &Key) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    let Some(id) = find(store, t, key) else {
        return Err(ApiError::does_not_exist(
            table,
            &key_text(key),
            "0x80040217",
        ));
    };
    store.delete(t, &id, undo);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `version!MM/dd/yyyy HH:mm:ss`, as Dataverse writes delta tokens.
fn delta_token(version: u64) -> String {
    format!("{version}!{}", Utc::now().format("%m/%d/%Y %H:%M:%S"))
}

/// The version and issue time (ms) of a delta token.
fn parse_delta_token(token: &str) -> Option<(u64, i64)> {
    let (version, at) = token.split_once('!')?;
    let version = version.trim().parse().ok()?;
    let at = NaiveDateTime::parse_from_str(at.trim(), "%m/%d/%Y %H:%M:%S").ok()?;
    Some((version, at.and_utc().timestamp_millis()))
}

/// The query string of a link: the request's own parameters less paging ones, plus
/// `extra`.
fn link(
    shared: &Shared,
    call: &Call,
    table: &Table,
    drop: &[&str],
    extra: &[(&str, String)],
) -> String {
    let mut params: Vec<String> = call
        .query
        .iter()
        .filter(|(n, _)| !drop.contains(&n.as_str()))
        .map(|(n, v)| format!("{n}={}", encode_query_value(v)))
        .collect();
    for (n, v) in extra {
        params.push(format!("{n}={}", encode_query_value(v)));
    }
    format!(
        "{}/api/data/{}/{}?{}",
        shared.base_url,
        call.version,
        table.set,
        params.join("&")
    )
}

fn page_size(prefer: &Prefer) -> usize {
    prefer.max_page_size.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE)
}

fn list(shared: &Shared, store: &Store, call: &Call, t: usize) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    for option in ["$skip", "$apply", "$expand"] {
        if call.param(option).is_some() {
            let message = if option == "$skip" {
                "The query parameter $skip is not supported".to_owned()
            } else {
                format!("The query option {option} is not supported by this simulator.")
            };
            return Err(ApiError::query(&message));
        }
    }
    if let Some(token) = call.param("$deltatoken") {
        return delta(shared, store, call, t, token);
    }
    let prefer = call.prefer();
    let cookie = match call.param("$skiptoken") {
        Some(raw) => Some(
            Cookie::decode(raw)
                .ok_or_else(|| ApiError::query("The $skiptoken value is not valid."))?,
        ),
        None => None,
    };
    let tracking = prefer.track_changes || cookie.as_ref().is_some_and(|c| c.tracking);
    if tracking {
        for option in ["$filter", "$orderby", "$top", "$expand"] {
            if call.param(option).is_some() {
                return Err(ApiError::query(&format!(
                    "The query option {option} is not supported with change tracking (Prefer: odata.track-changes)."
                )));
            }
        }
    }
    let selected = query::select(table, call.param("$select"))?;
    let filter = call
        .param("$filter")
        .map(|f| query::parse_filter(table, f))
        .transpose()?;
    let orderby = call
        .param("$orderby")
        .map(|o| query::parse_orderby(table, o))
        .transpose()?
        .unwrap_or_default();
    let top = call
        .param("$top")
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| ApiError::query("$top must be a number."))
        })
        .transpose()?;
    let size = match (prefer.max_page_size, top) {
        (None, Some(top)) => top.clamp(0, MAX_PAGE),
        _ => page_size(&prefer),
    };
    let rows = &store.tables[t].rows;
    let matches = |r: &&super::store::Row| filter.as_ref().is_none_or(|f| query::eval(table, r, f));
    let page_number = cookie.as_ref().map_or(1, |c| c.page.max(1));
    let (page, more): (Vec<&super::store::Row>, bool) = if orderby.is_empty() {
        let start = cookie.as_ref().and_then(|c| c.last.clone());
        let iter: Box<dyn Iterator<Item = &super::store::Row>> = match &start {
            Some(last) => Box::new(
                rows.range::<String, _>((
                    std::ops::Bound::Excluded(last),
                    std::ops::Bound::Unbounded,
                ))
                .map(|(_, r)| r),
            ),
            None => Box::new(rows.values()),
        };
        let mut page: Vec<&super::store::Row> = iter.filter(matches).take(size + 1).collect();
        let more = page.len() > size;
        page.truncate(size);
        (page, more)
    } else {
        let mut all: Vec<&super::store::Row> = rows.values().filter(matches).collect();
        all.sort_by(|a, b| query::order(table, a, b, &orderby));
        let skip = (page_number as usize - 1) * size;
        let page: Vec<&super::store::Row> = all.iter().skip(skip).take(size).copied().collect();
        (page, all.len() > skip + size)
    };
    let more = more && !(prefer.max_page_size.is_none() && top.is_some());
    // Change tracking reads up to the version the pass started at; later writes come
    // with the next delta.
    let anchor = cookie
        .as_ref()
        .and_then(|c| c.version)
        .unwrap_or(store.version);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(context(shared, call, table, selected.as_deref(), "")),
    );
    if call.param("$count").is_some_and(|c| c == "true") {
        let count = rows.values().filter(matches).count().min(MAX_PAGE);
        body.insert("@odata.count".into(), Value::from(count));
    }
    let values: Vec<Value> = page
        .iter()
        .map(|r| query::render(table, r, selected.as_deref(), prefer.annotations))
        .collect();
    body.insert("value".into(), Value::Array(values));
    if more {
        let next = Cookie {
            page: page_number + 1,
            last: page.last().map(|r| r.id.clone()),
            version: tracking.then_some(anchor),
            upto: None,
            tracking,
        };
        body.insert(
            "@odata.nextLink".into(),
            Value::String(link(
                shared,
                call,
                table,
                &["$skiptoken"],
                &[("$skiptoken", next.encode(table.id))],
            )),
        );
    } else if tracking {
        let keep: Vec<(String, String)> = call
            .query
            .iter()
            .filter(|(n, _)| n == "$select")
            .cloned()
            .collect();
        let mut delta_call = call.clone();
        delta_call.query = keep;
        body.insert(
            "@odata.deltaLink".into(),
            Value::String(link(
                shared,
                &delta_call,
                table,
                &[],
                &[("$deltatoken", delta_token(anchor))],
            )),
        );
    }
    let mut applied = Vec::new();
    if let Some(n) = prefer.max_page_size {
        applied.push(format!("odata.maxpagesize={}", n.clamp(1, MAX_PAGE)));
    }
    if tracking {
        applied.push("odata.track-changes".to_owned());
    }
    if prefer.annotations {
        applied.push("odata.include-annotations=\"*\"".to_owned());
    }
    let mut reply = Reply::json(StatusCode::OK, &Value::Object(body));
    if !applied.is_empty() {
        reply = reply.header("Preference-Applied", applied.join(","));
    }
    Ok(reply)
}

fn delta(
    shared: &Shared,
    store: &Store,
    call: &Call,
    t: usize,
    token: &str,
) -> Result<Reply, ApiError> {
    let table = TABLES[t];
    let prefer = call.prefer();
    let (since, issued) = parse_delta_token(token).ok_or_else(ApiError::expired_version_stamp)?;
    let ttl_ms = i64::try_from(shared.config.delta_token_ttl.as_millis()).unwrap_or(i64::MAX);
    let expired = since < shared.expired_before()
        || now_ms().saturating_sub(issued) > ttl_ms
        || since > store.version;
    if expired {
        return Err(ApiError::expired_version_stamp());
    }
    let cookie = match call.param("$skiptoken") {
        Some(raw) => Some(
            Cookie::decode(raw)
                .ok_or_else(|| ApiError::query("The $skiptoken value is not valid."))?,
        ),
        None => None,
    };
    let after = cookie.as_ref().and_then(|c| c.version).unwrap_or(since);
    let upto = cookie
        .as_ref()
        .and_then(|c| c.upto)
        .unwrap_or(store.version);
    let selected = query::select(table, call.param("$select"))?;
    let data = &store.tables[t];
    // Changes in version order: live rows written in the window and tombstones.
    let mut changes: Vec<(u64, Value)> = data
        .rows
        .values()
        .filter(|r| r.version > after && r.version <= upto)
        .map(|r| {
            (
                r.version,
                query::render(table, r, selected.as_deref(), prefer.annotations),
            )
        })
        .collect();
    let deleted_context = format!(
        "{}/api/data/{}/$metadata#{}/$deletedEntity",
        shared.base_url, call.version, table.set
    );
    changes.extend(
        data.tombstones
            .iter()
            .filter(|(v, _)| *v > after && *v <= upto)
            .map(|(v, id)| {
                (
                    *v,
                    json!({"@odata.context": deleted_context, "id": id, "reason": "deleted"}),
                )
            }),
    );
    changes.sort_by_key(|(v, _)| *v);
    let size = page_size(&prefer);
    let more = changes.len() > size;
    changes.truncate(size);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(context(shared, call, table, selected.as_deref(), "/$delta")),
    );
    let last_version = changes.last().map(|(v, _)| *v);
    body.insert(
        "value".into(),
        Value::Array(changes.into_iter().map(|(_, v)| v).collect()),
    );
    if more {
        let next = Cookie {
            page: cookie.as_ref().map_or(1, |c| c.page) + 1,
            last: None,
            version: last_version,
            upto: Some(upto),
            tracking: true,
        };
        body.insert(
            "@odata.nextLink".into(),
            Value::String(link(
                shared,
                call,
                table,
                &["$skiptoken"],
                &[("$skiptoken", next.encode(table.id))],
            )),
        );
    } else {
        body.insert(
            "@odata.deltaLink".into(),
            Value::String(link(
                shared,
                call,
                table,
                &["$skiptoken", "$deltatoken"],
                &[("$deltatoken", delta_token(upto))],
            )),
        );
    }
    let mut applied = vec!["odata.track-changes".to_owned()];
    if let Some(n) = prefer.max_page_size {
        applied.push(format!("odata.maxpagesize={}", n.clamp(1, MAX_PAGE)));
    }
    Ok(Reply::json(StatusCode::OK, &Value::Object(body))
        .header("Preference-Applied", applied.join(",")))
}

fn label(text: &str) -> Value {
    json!({
        "LocalizedLabels": [{"Label": text, "LanguageCode": 1033, "IsManaged": true}],
        "UserLocalizedLabel": {"Label": text, "LanguageCode": 1033, "IsManaged": true},
    })
}

fn metadata_id(seed: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    super::store::guid_from(h, h.rotate_left(17) ^ 0x5bd1_e995)
}

fn entity_definition(table: &Table) -> Value {
    json!({
        "MetadataId": metadata_id(table.logical),
        "LogicalName": table.logical,
        "SchemaName": table.logical,
        "EntitySetName": table.set,
        "PrimaryIdAttribute": table.id,
        "PrimaryNameAttribute": table.name_attr,
        "IsCustomEntity": table.custom,
        "ChangeTrackingEnabled": true,
        "IsActivity": matches!(table.logical, "phonecall" | "task"),
        "DisplayName": label(table.label),
    })
}

fn attribute(table: &Table, attr: &schema::Attr) -> Value {
    let mut v = json!({
        "@odata.type": attr.kind.metadata_type(),
        "MetadataId": metadata_id(&format!("{}.{}", table.logical, attr.name)),
        "LogicalName": attr.name,
        "SchemaName": attr.name,
        "AttributeType": attr.kind.attribute_type(),
        "AttributeTypeName": {"Value": format!("{}Type", attr.kind.attribute_type())},
        "DisplayName": label(attr.label),
        "RequiredLevel": {"Value": if attr.name == table.id { "SystemRequired" } else { attr.required }, "CanBeChanged": !attr.read_only, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
        "IsCustomAttribute": attr.custom,
        "IsPrimaryId": attr.name == table.id,
        "IsPrimaryName": attr.name == table.name_attr,
        "IsValidForCreate": !attr.read_only || attr.name == table.id,
        "IsValidForUpdate": !attr.read_only,
        "IsValidForRead": true,
        "AttributeOf": null,
        "EntityLogicalName": table.logical,
    });
    if let Value::Object(map) = &mut v {
        match attr.kind {
            Kind::String(max) | Kind::Memo(max) => {
                map.insert("MaxLength".into(), Value::from(max));
                if let Some(format) = attr.format {
                    map.insert("FormatName".into(), json!({"Value": format}));
                }
            }
            Kind::Lookup(targets) => {
                map.insert("Targets".into(), json!(targets));
            }
            Kind::DateOnly => {
                map.insert("Format".into(), json!("DateOnly"));
            }
            Kind::DateTime => {
                map.insert("Format".into(), json!("DateAndTime"));
            }
            Kind::Integer { min, max } => {
                map.insert("MinValue".into(), Value::from(min));
                map.insert("MaxValue".into(), Value::from(max));
            }
            _ => {}
        }
        if let Some(options) = attr.kind.options() {
            map.insert(
                "OptionSet".into(),
                json!({"Options": options.iter().map(|(v, l)| json!({"Value": v, "Label": label(l)})).collect::<Vec<_>>()}),
            );
        }
    }
    v
}

/// `EntityDefinitions`, `EntityDefinitions(LogicalName='x')` and `…/Attributes`.
fn metadata(shared: &Shared, call: &Call, path: &str) -> Result<Reply, ApiError> {
    if call.method != Method::GET {
        return Err(ApiError::method_not_allowed(call.method.as_str()));
    }
    let base = format!("{}/api/data/{}/$metadata", shared.base_url, call.version);
    if path == "EntityDefinitions" {
        // `$filter=EntitySetName eq 'x'` or `LogicalName eq 'x'` (joined by `or`).
        let wanted: Option<Vec<(String, String)>> = call.param("$filter").map(|f| {
            f.split(" or ")
                .filter_map(|c| {
                    let (name, value) = c.split_once(" eq ")?;
                    let value = value.trim().trim_matches('\'').replace("''", "'");
                    Some((name.trim().trim_matches(['(', ')']).to_owned(), value))
                })
                .collect()
        });
        let list: Vec<Value> = TABLES
            .iter()
            .filter(|t| {
                wanted.as_ref().is_none_or(|w| {
                    w.iter().any(|(n, v)| match n.as_str() {
                        "EntitySetName" => t.set == v,
                        "LogicalName" => t.logical == v,
                        _ => false,
                    })
                })
            })
            .map(|t| entity_definition(t))
            .collect();
        return Ok(Reply::json(
            StatusCode::OK,
            &json!({"@odata.context": format!("{base}#EntityDefinitions"), "value": list}),
        ));
    }
    let rest = path
        .strip_prefix("EntityDefinitions(")
        .ok_or_else(|| ApiError::not_found_resource(path))?;
    let (key, tail) = rest
        .split_once(')')
        .ok_or_else(|| ApiError::not_found_resource(path))?;
    let logical = key
        .strip_prefix("LogicalName=")
        .map(|v| v.trim_matches('\''))
        .unwrap_or(key);
    let t = schema::by_logical(logical)
        .or_else(|| {
            TABLES
                .iter()
                .position(|t| metadata_id(t.logical) == logical)
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "0x80040217",
                &format!("Could not find entity with name '{logical}'."),
            )
        })?;
    let table = TABLES[t];
    match tail {
        "" => Ok(Reply::json(StatusCode::OK, &{
            let mut v = entity_definition(table);
            if let Value::Object(m) = &mut v {
                m.insert(
                    "@odata.context".into(),
                    Value::String(format!("{base}#EntityDefinitions/$entity")),
                );
            }
            v
        })),
        "/Attributes" => {
            let list: Vec<Value> = table.attrs.iter().map(|a| attribute(table, a)).collect();
            Ok(Reply::json(
                StatusCode::OK,
                &json!({"@odata.context": format!("{base}#EntityDefinitions('{}')/Attributes", metadata_id(table.logical)), "value": list}),
            ))
        }
        _ => Err(ApiError::not_found_resource(path)),
    }
}

/// The most operations one `$batch` holds.
pub(crate) const MAX_BATCH: usize = 1000;

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Unknown")
}

fn to_answer(reply: Reply, content_id: Option<String>) -> Answer {
    Answer {
        status: reply.status.as_u16(),
        reason: reason(reply.status),
        headers: reply.headers,
        body: reply.body,
        content_id,
    }
}

/// Runs one batch operation; `$N` references to earlier change-set operations are
/// replaced by their entity URLs.
fn run_operation(
    shared: &Shared,
    store: &mut Store,
    undo: &mut Vec<Undo>,
    op: &Operation,
    refs: &[(String, String)],
    stats: &mut Vec<&'static str>,
) -> Reply {
    let mut url = op.url.clone();
    if let Some(rest) = url.strip_prefix('$') {
        let (id, tail) = rest.split_at(
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len()),
        );
        if let Some((_, entity)) = refs.iter().find(|(cid, _)| cid == id) {
            url = format!("{entity}{tail}");
        }
    }
    let Ok(method) = Method::from_bytes(op.method.as_bytes()) else {
        return ApiError::query(&format!("The method '{}' is not valid.", op.method)).reply();
    };
    let Some(call) = Call::parse(
        method,
        &url,
        op.headers.clone(),
        op.body.clone().into_bytes(),
    ) else {
        return ApiError::not_found_resource(&url).reply();
    };
    stats.push(endpoint(&call));
    dispatch(shared, store, undo, &call)
}

/// `POST $batch`.
pub(crate) fn run_batch(shared: &Shared, call: &Call, stats: &mut Vec<&'static str>) -> Reply {
    let Some(boundary) = call.header("content-type").and_then(batch::boundary) else {
        return ApiError::bad_request(
            "0x80048d19",
            "The content type of a batch request must be multipart/mixed with a boundary.",
        )
        .reply();
    };
    let text = String::from_utf8_lossy(&call.body);
    let elements = match batch::parse(&text, &boundary) {
        Ok(e) => e,
        Err(message) => return ApiError::bad_request("0x80048d19", &message).reply(),
    };
    let count: usize = elements
        .iter()
        .map(|e| match e {
            Element::Single(_) => 1,
            Element::ChangeSet(ops) => ops.len(),
        })
        .sum();
    if count > MAX_BATCH {
        return ApiError::bad_request(
            "0x8005f103",
            &format!("The number of requests in a batch request exceeds the limit of {MAX_BATCH}. Reduce the number of requests and try again."),
        )
        .reply();
    }
    // Each operation counts against service protection; the batch itself was counted.
    let _ = shared
        .protection
        .admit(count.saturating_sub(1) as u64, true);
    let continue_on_error = call.prefer().continue_on_error;
    let mut answers = Vec::new();
    let mut store = shared.lock();
    for element in &elements {
        match element {
            Element::Single(op) => {
                let mut undo = Vec::new();
                let reply = run_operation(shared, &mut store, &mut undo, op, &[], stats);
                let failed = !reply.status.is_success();
                answers.push(Answered::Single(to_answer(reply, op.content_id.clone())));
                if failed && !continue_on_error {
                    break;
                }
            }
            Element::ChangeSet(ops) => {
                let mut undo = Vec::new();
                let mut done = Vec::new();
                let mut refs: Vec<(String, String)> = Vec::new();
                let mut failure = None;
                for op in ops {
                    let reply = run_operation(shared, &mut store, &mut undo, op, &refs, stats);
                    if !reply.status.is_success() {
                        failure = Some(to_answer(reply, op.content_id.clone()));
                        break;
                    }
                    if let (Some(cid), Some((_, entity))) = (
                        &op.content_id,
                        reply.headers.iter().find(|(n, _)| n == "OData-EntityId"),
                    ) {
                        refs.push((cid.clone(), entity.clone()));
                    }
                    done.push(to_answer(reply, op.content_id.clone()));
                }
                match failure {
                    Some(answer) => {
                        // Atomic: nothing of the change set stays; one answer for it.
                        store.rollback(undo);
                        answers.push(Answered::Single(answer));
                        if !continue_on_error {
                            break;
                        }
                    }
                    None => answers.push(Answered::ChangeSet(
                        format!("changesetresponse_{}", crate::common::rng::uuid()),
                        done,
                    )),
                }
            }
        }
    }
    drop(store);
    let boundary = format!("batchresponse_{}", crate::common::rng::uuid());
    let mut reply = Reply {
        status: StatusCode::OK,
        headers: vec![(
            "Content-Type".into(),
            format!("multipart/mixed; boundary={boundary}"),
        )],
        body: batch::build(&boundary, &answers).into_bytes(),
    };
    reply.headers.push(("OData-Version".into(), "4.0".into()));
    if continue_on_error {
        reply.headers.push((
            "Preference-Applied".into(),
            "odata.continue-on-error".into(),
        ));
    }
    reply
}

/// The delta token of `version` (tests build expired or foreign tokens with it).
#[cfg(test)]
pub(crate) fn token_for(version: u64) -> String {
    delta_token(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_tokens_have_dataverse_shape() {
        let token = token_for(919_042);
        let (v, at) = parse_delta_token(&token).unwrap_or_default();
        assert_eq!(v, 919_042);
        assert!((now_ms() - at).abs() < 5_000);
        assert!(parse_delta_token("919042!08/22/2017 08:10:44").is_some());
        assert!(parse_delta_token("garbage").is_none());
    }

    #[test]
    fn calls_parse_paths_urls_and_relative_forms() {
        for target in [
            "/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000001)?$select=firstname",
            "http://127.0.0.1:1/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000001)?$select=firstname",
            "contacts(00000000-0000-0000-0000-000000000001)?$select=firstname",
        ] {
            let call = Call::parse(Method::GET, target, Vec::new(), Vec::new())
                .unwrap_or_else(|| panic!("{target}"));
            assert_eq!(call.path, "contacts(00000000-0000-0000-0000-000000000001)");
            assert_eq!(call.param("$select"), Some("firstname"));
            assert_eq!(endpoint(&call), "get");
        }
        assert!(
            Call::parse(
                Method::GET,
                "/api/data/v8.0/contacts",
                Vec::new(),
                Vec::new()
            )
            .is_none()
        );
    }

    #[test]
    fn keys_are_guids_or_the_alternate_key() {
        let table = &schema::CONTACT;
        assert!(matches!(
            parse_key(table, "00000000-0000-0000-0000-000000000001"),
            Ok(Key::Id(_))
        ));
        let Ok(Key::Alternate(col, v)) = parse_key(table, "crmsync_externalid='O''Hara-1'") else {
            panic!("alternate key");
        };
        assert_eq!((col, v.as_str()), ("crmsync_externalid", Some("O'Hara-1")));
        assert!(parse_key(table, "emailaddress1='x'").is_err());
        assert!(parse_key(table, "nonsense").is_err());
    }
}

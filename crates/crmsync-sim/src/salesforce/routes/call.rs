//! Requests to `/services/data/vXX.X/…` as the dispatcher sees them: the resource a path
//! names ([`Route`]), its query parameters, and the call itself, from HTTP or from a
//! composite subrequest.

use axum::http::{HeaderMap, Method};

/// One resolved resource under `/services/data/vXX.X/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Resources,
    Limits,
    Query { all: bool },
    QueryMore(String),
    SObjects,
    ObjectRoot(String),
    Describe(String),
    Updated(String),
    Deleted(String),
    Record(String, String),
    ByExternalId(String, String, String),
    Composite,
    Collections,
    CollectionsOf(String),
    CollectionsUpsert(String, String),
    IngestJobs,
    IngestJob(String),
    IngestBatches(String),
    IngestResults(String, String),
    QueryJobs,
    QueryJob(String),
    QueryResults(String),
    Unknown,
}

impl Route {
    pub(crate) fn parse(segments: &[String]) -> Route {
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let own = |a: &str| a.to_string();
        match s.as_slice() {
            [] => Route::Resources,
            [l] if is(l, "limits") => Route::Limits,
            [q] if is(q, "query") => Route::Query { all: false },
            [q] if is(q, "queryAll") => Route::Query { all: true },
            [q, loc] if is(q, "query") || is(q, "queryAll") => Route::QueryMore(own(loc)),
            [o] if is(o, "sobjects") => Route::SObjects,
            [o, t] if is(o, "sobjects") => Route::ObjectRoot(own(t)),
            [o, t, d] if is(o, "sobjects") && is(d, "describe") => Route::Describe(own(t)),
            [o, t, u] if is(o, "sobjects") && is(u, "updated") => Route::Updated(own(t)),
            [o, t, d] if is(o, "sobjects") && is(d, "deleted") => Route::Deleted(own(t)),
            [o, t, id] if is(o, "sobjects") => Route::Record(own(t), own(id)),
            [o, t, f, v] if is(o, "sobjects") => Route::ByExternalId(own(t), own(f), own(v)),
            [c] if is(c, "composite") => Route::Composite,
            [c, o] if is(c, "composite") && is(o, "sobjects") => Route::Collections,
            [c, o, t] if is(c, "composite") && is(o, "sobjects") => Route::CollectionsOf(own(t)),
            [c, o, t, f] if is(c, "composite") && is(o, "sobjects") => {
                Route::CollectionsUpsert(own(t), own(f))
            }
            [j, i] if is(j, "jobs") && is(i, "ingest") => Route::IngestJobs,
            [j, i, id] if is(j, "jobs") && is(i, "ingest") => Route::IngestJob(own(id)),
            [j, i, id, b] if is(j, "jobs") && is(i, "ingest") && is(b, "batches") => {
                Route::IngestBatches(own(id))
            }
            [j, i, id, r] if is(j, "jobs") && is(i, "ingest") => {
                Route::IngestResults(own(id), own(r))
            }
            [j, q] if is(j, "jobs") && is(q, "query") => Route::QueryJobs,
            [j, q, id] if is(j, "jobs") && is(q, "query") => Route::QueryJob(own(id)),
            [j, q, id, r] if is(j, "jobs") && is(q, "query") && is(r, "results") => {
                Route::QueryResults(own(id))
            }
            _ => Route::Unknown,
        }
    }

    /// The name a request is counted under in [`SfStats`](super::SfStats).
    pub(crate) fn stat(&self, method: &Method) -> &'static str {
        let m =
            |get: &'static str, post: &'static str, patch: &'static str, delete: &'static str| {
                match *method {
                    Method::GET | Method::HEAD => get,
                    Method::POST => post,
                    Method::PATCH | Method::PUT => patch,
                    Method::DELETE => delete,
                    _ => "other",
                }
            };
        match self {
            Route::Resources => "resources",
            Route::Limits => "limits",
            Route::Query { all: false } => "query",
            Route::Query { all: true } => "query_all",
            Route::QueryMore(_) => "query_more",
            Route::SObjects => "sobjects",
            Route::ObjectRoot(_) => m("describe", "sobject_create", "other", "other"),
            Route::Describe(_) => "describe",
            Route::Updated(_) => "updated",
            Route::Deleted(_) => "deleted",
            Route::Record(..) => m("sobject_get", "other", "sobject_update", "sobject_delete"),
            Route::ByExternalId(..) => m("sobject_get", "other", "upsert", "sobject_delete"),
            Route::Composite => "composite",
            Route::Collections => m(
                "other",
                "collections_create",
                "collections_update",
                "collections_delete",
            ),
            Route::CollectionsOf(_) => "collections_retrieve",
            Route::CollectionsUpsert(..) => "collections_upsert",
            Route::IngestJobs => m("bulk_ingest_list", "bulk_ingest_create", "other", "other"),
            Route::IngestJob(_) => m(
                "bulk_ingest_status",
                "other",
                "bulk_ingest_close",
                "bulk_ingest_delete",
            ),
            Route::IngestBatches(_) => "bulk_ingest_upload",
            Route::IngestResults(..) => "bulk_ingest_results",
            Route::QueryJobs => m("bulk_query_list", "bulk_query_create", "other", "other"),
            Route::QueryJob(_) => m(
                "bulk_query_status",
                "other",
                "bulk_query_abort",
                "bulk_query_delete",
            ),
            Route::QueryResults(_) => "bulk_query_results",
            Route::Unknown => "other",
        }
    }
}

/// Query parameters, keeping repeats.
#[derive(Debug, Default, Clone)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, repeated or comma-separated, trimmed, empties dropped.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// `key=true` (any case).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

/// One request to a `/services/data/vXX.X/…` resource, from HTTP or from a composite.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub method: Method,
    /// `62.0`.
    pub version: String,
    /// Percent-decoded path segments after the version; a trailing `/` is dropped.
    pub segments: Vec<String>,
    pub query: QueryParams,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl<'a> Call<'a> {
    /// Parses `/services/data/vXX.X/…[?query]`; `None` for other paths.
    pub(crate) fn parse(
        method: Method,
        path_and_query: &str,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Option<Self> {
        let (path, raw_query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let rest = path.strip_prefix("/services/data/")?;
        let mut parts = rest.split('/');
        let version = parts.next()?.strip_prefix('v')?.to_string();
        let mut segments: Vec<String> = parts.map(percent_decode).collect();
        while segments.last().is_some_and(String::is_empty) {
            segments.pop();
        }
        let query = QueryParams::parse(raw_query);
        // Clients that cannot send PATCH or DELETE POST with `?_HttpMethod=PATCH`.
        let method = match query.get("_HttpMethod") {
            Some(m) if method == Method::POST => {
                Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).unwrap_or(method)
            }
            _ => method,
        };
        Some(Self {
            method,
            version,
            segments,
            query,
            headers,
            body,
        })
    }

    /// The API version as a number (`62.0` → 62.0).
    pub(crate) fn version_number(&self) -> f64 {
        self.version.parse().unwrap_or(0.0)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the path's version is one Salesforce serves (31.0 and up).
pub(super) fn version_ok(version: &str) -> bool {
    let Some((major, minor)) = version.split_once('.') else {
        return false;
    };
    minor.len() == 1
        && minor.bytes().all(|b| b.is_ascii_digit())
        && major.parse::<u32>().is_ok_and(|m| (31..=99).contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_route(path: &str) -> Route {
        let headers = HeaderMap::new();
        Call::parse(Method::GET, path, &headers, &[])
            .map_or(Route::Unknown, |c| Route::parse(&c.segments))
    }

    #[test]
    fn paths_resolve_with_and_without_trailing_slashes() {
        assert_eq!(
            call_route("/services/data/v62.0/query/?q=x"),
            Route::Query { all: false }
        );
        assert_eq!(
            call_route("/services/data/v62.0/queryAll"),
            Route::Query { all: true }
        );
        assert_eq!(
            call_route("/services/data/v62.0/query/01g8d0000000AbCAAA-2000?q=x"),
            Route::QueryMore("01g8d0000000AbCAAA-2000".into())
        );
        assert_eq!(
            call_route("/services/data/v62.0/sobjects/Contact/updated/?start=x"),
            Route::Updated("Contact".into())
        );
        assert_eq!(
            call_route("/services/data/v62.0/sobjects/Contact/External_Id__c/a%2Fb"),
            Route::ByExternalId("Contact".into(), "External_Id__c".into(), "a/b".into())
        );
        assert_eq!(call_route("/services/data/v62.0/"), Route::Resources);
        assert!(version_ok("62.0") && version_ok("31.0") && !version_ok("30.0"));
        assert!(!version_ok("62") && !version_ok("x.0"));
    }
}

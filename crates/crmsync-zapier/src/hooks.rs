//! The REST-hook routes Zapier calls (subscribe, unsubscribe, samples), the state all
//! routes share, and the JSON errors they answer with.

use std::{fmt, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use chrono::{SecondsFormat, Utc};
use crmsync_core::{
    ChangeKind, ChangesRequest, CrmProviderDyn, Error, ErrorKind, ObjectKind, Retry, TenantId,
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ApiKeys, EventKind, HookEvent, RecentEvents, RecordEvent, Subscription, SubscriptionStore,
};

/// Finds the application's records of a tenant (for inbound actions and samples):
/// typically `move |tenant| Some(Arc::new(MirrorProvider::new(store.clone(), tenant.clone())))`.
/// `None` means the tenant has none.
pub type RecordsResolver = Arc<dyn Fn(&TenantId) -> Option<Arc<dyn CrmProviderDyn>> + Send + Sync>;

/// What the Zapier routes share: the API keys, the subscriptions, the recent events
/// and, for actions and samples, the application's records. Cheap to clone.
#[derive(Clone)]
pub struct ZapierState {
    keys: ApiKeys,
    subscriptions: Arc<dyn SubscriptionStore>,
    records: Option<RecordsResolver>,
    recent: RecentEvents,
    subscription_ttl: Option<Duration>,
}

impl fmt::Debug for ZapierState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZapierState")
            .field("keys", &self.keys)
            .field("records", &self.records.is_some())
            .field("subscription_ttl", &self.subscription_ttl)
            .finish_non_exhaustive()
    }
}

impl ZapierState {
    /// State with API keys and a subscription store.
    pub fn new(keys: ApiKeys, subscriptions: Arc<dyn SubscriptionStore>) -> Self {
        Self {
            keys,
            subscriptions,
            records: None,
            recent: RecentEvents::default(),
            subscription_ttl: None,
        }
    }

    /// The application's records, per tenant (inbound actions, sample fallback).
    pub fn with_records(
        mut self,
        resolver: impl Fn(&TenantId) -> Option<Arc<dyn CrmProviderDyn>> + Send + Sync + 'static,
    ) -> Self {
        self.records = Some(Arc::new(resolver));
        self
    }

    /// Shares the recent events a [`Deliverer`](crate::Deliverer) records, so samples
    /// show real events.
    pub fn with_recent(mut self, recent: RecentEvents) -> Self {
        self.recent = recent;
        self
    }

    /// Subscriptions lapse after `ttl`; the subscribe answer then carries
    /// `expiration_date` and Zapier resubscribes in time.
    pub fn with_subscription_ttl(mut self, ttl: Duration) -> Self {
        self.subscription_ttl = Some(ttl);
        self
    }

    /// The subscription store.
    pub fn subscriptions(&self) -> &Arc<dyn SubscriptionStore> {
        &self.subscriptions
    }

    /// The tenant whose API key the request carries, or a 401.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<TenantId, ApiError> {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .and_then(|key| self.keys.tenant(key))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "a valid API key is required in the X-API-Key header",
                )
            })
    }

    /// The application's records of a tenant, or an error saying why there are none.
    pub(crate) fn records_of(
        &self,
        tenant: &TenantId,
    ) -> Result<Arc<dyn CrmProviderDyn>, ApiError> {
        let resolver = self.records.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented",
                "this application does not expose its records to Zapier",
            )
        })?;
        resolver(tenant).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "this account has no records to act on",
            )
        })
    }
}

/// A JSON error answer: `{"error": code, "message": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let (status, code) = match error.kind() {
            ErrorKind::Validation | ErrorKind::InvalidRequest | ErrorKind::Decode => {
                (StatusCode::BAD_REQUEST, "invalid_request")
            }
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ErrorKind::Unavailable
            | ErrorKind::Timeout
            | ErrorKind::CircuitOpen
            | ErrorKind::Busy
            | ErrorKind::Interrupted
            | ErrorKind::Storage => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        // Client errors explain themselves to the Zap's owner; server errors do not
        // leak internals.
        let message = if status.is_client_error() {
            match (&error.context().field, &error.context().rule) {
                (Some(field), Some(rule)) => {
                    format!("{} (field {field}, rule {rule})", error.message())
                }
                _ => error.message().to_owned(),
            }
        } else {
            tracing::warn!(kind = %error.kind(), error = %error, "zapier request failed");
            format!(
                "the application could not complete the request ({})",
                error.kind()
            )
        };
        let retry_after = match error.retry() {
            Retry::RetryAfter(wait) => Some(wait),
            _ if status == StatusCode::TOO_MANY_REQUESTS => Some(Duration::from_secs(1)),
            _ => None,
        };
        Self {
            status,
            code,
            message,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.code, "message": self.message })),
        )
            .into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Parses a JSON body without axum's plain-text rejections.
pub(crate) fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_request("the body must be JSON"))
}

/// Query pairs, decoded.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The REST-hook routes, for an application to mount (`app.merge(hooks_router(state))`):
///
/// - `POST /zapier/hooks` — subscribe (`performSubscribe`): body
///   `{"url": targetUrl, "event": "created" | "updated" | "deleted" | "changed"
///   (or "contact.created"), "object": "contact"}`; answers 201
///   `{"id", "object", "event"[, "expiration_date"]}`.
/// - `DELETE /zapier/hooks/{id}` — unsubscribe (`performUnsubscribe`); 200, or 404 for
///   an id the tenant does not have.
/// - `GET /zapier/{object}/samples?event=created&limit=3` — `performList`: recent
///   events, newest first, as an array of the same objects the hooks deliver.
///
/// Every route needs the tenant's API key in `X-API-Key` (401 JSON otherwise).
pub fn hooks_router(state: ZapierState) -> Router {
    Router::new()
        .route("/zapier/hooks", post(subscribe))
        .route("/zapier/hooks/{id}", delete(unsubscribe))
        .route("/zapier/{object}/samples", get(samples))
        .with_state(state)
}

/// The REST-hook routes and the inbound actions together
/// ([`hooks_router`] merged with [`actions_router`](crate::actions_router)).
pub fn router(state: ZapierState) -> Router {
    hooks_router(state.clone()).merge(crate::actions_router(state))
}

#[derive(Deserialize)]
struct SubscribeBody {
    #[serde(alias = "target_url", alias = "targetUrl", alias = "hookUrl")]
    url: String,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    object: Option<String>,
}

/// `event` may carry the object too (`contact.created`).
fn event_and_object(
    event: Option<&str>,
    object: Option<&str>,
) -> Result<(HookEvent, ObjectKind), ApiError> {
    let raw = event.unwrap_or("changed").trim();
    let (prefix, name) = match raw.rsplit_once('.') {
        Some((object, event)) => (Some(object), event),
        None => (None, raw),
    };
    let event = HookEvent::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown event {raw:?}: use created, updated, deleted or changed"
        ))
    })?;
    let object = match (object.map(str::trim).filter(|o| !o.is_empty()), prefix) {
        (Some(a), Some(b)) if ObjectKind::parse(a) != ObjectKind::parse(b) => {
            return Err(ApiError::bad_request(format!(
                "object {a:?} does not match the event's {b:?}"
            )));
        }
        (Some(o), _) | (None, Some(o)) => ObjectKind::parse(o),
        (None, None) => ObjectKind::Contact,
    };
    if object.as_str().is_empty() {
        return Err(ApiError::bad_request("the object cannot be empty"));
    }
    Ok((event, object))
}

/// 16 random bytes, hex.
fn new_subscription_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no randomness available for a subscription id",
        )
    })?;
    Ok(format!(
        "sub_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

async fn subscribe(
    State(state): State<ZapierState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = state.authenticate(&headers)?;
    let body: SubscribeBody = serde_json::from_value(json_body(&body)?).map_err(|_| {
        ApiError::bad_request(
            "the body must be {\"url\": targetUrl, \"event\": ..., \"object\": ...}",
        )
    })?;
    let url = url::Url::parse(body.url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| ApiError::bad_request("url must be an absolute http(s) URL"))?;
    let (event, object) = event_and_object(body.event.as_deref(), body.object.as_deref())?;
    let now = Utc::now();
    let expires_at = state
        .subscription_ttl
        .and_then(|ttl| chrono::Duration::from_std(ttl).ok())
        .map(|ttl| now + ttl);
    let subscription = Subscription {
        id: new_subscription_id()?,
        object: object.clone(),
        event,
        target_url: SecretString::from(String::from(url)),
        created_at: now,
        expires_at,
    };
    state.subscriptions.insert(&tenant, &subscription).await?;
    tracing::info!(tenant = %tenant, subscription = %subscription.id, object = %object, event = event.as_str(), "zapier subscribed");
    let mut answer = json!({
        "id": subscription.id,
        "object": object.as_str(),
        "event": event.as_str(),
    });
    if let Some(at) = expires_at {
        answer["expiration_date"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn unsubscribe(
    State(state): State<ZapierState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let tenant = state.authenticate(&headers)?;
    if !state.subscriptions.remove(&tenant, &id).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such subscription",
        ));
    }
    tracing::info!(tenant = %tenant, subscription = %id, "zapier unsubscribed");
    Ok(Json(json!({ "id": id, "status": "unsubscribed" })))
}

async fn samples(
    State(state): State<ZapierState>,
    Path(object): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let tenant = state.authenticate(&headers)?;
    let object = ObjectKind::parse(&object);
    let mut filter = HookEvent::Changed;
    let mut limit = 3usize;
    for (name, value) in query_pairs(query.as_deref()) {
        match name.as_str() {
            "event" => filter = event_and_object(Some(&value), None)?.0,
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request("limit must be a number"))?
                    .clamp(1, 100)
            }
            _ => {}
        }
    }
    let mut events = state.recent.latest(&tenant, &object, filter, limit);
    if events.is_empty() && filter.matches(EventKind::Created) && state.records.is_some() {
        events = first_records(state.records_of(&tenant)?.as_ref(), &object, limit).await?;
    }
    Ok(Json(Value::Array(
        events.iter().map(RecordEvent::to_json).collect(),
    )))
}

/// Without recent events: up to `limit` live records from the first page of the
/// application's feed, as `created` events (real data for the Zap editor).
async fn first_records(
    provider: &dyn CrmProviderDyn,
    object: &ObjectKind,
    limit: usize,
) -> Result<Vec<RecordEvent>, ApiError> {
    if !provider.capabilities(object).change_feed {
        return Ok(Vec::new());
    }
    let page = provider
        .changes(
            object,
            ChangesRequest {
                page_size: 100,
                full: true,
                ..ChangesRequest::default()
            },
        )
        .await?;
    Ok(page
        .changes
        .into_iter()
        .filter(|c| c.kind == ChangeKind::Upsert && !c.record.deleted)
        .rev()
        .take(limit)
        .map(|c| {
            let at = c.record.modified_at.unwrap_or_else(Utc::now);
            RecordEvent::new(
                object.clone(),
                EventKind::Created,
                c.record.id,
                c.record.fields,
            )
            .at(at)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_their_object_or_take_it_from_the_body() {
        let (e, o) =
            event_and_object(Some("deal.deleted"), None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((e, o), (HookEvent::Deleted, ObjectKind::Deal));
        let (e, o) = event_and_object(Some("created"), Some("companies"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((e, o), (HookEvent::Created, ObjectKind::Company));
        let (e, o) = event_and_object(None, None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((e, o), (HookEvent::Changed, ObjectKind::Contact));
        assert!(event_and_object(Some("contact.created"), Some("deal")).is_err());
        assert!(event_and_object(Some("exploded"), None).is_err());
    }

    #[test]
    fn server_errors_do_not_leak_internals() {
        let err = ApiError::from(Error::new(ErrorKind::Storage, "disk /var/secret full"));
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.message.contains("/var/secret"));
        let err = ApiError::from(Error::validation("1", "email", "email", "not an email"));
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("field email"));
    }
}

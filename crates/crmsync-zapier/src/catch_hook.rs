//! [`CatchHookProvider`]: records pushed to a "Webhooks by Zapier" catch hook.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::Utc;
use crmsync_core::{
    Capabilities, ChangePage, ChangesRequest, CrmProvider, Error, ErrorKind, FieldSchema,
    FieldType, MatchKey, ObjectKind, ObjectSchema, ProviderKind, Record, RecordId, RecordMatch,
    Result, WriteOp, WriteOutcome, Written,
};
use crmsync_http::ApiClient;

pub use crate::core::CatchHookReceipt;
use crate::{CatchHookConfig, EventKind, RecordEvent, core::Target, pacing::ZapierPacer};

/// A push-only [`CrmProvider`]: every written record is POSTed as a [`RecordEvent`]
/// to a Zapier catch hook (`https://hooks.zapier.com/hooks/catch/{account}/{hook}/`).
///
/// - **Capabilities.** `write` and `delete` (a delete posts a `deleted` event); no
///   `change_feed`, `read` or `find`: Zapier keeps nothing the application could read
///   back. An engine binding with this provider as its remote side pushes
///   (application → Zapier) and skips the pull.
/// - **Ids.** A catch hook has no record ids of its own, so the id this provider
///   reports ([`Written::id`]) is the application's: the op's `id` for updates, its
///   `idempotency_key` for creates (the engine passes the local record id there), or,
///   without either, a fresh `zap-{micros}-{n}`. Linked ids therefore stay stable.
/// - **Errors.** Each record is one POST. A record Zapier cannot take (over 10 MB, a
///   4xx) fails alone. A failure of Zapier itself (after retries: 429, 5xx, timeouts;
///   or 404/410 for a deleted hook) on the first record of a call fails the call, so
///   nothing is half-sent and the run resumes later; after some records went out, it
///   fails the remaining records (dead letters) so the ones sent are linked, never
///   sent twice.
/// - **Secrecy.** The URL is a credential: it is never logged, and `Debug` and errors
///   do not show it.
///
/// ```no_run
/// # async fn demo() -> crmsync_core::Result<()> {
/// use crmsync_core::{CrmProvider, ObjectKind};
/// use crmsync_zapier::{CatchHookConfig, CatchHookProvider};
///
/// let hook = CatchHookProvider::new(
///     CatchHookConfig::new("https://hooks.zapier.com/hooks/catch/123/abc/").scope("acme", "zap-1"),
/// )?;
/// assert!(!hook.capabilities(&ObjectKind::Contact).change_feed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CatchHookProvider {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    client: ApiClient,
    pacer: ZapierPacer,
    config: CatchHookConfig,
    fallback_ids: AtomicU64,
}

impl fmt::Debug for CatchHookProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchHookProvider")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Whether a failure is the record's own (it fails alone) rather than Zapier's.
fn is_per_record(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::InvalidRequest | ErrorKind::Validation | ErrorKind::Decode | ErrorKind::Conflict
    )
}

impl CatchHookProvider {
    /// A provider for one catch hook.
    pub fn new(config: CatchHookConfig) -> Result<Self> {
        let target = Target::parse(&config.url)?;
        let client = target.client(
            &config.tenant,
            &config.connection,
            config.retry,
            config.timeout,
        )?;
        let pacer = ZapierPacer::new(
            &config.tenant,
            &format!("catch-hook/{}", config.connection),
            &config.limits,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                target,
                client,
                pacer,
                config,
                fallback_ids: AtomicU64::new(0),
            }),
        })
    }

    /// The HTTP client (its counters).
    pub fn client(&self) -> &ApiClient {
        &self.inner.client
    }

    /// POSTs one event and returns Zapier's receipt.
    pub async fn post(&self, event: &RecordEvent) -> Result<CatchHookReceipt> {
        let inner = &*self.inner;
        let request = inner.target.post("zapier.catch_hook", &event.to_json())?;
        inner.pacer.ready().await;
        let response = inner.client.send(&request).await?;
        CatchHookReceipt::parse(&response.body)
    }

    /// An id for a create that names none (`zap-{micros}-{n}`).
    fn fresh_id(&self) -> RecordId {
        RecordId::new(format!(
            "zap-{}-{}",
            Utc::now().timestamp_micros(),
            self.inner.fallback_ids.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Sends one event per item; see the type's docs for how failures split.
    async fn send_all<T>(
        &self,
        items: Vec<T>,
        event_of: impl Fn(&T) -> (String, RecordEvent),
        written: impl Fn(&T, &CatchHookReceipt) -> Written,
    ) -> Result<Vec<WriteOutcome>> {
        let mut outcomes = Vec::with_capacity(items.len());
        let mut stopped: Option<Error> = None;
        for (i, item) in items.iter().enumerate() {
            let (key, event) = event_of(item);
            if let Some(error) = &stopped {
                outcomes.push(WriteOutcome::failed(
                    key,
                    Error::new(error.kind(), format!("not sent: {}", error.message()))
                        .with_retry(error.retry())
                        .with_operation("zapier.catch_hook"),
                ));
                continue;
            }
            match self.post(&event).await {
                Ok(receipt) => outcomes.push(WriteOutcome::ok(key, written(item, &receipt))),
                Err(error) if is_per_record(&error) => {
                    outcomes.push(WriteOutcome::failed(
                        key,
                        error.with_record(event.record_id.as_str()),
                    ));
                }
                Err(error) if i == 0 => return Err(error),
                Err(error) => {
                    stopped = Some(
                        Error::new(error.kind(), error.message().to_owned())
                            .with_retry(error.retry()),
                    );
                    outcomes.push(WriteOutcome::failed(key, error));
                }
            }
        }
        Ok(outcomes)
    }
}

fn unsupported(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidRequest,
        format!("a Zapier catch hook is push-only: it has no {what} (see its capabilities)"),
    )
    .with_operation("zapier.catch_hook")
}

impl CrmProvider for CatchHookProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Zapier
    }

    fn capabilities(&self, _object: &ObjectKind) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.change_feed = false;
        caps.delete_feed = false;
        caps.read = false;
        caps.find = false;
        caps.write = true;
        caps.delete = true;
        caps.upsert_by_external_id = false;
        caps.max_write_batch = self.inner.config.max_batch.max(1);
        // Nothing is read from a catch hook.
        caps.max_read_batch = 0;
        caps.max_page_size = 0;
        caps.search_cap = None;
        caps.webhooks = false;
        caps.bulk = false;
        caps.field_timestamps = false;
        caps
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        Ok(ObjectSchema {
            object: object.clone(),
            fields: self
                .inner
                .config
                .fields
                .iter()
                .map(|name| FieldSchema {
                    name: name.clone(),
                    label: name.clone(),
                    field_type: FieldType::String,
                    required: false,
                    read_only: false,
                    custom: false,
                    options: Vec::new(),
                })
                .collect(),
        })
    }

    async fn changes(&self, _object: &ObjectKind, _request: ChangesRequest) -> Result<ChangePage> {
        Err(unsupported("change feed"))
    }

    async fn read(
        &self,
        _object: &ObjectKind,
        _ids: &[RecordId],
        _fields: &[String],
    ) -> Result<Vec<Record>> {
        Err(unsupported("records to read"))
    }

    async fn find(
        &self,
        _object: &ObjectKind,
        _keys: &[MatchKey],
        _fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        Err(unsupported("search"))
    }

    async fn upsert(&self, object: &ObjectKind, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        // Ids are fixed before sending so that the event and the outcome agree.
        let planned: Vec<(WriteOp, RecordId)> = ops
            .into_iter()
            .map(|op| {
                let id = op
                    .id
                    .clone()
                    .or_else(|| {
                        op.idempotency_key
                            .as_deref()
                            .filter(|k| !k.is_empty())
                            .map(RecordId::new)
                    })
                    .unwrap_or_else(|| self.fresh_id());
                (op, id)
            })
            .collect();
        self.send_all(
            planned,
            |(op, id)| {
                let kind = if op.id.is_some() {
                    EventKind::Updated
                } else {
                    EventKind::Created
                };
                (
                    op.key.clone(),
                    RecordEvent::new(object.clone(), kind, id.clone(), op.fields.clone()),
                )
            },
            |(op, id), _| Written {
                id: id.clone(),
                created: op.id.is_none(),
                modified_at: None,
            },
        )
        .await
    }

    async fn delete(&self, object: &ObjectKind, ids: &[RecordId]) -> Result<Vec<WriteOutcome>> {
        self.send_all(
            ids.to_vec(),
            |id| {
                (
                    id.as_str().to_owned(),
                    RecordEvent::new(
                        object.clone(),
                        EventKind::Deleted,
                        id.clone(),
                        Default::default(),
                    ),
                )
            },
            |id, _| Written {
                id: id.clone(),
                created: false,
                modified_at: None,
            },
        )
        .await
    }

    fn api_calls(&self) -> u64 {
        self.inner.client.stats().requests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_hook_url() {
        let hook = CatchHookProvider::new(CatchHookConfig::new(
            "https://hooks.zapier.com/hooks/catch/42/t0p-s3cret/",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{hook:?}");
        assert!(!text.contains("t0p-s3cret"), "{text}");
        assert!(!text.contains("hooks.zapier.com"), "{text}");
    }

    #[test]
    fn capabilities_say_push_only() {
        let hook = CatchHookProvider::new(CatchHookConfig::new(
            "https://hooks.zapier.com/hooks/catch/1/x/",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let caps = hook.capabilities(&ObjectKind::Contact);
        assert!(caps.write && caps.delete);
        assert!(!caps.change_feed && !caps.read && !caps.find && !caps.delete_feed);
    }

    #[tokio::test]
    async fn reading_is_a_typed_error() {
        let hook = CatchHookProvider::new(CatchHookConfig::new(
            "https://hooks.zapier.com/hooks/catch/1/x/",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let err = hook
            .read(&ObjectKind::Contact, &[RecordId::new("1")], &[])
            .await
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(ErrorKind::InvalidRequest));
    }
}

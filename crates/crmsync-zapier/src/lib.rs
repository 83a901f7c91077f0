//! crmsync for Zapier: instant triggers, catch-hook actions and inbound actions.
//!
//! Zapier has no API of its own to sync with; it calls the application and the
//! application calls it. This crate gives an application all three directions:
//!
//! - **REST Hook triggers** ([`hooks_router`], [`Deliverer`]). Zapier subscribes a Zap
//!   with `POST /zapier/hooks {url, event, object?}` and unsubscribes with
//!   `DELETE /zapier/hooks/{id}`; `GET /zapier/{object}/samples` is the `performList`
//!   fallback. Subscriptions are kept per tenant in a [`SubscriptionStore`]
//!   ([`MemorySubscriptions`], [`SqliteSubscriptions`]). The [`Deliverer`] reads the
//!   application's change feed (for example the local mirror's) and POSTs each change
//!   as a [`RecordEvent`] to every subscribed target URL, in order per record, paced
//!   under Zapier's 30 per second and 10,000 per 5 minutes, retrying 429s (honouring
//!   `Retry-After`) and 5xx with backoff, dead-lettering into the
//!   [`SyncStore`](crmsync_core::SyncStore) after the last attempt, and unsubscribing
//!   a target that answers 410 Gone.
//! - **Catch-hook actions** ([`CatchHookProvider`]): a push-only
//!   [`CrmProvider`](crmsync_core::CrmProvider) that POSTs records to a "Webhooks by
//!   Zapier" catch hook; the engine pushes to it like to any CRM, steered by its
//!   [`Capabilities`](crmsync_core::Capabilities) (`write`, no `change_feed`, no `read`).
//! - **Inbound actions** ([`actions_router`]): Zapier creates, updates and finds the
//!   application's records (`POST /zapier/actions/{object}`,
//!   `GET /zapier/search/{object}?email=`) through a
//!   [`CrmProviderDyn`](crmsync_core::CrmProviderDyn) the application supplies.
//!
//! Every route authenticates the tenant by its API key (`X-API-Key`, see [`ApiKeys`]).
//! Target and catch-hook URLs are credentials: they are held as
//! [`SecretString`](secrecy::SecretString)s, redacted from `Debug`, and never logged.
//!
//! ```no_run
//! # async fn demo(
//! #     store: std::sync::Arc<dyn crmsync_core::SyncStore>,
//! #     mirror: std::sync::Arc<dyn crmsync_core::CrmProviderDyn>,
//! # ) -> crmsync_core::Result<()> {
//! // `mirror`: the application's records, e.g. crmsync-store's `MirrorProvider`.
//! use std::sync::Arc;
//! use crmsync_core::{ObjectKind, TenantId};
//! use crmsync_zapier::{ApiKeys, DeliveryConfig, Deliverer, MemorySubscriptions, ZapierState};
//!
//! let keys = ApiKeys::new().with_key(TenantId::new("acme"), "key-from-the-settings-page");
//! let subscriptions = Arc::new(MemorySubscriptions::new());
//! let deliverer = Deliverer::new(store, subscriptions.clone(), DeliveryConfig::default());
//! let records = mirror.clone();
//! let state = ZapierState::new(keys, subscriptions)
//!     .with_recent(deliverer.recent())
//!     .with_records(move |_tenant| Some(records.clone()));
//! let app: axum::Router = crmsync_zapier::router(state);
//! // serve `app`; then, on a schedule or after writes:
//! deliverer.deliver_changes(&TenantId::new("acme"), mirror.as_ref(), &ObjectKind::Contact).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actions;
mod auth;
mod catch_hook;
mod config;
mod core;
mod deliver;
mod event;
mod hooks;
mod pacing;
mod recent;
mod sqlite;
mod subscriptions;

pub use actions::actions_router;
pub use auth::ApiKeys;
pub use catch_hook::{CatchHookProvider, CatchHookReceipt};
pub use config::{CatchHookConfig, DeliveryConfig, DeliveryStart, MAX_PAYLOAD_BYTES, ZapierLimits};
pub use deliver::{Deliverer, DeliveryReport};
pub use event::{EventKind, RecordEvent};
pub use hooks::{RecordsResolver, ZapierState, hooks_router, router};
pub use recent::RecentEvents;
pub use sqlite::SqliteSubscriptions;
pub use subscriptions::{HookEvent, MemorySubscriptions, Subscription, SubscriptionStore};

//! A simulated Zapier account: Zapier's side of REST-hook triggers and catch hooks
//! (see `reference/crm-apis.md` §4).
//!
//! - **REST hooks.** [`ZapierSim::subscribe`] does what turning a Zap on does: it makes a
//!   target URL (`/hooks/standard/{account}/{hook}/`) and POSTs `{url, event, object}` to
//!   the application's subscribe endpoint (`{app}/zapier/hooks`) with the API key;
//!   [`ZapierSim::unsubscribe`] DELETEs `{app}/zapier/hooks/{id}` and, like Zapier, answers
//!   410 Gone to anything still sent to that target. [`ZapierSim::gone`] makes a target
//!   answer 410 without unsubscribing (a deleted Zap).
//! - **Catch hooks.** `POST /hooks/catch/{account}/{hook}/` (JSON or form body) answers
//!   `{"status":"success","attempt","id","request_id"}`; make one with
//!   [`ZapierSim::catch_hook`].
//! - **Limits and faults.** Every hook request counts against 30 per second and 10,000
//!   per 5 minutes per account (429 with `Retry-After` beyond), payloads over 10 MB get
//!   413, and [`Faults`] injects 429 bursts, 5xx, resets, latency and garbled bodies.
//! - **Inspection.** Everything accepted is recorded in arrival order
//!   ([`ZapierSim::received`]); every request, accepted or not, is counted per hook
//!   ([`ZapierSim::requests`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use crmsync_sim::{ZapierSim, ZapierSimConfig};
//!
//! let zapier = ZapierSim::start(ZapierSimConfig::default()).await?;
//! let sub = zapier
//!     .subscribe("http://127.0.0.1:8080", "the-tenant-api-key", "contact.created", None)
//!     .await?;
//! // ... the application delivers events to sub.target_url ...
//! for event in zapier.received(&sub.hook) {
//!     println!("{}", event.body);
//! }
//! zapier.unsubscribe(&sub).await?;
//! # Ok(()) }
//! ```

mod limits;
mod routes;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::common::faults::Faults;
use crate::common::server;
use limits::Throttle;

/// How to build a simulated Zapier account.
#[derive(Debug, Clone)]
pub struct ZapierSimConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The account id in hook URLs.
    pub account: String,
    /// Webhooks per second (Zapier: 30); 0 = unlimited.
    pub per_second: u32,
    /// Webhooks per 5 minutes (Zapier: 10,000); 0 = unlimited.
    pub per_five_minutes: u32,
    /// Added to every response.
    pub latency: Duration,
}

impl Default for ZapierSimConfig {
    fn default() -> Self {
        Self {
            port: 0,
            account: "1234567".into(),
            per_second: 30,
            per_five_minutes: 10_000,
            latency: Duration::ZERO,
        }
    }
}

/// What kind of hook a URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// A REST-hook trigger's target URL (`/hooks/standard/...`).
    Trigger,
    /// A "Webhooks by Zapier" catch hook (`/hooks/catch/...`).
    Catch,
}

/// One request the simulator accepted, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Arrival number over the whole account, from 1.
    pub seq: u64,
    /// The hook it was sent to.
    pub hook: String,
    /// The hook's kind.
    pub kind: HookKind,
    /// The parsed body (a form body becomes an object of strings).
    pub body: Value,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The `request_id` of the answer.
    pub request_id: String,
}

/// A REST-hook subscription the simulator made (a Zap turned on).
#[derive(Debug, Clone, PartialEq)]
pub struct SimSubscription {
    /// The hook id of the target URL.
    pub hook: String,
    /// The target URL given to the application.
    pub target_url: String,
    /// The subscription id the application answered (`subscribeData.id`).
    pub id: String,
    /// The whole subscribe answer (`subscribeData`).
    pub subscribe_data: Value,
    /// The application it subscribed at.
    pub app_base_url: String,
    /// The API key it authenticated with.
    pub api_key: String,
}

/// Why a subscribe or unsubscribe call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCallError {
    /// The application's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong (the application's body, when it answered).
    pub message: String,
}

impl fmt::Display for HookCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "the application answered {status}: {}", self.message),
            None => write!(f, "the application could not be reached: {}", self.message),
        }
    }
}

impl std::error::Error for HookCallError {}

#[derive(Debug)]
struct Hook {
    kind: HookKind,
    /// Answers 410 Gone (unsubscribed, or the Zap was deleted).
    gone: bool,
    requests: u64,
}

/// State shared by the handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    config: ZapierSimConfig,
    base_url: String,
    faults: Faults,
    throttle: Throttle,
    hooks: Mutex<HashMap<String, Hook>>,
    received: Mutex<Vec<Received>>,
    serial: AtomicU64,
    throttled: AtomicU64,
}

/// What the router decided about one hook request.
pub(crate) enum Admission {
    Unknown,
    Gone,
    Open(HookKind),
}

impl Shared {
    fn next(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A uuid-shaped id from the serial (deterministic per run).
    pub(crate) fn new_id(&self) -> String {
        let n = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n.wrapping_mul(2_654_435_761) & 0xffff_ffff,
            (n >> 3) & 0xffff,
            n & 0xfff,
            (n >> 12) & 0xfff,
            n
        )
    }

    /// Counts a request to `hook` and says whether it is known and open.
    pub(crate) fn admission(&self, hook: &str) -> Admission {
        let mut hooks = self.hooks.lock().unwrap_or_else(PoisonError::into_inner);
        match hooks.get_mut(hook) {
            None => Admission::Unknown,
            Some(h) => {
                h.requests += 1;
                if h.gone {
                    Admission::Gone
                } else {
                    Admission::Open(h.kind)
                }
            }
        }
    }

    pub(crate) fn record(&self, hook: &str, kind: HookKind, body: Value) -> String {
        let request_id = self.new_id();
        let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = received.len() as u64 + 1;
        received.push(Received {
            seq,
            hook: hook.to_owned(),
            kind,
            body,
            at: Utc::now(),
            request_id: request_id.clone(),
        });
        request_id
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    pub(crate) fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    pub(crate) fn count_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn account(&self) -> &str {
        &self.config.account
    }
}

/// A running simulated Zapier account. Dropping it stops the server.
#[derive(Debug)]
pub struct ZapierSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ZapierSim {
    /// Starts serving on `127.0.0.1:{config.port}`.
    pub async fn start(config: ZapierSimConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            faults: Faults::with_latency(config.latency),
            throttle: Throttle::new(config.per_second, config.per_five_minutes),
            hooks: Mutex::default(),
            received: Mutex::default(),
            serial: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            config,
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        let app = routes::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<server::ConnTag>();
            let serve = axum::serve(server::SimListener::new(listener), service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                });
            if let Err(err) = serve.await {
                tracing::warn!("zapier simulator stopped: {err}");
            }
        });
        Ok(Self {
            shared,
            addr,
            http,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fault schedules.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Changes the throttle (0 = unlimited).
    pub fn set_limits(&self, per_second: u32, per_five_minutes: u32) {
        self.shared.throttle.set(per_second, per_five_minutes);
    }

    fn add_hook(&self, kind: HookKind) -> String {
        let prefix = match kind {
            HookKind::Trigger => "t",
            HookKind::Catch => "c",
        };
        let id = format!("{prefix}{}", self.shared.next());
        let mut hooks = self
            .shared
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        hooks.insert(
            id.clone(),
            Hook {
                kind,
                gone: false,
                requests: 0,
            },
        );
        id
    }

    fn hook_url(&self, kind: HookKind, hook: &str) -> String {
        let path = match kind {
            HookKind::Trigger => "standard",
            HookKind::Catch => "catch",
        };
        format!(
            "{}/hooks/{path}/{}/{hook}/",
            self.shared.base_url, self.shared.config.account
        )
    }

    /// A new catch hook; returns its id and URL
    /// (`{base}/hooks/catch/{account}/{hook}/`).
    pub fn catch_hook(&self) -> (String, String) {
        let hook = self.add_hook(HookKind::Catch);
        let url = self.hook_url(HookKind::Catch, &hook);
        (hook, url)
    }

    /// Turns a Zap on: makes a target URL and subscribes it at the application
    /// (`POST {app_base_url}/zapier/hooks` with `X-API-Key`, body
    /// `{"url", "event"[, "object"]}`). The application's `id` is kept for unsubscribing.
    pub async fn subscribe(
        &self,
        app_base_url: &str,
        api_key: &str,
        event: &str,
        object: Option<&str>,
    ) -> Result<SimSubscription, HookCallError> {
        let hook = self.add_hook(HookKind::Trigger);
        let target_url = self.hook_url(HookKind::Trigger, &hook);
        let mut body = json!({ "url": target_url, "event": event });
        if let Some(object) = object {
            body["object"] = json!(object);
        }
        let app = app_base_url.trim_end_matches('/');
        let answer = self
            .call(
                self.http
                    .post(format!("{app}/zapier/hooks"))
                    .header("x-api-key", api_key)
                    .json(&body),
            )
            .await;
        let data = match answer {
            Ok(data) => data,
            Err(err) => {
                self.forget(&hook);
                return Err(err);
            }
        };
        let id = match data.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                self.forget(&hook);
                return Err(HookCallError {
                    status: None,
                    message: format!("the subscribe answer has no id: {data}"),
                });
            }
        };
        Ok(SimSubscription {
            hook,
            target_url,
            id,
            subscribe_data: data,
            app_base_url: app.to_owned(),
            api_key: api_key.to_owned(),
        })
    }

    /// Turns a Zap off: `DELETE {app}/zapier/hooks/{id}`; from then on its target URL
    /// answers 410 Gone, as Zapier's do.
    pub async fn unsubscribe(&self, subscription: &SimSubscription) -> Result<(), HookCallError> {
        self.gone(&subscription.hook);
        self.call(
            self.http
                .delete(format!(
                    "{}/zapier/hooks/{}",
                    subscription.app_base_url, subscription.id
                ))
                .header("x-api-key", &subscription.api_key),
        )
        .await
        .map(|_| ())
    }

    /// Makes a hook answer 410 Gone (the Zap was deleted without unsubscribing).
    pub fn gone(&self, hook: &str) {
        let mut hooks = self
            .shared
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = hooks.get_mut(hook) {
            h.gone = true;
        }
    }

    fn forget(&self, hook: &str) {
        let mut hooks = self
            .shared
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        hooks.remove(hook);
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, HookCallError> {
        let response = request.send().await.map_err(|e| HookCallError {
            status: None,
            message: e.without_url().to_string(),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| HookCallError {
            status: Some(status.as_u16()),
            message: e.without_url().to_string(),
        })?;
        if !status.is_success() {
            return Err(HookCallError {
                status: Some(status.as_u16()),
                message: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// What a hook accepted, in arrival order.
    pub fn received(&self, hook: &str) -> Vec<Received> {
        self.received_all()
            .into_iter()
            .filter(|r| r.hook == hook)
            .collect()
    }

    /// Everything accepted, in arrival order.
    pub fn received_all(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Requests sent to a hook, accepted or not (throttled, failed, gone).
    pub fn requests(&self, hook: &str) -> u64 {
        let hooks = self
            .shared
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        hooks.get(hook).map_or(0, |h| h.requests)
    }

    /// Requests answered 429 by the throttle (not by injected faults).
    pub fn throttled(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for ZapierSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

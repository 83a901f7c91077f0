//! Faithful simulated CRM servers for crmsync's tests, examples and benchmarks.
//!
//! Each simulator is an axum server on `127.0.0.1` with in-memory state, deterministic seeded
//! data, and the real wire format, limits and errors of the CRM it stands in for, so that
//! official SDKs and ETL tools work against it unmodified. Fault schedules (429 bursts, 5xx,
//! connection resets, slow or malformed responses, token expiry) make failure paths testable.
//!
//! Simulators: [`hubspot`] (HubSpot CRM v3) and [`salesforce`] (Salesforce REST and Bulk API
//! 2.0). The `crmsync-sim` binary serves them standalone:
//! `crmsync-sim hubspot --port 0 --contacts 1000 --seed 42` (or `crmsync-sim salesforce …`)
//! prints one JSON line with the base URL and credentials, then serves until killed.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
//!
//! let sim = HubSpotSim::start(HubSpotSimConfig { contacts: 500, seed: 7, ..Default::default() }).await?;
//! assert_eq!(sim.records("contacts").len(), 500);
//! sim.faults().rate_limit_burst(2, None); // the next two API calls get 429
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod common;
pub mod dynamics;
pub mod hubspot;
pub mod salesforce;
pub mod zapier;

pub use dynamics::{DvRecord, DvStats, DynamicsSim, DynamicsSimConfig};
pub use hubspot::{Faults, HubSpotSim, HubSpotSimConfig, SimRecord, SimStats};
pub use salesforce::{SalesforceSim, SalesforceSimConfig, SfRecord, SfStats};
pub use zapier::{HookCallError, HookKind, Received, SimSubscription, ZapierSim, ZapierSimConfig};

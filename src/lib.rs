//! crmsync: keeps customer records in step between an application and its tenants' CRMs.
#![forbid(unsafe_code)]
pub use crmsync_core as core;
pub use crmsync_engine as engine;
pub use crmsync_transform as transform;
#[cfg(feature = "hubspot")]
pub use crmsync_http as http;
#[cfg(feature = "hubspot")]
pub use crmsync_hubspot as hubspot;
#[cfg(feature = "sim")]
pub use crmsync_sim as sim;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use crmsync_store as store;

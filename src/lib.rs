#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use crmsync_core as core;
#[cfg(feature = "dynamics")]
pub use crmsync_dynamics as dynamics;
pub use crmsync_engine as engine;
#[cfg(any(
    feature = "hubspot",
    feature = "salesforce",
    feature = "dynamics",
    feature = "zapier"
))]
pub use crmsync_http as http;
#[cfg(feature = "hubspot")]
pub use crmsync_hubspot as hubspot;
#[cfg(feature = "salesforce")]
pub use crmsync_salesforce as salesforce;
#[cfg(feature = "sim")]
pub use crmsync_sim as sim;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use crmsync_store as store;
pub use crmsync_transform as transform;
#[cfg(feature = "zapier")]
pub use crmsync_zapier as zapier;

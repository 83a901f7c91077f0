//! The HubSpot simulator, exercised over HTTP the way real clients use it.

#[path = "hubspot/auth.rs"]
mod auth;
#[path = "hubspot/batch.rs"]
mod batch;
#[path = "hubspot/common.rs"]
mod common;
#[path = "hubspot/faults.rs"]
mod faults;
#[path = "hubspot/objects.rs"]
mod objects;
#[path = "hubspot/search.rs"]
mod search;
#[path = "hubspot/seed_and_binary.rs"]
mod seed_and_binary;

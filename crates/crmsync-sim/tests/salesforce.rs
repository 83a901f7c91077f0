//! The Salesforce simulator, exercised over HTTP the way real clients use it.

#[path = "salesforce/auth.rs"]
mod auth;
#[path = "salesforce/bulk.rs"]
mod bulk;
#[path = "salesforce/collections.rs"]
mod collections;
#[path = "salesforce/common.rs"]
mod common;
#[path = "salesforce/limits.rs"]
mod limits;
#[path = "salesforce/query.rs"]
mod query;
#[path = "salesforce/seed_and_binary.rs"]
mod seed_and_binary;
#[path = "salesforce/sobjects.rs"]
mod sobjects;

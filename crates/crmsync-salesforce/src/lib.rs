//! crmsync's `CrmProvider` for Salesforce (work in progress).
#![forbid(unsafe_code)]

//! Pieces every simulator shares: the fault schedules, the deterministic generator and its
//! word lists and phone numbers, and the accept loop that can reset a connection on demand.

pub(crate) mod faults;
pub(crate) mod generate;
pub(crate) mod phones;
pub(crate) mod rng;
pub(crate) mod server;
pub(crate) mod words;

//! What a provider can do. Engines and tests branch on these, never on provider names.

use serde::{Deserialize, Serialize};

/// The abilities and limits of one provider (OpenDAL's `Capability` pattern).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// The provider has a change feed (`changes`); push-only providers do not.
    pub change_feed: bool,
    /// Deletes appear in the change feed.
    pub delete_feed: bool,
    /// Records can be read by id in batches.
    pub read: bool,
    /// Records can be looked up by match keys (email, phone...).
    pub find: bool,
    /// Records can be created and updated.
    pub write: bool,
    /// Records can be deleted.
    pub delete: bool,
    /// Writes can upsert by an external id or an idempotency key.
    pub upsert_by_external_id: bool,
    /// Largest number of records one write call takes.
    pub max_write_batch: usize,
    /// Largest number of ids one read call takes.
    pub max_read_batch: usize,
    /// Largest page the change feed returns.
    pub max_page_size: usize,
    /// Largest number of results a search query can page through, if capped.
    pub search_cap: Option<usize>,
    /// The provider emits webhooks or change events.
    pub webhooks: bool,
    /// The provider has a bulk API for large volumes.
    pub bulk: bool,
    /// Records carry per-field modification timestamps.
    pub field_timestamps: bool,
    /// The provider keeps e-mail addresses unique for this object: a create with an
    /// address it already holds updates (or is refused by) the record holding it. The
    /// engine then never creates a record whose address the provider already holds for
    /// someone the matcher says is another person; it parks it for review instead.
    pub unique_email: bool,
    /// [`find`](crate::CrmProvider::find) understands [`MatchKey::Name`](crate::MatchKey::Name)
    /// (last name and first initial, a finer blocking key than the last name alone).
    pub name_keys: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            change_feed: true,
            delete_feed: true,
            read: true,
            find: true,
            write: true,
            delete: true,
            upsert_by_external_id: false,
            max_write_batch: 100,
            max_read_batch: 100,
            max_page_size: 100,
            search_cap: None,
            webhooks: false,
            bulk: false,
            field_timestamps: false,
            unique_email: false,
            name_keys: false,
        }
    }
}

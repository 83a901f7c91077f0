//! Row encoding shared by every backend: timestamps, stable names, errors, batching.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use crmsync_core::{
    AuditOutcome, ConnectionId, DeadLetter, Direction, Error, ErrorKind, Link, ObjectKind,
    ObjectReport, RecordId, Result, Retry, ReviewItem, ReviewKind, ReviewStatus, RunRecord,
    SyncMode, WriteSource,
};

/// Timestamps are stored as microseconds since the Unix epoch (UTC) in every backend,
/// so SQLite and PostgreSQL compare and sort them the same way.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The instant a stored microsecond count stands for.
pub(crate) fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| corrupt(format!("timestamp {value} out of range")))
}

/// An optional stored timestamp.
pub(crate) fn from_micros_opt(value: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    value.map(from_micros).transpose()
}

/// `at` truncated to what the stores keep (microseconds), so every backend returns the
/// same instant it was given.
pub(crate) fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// Now, at stored precision.
pub(crate) fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// When a lease taken `now` for `ttl` lapses (capped at a century, so any `ttl`
/// stays storable).
pub(crate) fn lease_expiry(now: DateTime<Utc>, ttl: std::time::Duration) -> DateTime<Utc> {
    const CENTURY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
    chrono::Duration::from_std(ttl.min(CENTURY))
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(now)
}

/// A `u64` hash in a signed 64-bit column (bit cast both ways).
pub(crate) fn hash_to_i64(hash: u64) -> i64 {
    hash as i64
}

/// The `u64` hash a signed 64-bit column holds.
pub(crate) fn hash_from_i64(stored: i64) -> u64 {
    stored as u64
}

/// The stored name of a sync mode.
pub(crate) fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Incremental => "incremental",
        SyncMode::Full => "full",
    }
}

/// Parses a stored sync mode.
pub(crate) fn parse_mode(name: &str) -> Result<SyncMode> {
    match name {
        "incremental" => Ok(SyncMode::Incremental),
        "full" => Ok(SyncMode::Full),
        other => Err(corrupt(format!("unknown sync mode {other:?}"))),
    }
}

/// Parses a stored direction.
pub(crate) fn side_name(side: crmsync_core::Side) -> &'static str {
    match side {
        crmsync_core::Side::Local => "local",
        crmsync_core::Side::Remote => "remote",
    }
}

pub(crate) fn parse_side(name: &str) -> Result<crmsync_core::Side> {
    match name {
        "local" => Ok(crmsync_core::Side::Local),
        "remote" => Ok(crmsync_core::Side::Remote),
        other => Err(corrupt(format!("unknown side {other:?}"))),
    }
}

pub(crate) fn parse_direction(name: &str) -> Result<Direction> {
    Direction::parse(name).ok_or_else(|| corrupt(format!("unknown direction {name:?}")))
}

/// The stored name of a write source.
pub(crate) fn source_name(source: WriteSource) -> &'static str {
    match source {
        WriteSource::Local => "local",
        WriteSource::Remote => "remote",
    }
}

/// Parses a stored write source.
pub(crate) fn parse_source(name: &str) -> Result<WriteSource> {
    match name {
        "local" => Ok(WriteSource::Local),
        "remote" => Ok(WriteSource::Remote),
        other => Err(corrupt(format!("unknown write source {other:?}"))),
    }
}

/// The stored name of an audit outcome.
pub(crate) fn outcome_name(outcome: AuditOutcome) -> &'static str {
    match outcome {
        AuditOutcome::Success => "success",
        AuditOutcome::Failed => "failed",
        AuditOutcome::Skipped => "skipped",
    }
}

/// Parses a stored audit outcome.
pub(crate) fn parse_outcome(name: &str) -> Result<AuditOutcome> {
    match name {
        "success" => Ok(AuditOutcome::Success),
        "failed" => Ok(AuditOutcome::Failed),
        "skipped" => Ok(AuditOutcome::Skipped),
        other => Err(corrupt(format!("unknown audit outcome {other:?}"))),
    }
}

/// The SyncHistory summary columns of a run: processed, created, updated, failed.
pub(crate) fn run_totals(counts: &ObjectReport) -> [i64; 4] {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    [
        clamp(counts.processed()),
        clamp(counts.created_local + counts.created_remote),
        clamp(counts.updated_local + counts.updated_remote),
        clamp(counts.dead_letters),
    ]
}

/// The default number of runs [`crmsync_core::SyncStore::list_runs`] returns.
pub(crate) const DEFAULT_RUN_LIMIT: u32 = 50;

/// A run's id, required by `finish_run`.
pub(crate) fn run_id_of(run: &RunRecord) -> Result<i64> {
    run.id.map(|id| id.0).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidRequest,
            "finish_run needs the id start_run returned",
        )
        .with_operation("store.finish_run")
    })
}

/// The default number of items [`crmsync_core::SyncStore::list_review_items`] returns.
pub(crate) const DEFAULT_REVIEW_LIMIT: u32 = 100;

/// Parses a stored review kind.
pub(crate) fn parse_review_kind(name: &str) -> Result<ReviewKind> {
    match name {
        "conflict" => Ok(ReviewKind::Conflict),
        "ambiguous_match" => Ok(ReviewKind::AmbiguousMatch),
        other => Err(corrupt(format!("unknown review kind {other:?}"))),
    }
}

/// Parses a stored review status.
pub(crate) fn parse_review_status(name: &str) -> Result<ReviewStatus> {
    ReviewStatus::parse(name).ok_or_else(|| corrupt(format!("unknown review status {name:?}")))
}

/// What makes a pending review item unique within a tenant: a later park of the same
/// key updates it in place. A missing id equals an empty one, as in the SQL stores'
/// `COALESCE(local_id, '')` index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ReviewKey {
    connection: ConnectionId,
    object: ObjectKind,
    kind: &'static str,
    local_id: String,
    remote_id: String,
}

/// The pending-item key of a review item.
pub(crate) fn review_key(item: &ReviewItem) -> ReviewKey {
    let text = |id: &Option<RecordId>| id.as_ref().map(|id| id.as_str().to_owned());
    ReviewKey {
        connection: item.connection.clone(),
        object: item.object.clone(),
        kind: item.kind.as_str(),
        local_id: text(&item.local_id).unwrap_or_default(),
        remote_id: text(&item.remote_id).unwrap_or_default(),
    }
}

/// The review items of a page as the store parks them: pending, undecided, with
/// timestamps at stored precision and no id; an item parked twice in one page is kept
/// once, where it first appeared, with its first `created_at` and its last content
/// (as parking them one after the other would leave it).
/// Dead letters as a commit stores them: one per record and payload (the last failure
/// wins, its attempts counting every failure of the batch), pending. A pending letter
/// already stored for the same record *as it was* (same payload) is updated in place, not
/// duplicated: a record re-read unchanged fails once, however often it is read. A
/// record that failed again in another state (a later event, an edit) gets a letter of
/// its own, so nothing a replay needs is overwritten.
pub(crate) fn pending_letters(letters: Vec<DeadLetter>) -> Vec<DeadLetter> {
    let mut kept: Vec<DeadLetter> = Vec::with_capacity(letters.len());
    let mut by_key: HashMap<LetterKey, usize> = HashMap::new();
    for mut letter in letters {
        letter.first_failed_at = truncate(letter.first_failed_at);
        letter.last_failed_at = truncate(letter.last_failed_at);
        let key = letter_key(&letter);
        match by_key.get(&key) {
            Some(&index) => {
                let earlier = &mut kept[index];
                letter.attempts = letter.attempts.max(1) + earlier.attempts;
                letter.first_failed_at = earlier.first_failed_at;
                *earlier = letter;
            }
            None => {
                by_key.insert(key, kept.len());
                kept.push(letter);
            }
        }
    }
    kept
}

/// What makes two dead letters one: connection, object, direction, record id and the
/// payload's fingerprint.
pub(crate) type LetterKey = (String, String, &'static str, String, String);

/// The key of a dead letter (see [`LetterKey`]).
pub(crate) fn letter_key(letter: &DeadLetter) -> LetterKey {
    (
        letter.connection.as_str().to_owned(),
        letter.object.as_str().to_owned(),
        letter.direction.as_str(),
        letter.record_id.as_str().to_owned(),
        fingerprint(&letter.payload),
    )
}

/// A stable fingerprint of a dead letter's payload: FNV-1a (64 bit) of its JSON text
/// (object keys sorted), in hex.
pub(crate) fn fingerprint(payload: &serde_json::Value) -> String {
    let mut hash = crmsync_core::Fnv1a::new();
    hash.write(payload.to_string().as_bytes());
    format!("{:016x}", hash.finish())
}

pub(crate) fn parked_reviews(items: Vec<ReviewItem>) -> Vec<ReviewItem> {
    let mut kept: Vec<ReviewItem> = Vec::with_capacity(items.len());
    let mut by_key: HashMap<ReviewKey, usize> = HashMap::with_capacity(items.len());
    for mut item in items {
        item.id = None;
        item.status = ReviewStatus::Pending;
        item.resolution.clear();
        item.resolved_by = None;
        item.resolved_at = None;
        item.created_at = truncate(item.created_at);
        item.updated_at = truncate(item.updated_at);
        match by_key.get(&review_key(&item)) {
            Some(&index) => repark(&mut kept[index], item),
            None => {
                by_key.insert(review_key(&item), kept.len());
                kept.push(item);
            }
        }
    }
    kept
}

/// Updates a pending item in place with what a later park of the same key says:
/// fields, values, candidates, reason and `updated_at` (id, `created_at` and the key
/// stay).
pub(crate) fn repark(stored: &mut ReviewItem, item: ReviewItem) {
    stored.fields = item.fields;
    stored.base = item.base;
    stored.local = item.local;
    stored.remote = item.remote;
    stored.candidates = item.candidates;
    stored.reason = item.reason;
    stored.updated_at = item.updated_at;
}

/// A row the store cannot interpret: written by something else, or corrupted.
pub(crate) fn corrupt(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Storage, message)
}

/// The error of a poisoned lock (a panic elsewhere while the lock was held).
pub(crate) fn poisoned(operation: &'static str) -> Error {
    Error::new(
        ErrorKind::Internal,
        "memory store lock poisoned by an earlier panic",
    )
    .with_operation(operation)
}

/// Maps a database error to a storage error naming the operation. Failures that can
/// pass (a busy database, a dropped connection, an exhausted pool, a serialization
/// conflict) are marked retryable.
pub(crate) fn storage(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |err| {
        let retry = match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => Retry::Retry,
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // SQLite busy/locked (and their extended codes); PostgreSQL
                // serialization failure, deadlock, too many connections, shutdown.
                Some("5" | "6" | "261" | "262" | "517" | "40001" | "40P01" | "53300" | "57P01") => {
                    Retry::Retry
                }
                _ => Retry::DontRetry,
            },
            _ => Retry::DontRetry,
        };
        Error::new(ErrorKind::Storage, format!("{operation} failed"))
            .with_retry(retry)
            .with_source(err)
            .with_operation(operation)
    }
}

/// Pushes ` IN (…)` with every value bound: the list every batched look-up and delete
/// of the SQL stores ends with (callers chunk `values` by [`rows_per_statement`]).
pub(crate) fn push_in<DB, T>(
    query: &mut sqlx::QueryBuilder<DB>,
    values: impl IntoIterator<Item = T>,
) where
    DB: sqlx::Database,
    T: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}

/// How many rows of `binds_per_row` parameters fit in one statement that also binds
/// `fixed` parameters of its own.
pub(crate) fn rows_per_statement(max_binds: usize, binds_per_row: usize, fixed: usize) -> usize {
    (max_binds.saturating_sub(fixed) / binds_per_row.max(1)).max(1)
}

/// Ids without duplicates, in first-seen order.
pub(crate) fn unique_ids(ids: &[RecordId]) -> Vec<&RecordId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(*id)).collect()
}

/// Orders fetched rows like the ids asked for (ids without a row are left out).
pub(crate) fn in_request_order<T>(
    ids: &[RecordId],
    rows: Vec<T>,
    id_of: impl Fn(&T) -> &RecordId,
) -> Vec<T> {
    let mut by_id: HashMap<RecordId, T> =
        rows.into_iter().map(|r| (id_of(&r).clone(), r)).collect();
    unique_ids(ids)
        .into_iter()
        .filter_map(|id| by_id.remove(id))
        .collect()
}

/// The links of a page as applying them one after the other would leave them: a later
/// link replaces an earlier one with the same local id or the same remote id.
pub(crate) fn dedupe_links(links: Vec<Link>) -> Vec<Link> {
    let mut kept: Vec<Option<Link>> = Vec::with_capacity(links.len());
    let mut by_local: HashMap<RecordId, usize> = HashMap::with_capacity(links.len());
    let mut by_remote: HashMap<RecordId, usize> = HashMap::with_capacity(links.len());
    for link in links {
        for index in [by_local.get(&link.local_id), by_remote.get(&link.remote_id)]
            .into_iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
        {
            if let Some(old) = kept[index].take() {
                by_local.remove(&old.local_id);
                by_remote.remove(&old.remote_id);
            }
        }
        by_local.insert(link.local_id.clone(), kept.len());
        by_remote.insert(link.remote_id.clone(), kept.len());
        kept.push(Some(link));
    }
    kept.into_iter().flatten().collect()
}

/// A link with its timestamps at stored precision.
pub(crate) fn stored_link(mut link: Link) -> Link {
    link.synced_at = truncate(link.synced_at);
    link.remote_modified_at = link.remote_modified_at.map(truncate);
    link.local_modified_at = link.local_modified_at.map(truncate);
    link
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use crmsync_core::Fields;

    fn link(local: &str, remote: &str) -> Link {
        Link {
            local_id: local.into(),
            remote_id: remote.into(),
            base: Fields::new(),
            base_hash: 0,
            remote_modified_at: None,
            local_modified_at: None,
            synced_at: Utc::now(),
        }
    }

    #[test]
    fn later_links_replace_earlier_ones_by_either_id() {
        let out = dedupe_links(vec![
            link("l1", "r1"),
            link("l2", "r2"),
            link("l1", "r3"),
            link("l4", "r2"),
        ]);
        let pairs: Vec<_> = out
            .iter()
            .map(|l| (l.local_id.as_str(), l.remote_id.as_str()))
            .collect();
        assert_eq!(pairs, vec![("l1", "r3"), ("l4", "r2")]);
    }

    fn item(local: Option<&str>, reason: &str, secs: i64) -> ReviewItem {
        let at = DateTime::from_timestamp(1_700_000_000 + secs, 1_234_567).unwrap();
        ReviewItem {
            id: Some(99),
            connection: "crm".into(),
            object: ObjectKind::Contact,
            kind: ReviewKind::Conflict,
            local_id: local.map(RecordId::from),
            remote_id: None,
            fields: vec!["email".to_owned()],
            base: Fields::new(),
            local: Fields::new(),
            remote: Fields::new(),
            candidates: Vec::new(),
            reason: reason.to_owned(),
            status: ReviewStatus::Resolved,
            resolution: [("email".to_owned(), crmsync_core::ReviewChoice::Local)].into(),
            resolved_by: Some("someone".to_owned()),
            resolved_at: Some(at),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn reviews_parked_twice_in_a_page_are_kept_once_as_pending() {
        let out = parked_reviews(vec![
            item(Some("l-1"), "a", 0),
            item(None, "b", 1),
            item(Some("l-1"), "c", 2),
            item(Some(""), "d", 3),
        ]);
        let reasons: Vec<_> = out.iter().map(|i| i.reason.as_str()).collect();
        assert_eq!(reasons, vec!["c", "d"], "a missing id equals an empty one");
        assert_eq!(
            out[0].created_at,
            item(None, "", 0)
                .created_at
                .with_nanosecond(1_234_000)
                .unwrap()
        );
        assert_eq!(out[0].updated_at.timestamp(), 1_700_000_002);
        for parked in &out {
            assert_eq!(parked.id, None);
            assert_eq!(parked.status, ReviewStatus::Pending);
            assert!(parked.resolution.is_empty());
            assert_eq!(parked.resolved_by, None);
            assert_eq!(parked.resolved_at, None);
        }
    }

    #[test]
    fn hashes_survive_the_signed_column() {
        for h in [0, 1, u64::MAX, 1 << 63, 0xdead_beef_dead_beef] {
            assert_eq!(hash_from_i64(hash_to_i64(h)), h);
        }
    }

    #[test]
    fn statements_stay_under_the_bind_limit() {
        assert_eq!(rows_per_statement(32766, 10, 0), 3276);
        assert_eq!(rows_per_statement(65535, 12, 3), 5461);
        assert_eq!(rows_per_statement(5, 10, 0), 1);
    }
}

//! The change feed, by a `(SystemModstamp, Id)` cursor.
//!
//! A pass has up to three phases:
//! 1. **scan**: `SELECT … WHERE SystemModstamp >= :since ORDER BY SystemModstamp, Id`,
//!    following `nextRecordsUrl`. The locator is kept in the cursor so a resumed run
//!    continues the same query; when it has expired (`INVALID_QUERY_LOCATOR`) the
//!    query restarts after the last record delivered:
//!    `SystemModstamp > :ts OR (SystemModstamp = :ts AND Id > :id)`, so records
//!    sharing a timestamp across a page boundary are never dropped.
//! 2. **bulk** instead of the scan, for a full pass over more records than
//!    `bulk_query_threshold` (a Bulk API 2.0 query job paged by `Sforce-Locator`).
//! 3. **deletes**: `queryAll … WHERE IsDeleted = true AND SystemModstamp >= :del_since`.
//!
//! The pass then completes with a cursor for the next one, reaching back by the
//! overlap window from the newest `SystemModstamp` seen (server time, so clock skew
//! cannot skip records); re-read records are recognised by the engine's base hash.

use chrono::{DateTime, Utc};
use crmsync_core::{
    Change, ChangeKind, ChangePage, ChangesRequest, Cursor, Error, ErrorKind, ObjectKind, Origin,
    Record, Result,
};
use serde::{Deserialize, Serialize};

use crate::{
    SalesforceProvider,
    core::{QueryPage, has_code},
    objects::{SYSTEM_FIELDS, to_record},
    soql::{Cond, Soql},
};

const VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    /// REST query ordered by `(SystemModstamp, Id)`.
    Scan,
    /// Bulk API 2.0 query job (large full passes).
    Bulk,
    /// Deleted records through `queryAll`.
    Deletes,
}

/// The Salesforce cursor, JSON-encoded into [`Cursor`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SfCursor {
    pub v: u8,
    pub phase: Phase,
    /// A full pass (origin `full_scan`, may use Bulk API).
    #[serde(default)]
    pub full: bool,
    /// Scan lower bound, epoch ms, inclusive (0: none).
    pub since: i64,
    /// Deletes lower bound, epoch ms, inclusive (0: none).
    pub del_since: i64,
    /// The last record delivered in this phase: `(SystemModstamp ms, Id)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<(i64, String)>,
    /// The query locator of the phase's running query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url: Option<String>,
    /// The Bulk API query job of a bulk phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// The `Sforce-Locator` of the next bulk results page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locator: Option<String>,
    /// `totalSize` (or the count) of this pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Newest `SystemModstamp` of a live record seen in this pass, epoch ms.
    #[serde(default)]
    pub high: i64,
    /// Newest `SystemModstamp` of a deleted record seen in this pass, epoch ms.
    #[serde(default)]
    pub del_high: i64,
}

impl SfCursor {
    pub(crate) fn start(since: Option<i64>, full: bool) -> Self {
        Self {
            v: VERSION,
            phase: Phase::Scan,
            full,
            since: since.unwrap_or(0),
            del_since: since.unwrap_or(0),
            after: None,
            next_url: None,
            job: None,
            locator: None,
            total: None,
            high: 0,
            del_high: 0,
        }
    }

    pub(crate) fn encode(&self) -> Cursor {
        Cursor::new(serde_json::to_string(self).unwrap_or_default())
    }

    pub(crate) fn decode(cursor: &Cursor) -> Result<Self> {
        let parsed: Self = serde_json::from_str(cursor.as_str()).map_err(|e| {
            Error::new(ErrorKind::InvalidRequest, "unreadable Salesforce cursor").with_source(e)
        })?;
        if parsed.v != VERSION {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("Salesforce cursor version {} is not supported", parsed.v),
            ));
        }
        Ok(parsed)
    }

    /// Moves to the next phase, forgetting the position of this one.
    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.after = None;
        self.next_url = None;
        self.job = None;
        self.locator = None;
    }

    /// The cursor of the next incremental pass once this one completes.
    pub(crate) fn next_pass(&self, overlap_ms: i64) -> Self {
        let reach = |bound: i64, high: i64| {
            if high > 0 {
                bound.max(high.saturating_sub(overlap_ms))
            } else {
                bound
            }
        };
        Self {
            since: reach(self.since, self.high),
            del_since: reach(self.del_since, self.del_high),
            ..Self::start(None, false)
        }
    }

    /// Records a delivered record's position.
    fn advance(&mut self, record: &Record) {
        let ts = record
            .modified_at
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        if self.phase == Phase::Deletes {
            self.del_high = self.del_high.max(ts);
        } else {
            self.high = self.high.max(ts);
        }
        self.after = Some((ts, record.id.as_str().to_owned()));
    }
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// `WHERE` of a phase's query: after the last position, else from the lower bound.
pub(crate) fn window(after: &Option<(i64, String)>, since: i64) -> Option<Cond> {
    match after {
        Some((ts, id)) => Some(
            Cond::gt("SystemModstamp", instant(*ts))
                .or(Cond::eq("SystemModstamp", instant(*ts)).and(Cond::gt("Id", id.as_str()))),
        ),
        None if since > 0 => Some(Cond::ge("SystemModstamp", instant(since))),
        None => None,
    }
}

/// The records wanted per page: the caller's size, capped at the configured page.
fn batch(wanted: usize, max: usize) -> usize {
    if wanted == 0 { max } else { wanted.min(max) }
}

impl SalesforceProvider {
    pub(crate) async fn fetch_changes(
        &self,
        object: &ObjectKind,
        request: ChangesRequest,
    ) -> Result<ChangePage> {
        let mut cursor = match &request.cursor {
            Some(c) => SfCursor::decode(c)?,
            None => SfCursor::start(
                request.since.map(|d| d.timestamp_millis()),
                request.full || request.since.is_none(),
            ),
        };
        let sobject = self.sobject(object)?;
        if cursor.phase == Phase::Scan
            && cursor.full
            && cursor.total.is_none()
            && cursor.after.is_none()
            && cursor.next_url.is_none()
            && self.config.bulk_query_threshold < u64::MAX
        {
            // The first page of a full pass: large objects read faster in bulk.
            let mut count = Soql::count().from(sobject.as_str());
            if let Some(cond) = window(&None, cursor.since) {
                count = count.where_(cond);
            }
            let counted = self.query_page(&count.build()?, false, 0).await?;
            cursor.total = Some(counted.total_size);
            if counted.total_size > self.config.bulk_query_threshold {
                cursor.enter(Phase::Bulk);
            }
        }
        let size = batch(request.page_size, self.config.query_page_size);
        match cursor.phase {
            Phase::Scan => {
                let fields = self.select_fields(&sobject, &request.fields).await?;
                self.scan_page(object, &sobject, &fields, &request.fields, size, cursor)
                    .await
            }
            Phase::Bulk => {
                let fields = self.select_fields(&sobject, &request.fields).await?;
                self.bulk_page(object, &sobject, &fields, &request.fields, size, cursor)
                    .await
            }
            Phase::Deletes => self.deletes_page(object, &sobject, size, cursor).await,
        }
    }

    /// Runs the phase's query: the stored locator if still valid, else a query from
    /// the last position.
    async fn phase_query(
        &self,
        soql: impl Fn(&SfCursor) -> Result<String>,
        all: bool,
        size: usize,
        cursor: &mut SfCursor,
    ) -> Result<QueryPage> {
        if let Some(url) = cursor.next_url.take() {
            match self.query_more(&url, size).await {
                Ok(page) => return Ok(page),
                Err(e)
                    if has_code(&e, "INVALID_QUERY_LOCATOR") || e.kind() == ErrorKind::NotFound =>
                {
                    tracing::debug!(error = %e, "query locator expired; restarting from the cursor position");
                }
                Err(e) => return Err(e),
            }
        }
        self.query_page(&soql(cursor)?, all, size).await
    }

    async fn scan_page(
        &self,
        object: &ObjectKind,
        sobject: &str,
        fields: &[String],
        requested: &[String],
        size: usize,
        mut cursor: SfCursor,
    ) -> Result<ChangePage> {
        let soql = |c: &SfCursor| {
            let mut q = Soql::select(fields).from(sobject);
            if let Some(cond) = window(&c.after, c.since) {
                q = q.where_(cond);
            }
            q.order_by("SystemModstamp").order_by("Id").build()
        };
        let page = self.phase_query(soql, false, size, &mut cursor).await?;
        if cursor.total.is_none() {
            cursor.total = Some(page.total_size);
        }
        let origin = if cursor.full {
            Origin::FullScan
        } else {
            Origin::Poll
        };
        let mut changes = Vec::with_capacity(page.records.len());
        for raw in page.records {
            let record = to_record(object, raw, requested)?;
            cursor.advance(&record);
            changes.push(Change {
                kind: if record.deleted {
                    ChangeKind::Delete
                } else {
                    ChangeKind::Upsert
                },
                record,
                origin,
            });
        }
        match page.next_records_url.filter(|_| !page.done) {
            Some(url) => cursor.next_url = Some(url),
            None => cursor.enter(Phase::Deletes),
        }
        Ok(ChangePage {
            changes,
            next: Some(cursor.encode()),
            complete: false,
            estimated_total: cursor.total,
        })
    }

    async fn deletes_page(
        &self,
        object: &ObjectKind,
        sobject: &str,
        size: usize,
        mut cursor: SfCursor,
    ) -> Result<ChangePage> {
        let soql = |c: &SfCursor| {
            let mut q = Soql::select(&SYSTEM_FIELDS)
                .from(sobject)
                .where_(Cond::eq("IsDeleted", true));
            if let Some(cond) = window(&c.after, c.del_since) {
                q = q.where_(cond);
            }
            q.order_by("SystemModstamp").order_by("Id").build()
        };
        let page = self.phase_query(soql, true, size, &mut cursor).await?;
        let mut changes = Vec::with_capacity(page.records.len());
        for raw in page.records {
            let mut record = to_record(object, raw, &[])?;
            cursor.advance(&record);
            record.deleted = true;
            changes.push(Change {
                record,
                kind: ChangeKind::Delete,
                origin: Origin::Poll,
            });
        }
        let (next, complete) = match page.next_records_url.filter(|_| !page.done) {
            Some(url) => {
                cursor.next_url = Some(url);
                (cursor, false)
            }
            None => {
                let overlap =
                    i64::try_from(self.config.overlap.as_millis()).unwrap_or(i64::MAX / 4);
                (cursor.next_pass(overlap), true)
            }
        };
        Ok(ChangePage {
            changes,
            next: Some(next.encode()),
            complete,
            estimated_total: None,
        })
    }

    /// Records of a Bulk API query page as changes; moves to the deletes phase after
    /// the last page.
    pub(crate) fn bulk_changes(
        &self,
        records: Vec<Record>,
        next_locator: Option<String>,
        mut cursor: SfCursor,
    ) -> ChangePage {
        let mut changes = Vec::with_capacity(records.len());
        for record in records {
            let ts = record
                .modified_at
                .map(|t| t.timestamp_millis())
                .unwrap_or(0);
            cursor.high = cursor.high.max(ts);
            changes.push(Change {
                kind: if record.deleted {
                    ChangeKind::Delete
                } else {
                    ChangeKind::Upsert
                },
                record,
                origin: Origin::FullScan,
            });
        }
        match next_locator {
            Some(locator) => cursor.locator = Some(locator),
            None => cursor.enter(Phase::Deletes),
        }
        ChangePage {
            changes,
            estimated_total: cursor.total,
            next: Some(cursor.encode()),
            complete: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let mut c = SfCursor::start(Some(5), true);
        c.after = Some((1_700_000_000_000, "003000000000001AAA".into()));
        c.next_url = Some("/services/data/v62.0/query/01gXX-2000".into());
        c.total = Some(12);
        assert_eq!(SfCursor::decode(&c.encode()).ok(), Some(c));
        assert!(SfCursor::decode(&Cursor::new("{not json")).is_err());
        assert!(SfCursor::decode(&Cursor::new("\u{0}not a cursor")).is_err());
        let err = SfCursor::decode(&Cursor::new(
            r#"{"v":9,"phase":"scan","since":0,"del_since":0}"#,
        ))
        .expect_err("future version");
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn next_pass_reaches_back_by_the_overlap_and_never_moves_backwards() {
        let mut c = SfCursor::start(None, true);
        c.phase = Phase::Deletes;
        c.high = 90_000;
        c.del_high = 50_000;
        let next = c.next_pass(1_000);
        assert_eq!(next.phase, Phase::Scan);
        assert!(!next.full);
        assert_eq!((next.since, next.del_since), (89_000, 49_000));
        // A pass that saw nothing keeps its bounds.
        let quiet = next.next_pass(1_000);
        assert_eq!((quiet.since, quiet.del_since), (89_000, 49_000));
        let mut older = quiet.clone();
        older.high = 10;
        assert_eq!(older.next_pass(1_000).since, 89_000);
    }

    #[test]
    fn the_resume_window_breaks_timestamp_ties_by_id() {
        let at = 1_706_695_200_000; // 2024-01-31T10:00:00Z
        let cond = window(&Some((at, "003B".into())), 5).unwrap_or_else(|| panic!());
        let q = Soql::select(&["Id"])
            .from("Contact")
            .where_(cond)
            .build()
            .unwrap_or_default();
        assert_eq!(
            q,
            "SELECT Id FROM Contact WHERE (SystemModstamp > 2024-01-31T10:00:00.000Z OR \
             (SystemModstamp = 2024-01-31T10:00:00.000Z AND Id > '003B'))"
        );
        let first = window(&None, at).unwrap_or_else(|| panic!());
        assert_eq!(first, Cond::ge("SystemModstamp", instant(at)));
        assert!(window(&None, 0).is_none());
    }
}

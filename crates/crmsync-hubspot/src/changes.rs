//! The change feed: a full scan by the list endpoint, incremental reads by search on
//! the last-modified property with a `(timestamp, id)` cursor, and deletes from the
//! archived list.
//!
//! Search stops at 10,000 results, so a window that would page past the cap is split:
//! the next query starts at the last timestamp seen. If every result of a window has
//! the same timestamp, the window is walked by id within that instant
//! (`lastmodified = t AND hs_object_id > id`, sorted by id), so equal timestamps never
//! drop records. Re-read records are recognised by the engine's base hash.

use chrono::Utc;
use crmsync_core::{
    Change, ChangeKind, ChangePage, ChangesRequest, Cursor, Error, ErrorKind, ObjectKind, Origin,
    Result,
};
use crmsync_http::ApiRequest;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    HubSpotProvider,
    core::HsPage,
    objects::{hs_type, parse_instant, to_record},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// Full scan through the list endpoint.
    List,
    /// Incremental window through search.
    Search,
    /// Deletes through the archived list.
    Archived,
}

/// The HubSpot cursor, JSON-encoded into [`Cursor`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HsCursor {
    v: u8,
    phase: Phase,
    /// List: the next record id; search: the result offset; archived: the next id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    /// Search window lower bound, epoch ms, inclusive.
    since: i64,
    /// Walking one instant by id: only ids greater than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tie_after: Option<String>,
    /// Highest modification time seen in this pass, epoch ms.
    high: i64,
    /// Archived at or after this instant (epoch ms) are deletes to report.
    del_since: i64,
    /// When this pass started, epoch ms.
    started: i64,
}

impl HsCursor {
    fn start(since: Option<i64>, now: i64) -> Self {
        Self {
            v: 1,
            phase: if since.is_some() {
                Phase::Search
            } else {
                Phase::List
            },
            after: None,
            since: since.unwrap_or(0),
            tie_after: None,
            high: 0,
            del_since: since.unwrap_or(0),
            started: now,
        }
    }

    pub(crate) fn encode(&self) -> Cursor {
        Cursor::new(serde_json::to_string(self).unwrap_or_default())
    }

    pub(crate) fn decode(cursor: &Cursor) -> Result<Self> {
        let parsed: Self = serde_json::from_str(cursor.as_str()).map_err(|e| {
            Error::new(ErrorKind::InvalidRequest, "unreadable HubSpot cursor").with_source(e)
        })?;
        if parsed.v != 1 {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("HubSpot cursor version {} is not supported", parsed.v),
            ));
        }
        Ok(parsed)
    }

    /// The cursor that starts the next incremental pass after this one completes.
    fn next_pass(&self, overlap_ms: i64) -> Self {
        let reached = if self.high > 0 {
            self.high.min(self.started)
        } else {
            self.started
        };
        Self {
            v: 1,
            phase: Phase::Search,
            after: None,
            since: self.since.max(reached - overlap_ms),
            tie_after: None,
            high: 0,
            del_since: self.del_since.max(self.started - overlap_ms),
            started: 0,
        }
    }
}

impl HubSpotProvider {
    pub(crate) async fn fetch_changes(
        &self,
        object: &ObjectKind,
        request: ChangesRequest,
    ) -> Result<ChangePage> {
        let now = Utc::now().timestamp_millis();
        let mut cursor = match &request.cursor {
            Some(c) => HsCursor::decode(c)?,
            None => HsCursor::start(request.since.map(|d| d.timestamp_millis()), now),
        };
        if cursor.started == 0 {
            // The first page of a new pass: the pass starts now.
            cursor.started = now;
        }
        match cursor.phase {
            Phase::List => self.list_page(object, &request, cursor).await,
            Phase::Search => self.search_page(object, &request, cursor).await,
            Phase::Archived => self.archived_page(object, &request, cursor).await,
        }
    }

    fn properties(&self, object: &ObjectKind, request: &ChangesRequest) -> Result<Vec<String>> {
        let t = hs_type(object)?;
        let mut props = request.fields.clone();
        if !props.iter().any(|p| p == t.last_modified) {
            props.push(t.last_modified.to_owned());
        }
        Ok(props)
    }

    async fn list_page(
        &self,
        object: &ObjectKind,
        request: &ChangesRequest,
        mut cursor: HsCursor,
    ) -> Result<ChangePage> {
        let t = hs_type(object)?;
        let limit = clamp(request.page_size, self.config.list_page_size);
        let mut req = ApiRequest::get("hubspot.list", format!("/crm/v3/objects/{}", t.path))
            .query("limit", limit.to_string())
            .query("properties", self.properties(object, request)?.join(","))
            .query("archived", "false");
        if let Some(after) = &cursor.after {
            req = req.query("after", after.clone());
        }
        let (_, page): (_, HsPage) = self.client.send_json(&req).await?;
        let changes = self.to_changes(object, page.results, Origin::FullScan, &mut cursor);
        match page.paging.and_then(|p| p.next) {
            Some(next) => cursor.after = Some(next.after),
            None => {
                cursor.phase = Phase::Archived;
                cursor.after = None;
            }
        }
        Ok(ChangePage {
            changes,
            next: Some(cursor.encode()),
            complete: false,
            estimated_total: None,
        })
    }

    async fn search_page(
        &self,
        object: &ObjectKind,
        request: &ChangesRequest,
        mut cursor: HsCursor,
    ) -> Result<ChangePage> {
        let t = hs_type(object)?;
        let limit = clamp(request.page_size, self.config.search_page_size);
        let (filters, sort) = match &cursor.tie_after {
            Some(id) => (
                json!([
                    {"propertyName": t.last_modified, "operator": "EQ", "value": cursor.since.to_string()},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": id},
                ]),
                "hs_object_id",
            ),
            None => (
                json!([{"propertyName": t.last_modified, "operator": "GTE", "value": cursor.since.to_string()}]),
                t.last_modified,
            ),
        };
        let mut body = json!({
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self.properties(object, request)?,
            "limit": limit,
        });
        if let Some(after) = &cursor.after {
            body["after"] = json!(after);
        }
        let req = ApiRequest::post(
            "hubspot.search",
            format!("/crm/v3/objects/{}/search", t.path),
            body,
            true,
        )
        .bucket("search");
        let (_, page): (_, HsPage) = self.client.send_json(&req).await?;
        let last = page.results.last().map(|r| {
            let ts = r
                .properties
                .get(t.last_modified)
                .and_then(|v| v.as_deref())
                .and_then(parse_instant)
                .or_else(|| r.updated_at.as_deref().and_then(parse_instant))
                .map(|d| d.timestamp_millis());
            (r.id.clone(), ts)
        });
        let total = page.total;
        let changes = self.to_changes(object, page.results, Origin::Poll, &mut cursor);
        let next_offset = page
            .paging
            .and_then(|p| p.next)
            .and_then(|n| n.after.parse::<usize>().ok());
        match (next_offset, last) {
            (Some(offset), Some((last_id, last_ts))) => {
                if offset + limit <= self.config.search_cap {
                    cursor.after = Some(offset.to_string());
                } else if cursor.tie_after.is_some() {
                    // Walking one instant by id: continue after the last id.
                    cursor.tie_after = Some(last_id);
                    cursor.after = None;
                } else {
                    match last_ts {
                        Some(ts) if ts > cursor.since => cursor.since = ts,
                        // The whole capped window shares one instant: walk it by id.
                        _ => cursor.tie_after = Some(last_id),
                    }
                    cursor.after = None;
                }
            }
            _ => {
                cursor.after = None;
                if cursor.tie_after.take().is_some() {
                    // The instant is exhausted; continue after it.
                    cursor.since += 1;
                } else {
                    cursor.phase = Phase::Archived;
                }
            }
        }
        Ok(ChangePage {
            changes,
            next: Some(cursor.encode()),
            complete: false,
            estimated_total: total,
        })
    }

    async fn archived_page(
        &self,
        object: &ObjectKind,
        request: &ChangesRequest,
        mut cursor: HsCursor,
    ) -> Result<ChangePage> {
        let t = hs_type(object)?;
        let limit = clamp(request.page_size, self.config.list_page_size);
        let mut req = ApiRequest::get(
            "hubspot.list_archived",
            format!("/crm/v3/objects/{}", t.path),
        )
        .query("limit", limit.to_string())
        .query("properties", t.last_modified)
        .query("archived", "true");
        if let Some(after) = &cursor.after {
            req = req.query("after", after.clone());
        }
        let (_, page): (_, HsPage) = self.client.send_json(&req).await?;
        let del_since = cursor.del_since;
        let changes = page
            .results
            .into_iter()
            .filter(|r| {
                let at = r
                    .archived_at
                    .as_deref()
                    .and_then(parse_instant)
                    .map(|d| d.timestamp_millis());
                at.is_none_or(|at| at >= del_since)
            })
            .map(|r| {
                let mut record = to_record(object, r);
                record.deleted = true;
                Change {
                    record,
                    kind: ChangeKind::Delete,
                    origin: Origin::Poll,
                }
            })
            .collect();
        let overlap = i64::try_from(self.config.overlap.as_millis()).unwrap_or(i64::MAX / 4);
        let (next, complete) = match page.paging.and_then(|p| p.next) {
            Some(n) => {
                cursor.after = Some(n.after);
                (cursor, false)
            }
            None => (cursor.next_pass(overlap), true),
        };
        Ok(ChangePage {
            changes,
            next: Some(next.encode()),
            complete,
            estimated_total: None,
        })
    }

    fn to_changes(
        &self,
        object: &ObjectKind,
        results: Vec<crate::core::HsObject>,
        origin: Origin,
        cursor: &mut HsCursor,
    ) -> Vec<Change> {
        results
            .into_iter()
            .map(|r| {
                let record = to_record(object, r);
                if let Some(ts) = record.modified_at {
                    cursor.high = cursor.high.max(ts.timestamp_millis());
                }
                Change {
                    kind: if record.deleted {
                        ChangeKind::Delete
                    } else {
                        ChangeKind::Upsert
                    },
                    record,
                    origin,
                }
            })
            .collect()
    }
}

fn clamp(wanted: usize, max: usize) -> usize {
    if wanted == 0 { max } else { wanted.min(max) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = HsCursor::start(Some(5), 10);
        assert_eq!(HsCursor::decode(&c.encode()).ok(), Some(c));
        assert!(HsCursor::decode(&Cursor::new("{not json")).is_err());
        assert!(
            HsCursor::decode(&Cursor::new(
                r#"{"v":9,"phase":"list","since":0,"high":0,"del_since":0,"started":0}"#
            ))
            .is_err()
        );
    }

    #[test]
    fn next_pass_reaches_back_by_the_overlap_and_never_moves_backwards() {
        let mut c = HsCursor::start(None, 100_000);
        c.high = 90_000;
        let next = c.next_pass(1_000);
        assert_eq!(next.phase, Phase::Search);
        assert_eq!(next.since, 89_000);
        assert_eq!(next.del_since, 99_000);
        let mut again = next.clone();
        again.high = 0;
        again.started = 300_000;
        let after = again.next_pass(1_000);
        assert!(after.since >= next.since);
    }
}

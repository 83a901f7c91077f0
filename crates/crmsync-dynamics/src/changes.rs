//! The change feed: Dataverse change tracking, with the delta link as the cursor.
//!
//! - **Scan** (the first pass, a `full` pass, or a restart):
//!   `GET {set}?$select=…` with `Prefer: odata.track-changes,odata.maxpagesize=N`,
//!   following `@odata.nextLink` unchanged (re-sending the same page size). The last
//!   page carries `@odata.deltaLink`; the pass completes with it as the cursor.
//!   Dataverse refuses `$filter` with change tracking, so a pass with a start date
//!   (`since`) first takes a delta link with an id-only tracking query, then scans
//!   `$filter=modifiedon ge {since}` without tracking; rows changed during the scan come
//!   with the next delta.
//! - **Delta**: `GET {deltaLink}` returns rows changed since the link was issued and
//!   `$deletedEntity` tombstones (`{"id": …, "reason": "deleted"}`), which become
//!   deletes; pages follow `@odata.nextLink`, and the last page's new delta link is the
//!   next cursor.
//! - **Expired token**: a delta link older than the environment keeps
//!   (`ExpireChangeTrackingInDays`, 7 days by default) answers 400 with
//!   [`EXPIRED_VERSION_STAMP`](crate::EXPIRED_VERSION_STAMP) (`0x80044352`, "Version
//!   stamp associated with the client has expired. Please perform a full sync."). The
//!   feed then starts a full tracking scan at once: every live row is delivered again
//!   (re-read rows cost nothing: the engine recognizes them by their base hash), so no
//!   change is lost. Rows *deleted* while the token was expired cannot be told apart
//!   from rows never seen; a reconcile pass finds them.
//!
//! The cursor is JSON: `{"v":1,"phase":"delta","next":"<delta link>","page":5000}`. A
//! URL in a cursor must be below the organization URL: a cursor never sends the token
//! to another host.

use crmsync_core::{
    Change, ChangeKind, ChangePage, ChangesRequest, Cursor, Error, ErrorKind, ObjectKind, Origin,
    Record, Result,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    DynamicsProvider,
    core::{EXPIRED_VERSION_STAMP, encode_query, has_code},
    odata::Filter,
    tables::{Table, to_record},
};

/// Dataverse's largest (and default) page.
pub(crate) const MAX_PAGE: usize = 5_000;

const VERSION: u8 = 1;

/// A page of a query or a delta.
#[derive(Debug, Deserialize)]
pub(crate) struct ODataPage {
    #[serde(default)]
    pub value: Vec<Map<String, Value>>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// Reading every row (or every row since a start date).
    Scan,
    /// Reading changes from a delta link.
    Delta,
}

/// The Dataverse cursor, JSON-encoded into [`Cursor`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DvCursor {
    v: u8,
    phase: Phase,
    /// The URL to read next: a next link, or (delta phase, between passes) the delta link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// A filtered scan's delta link, taken before the scan started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delta: Option<String>,
    /// The page size the running query started with (next links re-send it).
    page: usize,
    /// The scan is a change-tracking query (its last page gives the delta link).
    #[serde(default)]
    tracking: bool,
    /// Lower bound of a filtered scan (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<String>,
}

impl DvCursor {
    fn encode(&self) -> Cursor {
        Cursor::new(serde_json::to_string(self).unwrap_or_default())
    }

    fn decode(cursor: &Cursor) -> Result<Self> {
        let parsed: Self = serde_json::from_str(cursor.as_str()).map_err(|e| {
            Error::new(ErrorKind::InvalidRequest, "unreadable Dataverse cursor").with_source(e)
        })?;
        if parsed.v != VERSION {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("Dataverse cursor version {} is not supported", parsed.v),
            ));
        }
        Ok(parsed)
    }
}

/// Whether a delta item is a `$deletedEntity` tombstone.
pub(crate) fn is_tombstone(item: &Map<String, Value>, table: &Table) -> bool {
    let context = item
        .get("@odata.context")
        .and_then(Value::as_str)
        .unwrap_or("");
    context.contains("$deletedEntity")
        || (item.get("reason").and_then(Value::as_str) == Some("deleted")
            && !item.contains_key(&table.id))
}

impl DynamicsProvider {
    /// Checks that a URL from a cursor or a response points at this organization.
    fn own_url(&self, url: &str) -> Result<()> {
        let org = self.config.org_url.trim_end_matches('/');
        let ok = url
            .strip_prefix(org)
            .is_some_and(|rest| rest.starts_with('/'));
        if ok {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidRequest,
                "a Dataverse paging link points outside the organization URL",
            ))
        }
    }

    pub(crate) async fn fetch_changes(
        &self,
        object: &ObjectKind,
        request: ChangesRequest,
    ) -> Result<ChangePage> {
        let cursor = match &request.cursor {
            Some(c) => DvCursor::decode(c)?,
            None => {
                let page = self.page_for(request.page_size);
                let since = request
                    .since
                    .map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                DvCursor {
                    v: VERSION,
                    phase: Phase::Scan,
                    next: None,
                    delta: None,
                    page,
                    tracking: since.is_none(),
                    since,
                }
            }
        };
        if let Some(url) = cursor.next.as_deref().or(cursor.delta.as_deref()) {
            self.own_url(url)?;
        }
        let table = self.table(object).await?;
        match cursor.phase {
            Phase::Scan => {
                self.scan_page(object, &table, &request.fields, cursor)
                    .await
            }
            Phase::Delta => match self
                .delta_page(object, &table, &request.fields, cursor)
                .await
            {
                Err(e) if has_code(&e, EXPIRED_VERSION_STAMP) => {
                    tracing::warn!(
                        table = %table.set,
                        "the change-tracking token expired; starting a full resync"
                    );
                    let restart = DvCursor {
                        v: VERSION,
                        phase: Phase::Scan,
                        next: None,
                        delta: None,
                        page: self.page_for(request.page_size),
                        tracking: true,
                        since: None,
                    };
                    self.scan_page(object, &table, &request.fields, restart)
                        .await
                }
                other => other,
            },
        }
    }

    /// The page size to ask for: the caller's, capped; `0` means the largest.
    fn page_for(&self, wanted: usize) -> usize {
        let cap = self.config.page_size.clamp(1, MAX_PAGE);
        if wanted == 0 { cap } else { wanted.min(cap) }
    }

    /// A tracking query over ids only, read to its end: the delta link a filtered scan
    /// continues from.
    async fn anchor(&self, table: &Table) -> Result<String> {
        let prefer = vec![
            "odata.track-changes".to_owned(),
            format!("odata.maxpagesize={MAX_PAGE}"),
        ];
        let mut url = self.api_path(&format!("{}?$select={}", table.set, table.id));
        loop {
            let (_, page): (_, ODataPage) = self.get_json("dynamics.anchor", &url, &prefer).await?;
            match (page.next_link, page.delta_link) {
                (Some(next), _) => {
                    self.own_url(&next)?;
                    url = next;
                }
                (None, Some(delta)) => return Ok(delta),
                (None, None) => {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        "a change-tracking query ended without @odata.deltaLink",
                    )
                    .with_operation("dynamics.anchor"));
                }
            }
        }
    }

    async fn scan_page(
        &self,
        object: &ObjectKind,
        table: &Table,
        fields: &[String],
        mut cursor: DvCursor,
    ) -> Result<ChangePage> {
        if !cursor.tracking && cursor.delta.is_none() && cursor.next.is_none() {
            cursor.delta = Some(self.anchor(table).await?);
        }
        let url = match &cursor.next {
            Some(next) => next.clone(),
            None => {
                let mut query = Vec::new();
                if let Some(select) = self.select(table, fields).await? {
                    query.push(format!("$select={}", encode_query(&select)));
                }
                if let Some(since) = &cursor.since {
                    let at = chrono::DateTime::parse_from_rfc3339(since)
                        .map(|d| d.with_timezone(&chrono::Utc))
                        .map_err(|e| {
                            Error::new(ErrorKind::InvalidRequest, "unreadable cursor date")
                                .with_source(e)
                        })?;
                    let filter = Filter::ge("modifiedon", at).build()?;
                    query.push(format!("$filter={}", encode_query(&filter)));
                }
                let q = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", query.join("&"))
                };
                self.api_path(&format!("{}{q}", table.set))
            }
        };
        let mut prefer = vec![format!("odata.maxpagesize={}", cursor.page)];
        if cursor.tracking {
            prefer.insert(0, "odata.track-changes".to_owned());
        }
        let (_, page): (_, ODataPage) = self.get_json("dynamics.scan", &url, &prefer).await?;
        let mut changes = Vec::with_capacity(page.value.len());
        for row in page.value {
            let record = to_record(object, table, row, fields)?;
            changes.push(Change {
                record,
                kind: ChangeKind::Upsert,
                origin: Origin::FullScan,
            });
        }
        if let Some(next) = page.next_link {
            self.own_url(&next)?;
            cursor.next = Some(next);
            return Ok(ChangePage {
                changes,
                next: Some(cursor.encode()),
                complete: false,
                estimated_total: None,
            });
        }
        let delta = if cursor.tracking {
            page.delta_link
        } else {
            cursor.delta.take()
        }
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                "a change-tracking query ended without @odata.deltaLink",
            )
            .with_operation("dynamics.scan")
        })?;
        self.own_url(&delta)?;
        let done = DvCursor {
            v: VERSION,
            phase: Phase::Delta,
            next: Some(delta),
            delta: None,
            page: cursor.page,
            tracking: true,
            since: None,
        };
        Ok(ChangePage {
            changes,
            next: Some(done.encode()),
            complete: true,
            estimated_total: None,
        })
    }

    async fn delta_page(
        &self,
        object: &ObjectKind,
        table: &Table,
        fields: &[String],
        mut cursor: DvCursor,
    ) -> Result<ChangePage> {
        let url = cursor.next.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                "a Dataverse delta cursor without a link",
            )
        })?;
        let prefer = vec![
            "odata.track-changes".to_owned(),
            format!("odata.maxpagesize={}", cursor.page),
        ];
        let (_, page): (_, ODataPage) = self.get_json("dynamics.delta", &url, &prefer).await?;
        let mut changes = Vec::with_capacity(page.value.len());
        for item in page.value {
            if is_tombstone(&item, table) {
                let Some(id) = item.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let mut record =
                    Record::new(id.to_ascii_lowercase(), object.clone(), Default::default());
                record.deleted = true;
                changes.push(Change {
                    record,
                    kind: ChangeKind::Delete,
                    origin: Origin::Poll,
                });
            } else {
                changes.push(Change {
                    record: to_record(object, table, item, fields)?,
                    kind: ChangeKind::Upsert,
                    origin: Origin::Poll,
                });
            }
        }
        let (next, complete) = match (page.next_link, page.delta_link) {
            (Some(next), _) => (next, false),
            (None, Some(delta)) => (delta, true),
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::Decode,
                    "a delta page ended without @odata.nextLink or @odata.deltaLink",
                )
                .with_operation("dynamics.delta"));
            }
        };
        self.own_url(&next)?;
        cursor.next = Some(next);
        Ok(ChangePage {
            changes,
            next: Some(cursor.encode()),
            complete,
            estimated_total: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = DvCursor {
            v: VERSION,
            phase: Phase::Delta,
            next: Some("https://org.crm.dynamics.com/api/data/v9.2/contacts?$deltatoken=1%2101%2f01%2f2024".into()),
            delta: None,
            page: 500,
            tracking: true,
            since: None,
        };
        assert_eq!(DvCursor::decode(&c.encode()).ok(), Some(c));
        assert!(DvCursor::decode(&Cursor::new("\u{0}not a cursor")).is_err());
        let future = DvCursor::decode(&Cursor::new(r#"{"v":7,"phase":"scan","page":1}"#));
        assert_eq!(
            future.map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::InvalidRequest)
        );
    }

    #[test]
    fn tombstones_are_recognised() {
        let table = Table {
            set: "accounts".into(),
            logical: "account".into(),
            id: "accountid".into(),
        };
        let Value::Object(t) = json!({"@odata.context": "https://org/api/data/v9.0/$metadata#accounts/$deletedEntity", "id": "x", "reason": "deleted"})
        else {
            panic!()
        };
        assert!(is_tombstone(&t, &table));
        let Value::Object(row) =
            json!({"@odata.etag": "W/\"1\"", "accountid": "x", "name": "deleted"})
        else {
            panic!()
        };
        assert!(!is_tombstone(&row, &table));
    }
}

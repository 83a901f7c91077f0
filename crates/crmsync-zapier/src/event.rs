//! Record-change events: what REST hooks deliver, catch hooks receive and samples show.

use chrono::{DateTime, SecondsFormat, Utc};
use crmsync_core::{Fields, ObjectKind, RecordId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The record is new.
    Created,
    /// The record changed.
    Updated,
    /// The record was deleted.
    Deleted,
}

impl EventKind {
    /// `created`, `updated` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }
}

/// One change of one record, as sent to Zapier.
///
/// The JSON body ([`RecordEvent::to_json`]) is an object Zapier turns into one trigger
/// item:
///
/// ```json
/// {"id": "42-1718000000000000", "event": "contact.updated", "object": "contact",
///  "record_id": "42", "occurred_at": "2024-06-10T06:13:20.000000Z",
///  "data": {"email": "ada@example.com", "first_name": "Ada"}}
/// ```
///
/// `id` is unique per change (Zapier de-duplicates trigger items by `id`); `data`
/// holds the record's canonical fields (for `deleted`: the last ones known; for a
/// catch-hook update: the changed fields, `null` meaning cleared).
///
/// ```
/// use crmsync_core::{Fields, ObjectKind};
/// use crmsync_zapier::{EventKind, RecordEvent};
///
/// let event = RecordEvent::new(ObjectKind::Contact, EventKind::Created, "42", Fields::new());
/// assert_eq!(event.to_json()["event"], "contact.created");
/// assert_eq!(event.to_json()["record_id"], "42");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RecordEvent {
    /// The object.
    pub object: ObjectKind,
    /// What happened.
    pub kind: EventKind,
    /// The record's id in the application.
    pub record_id: RecordId,
    /// Canonical fields.
    pub fields: Fields,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Distinguishes changes of one record (the modification time in microseconds, or
    /// a sequence); part of the event id.
    pub version: String,
}

/// Microsecond precision, as the JSON carries it.
fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

impl RecordEvent {
    /// An event that happened now.
    pub fn new(
        object: ObjectKind,
        kind: EventKind,
        record_id: impl Into<RecordId>,
        fields: Fields,
    ) -> Self {
        let now = to_micros(Utc::now());
        Self {
            object,
            kind,
            record_id: record_id.into(),
            fields,
            occurred_at: now,
            version: now.timestamp_micros().to_string(),
        }
    }

    /// Sets when it happened (to the microsecond) and the version, from the time.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.occurred_at = to_micros(at);
        self.version = at.timestamp_micros().to_string();
        self
    }

    /// The event's unique id: `{record_id}-{version}` (`-deleted` appended for deletes,
    /// so a delete never shares an id with the last update).
    pub fn event_id(&self) -> String {
        match self.kind {
            EventKind::Deleted => format!("{}-{}-deleted", self.record_id, self.version),
            _ => format!("{}-{}", self.record_id, self.version),
        }
    }

    /// `contact.created`, `deal.deleted`, ...
    pub fn event_name(&self) -> String {
        format!("{}.{}", self.object, self.kind.as_str())
    }

    /// The JSON body sent to Zapier.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.event_id(),
            "event": self.event_name(),
            "object": self.object.as_str(),
            "record_id": self.record_id.as_str(),
            "occurred_at": self.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "data": self.fields,
        })
    }

    /// Reads back what [`RecordEvent::to_json`] wrote (dead-letter replays).
    pub fn from_json(value: &Value) -> Option<Self> {
        let (object, kind) = value.get("event")?.as_str()?.rsplit_once('.')?;
        let kind = match kind {
            "created" => EventKind::Created,
            "updated" => EventKind::Updated,
            "deleted" => EventKind::Deleted,
            _ => return None,
        };
        let record_id = value.get("record_id")?.as_str()?;
        let occurred_at = value
            .get("occurred_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))?;
        let fields: Fields = match value.get("data") {
            Some(Value::Object(map)) => map.clone().into_iter().collect(),
            _ => Fields::new(),
        };
        let id = value.get("id")?.as_str()?;
        let version = id
            .strip_prefix(record_id)
            .and_then(|rest| rest.strip_prefix('-'))
            .map(|rest| rest.trim_end_matches("-deleted").to_owned())?;
        Some(Self {
            object: ObjectKind::parse(object),
            kind,
            record_id: RecordId::new(record_id),
            fields,
            occurred_at,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json() {
        let mut fields = Fields::new();
        fields.insert("email".into(), json!("ada@example.com"));
        for kind in [EventKind::Created, EventKind::Updated, EventKind::Deleted] {
            let event = RecordEvent::new(ObjectKind::Contact, kind, "c-1", fields.clone());
            let back = RecordEvent::from_json(&event.to_json());
            assert_eq!(back.as_ref(), Some(&event), "{kind:?}");
        }
    }

    #[test]
    fn delete_ids_differ_from_update_ids() {
        let at = Utc::now();
        let update =
            RecordEvent::new(ObjectKind::Deal, EventKind::Updated, "9", Fields::new()).at(at);
        let delete =
            RecordEvent::new(ObjectKind::Deal, EventKind::Deleted, "9", Fields::new()).at(at);
        assert_ne!(update.event_id(), delete.event_id());
    }

    #[test]
    fn garbage_is_not_an_event() {
        for value in [json!(null), json!({}), json!({"event": "contact.exploded"})] {
            assert!(RecordEvent::from_json(&value).is_none());
        }
    }
}

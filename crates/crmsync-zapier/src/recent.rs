//! Recent events per tenant and object: the samples `performList` returns.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex},
};

use crmsync_core::{ObjectKind, TenantId};

use crate::{HookEvent, RecordEvent};

/// Newest first.
type Recent = VecDeque<RecordEvent>;

/// The last few events of each tenant and object, newest first, shared between the
/// [`Deliverer`](crate::Deliverer) (which records them) and the samples route (which
/// serves them). Bounded: old events fall off. Cheap to clone; clones share.
#[derive(Clone)]
pub struct RecentEvents {
    keep: usize,
    events: Arc<Mutex<HashMap<(TenantId, ObjectKind), Recent>>>,
}

impl Default for RecentEvents {
    fn default() -> Self {
        Self::new(25)
    }
}

impl fmt::Debug for RecentEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecentEvents")
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl RecentEvents {
    /// Keeps the last `keep` events of each tenant and object.
    pub fn new(keep: usize) -> Self {
        Self {
            keep: keep.max(1),
            events: Arc::default(),
        }
    }

    /// Records an event.
    pub fn push(&self, tenant: &TenantId, event: &RecordEvent) {
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let list = map
            .entry((tenant.clone(), event.object.clone()))
            .or_default();
        list.push_front(event.clone());
        list.truncate(self.keep);
    }

    /// The newest events of a tenant and object that `filter` wants, at most `limit`.
    pub fn latest(
        &self,
        tenant: &TenantId,
        object: &ObjectKind,
        filter: HookEvent,
        limit: usize,
    ) -> Vec<RecordEvent> {
        let map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(tenant.clone(), object.clone()))
            .map(|list| {
                list.iter()
                    .filter(|e| filter.matches(e.kind))
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;
    use crmsync_core::Fields;

    #[test]
    fn keeps_the_newest_per_tenant_and_object() {
        let recent = RecentEvents::new(2);
        let t = TenantId::new("t");
        for i in 0..3 {
            let e = RecordEvent::new(
                ObjectKind::Contact,
                EventKind::Created,
                format!("{i}"),
                Fields::new(),
            );
            recent.push(&t, &e);
        }
        let ids: Vec<String> = recent
            .latest(&t, &ObjectKind::Contact, HookEvent::Changed, 10)
            .into_iter()
            .map(|e| e.record_id.to_string())
            .collect();
        assert_eq!(ids, ["2", "1"]);
        assert!(
            recent
                .latest(
                    &TenantId::new("u"),
                    &ObjectKind::Contact,
                    HookEvent::Changed,
                    10
                )
                .is_empty()
        );
        assert!(
            recent
                .latest(&t, &ObjectKind::Contact, HookEvent::Deleted, 10)
                .is_empty()
        );
    }
}

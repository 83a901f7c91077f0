//! Match before create end to end: the labelled set (1,000 application contacts, 1,000
//! HubSpot contacts, 30% the same people written differently, among look-alikes) goes
//! through a full two-way sync on the simulator and the SQLite store. Nobody may end up
//! twice on either side, and no two people may be merged.

mod common;

use std::collections::{HashMap, HashSet};

use common::{fast_sim, harness_with};
use crmsync::{
    core::{MirrorWrite, ObjectKind, RecordId, RunStatus, SyncMode},
    engine::{
        ConflictPolicy,
        matching::labelled::{LabelledSet, labelled_contacts},
    },
};
use serde_json::Value;

/// Canonical contact fields and the HubSpot properties the simulator holds them in.
const PROPERTIES: [(&str, &str); 7] = [
    ("first_name", "firstname"),
    ("last_name", "lastname"),
    ("email", "email"),
    ("phone", "phone"),
    ("mobile_phone", "mobilephone"),
    ("company", "company"),
    ("country", "country"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labelled_set_syncs_both_ways_without_duplicates_or_merged_people() {
    let set = labelled_contacts(42, 1_000, 1_000, 0.3);
    let h = harness_with(fast_sim(0, 0, 0), ConflictPolicy::recommended(), |c| c).await;

    // The CRM's contacts, raw as an export would have them (HubSpot keeps e-mail
    // addresses unique, so a second contact with a team address goes without it).
    let mut emails = HashSet::new();
    let remote_ids: Vec<String> = set
        .remote
        .iter()
        .map(|fields| {
            let props: Vec<(&str, &str)> = PROPERTIES
                .iter()
                .filter_map(|(canonical, property)| match fields.get(*canonical) {
                    Some(Value::String(v)) if !v.is_empty() => Some((*property, v.as_str())),
                    _ => None,
                })
                .filter(|(property, v)| {
                    *property != "email" || emails.insert(v.trim().to_lowercase())
                })
                .collect();
            h.sim.create("contacts", &props)
        })
        .collect();
    // The application's contacts, as it wrote them.
    let local_ids: Vec<RecordId> = h
        .store
        .mirror_write(
            &h.tenant,
            &ObjectKind::Contact,
            set.local
                .iter()
                .map(|fields| MirrorWrite {
                    id: None,
                    fields: fields.clone(),
                    idempotency_key: None,
                })
                .collect(),
        )
        .await
        .expect("application rows")
        .into_iter()
        .map(|r| r.id)
        .collect();

    let ids = Ids {
        local: local_ids,
        remote: remote_ids,
    };
    let report = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_ne!(report.status, RunStatus::Failed, "{:?}", report.error);
    let first = assess(&h, &set, &ids).await;
    println!(
        "labelled set end to end: {} true pairs, {} linked, {} wrongly linked, {} duplicated, \
         {} parked for review, {} dead letters (numbers invalid for their country); precision \
         {:.3}, recall {:.3}; {} API calls",
        set.truth.len(),
        first.true_links,
        first.false_links,
        first.duplicates,
        report.counts.parked,
        report.counts.dead_letters,
        first.precision(),
        first.recall(set.truth.len()),
        report.counts.api_calls
    );
    assert_eq!(first.duplicates, 0, "nobody is created twice");
    assert_eq!(first.false_links, 0, "no two people are merged");
    assert!(first.recall(set.truth.len()) >= 0.95, "{first:?}");

    // Again: records parked the first time are decided again among what is linked now;
    // still nobody twice and nobody merged, and nothing already in step is written.
    let again = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let second = assess(&h, &set, &ids).await;
    assert_eq!(
        (second.duplicates, second.false_links),
        (0, 0),
        "{second:?}"
    );
    assert!(second.true_links >= first.true_links, "{second:?}");
    assert_eq!(
        (again.counts.updated_local, again.counts.updated_remote),
        (0, 0),
        "{:?}",
        again.counts
    );
}

/// The ids the application and the CRM gave the labelled records, by index.
struct Ids {
    local: Vec<RecordId>,
    remote: Vec<String>,
}

/// What the links say about the labelled pairs.
#[derive(Debug, Default)]
struct Assessment {
    /// True pairs linked to each other.
    true_links: usize,
    /// Links between two labelled records that are different people.
    false_links: usize,
    /// True pairs where each side got a created copy of its own: one person twice.
    duplicates: usize,
}

impl Assessment {
    fn precision(&self) -> f64 {
        self.true_links as f64 / (self.true_links + self.false_links).max(1) as f64
    }

    fn recall(&self, pairs: usize) -> f64 {
        self.true_links as f64 / pairs.max(1) as f64
    }
}

async fn assess(h: &common::Harness, set: &LabelledSet, ids: &Ids) -> Assessment {
    let links = h
        .store
        .links_by_local(
            &h.tenant,
            &h.link_key(ObjectKind::Contact),
            &all_local_ids(h).await,
        )
        .await
        .expect("links");
    let local_index: HashMap<&RecordId, usize> = ids
        .local
        .iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let remote_index: HashMap<&str, usize> = ids
        .remote
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let truth: HashSet<(usize, usize)> = set.truth.iter().copied().collect();
    let mut out = Assessment::default();
    // Originals linked to a counterpart the sync created for them.
    let (mut local_got_copy, mut remote_got_copy) = (HashSet::new(), HashSet::new());
    for link in &links {
        let l = local_index.get(&link.local_id).copied();
        let r = remote_index.get(link.remote_id.as_str()).copied();
        match (l, r) {
            (Some(l), Some(r)) if truth.contains(&(l, r)) => out.true_links += 1,
            (Some(_), Some(_)) => out.false_links += 1,
            (Some(l), None) => {
                local_got_copy.insert(l);
            }
            (None, Some(r)) => {
                remote_got_copy.insert(r);
            }
            (None, None) => panic!("a link between two records the sync created"),
        }
    }
    out.duplicates = set
        .truth
        .iter()
        .filter(|(l, r)| local_got_copy.contains(l) && remote_got_copy.contains(r))
        .count();
    out
}
/// Every live application record's id.
async fn all_local_ids(h: &common::Harness) -> Vec<RecordId> {
    h.store
        .mirror_changes(&h.tenant, &ObjectKind::Contact, 0, 100_000)
        .await
        .expect("mirror")
        .into_iter()
        .filter(|r| !r.deleted)
        .map(|r| r.id)
        .collect()
}

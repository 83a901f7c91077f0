//! The matcher on a generated, labelled set: 1,000 local and 1,000 remote contacts, 30%
//! of them the same people written differently, among hard look-alikes. Every remote
//! contact is matched the way the engine does it: candidates from one batched `find`
//! (emulated over the local contacts) for the whole set, then `decide`.

use std::collections::{HashMap, HashSet};

use crmsync_core::MatchKey;
use crmsync_engine::matching::{
    LookupBatch, MatchConfig, MatchDecision, MatchProfile, dedupe_batch,
    labelled::{LabelledSet, labelled_contacts},
};

fn profiles(records: &[crmsync_core::Fields], config: &MatchConfig) -> Vec<MatchProfile> {
    records
        .iter()
        .map(|f| MatchProfile::from_fields(f, config))
        .collect()
}

/// What the linker did with the remote side of a labelled set.
#[derive(Debug, Default)]
struct Outcome {
    links: usize,
    true_links: usize,
    /// Linked to someone else: two people merged.
    false_links: usize,
    /// True pairs parked for review (nothing created, nothing merged).
    true_pairs_reviewed: usize,
    /// True pairs decided `New`: a duplicate created.
    duplicates_created: usize,
    /// Remote-only contacts parked for review (a person's time, no harm done).
    others_reviewed: usize,
    true_pairs: usize,
    find_calls: usize,
    keys: usize,
}

impl Outcome {
    fn precision(&self) -> f64 {
        if self.links == 0 {
            1.0
        } else {
            self.true_links as f64 / self.links as f64
        }
    }

    fn recall(&self) -> f64 {
        self.true_links as f64 / self.true_pairs.max(1) as f64
    }
}

/// Matches every remote contact against the local ones, as the engine would: one batched
/// look-up for all remote profiles, candidates handed back by key, one decision each.
fn link(set: &LabelledSet, config: &MatchConfig) -> Outcome {
    let local = profiles(&set.local, config);
    let remote = profiles(&set.remote, config);
    // The local provider's `find`: records by key (last names compared case-insensitively).
    let mut by_key: HashMap<MatchKey, Vec<usize>> = HashMap::new();
    for (index, profile) in local.iter().enumerate() {
        for key in profile.lookup_keys() {
            by_key.entry(key).or_default().push(index);
        }
    }
    let batch = LookupBatch::new(&remote);
    let hits: Vec<(usize, usize)> = batch
        .keys()
        .iter()
        .enumerate()
        .flat_map(|(k, key)| {
            by_key
                .get(key)
                .into_iter()
                .flatten()
                .map(move |&candidate| (k, candidate))
        })
        .collect();
    let candidates = batch.route(&hits);
    let truth: HashMap<usize, usize> = set.truth.iter().map(|&(l, r)| (r, l)).collect();
    let mut outcome = Outcome {
        true_pairs: set.truth.len(),
        find_calls: 1,
        keys: batch.keys().len(),
        ..Outcome::default()
    };
    for (r, source) in remote.iter().enumerate() {
        let ids = &candidates[r];
        let found: Vec<MatchProfile> = ids.iter().map(|&i| local[i].clone()).collect();
        let expected = truth.get(&r).copied();
        match crmsync_engine::matching::decide(config, source, &found) {
            MatchDecision::Link(best) => {
                outcome.links += 1;
                if Some(ids[best.index]) == expected {
                    outcome.true_links += 1;
                } else {
                    outcome.false_links += 1;
                    eprintln!(
                        "false link ({:?}, {:.2}):\n  remote {:?}\n  local  {:?}",
                        best.rule, best.confidence, set.remote[r], set.local[ids[best.index]]
                    );
                }
            }
            MatchDecision::Ambiguous(_) if expected.is_some() => outcome.true_pairs_reviewed += 1,
            MatchDecision::Ambiguous(_) => outcome.others_reviewed += 1,
            MatchDecision::New if expected.is_some() => {
                outcome.duplicates_created += 1;
                eprintln!(
                    "duplicate: remote {:?}\n  local {:?}",
                    set.remote[r],
                    expected.map(|l| &set.local[l])
                );
            }
            MatchDecision::New => {}
        }
    }
    outcome
}

#[test]
fn the_linker_creates_no_duplicates_and_merges_no_two_people() {
    let config = MatchConfig::default();
    let set = labelled_contacts(0x00C0_FFEE, 1_000, 1_000, 0.30);
    assert_eq!(
        (set.local.len(), set.remote.len(), set.truth.len()),
        (1_000, 1_000, 300)
    );
    let outcome = link(&set, &config);
    eprintln!(
        "matching, 1,000 local × 1,000 remote, 300 true pairs, one batched find of {} keys:\n  \
         links {} (true {}, false {}), precision {:.4}, recall {:.4}\n  \
         true pairs sent to review {}, duplicates created {}, other contacts sent to review {}",
        outcome.keys,
        outcome.links,
        outcome.true_links,
        outcome.false_links,
        outcome.precision(),
        outcome.recall(),
        outcome.true_pairs_reviewed,
        outcome.duplicates_created,
        outcome.others_reviewed,
    );
    assert_eq!(outcome.find_calls, 1);
    assert_eq!(outcome.false_links, 0, "precision must be 1.0");
    assert!(outcome.recall() >= 0.9, "recall {:.4}", outcome.recall());
    assert_eq!(
        outcome.duplicates_created, 0,
        "every true pair is linked or reviewed"
    );
}

#[test]
fn the_linker_holds_on_other_seeds() {
    let config = MatchConfig::default();
    for seed in [1, 2, 3, 4, 5] {
        let set = labelled_contacts(seed, 1_000, 1_000, 0.30);
        let outcome = link(&set, &config);
        eprintln!(
            "seed {seed}: precision {:.4}, recall {:.4}, reviewed {}+{}, duplicates {}",
            outcome.precision(),
            outcome.recall(),
            outcome.true_pairs_reviewed,
            outcome.others_reviewed,
            outcome.duplicates_created
        );
        assert_eq!(outcome.false_links, 0, "seed {seed}");
        assert!(
            outcome.recall() >= 0.9,
            "seed {seed}: recall {:.4}",
            outcome.recall()
        );
        assert_eq!(outcome.duplicates_created, 0, "seed {seed}");
    }
}

#[test]
fn deduplicating_both_sides_as_one_batch_merges_only_true_pairs() {
    let config = MatchConfig::default();
    let set = labelled_contacts(0x00C0_FFEE, 1_000, 1_000, 0.30);
    let all: Vec<_> = set.local.iter().chain(&set.remote).cloned().collect();
    let groups = dedupe_batch(&config, &profiles(&all, &config));
    let mut seen = vec![0usize; all.len()];
    for group in &groups {
        for &i in group {
            seen[i] += 1;
        }
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "each index in exactly one group"
    );
    let offset = set.local.len();
    let truth: HashSet<(usize, usize)> = set.truth.iter().map(|&(l, r)| (l, r + offset)).collect();
    let (mut merged, mut wrong) = (0, 0);
    for group in groups.iter().filter(|g| g.len() > 1) {
        for (n, &a) in group.iter().enumerate() {
            for &b in &group[n + 1..] {
                if truth.contains(&(a, b)) {
                    merged += 1;
                } else {
                    wrong += 1;
                    eprintln!("wrong merge:\n  {:?}\n  {:?}", all[a], all[b]);
                }
            }
        }
    }
    eprintln!(
        "dedupe_batch over 2,000 contacts: {} groups, {merged} of {} true pairs merged, {wrong} wrong merges",
        groups.len(),
        truth.len()
    );
    assert_eq!(wrong, 0);
    assert!(merged as f64 >= 0.9 * truth.len() as f64, "merged {merged}");
}

/// A wider sweep (about 20 s unoptimized): `cargo test -p crmsync-engine --test matching
/// -- --ignored`.
#[test]
#[ignore]
fn the_linker_holds_on_a_hundred_seeds() {
    let config = MatchConfig::default();
    let mut total = Outcome::default();
    for seed in 100..200 {
        let o = link(&labelled_contacts(seed, 1_000, 1_000, 0.30), &config);
        total.links += o.links;
        total.true_links += o.true_links;
        total.false_links += o.false_links;
        total.duplicates_created += o.duplicates_created;
        total.true_pairs += o.true_pairs;
        total.true_pairs_reviewed += o.true_pairs_reviewed;
        total.others_reviewed += o.others_reviewed;
    }
    eprintln!(
        "100 seeds: precision {:.4}, recall {:.4}, false links {}, duplicates {}, \
         true pairs reviewed {}, other contacts reviewed {}",
        total.precision(),
        total.recall(),
        total.false_links,
        total.duplicates_created,
        total.true_pairs_reviewed,
        total.others_reviewed
    );
    assert_eq!((total.false_links, total.duplicates_created), (0, 0));
    assert!(total.recall() >= 0.9);
}

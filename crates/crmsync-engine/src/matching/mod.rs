//! Match before create: whether a record without a link is someone the other side
//! already holds. Pure: no I/O; the engine fetches candidates and acts on decisions.
//!
//! The order (DESIGN.md §4 step 3): a stored link by CRM id settles it before matching
//! starts (the engine's link table); otherwise each record is normalized into a
//! [`MatchProfile`], candidates for a whole page are fetched with one batched `find`
//! ([`LookupBatch`]: e-mail, E.164 phones, last name and first initial), and [`decide`] scores each by the
//! best of its rules — normalized e-mail, E.164 phone, fuzzy first + last name with
//! company (Jaro-Winkler, [`MatchConfig::name_threshold`]), composite keys — each with a
//! confidence ([`MatchRule`]). One confident candidate clearly ahead is
//! [`MatchDecision::Link`]ed; several, or a likely but unsure one, is
//! [`MatchDecision::Ambiguous`] (the review queue; nothing is created); none is
//! [`MatchDecision::New`]. Before creating, [`dedupe_batch`] merges the records of one
//! batch that are one person.
//!
//! A wrong link merges two people, which is worse than a duplicate: when evidence
//! conflicts (different names on one phone, two personal e-mails, a team address like
//! `info@`) confidence drops below [`MatchConfig::link_threshold`].
//!
//! ```
//! use crmsync_core::Fields;
//! use crmsync_engine::matching::{decide, MatchConfig, MatchDecision, MatchProfile, MatchRule};
//! use serde_json::json;
//!
//! let config = MatchConfig::default();
//! let profile = |v: serde_json::Value| -> MatchProfile {
//!     let fields: Fields = serde_json::from_value(v).unwrap_or_default();
//!     MatchProfile::from_fields(&fields, &config)
//! };
//! let source = profile(json!({"first_name": "Jane", "last_name": "Doe",
//!                             "email": " Jane.Doe@Acme.example", "company": "Acme Inc"}));
//! let candidates = [
//!     profile(json!({"first_name": "John", "last_name": "Doe", "email": "john@acme.example"})),
//!     profile(json!({"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.example"})),
//! ];
//! match decide(&config, &source, &candidates) {
//!     MatchDecision::Link(best) => {
//!         assert_eq!((best.index, best.rule), (1, MatchRule::Email));
//!     }
//!     other => panic!("expected a link, got {other:?}"),
//! }
//! ```

mod dedupe;
pub mod labelled;
mod profile;
mod score;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crmsync_core::MatchKey;
use serde::{Deserialize, Serialize};

pub use dedupe::dedupe_batch;
pub use profile::MatchProfile;

/// Thresholds of the matcher.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchConfig {
    /// Jaro-Winkler similarity at which two first (or last) names are the same name
    /// written differently (typos, accents). Default 0.92.
    pub name_threshold: f64,
    /// Confidence at which a candidate is linked rather than reviewed. Default 0.85.
    pub link_threshold: f64,
    /// When the best two candidates are within this of each other, neither is linked.
    /// Default 0.05.
    pub ambiguity_margin: f64,
    /// Confidence at which a candidate is worth a person's look: a record with such a
    /// candidate and none to link goes to the review queue instead of being created.
    /// Default 0.50.
    pub review_threshold: f64,
    /// Region (ISO 3166-1 alpha-2) national phone numbers are read in when the record
    /// names no country. Default `US`.
    pub default_region: String,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            name_threshold: 0.92,
            link_threshold: 0.85,
            ambiguity_margin: 0.05,
            review_threshold: 0.50,
            default_region: "US".to_owned(),
        }
    }
}

/// The rule a match was made by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// Same normalized e-mail: 0.99 unless names disagree (0.80 unclear, 0.60
    /// different: a family's address). A team address (`info@`) links only with the same
    /// name (0.95).
    Email,
    /// Same E.164 phone: 0.97 when names agree, 0.90 without a name on a side; 0.80
    /// (review) with only a last name or an initial, or unclear names, since households
    /// share numbers; 0.45 with different names.
    Phone,
    /// First and last names within the name threshold, a few typos apart, and the same
    /// company (0.88); without company on a side 0.72, for review; another company
    /// 0.40. A last name alone (no first name on a side) is 0.55, for review.
    NameCompany,
    /// Partial evidence that adds up (0.86): initial + last name + company; last name +
    /// company + the last digits of a phone; or a name + the last digits of a phone.
    /// Last name + company alone (0.66) is for review, not linking.
    Composite,
}

/// A candidate with the confidence that it is the same person.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// Index of the candidate in the slice passed to [`decide`].
    pub index: usize,
    /// 0.0 (surely someone else) to 1.0 (surely the same person).
    pub confidence: f64,
    /// The rule that gave the confidence.
    pub rule: MatchRule,
}

/// What to do with a record that has no link yet.
#[derive(Clone, Debug, PartialEq)]
pub enum MatchDecision {
    /// Link to this candidate (and update it) instead of creating.
    Link(Scored),
    /// Several candidates, or a likely but unsure one: park the record in the review
    /// queue; create nothing. Best first.
    Ambiguous(Vec<Scored>),
    /// No candidate is this person: create the record.
    New,
}

/// Decides whether `source` is one of `candidates` (the records a batched `find` returned
/// for its [`lookup_keys`](MatchProfile::lookup_keys)).
///
/// Each candidate gets the confidence of the best rule that applies. The best is linked
/// when it reaches [`MatchConfig::link_threshold`] and no other candidate does or comes
/// within [`MatchConfig::ambiguity_margin`] of it; otherwise, candidates at or above
/// [`MatchConfig::review_threshold`] make the record [`MatchDecision::Ambiguous`]; with
/// none, it is [`MatchDecision::New`].
pub fn decide(
    config: &MatchConfig,
    source: &MatchProfile,
    candidates: &[MatchProfile],
) -> MatchDecision {
    score::decide_among(config, source, candidates)
}

/// The look-ups of a whole page in one batched
/// [`find`](crmsync_core::CrmProvider::find): every profile's
/// [`lookup_keys`](MatchProfile::lookup_keys), each key once, and which profiles asked
/// for it, so that the records found can be handed back to the right profiles.
///
/// ```
/// use crmsync_core::{Fields, MatchKey};
/// use crmsync_engine::matching::{LookupBatch, MatchConfig, MatchProfile};
/// use serde_json::json;
///
/// let config = MatchConfig::default();
/// let profiles: Vec<MatchProfile> = [
///     json!({"last_name": "Doe", "email": "jane@acme.example"}),
///     json!({"last_name": "DOE", "phone": "+1 415 555 0132"}),
/// ]
/// .into_iter()
/// .map(|v| MatchProfile::from_fields(&serde_json::from_value::<Fields>(v).unwrap_or_default(), &config))
/// .collect();
/// let batch = LookupBatch::new(&profiles);
/// assert_eq!(batch.keys().len(), 3); // one e-mail, one phone, one shared last name
/// // `find` found record 0 for key 0 (the e-mail) and record 1 for key 1 (the last
/// // name both profiles share):
/// let per_profile = batch.route(&[(0, 0), (1, 1)]);
/// assert_eq!(per_profile, vec![vec![0, 1], vec![1]]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LookupBatch {
    keys: Vec<MatchKey>,
    /// For each key, the profiles (indices) that asked for it.
    askers: Vec<Vec<usize>>,
    profiles: usize,
}

impl LookupBatch {
    /// The look-ups of `profiles`.
    pub fn new(profiles: &[MatchProfile]) -> Self {
        let mut position: HashMap<MatchKey, usize> = HashMap::new();
        let mut batch = Self {
            profiles: profiles.len(),
            ..Self::default()
        };
        for (index, profile) in profiles.iter().enumerate() {
            for key in profile.lookup_keys() {
                let at = *position.entry(key.clone()).or_insert_with(|| {
                    batch.keys.push(key);
                    batch.askers.push(Vec::new());
                    batch.keys.len() - 1
                });
                if batch.askers[at].last() != Some(&index) {
                    batch.askers[at].push(index);
                }
            }
        }
        batch
    }

    /// The keys to pass to `find`, each once.
    pub fn keys(&self) -> &[MatchKey] {
        &self.keys
    }

    /// The profiles that asked for the key at `key_index` (empty when out of range).
    pub fn askers(&self, key_index: usize) -> &[usize] {
        self.askers.get(key_index).map_or(&[], Vec::as_slice)
    }

    /// Hands what `find` found back to the profiles: `hits` are `(key_index, candidate)`
    /// pairs (`candidate` is the caller's index of the record found, the same record
    /// found by several keys having one index); the result has, for each profile, its
    /// candidates, ascending and each once.
    pub fn route(&self, hits: &[(usize, usize)]) -> Vec<Vec<usize>> {
        let mut per_profile = vec![Vec::new(); self.profiles];
        for &(key_index, candidate) in hits {
            for &asker in self.askers(key_index) {
                if let Some(list) = per_profile.get_mut(asker) {
                    list.push(candidate);
                }
            }
        }
        for list in &mut per_profile {
            list.sort_unstable();
            list.dedup();
        }
        per_profile
    }
}

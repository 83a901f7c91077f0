//! Duplicates inside one batch: records that are one person are merged before any is
//! created, so a page never creates the same person twice.

use std::collections::HashMap;

use super::{
    MatchConfig, MatchDecision, MatchProfile, Scored,
    score::{Names, compare_names, rank, score_pair},
};

/// Groups sharing one blocking key beyond which the key is too common to compare by.
const MAX_BLOCK: usize = 64;

/// Groups the profiles of one batch by person: each index in exactly one group, groups
/// in the order of their first member, members ascending. A group of several is one
/// person to merge before creating.
///
/// Profiles are compared only with those sharing a block key (e-mail, an E.164 phone,
/// the last digits of a phone, or the last name), so a batch costs far less than every
/// pair. A profile joins a group when [`decide`](super::decide)'s rules would link it to
/// a member of that group alone, and no member of the group has a different name: an
/// unsure or ambiguous profile stays on its own, since a wrong merge joins two people.
///
/// ```
/// use crmsync_core::Fields;
/// use crmsync_engine::matching::{dedupe_batch, MatchConfig, MatchProfile};
/// use serde_json::json;
///
/// let config = MatchConfig::default();
/// let profiles: Vec<MatchProfile> = [
///     json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example"}),
///     json!({"first_name": "John", "last_name": "Roe", "email": "john@acme.example"}),
///     json!({"first_name": "jane", "last_name": "DOE", "email": " Jane@Acme.example"}),
/// ]
/// .into_iter()
/// .map(|v| MatchProfile::from_fields(&serde_json::from_value::<Fields>(v).unwrap_or_default(), &config))
/// .collect();
/// assert_eq!(dedupe_batch(&config, &profiles), vec![vec![0, 2], vec![1]]);
/// ```
pub fn dedupe_batch(config: &MatchConfig, profiles: &[MatchProfile]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, profile) in profiles.iter().enumerate() {
        let keys = block_keys(profile);
        // A key shared by very many groups (a common last name, a company switchboard)
        // says little and would make the page quadratic: such blocks are skipped.
        let mut near: Vec<usize> = keys
            .iter()
            .filter_map(|key| blocks.get(key))
            .filter(|groups| groups.len() <= MAX_BLOCK)
            .flatten()
            .copied()
            .collect();
        near.sort_unstable();
        near.dedup();
        let scored = near
            .into_iter()
            .filter_map(|group| {
                let members = groups.get(group)?;
                group_score(config, profile, members, profiles).map(|(confidence, rule)| Scored {
                    index: group,
                    confidence,
                    rule,
                })
            })
            .collect();
        let group = match rank(config, scored) {
            MatchDecision::Link(best) => best.index,
            MatchDecision::Ambiguous(_) | MatchDecision::New => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        if let Some(members) = groups.get_mut(group) {
            members.push(index);
        }
        for key in keys {
            let list = blocks.entry(key).or_default();
            if list.last() != Some(&group) {
                list.push(group);
            }
        }
    }
    groups
}

/// The best score of `profile` against the group's members; `None` when no rule applies
/// or a member has a different name (the group is someone else, or would become two
/// people).
fn group_score(
    config: &MatchConfig,
    profile: &MatchProfile,
    members: &[usize],
    profiles: &[MatchProfile],
) -> Option<(f64, super::MatchRule)> {
    let mut best: Option<(f64, super::MatchRule)> = None;
    for member in members.iter().filter_map(|&m| profiles.get(m)) {
        if compare_names(config, profile, member) == Names::Differ {
            return None;
        }
        if let Some((confidence, rule)) = score_pair(config, profile, member) {
            if best.is_none_or(|(top, _)| confidence > top) {
                best = Some((confidence, rule));
            }
        }
    }
    best
}

/// The keys a profile is compared by: profiles sharing none are never compared.
fn block_keys(profile: &MatchProfile) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(email) = profile.email() {
        keys.push(format!("e:{email}"));
    }
    keys.extend(profile.phones().iter().map(|p| format!("p:{p}")));
    keys.extend(profile.phone_tails().iter().map(|t| format!("t:{t}")));
    if let Some(last) = profile.last_name() {
        keys.push(format!("l:{last}"));
    }
    keys
}

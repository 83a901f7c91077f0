//! How much two profiles look like one person: each rule's confidence, lowered by the
//! evidence against (names that differ, two different personal e-mails, no phone in
//! common), and how a list of scored candidates becomes a decision.

use strsim::{jaro_winkler, osa_distance};

use super::{MatchConfig, MatchDecision, MatchProfile, MatchRule, Scored};

/// Below this Jaro-Winkler similarity two name parts are different names, not typos
/// (`john`/`jane` ≈ 0.70, `mark`/`mary` ≈ 0.88, `smith`/`smiht` ≈ 0.96).
const DIFFERENT_BELOW: f64 = 0.80;

/// Two name parts that each pass this, and whose full names pass the name threshold,
/// are one name with typos (`eric`/`reic` ≈ 0.92 as a part; `hannah`/`anna`, ≈ 0.89, are
/// two names).
const TYPO_FLOOR: f64 = 0.90;

/// Rule confidences (see [`MatchRule`]).
mod confidence {
    /// Same personal e-mail, names agree or are unknown.
    pub const EMAIL: f64 = 0.99;
    /// Same personal e-mail, names similar but not clearly the same (`stephen` and
    /// `stephanie` on a family's address): for review.
    pub const EMAIL_UNCLEAR_NAMES: f64 = 0.80;
    /// Same personal e-mail, different names: a family's address, or a name change.
    pub const EMAIL_OTHER_NAMES: f64 = 0.60;
    /// Same team address (`info@`), same name.
    pub const GENERIC_EMAIL_SAME_NAME: f64 = 0.95;
    /// Same team address, only last names (or an initial) to go by.
    pub const GENERIC_EMAIL_PARTIAL_NAME: f64 = 0.80;
    /// Same team address, names unknown or unclear: it says which company, not who.
    pub const GENERIC_EMAIL_UNSURE: f64 = 0.60;
    /// Same team address, different people.
    pub const GENERIC_EMAIL_OTHER_NAMES: f64 = 0.20;
    /// Same phone, names agree.
    pub const PHONE_SAME_NAME: f64 = 0.97;
    /// Same phone, last names agree (first name missing or an initial): a household
    /// shares its number, so this is for review.
    pub const PHONE_PARTIAL_NAME: f64 = 0.80;
    /// Same phone, names unknown on one side.
    pub const PHONE: f64 = 0.90;
    /// Same phone, names similar but not clearly the same.
    pub const PHONE_UNCLEAR_NAMES: f64 = 0.80;
    /// Same phone, different names: a family's or a switchboard's number.
    pub const PHONE_OTHER_NAMES: f64 = 0.45;
    /// Same name, same company.
    pub const NAME_COMPANY: f64 = 0.88;
    /// Same name, company unknown on one side.
    pub const NAME_ONLY: f64 = 0.72;
    /// Same name, different companies.
    pub const NAME_OTHER_COMPANY: f64 = 0.40;
    /// Partial evidence that adds up (see [`MatchRule::Composite`](super::MatchRule)).
    pub const COMPOSITE: f64 = 0.86;
    /// Last name and company, first name missing on a side: worth a look, no more.
    pub const LAST_NAME_COMPANY: f64 = 0.66;
    /// Initial and last name, company unknown on a side: worth a look, no more.
    pub const INITIAL_LAST_NAME: f64 = 0.60;
    /// Last name only (first name missing on a side), company unknown: worth a look.
    pub const LAST_NAME_ONLY: f64 = 0.55;
    /// Lowered by: two different personal e-mail addresses.
    pub const EMAIL_CONFLICT: f64 = 0.15;
    /// A phone match lowered by two different personal e-mail addresses: less, since
    /// phone and name are two agreeing facts, and a work address on one side and a
    /// personal one on the other is common.
    pub const PHONE_EMAIL_CONFLICT: f64 = 0.10;
    /// Lowered by: phones on both sides, none in common.
    pub const PHONE_CONFLICT: f64 = 0.10;
}

/// How two profiles' names compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Names {
    /// First and last names agree (typos allowed).
    Same,
    /// Last names agree; one first name is the other's initial.
    Initial,
    /// Last names agree; a first name is missing.
    LastOnly,
    /// Neither clearly the same nor clearly different.
    Unclear,
    /// Different names.
    Differ,
    /// A side has no name.
    Unknown,
}

/// How two profiles' companies compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Company {
    Equal,
    Unknown,
    Differ,
}

/// Compares the names of two profiles.
pub(crate) fn compare_names(config: &MatchConfig, a: &MatchProfile, b: &MatchProfile) -> Names {
    let threshold = config.name_threshold;
    let last = match (a.last_name(), b.last_name()) {
        (Some(x), Some(y)) => Some(jaro_winkler(x, y)),
        _ => None,
    };
    let firsts = a.first_name().zip(b.first_name());
    let Some(last) = last else {
        // No last name on a side: a first name alone tells people apart, never joins them.
        return match firsts {
            Some((x, y)) if jaro_winkler(x, y) < DIFFERENT_BELOW => Names::Differ,
            Some(_) => Names::Unclear,
            None => Names::Unknown,
        };
    };
    if last < DIFFERENT_BELOW {
        return Names::Differ;
    }
    let Some((x, y)) = firsts else {
        return if last >= threshold {
            Names::LastOnly
        } else {
            Names::Unclear
        };
    };
    let initial = |short: &str, long: &str| short.chars().count() == 1 && long.len() > 1;
    if initial(x, y) || initial(y, x) {
        return match (x.chars().next() == y.chars().next(), last >= threshold) {
            (false, _) => Names::Differ,
            (true, true) => Names::Initial,
            (true, false) => Names::Unclear,
        };
    }
    let first = jaro_winkler(x, y);
    if first < DIFFERENT_BELOW {
        return Names::Differ;
    }
    let full = match (a.full_name(), b.full_name()) {
        (Some(p), Some(q)) => jaro_winkler(p, q),
        _ => 0.0,
    };
    let typos_only = a
        .last_name()
        .zip(b.last_name())
        .is_some_and(|(p, q)| few_edits(p, q))
        && few_edits(x, y);
    if typos_only
        && ((first >= threshold && last >= threshold)
            || (full >= threshold && first.min(last) >= TYPO_FLOOR))
    {
        Names::Same
    } else {
        Names::Unclear
    }
}

/// Whether two name parts are a few typos apart: one edit (a letter swapped, dropped,
/// added or replaced), two in long names. Jaro-Winkler rewards a shared beginning, so
/// `stephen`/`stephanie` or `jose`/`joseph` pass it; they are other names.
fn few_edits(x: &str, y: &str) -> bool {
    let longest = x.chars().count().max(y.chars().count());
    osa_distance(x, y) <= if longest >= 8 { 2 } else { 1 }
}

fn compare_companies(a: &MatchProfile, b: &MatchProfile) -> Company {
    match (a.company(), b.company()) {
        (Some(x), Some(y)) if x.replace(' ', "") == y.replace(' ', "") => Company::Equal,
        (Some(_), Some(_)) => Company::Differ,
        _ => Company::Unknown,
    }
}

fn shares(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| b.contains(x))
}

/// How confidently `candidate` is the person `source` describes, by the best rule that
/// applies; `None` when no rule does.
pub(crate) fn score_pair(
    config: &MatchConfig,
    source: &MatchProfile,
    candidate: &MatchProfile,
) -> Option<(f64, MatchRule)> {
    use confidence as c;
    let names = compare_names(config, source, candidate);
    let company = compare_companies(source, candidate);
    let same_phone = shares(source.phones(), candidate.phones());
    let same_tail = !same_phone && shares(source.phone_tails(), candidate.phone_tails());
    // Evidence against: two personal addresses (people rarely have two in one system),
    // or phones on both sides without a digit run in common.
    let email_conflict = match (source.email(), candidate.email()) {
        (Some(x), Some(y)) => {
            x != y && !source.has_generic_email() && !candidate.has_generic_email()
        }
        _ => false,
    };
    let phone_conflict = !source.phone_tails().is_empty()
        && !candidate.phone_tails().is_empty()
        && !same_phone
        && !same_tail;
    let mut penalty = 0.0;
    if email_conflict {
        penalty += c::EMAIL_CONFLICT;
    }
    if phone_conflict {
        penalty += c::PHONE_CONFLICT;
    }
    // One fact against stops a link, but a candidate worth a look stays worth one: a
    // conflict is a reason to ask a person, not to create a duplicate. Two facts against
    // (another address and another phone) count in full.
    let both_conflict = email_conflict && phone_conflict;
    let lowered = |confidence: f64, against: f64| {
        if against > 0.0 && !both_conflict {
            (confidence - against).max(confidence.min(config.review_threshold))
        } else {
            confidence - against
        }
    };

    let mut best: Option<(f64, MatchRule)> = None;
    let mut consider = |confidence: f64, rule: MatchRule| {
        if best.is_none_or(|(top, _)| confidence > top) {
            best = Some((confidence, rule));
        }
    };

    if let (Some(x), Some(y)) = (source.email(), candidate.email()) {
        if x == y {
            let confidence = match (source.has_generic_email(), names) {
                (false, Names::Same | Names::Initial | Names::LastOnly | Names::Unknown) => {
                    c::EMAIL
                }
                (false, Names::Unclear) => c::EMAIL_UNCLEAR_NAMES,
                (false, Names::Differ) => c::EMAIL_OTHER_NAMES,
                (true, Names::Same) => c::GENERIC_EMAIL_SAME_NAME,
                (true, Names::Initial | Names::LastOnly) => c::GENERIC_EMAIL_PARTIAL_NAME,
                (true, Names::Unclear | Names::Unknown) => c::GENERIC_EMAIL_UNSURE,
                (true, Names::Differ) => c::GENERIC_EMAIL_OTHER_NAMES,
            };
            consider(confidence, MatchRule::Email);
        }
    }

    if same_phone {
        let confidence = match names {
            Names::Same => c::PHONE_SAME_NAME,
            Names::Initial | Names::LastOnly => c::PHONE_PARTIAL_NAME,
            Names::Unknown => c::PHONE,
            Names::Unclear => c::PHONE_UNCLEAR_NAMES,
            Names::Differ => c::PHONE_OTHER_NAMES,
        };
        let against = if email_conflict {
            c::PHONE_EMAIL_CONFLICT
        } else {
            0.0
        };
        consider(lowered(confidence, against), MatchRule::Phone);
    }

    let name_company = match (names, company) {
        (Names::Same, Company::Equal) => Some(c::NAME_COMPANY),
        (Names::Same, Company::Unknown) => Some(c::NAME_ONLY),
        (Names::Same, Company::Differ) => Some(c::NAME_OTHER_COMPANY),
        (Names::LastOnly, Company::Unknown) => Some(c::LAST_NAME_ONLY),
        _ => None,
    };
    if let Some(confidence) = name_company {
        consider(lowered(confidence, penalty), MatchRule::NameCompany);
    }

    let last_exact = source.last_name().is_some() && source.last_name() == candidate.last_name();
    let composite = match names {
        // A number written so it did not normalize on a side, same digits at the end.
        Names::Same if same_tail && company != Company::Differ => Some(c::COMPOSITE),
        Names::Initial if last_exact => match company {
            Company::Equal => Some(c::COMPOSITE),
            Company::Unknown => Some(c::INITIAL_LAST_NAME),
            Company::Differ => None,
        },
        Names::LastOnly if last_exact && company == Company::Equal => Some(if same_tail {
            c::COMPOSITE
        } else {
            c::LAST_NAME_COMPANY
        }),
        _ => None,
    };
    if let Some(confidence) = composite {
        consider(lowered(confidence, penalty), MatchRule::Composite);
    }
    best
}

/// Scores every candidate and decides.
pub(crate) fn decide_among(
    config: &MatchConfig,
    source: &MatchProfile,
    candidates: &[MatchProfile],
) -> MatchDecision {
    let scored = candidates
        .iter()
        .enumerate()
        .filter_map(|(index, candidate)| {
            score_pair(config, source, candidate).map(|(confidence, rule)| Scored {
                index,
                confidence,
                rule,
            })
        })
        .collect();
    rank(config, scored)
}

/// The decision over scored candidates: one confident candidate clearly ahead links;
/// several confident ones, or likely but unsure ones, need a person; else new.
pub(crate) fn rank(config: &MatchConfig, mut scored: Vec<Scored>) -> MatchDecision {
    scored.retain(|s| s.confidence >= config.review_threshold);
    scored.sort_by(|x, y| {
        y.confidence
            .total_cmp(&x.confidence)
            .then(x.index.cmp(&y.index))
    });
    let Some(best) = scored.first() else {
        return MatchDecision::New;
    };
    let clear_lead = scored.get(1).is_none_or(|second| {
        second.confidence < config.link_threshold
            && second.confidence < best.confidence - config.ambiguity_margin
    });
    if best.confidence >= config.link_threshold && clear_lead {
        MatchDecision::Link(best.clone())
    } else {
        MatchDecision::Ambiguous(scored)
    }
}

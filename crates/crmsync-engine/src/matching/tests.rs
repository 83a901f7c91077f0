//! The rules one by one, the decision, in-batch deduplication and the labelled
//! generator. The evaluation on the labelled set is in `tests/matching.rs`.

use crmsync_core::{Fields, MatchKey};
use serde_json::{Value, json};

use super::{
    LookupBatch, MatchConfig, MatchDecision, MatchProfile, MatchRule, decide, dedupe_batch,
    labelled::labelled_contacts,
    score::{Names, compare_names},
};

fn profile(value: Value) -> MatchProfile {
    let fields: Fields = serde_json::from_value(value).unwrap_or_default();
    MatchProfile::from_fields(&fields, &MatchConfig::default())
}

fn decision(source: Value, candidates: Vec<Value>) -> MatchDecision {
    let candidates: Vec<MatchProfile> = candidates.into_iter().map(profile).collect();
    decide(&MatchConfig::default(), &profile(source), &candidates)
}

/// The link's (candidate, rule), or the decision when it is no link.
fn linked(decision: MatchDecision) -> Result<(usize, MatchRule), MatchDecision> {
    match decision {
        MatchDecision::Link(best) => Ok((best.index, best.rule)),
        other => Err(other),
    }
}

fn is_review(decision: &MatchDecision) -> bool {
    matches!(decision, MatchDecision::Ambiguous(list) if !list.is_empty())
}

#[test]
fn an_email_in_another_case_with_spaces_links() {
    let d = decision(
        json!({"first_name": "Jane", "last_name": "Doe", "email": " Jane.Doe @ACME.example "}),
        vec![
            json!({"first_name": "John", "last_name": "Roe", "email": "john@acme.example"}),
            json!({"first_name": "jane", "last_name": "doe", "email": "jane.doe@acme.example"}),
        ],
    );
    assert_eq!(linked(d), Ok((1, MatchRule::Email)));
    // A side without names still links on a personal address.
    let d = decision(
        json!({"email": "JANE.DOE@acme.example"}),
        vec![json!({"email": "jane.doe@acme.example", "last_name": "Doe"})],
    );
    assert_eq!(linked(d), Ok((0, MatchRule::Email)));
}

#[test]
fn a_team_address_links_only_the_same_name() {
    let alice = json!({"first_name": "Alice", "last_name": "Brown", "email": "info@acme.example"});
    let bob = json!({"first_name": "Bob", "last_name": "Green", "email": "Info@Acme.example"});
    assert_eq!(
        decision(alice.clone(), vec![bob.clone()]),
        MatchDecision::New
    );
    assert_eq!(
        linked(decision(alice.clone(), vec![bob, alice])),
        Ok((1, MatchRule::Email))
    );
    // Without a name on a side, a team address says which company, not who: review.
    assert!(is_review(&decision(
        json!({"email": "info@acme.example"}),
        vec![json!({"first_name": "Bob", "last_name": "Green", "email": "info@acme.example"})]
    )));
}

#[test]
fn a_family_address_with_other_first_names_goes_to_review() {
    let d = decision(
        json!({"first_name": "John", "last_name": "Smith", "email": "smiths@mail.example"}),
        vec![json!({"first_name": "Jane", "last_name": "Smith", "email": "smiths@mail.example"})],
    );
    assert!(is_review(&d), "{d:?}");
}

#[test]
fn a_phone_in_another_format_links_when_names_agree() {
    let d = decision(
        json!({"first_name": "Ann", "last_name": "Lee", "phone": "(415) 555-0132"}),
        vec![json!({"first_name": "ANN", "last_name": "Lee", "mobile_phone": "+1 415 555 0132"})],
    );
    assert_eq!(linked(d), Ok((0, MatchRule::Phone)));
    let d = decision(
        json!({"first_name": "Ann", "last_name": "Lee", "phone": "020 7946 0958", "country": "UK"}),
        vec![json!({"first_name": "Ann", "last_name": "Lee", "phone": "+44 (0)20 7946 0958"})],
    );
    assert_eq!(linked(d), Ok((0, MatchRule::Phone)));
}

#[test]
fn a_phone_shared_by_family_members_is_no_link() {
    let d = decision(
        json!({"first_name": "John", "last_name": "Smith", "phone": "415 555 0132"}),
        vec![json!({"first_name": "Jane", "last_name": "Smith", "phone": "+14155550132"})],
    );
    assert_eq!(d, MatchDecision::New);
    // Only a last name on a side: a household's number is worth a look, not a link.
    let d = decision(
        json!({"last_name": "Smith", "phone": "415 555 0132"}),
        vec![json!({"first_name": "Jane", "last_name": "Smith", "phone": "+14155550132"})],
    );
    assert!(is_review(&d), "{d:?}");
}

#[test]
fn a_name_with_a_typo_at_the_same_company_links() {
    let d = decision(
        json!({"first_name": "Jonathan", "last_name": "Smith", "company": "Acme Inc"}),
        vec![
            json!({"first_name": "Jonathan", "last_name": "Brown", "company": "Acme"}),
            json!({"first_name": "Jonathon", "last_name": "Smiht", "company": "ACME, Inc."}),
        ],
    );
    assert_eq!(linked(d), Ok((1, MatchRule::NameCompany)));
}

#[test]
fn a_name_alone_is_for_review_and_another_company_is_someone_else() {
    let jane = json!({"first_name": "Jane", "last_name": "Doe", "company": "Acme"});
    assert!(is_review(&decision(
        jane.clone(),
        vec![json!({"first_name": "Jane", "last_name": "Doe"})]
    )));
    assert_eq!(
        decision(
            jane,
            vec![json!({"first_name": "Jane", "last_name": "Doe", "company": "Globex"})]
        ),
        MatchDecision::New
    );
}

#[test]
fn another_personal_address_stops_a_name_and_company_link() {
    let d = decision(
        json!({"first_name": "John", "last_name": "Johnson", "company": "Acme", "email": "jj@acme.example"}),
        vec![
            json!({"first_name": "John", "last_name": "Johnston", "company": "Acme", "email": "john.johnston@acme.example"}),
        ],
    );
    assert!(is_review(&d), "{d:?}");
    // With another phone too, two facts against: someone else.
    let d = decision(
        json!({"first_name": "John", "last_name": "Doe", "email": "john@mail.example", "phone": "415 555 0100"}),
        vec![
            json!({"first_name": "John", "last_name": "Doe", "email": "jd@post.example", "phone": "212 555 0199"}),
        ],
    );
    assert_eq!(d, MatchDecision::New);
}

#[test]
fn names_sharing_a_beginning_are_not_typos_of_each_other() {
    let config = MatchConfig::default();
    let names = |a: &str, b: &str| {
        let p = |n: &str| profile(json!({"first_name": n, "last_name": "Mueller"}));
        compare_names(&config, &p(a), &p(b))
    };
    assert_eq!(names("Stephen", "Stephanie"), Names::Unclear);
    assert_eq!(names("Jose", "Joseph"), Names::Unclear);
    assert_eq!(names("Mark", "Mary"), Names::Unclear);
    assert_eq!(names("John", "Jane"), Names::Differ);
    assert_eq!(names("Katherine", "Katherien"), Names::Same);
    assert_eq!(names("José", "JOSE"), Names::Same);
    assert_eq!(names("J.", "John"), Names::Initial);
    assert_eq!(names("K.", "John"), Names::Differ);
}

#[test]
fn the_name_threshold_is_configurable() {
    let strict = MatchConfig {
        name_threshold: 0.99,
        ..MatchConfig::default()
    };
    let a = profile(json!({"first_name": "Jonathan", "last_name": "Smith"}));
    let b = profile(json!({"first_name": "Jonathon", "last_name": "Smith"}));
    assert_eq!(compare_names(&MatchConfig::default(), &a, &b), Names::Same);
    assert_eq!(compare_names(&strict, &a, &b), Names::Unclear);
}

#[test]
fn an_initial_with_last_name_and_company_links_as_composite() {
    let d = decision(
        json!({"first_name": "J.", "last_name": "Smith", "company": "Acme Corp."}),
        vec![json!({"first_name": "John", "last_name": "Smith", "company": "ACME"})],
    );
    assert_eq!(linked(d), Ok((0, MatchRule::Composite)));
}

#[test]
fn the_last_digits_of_a_number_that_did_not_normalize_count_as_composite() {
    // No country on one side: the UK national number does not read in the US.
    let d = decision(
        json!({"first_name": "Ann", "last_name": "Lee", "phone": "020 7946 0958"}),
        vec![json!({"first_name": "Ann", "last_name": "Lee", "phone": "+44 20 7946 0958"})],
    );
    assert_eq!(linked(d), Ok((0, MatchRule::Composite)));
}

#[test]
fn two_confident_candidates_are_ambiguous_best_first() {
    let d = decision(
        json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example", "phone": "415 555 0132"}),
        vec![
            json!({"first_name": "Jane", "last_name": "Doe", "phone": "+14155550132"}),
            json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example"}),
        ],
    );
    let MatchDecision::Ambiguous(list) = d else {
        panic!("expected ambiguous, got {d:?}");
    };
    let order: Vec<(usize, MatchRule)> = list.iter().map(|s| (s.index, s.rule)).collect();
    assert_eq!(order, [(1, MatchRule::Email), (0, MatchRule::Phone)]);
}

#[test]
fn a_runner_up_within_the_margin_makes_it_ambiguous() {
    let source = profile(json!({"first_name": "John", "last_name": "Smith", "company": "Acme"}));
    let candidates = [
        profile(json!({"first_name": "John", "last_name": "Smith", "company": "Acme Inc"})),
        profile(json!({"first_name": "J.", "last_name": "Smith", "company": "Acme"})),
    ];
    // 0.88 against 0.86: both would link.
    assert!(is_review(&decide(
        &MatchConfig::default(),
        &source,
        &candidates
    )));
    // Only the first reaches the threshold, but the second is within the margin.
    let config = MatchConfig {
        link_threshold: 0.87,
        ..MatchConfig::default()
    };
    assert!(is_review(&decide(&config, &source, &candidates)));
    let config = MatchConfig {
        link_threshold: 0.87,
        ambiguity_margin: 0.01,
        ..config
    };
    assert_eq!(
        linked(decide(&config, &source, &candidates)),
        Ok((0, MatchRule::NameCompany))
    );
}

#[test]
fn a_clear_leader_links_past_a_look_alike() {
    let d = decision(
        json!({"first_name": "John", "last_name": "Smith", "phone": "415 555 0132", "email": "john@mail.example"}),
        vec![
            json!({"first_name": "Mary", "last_name": "Smith", "phone": "+14155550132"}),
            json!({"first_name": "John", "last_name": "Smith", "phone": "+1 415 555 0132"}),
        ],
    );
    assert_eq!(linked(d), Ok((1, MatchRule::Phone)));
}

#[test]
fn nothing_in_common_is_new() {
    assert_eq!(
        decision(json!({"first_name": "Jane"}), vec![]),
        MatchDecision::New
    );
    let d = decision(
        json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example"}),
        vec![json!({"first_name": "Carl", "last_name": "Doe", "email": "carl@acme.example"})],
    );
    assert_eq!(d, MatchDecision::New);
}

#[test]
fn a_lookup_batch_asks_each_key_once_and_routes_what_was_found() {
    let profiles = [
        profile(json!({"last_name": "Doe", "email": "jane@acme.example", "phone": "4155550132"})),
        profile(json!({"last_name": "doe", "mobile_phone": "+1 415 555 0132"})),
        profile(json!({})),
    ];
    let batch = LookupBatch::new(&profiles);
    assert_eq!(
        batch.keys(),
        [
            MatchKey::Email("jane@acme.example".into()),
            MatchKey::Phone("+14155550132".into()),
            MatchKey::Name {
                last_name: "doe".into(),
                first_initial: None,
            },
        ]
    );
    assert_eq!(batch.askers(1), [0, 1]);
    assert_eq!(batch.askers(9), [] as [usize; 0]);
    // Record 7 found by the phone and the last name, record 3 by the e-mail.
    let routed = batch.route(&[(1, 7), (2, 7), (0, 3), (5, 1)]);
    assert_eq!(routed, vec![vec![3, 7], vec![7], vec![]]);
}

#[test]
fn dedupe_merges_one_person_written_three_ways() {
    let profiles = [
        profile(json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example"})),
        profile(json!({"first_name": "Carl", "last_name": "Roe", "phone": "415 555 0100"})),
        profile(
            json!({"first_name": "JANE", "last_name": "DOE", "email": " Jane@Acme.example", "phone": "415 555 0132"}),
        ),
        profile(json!({"first_name": "Jane", "last_name": "Doe", "phone": "+1 (415) 555-0132"})),
        profile(json!({})),
    ];
    assert_eq!(
        dedupe_batch(&MatchConfig::default(), &profiles),
        vec![vec![0, 2, 3], vec![1], vec![4]]
    );
    assert!(dedupe_batch(&MatchConfig::default(), &[]).is_empty());
}

#[test]
fn dedupe_never_merges_look_alikes() {
    let config = MatchConfig::default();
    let profiles = [
        profile(
            json!({"first_name": "Jane", "last_name": "Doe", "phone": "415 555 0132", "email": "doe@mail.example"}),
        ),
        profile(json!({"first_name": "J.", "last_name": "Doe", "email": "doe@mail.example"})),
        // A family member on the address and the phone: not into the group above.
        profile(
            json!({"first_name": "John", "last_name": "Doe", "phone": "415 555 0132", "email": "doe@mail.example"}),
        ),
        // Two people of one name at one company, each with an address, and a third
        // record of that name that could be either: three groups.
        profile(
            json!({"first_name": "John", "last_name": "Smith", "company": "Acme", "email": "js@acme.example"}),
        ),
        profile(
            json!({"first_name": "John", "last_name": "Smith", "company": "Acme", "email": "john.smith@acme.example"}),
        ),
        profile(json!({"first_name": "John", "last_name": "Smith", "company": "Acme Inc"})),
    ];
    assert_eq!(
        dedupe_batch(&config, &profiles),
        vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]
    );
}

#[test]
fn the_labelled_set_is_deterministic_and_consistent() {
    let a = labelled_contacts(7, 200, 150, 0.3);
    assert_eq!(a, labelled_contacts(7, 200, 150, 0.3));
    assert_ne!(a, labelled_contacts(8, 200, 150, 0.3));
    assert_eq!(
        (a.local.len(), a.remote.len(), a.truth.len()),
        (200, 150, 45)
    );
    let mut locals: Vec<usize> = a.truth.iter().map(|p| p.0).collect();
    let mut remotes: Vec<usize> = a.truth.iter().map(|p| p.1).collect();
    locals.sort_unstable();
    locals.dedup();
    remotes.sort_unstable();
    remotes.dedup();
    assert_eq!((locals.len(), remotes.len()), (45, 45));
    assert!(locals.iter().all(|&l| l < 200) && remotes.iter().all(|&r| r < 150));
    assert_eq!(labelled_contacts(1, 10, 10, 0.0).truth.len(), 0);
    assert_eq!(labelled_contacts(1, 0, 10, 0.5).local.len(), 0);
}

#[test]
fn labelled_phones_are_valid_numbers_in_varied_formats() {
    let set = labelled_contacts(11, 300, 300, 0.3);
    let mut formats = std::collections::HashSet::new();
    for fields in set.local.iter().chain(&set.remote) {
        for field in ["phone", "mobile_phone"] {
            let Some(text) = fields.get(field).and_then(Value::as_str) else {
                continue;
            };
            let valid = ["US", "GB", "DE"]
                .iter()
                .any(|region| crmsync_transform::normalize_phone(text, region).is_ok());
            assert!(valid, "{text}");
            formats.insert(
                text.chars()
                    .map(|c| if c.is_ascii_digit() { '9' } else { c })
                    .collect::<String>(),
            );
        }
    }
    assert!(formats.len() >= 20, "{formats:?}");
}

#[test]
fn labelled_sets_hold_hard_negatives() {
    let set = labelled_contacts(3, 1_000, 1_000, 0.3);
    let config = MatchConfig::default();
    let local: Vec<MatchProfile> = set
        .local
        .iter()
        .map(|f| MatchProfile::from_fields(f, &config))
        .collect();
    let paired: std::collections::HashSet<usize> = set.truth.iter().map(|p| p.1).collect();
    let (mut team, mut phone, mut first_company, mut last_elsewhere) = (0, 0, 0, 0);
    for (_, fields) in set
        .remote
        .iter()
        .enumerate()
        .filter(|(r, _)| !paired.contains(r))
    {
        let p = MatchProfile::from_fields(fields, &config);
        for l in &local {
            let same = |x: Option<&str>, y: Option<&str>| x.is_some() && x == y;
            team += usize::from(p.has_generic_email() && same(p.email(), l.email()));
            phone += usize::from(
                p.phones().iter().any(|n| l.phones().contains(n))
                    && !same(p.first_name(), l.first_name()),
            );
            first_company += usize::from(
                same(p.first_name(), l.first_name())
                    && same(p.company(), l.company())
                    && !same(p.last_name(), l.last_name()),
            );
            last_elsewhere += usize::from(
                same(p.last_name(), l.last_name())
                    && p.company().is_some()
                    && l.company().is_some()
                    && !same(p.company(), l.company()),
            );
        }
    }
    assert!(
        team > 0 && phone > 0 && first_company > 0 && last_elsewhere > 0,
        "{team} {phone} {first_company} {last_elsewhere}"
    );
}

//! Three-way merge per field against the base snapshot, and conflict policies.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use crmsync_core::{
    ConflictInput, ConflictResolver, ConflictStrategy, FieldDecision, Fields, ObjectKind,
};
use serde_json::Value;

/// Which strategy decides a conflicting field: per field, then per object, then the
/// connection's default.
#[derive(Clone, Debug)]
pub struct ConflictPolicy {
    default: ConflictStrategy,
    merge_fallback: ConflictStrategy,
    objects: HashMap<ObjectKind, ConflictStrategy>,
    fields: HashMap<(ObjectKind, String), ConflictStrategy>,
}

impl Default for ConflictPolicy {
    fn default() -> Self {
        Self::new(ConflictStrategy::RemoteWins)
    }
}

impl ConflictPolicy {
    /// A policy where every conflict goes to `default`.
    pub fn new(default: ConflictStrategy) -> Self {
        Self {
            default,
            merge_fallback: ConflictStrategy::RemoteWins,
            objects: HashMap::new(),
            fields: HashMap::new(),
        }
    }

    /// The requirements' recommended rules: the CRM wins by default (and for phone and
    /// email), the application wins for call dispositions and notes, and lead status
    /// goes to the most recent write.
    pub fn recommended() -> Self {
        let mut policy = Self::new(ConflictStrategy::RemoteWins);
        for object in [ObjectKind::Contact, ObjectKind::Lead] {
            policy = policy
                .field(object.clone(), "phone", ConflictStrategy::RemoteWins)
                .field(object.clone(), "email", ConflictStrategy::RemoteWins)
                .field(object, "lead_status", ConflictStrategy::LastWriteWins);
        }
        policy
            .field(
                ObjectKind::Activity,
                "disposition",
                ConflictStrategy::LocalWins,
            )
            .field(ObjectKind::Activity, "notes", ConflictStrategy::LocalWins)
    }

    /// What `field_merge` falls back to for a field changed on both sides to different
    /// values (default: remote wins).
    pub fn merge_fallback(mut self, fallback: ConflictStrategy) -> Self {
        self.merge_fallback = match fallback {
            ConflictStrategy::FieldMerge => ConflictStrategy::RemoteWins,
            other => other,
        };
        self
    }

    /// Sets the strategy of one object.
    pub fn object(mut self, object: ObjectKind, strategy: ConflictStrategy) -> Self {
        self.objects.insert(object, strategy);
        self
    }

    /// Sets the strategy of one field of one object.
    pub fn field(
        mut self,
        object: ObjectKind,
        field: impl Into<String>,
        strategy: ConflictStrategy,
    ) -> Self {
        self.fields.insert((object, field.into()), strategy);
        self
    }

    /// The strategy that applies to a field.
    pub fn strategy(&self, object: &ObjectKind, field: &str) -> ConflictStrategy {
        self.fields
            .get(&(object.clone(), field.to_owned()))
            .or_else(|| self.objects.get(object))
            .copied()
            .unwrap_or(self.default)
    }
}

impl ConflictResolver for ConflictPolicy {
    fn resolve(&self, input: &ConflictInput<'_>) -> FieldDecision {
        match self.strategy(input.object, input.field) {
            // Non-conflicting fields already merged; a true conflict takes the fallback.
            ConflictStrategy::FieldMerge => self.merge_fallback.resolve(input),
            strategy => strategy.resolve(input),
        }
    }
}

/// The two sides of one record at merge time, in canonical names.
pub(crate) struct MergeInput<'a> {
    pub object: &'a ObjectKind,
    pub base: &'a Fields,
    pub local: &'a Fields,
    pub remote: &'a Fields,
    pub local_modified_at: Option<DateTime<Utc>>,
    pub remote_modified_at: Option<DateTime<Utc>>,
    /// Fields the CRM feeds into the application.
    pub inbound: &'a BTreeSet<String>,
    /// Fields the application feeds into the CRM.
    pub outbound: &'a BTreeSet<String>,
    /// Take the remote side for every field, ignoring rules (`--force`).
    pub force_remote: bool,
}

/// What a merge decided.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct MergeOutcome {
    /// Fields to write to the application (canonical; `null` clears).
    pub local_patch: Fields,
    /// Fields to write to the CRM (canonical; `null` clears).
    pub remote_patch: Fields,
    /// The new base snapshot.
    pub base: Fields,
    /// Fields changed on both sides and decided by a strategy.
    pub conflicts: Vec<String>,
    /// Fields left for review.
    pub parked: Vec<String>,
}

fn value(map: &Fields, field: &str) -> Option<Value> {
    map.get(field).filter(|v| !v.is_null()).cloned()
}

/// Merges one record field by field.
pub(crate) fn merge(input: &MergeInput<'_>, resolver: &dyn ConflictResolver) -> MergeOutcome {
    let mut out = MergeOutcome::default();
    let fields: BTreeSet<&String> = input.inbound.iter().chain(input.outbound.iter()).collect();
    for field in fields {
        let inbound = input.inbound.contains(field.as_str());
        let outbound = input.outbound.contains(field.as_str());
        let b = value(input.base, field);
        let l = value(input.local, field);
        // A field the CRM does not feed has no remote value to compare: it stands at base.
        let r = if inbound {
            value(input.remote, field)
        } else {
            b.clone()
        };
        let local_changed = outbound && l != b;
        let remote_changed = inbound && r != b;
        let chosen = if input.force_remote && inbound {
            r.clone()
        } else {
            match (local_changed, remote_changed) {
                (false, false) => b.clone(),
                (false, true) => r.clone(),
                (true, false) => l.clone(),
                (true, true) if l == r => l.clone(),
                (true, true) => {
                    let decision = resolver.resolve(&ConflictInput {
                        object: input.object,
                        field,
                        base: b.as_ref(),
                        local: l.as_ref(),
                        remote: r.as_ref(),
                        local_modified_at: input.local_modified_at,
                        remote_modified_at: input.remote_modified_at,
                    });
                    match decision {
                        FieldDecision::TakeLocal => {
                            out.conflicts.push(field.clone());
                            l.clone()
                        }
                        FieldDecision::TakeRemote => {
                            out.conflicts.push(field.clone());
                            r.clone()
                        }
                        FieldDecision::Merged(v) => {
                            out.conflicts.push(field.clone());
                            Some(v).filter(|v| !v.is_null())
                        }
                        FieldDecision::Park => {
                            out.parked.push(field.clone());
                            if let Some(b) = &b {
                                out.base.insert(field.clone(), b.clone());
                            }
                            continue;
                        }
                    }
                }
            }
        };
        // The application holds the chosen value of every field the CRM feeds; the CRM
        // holds the chosen value of every field the application feeds. (For a field
        // the CRM does not feed, `r` stands at base, so only local changes go out.)
        if inbound && l != chosen {
            out.local_patch
                .insert(field.clone(), chosen.clone().unwrap_or(Value::Null));
        }
        if outbound && r != chosen {
            out.remote_patch
                .insert(field.clone(), chosen.clone().unwrap_or(Value::Null));
        }
        if let Some(v) = chosen {
            out.base.insert(field.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn run(
        base: &Fields,
        local: &Fields,
        remote: &Fields,
        policy: &ConflictPolicy,
    ) -> MergeOutcome {
        let all = set(&["email", "phone", "title"]);
        merge(
            &MergeInput {
                object: &ObjectKind::Contact,
                base,
                local,
                remote,
                local_modified_at: Some(
                    DateTime::<Utc>::from_timestamp(200, 0).unwrap_or_default(),
                ),
                remote_modified_at: Some(
                    DateTime::<Utc>::from_timestamp(100, 0).unwrap_or_default(),
                ),
                inbound: &all,
                outbound: &all,
                force_remote: false,
            },
            policy,
        )
    }

    #[test]
    fn one_sided_changes_flow_through() {
        let base = fields(&[("email", "a@x.io"), ("phone", "+1"), ("title", "CEO")]);
        let local = fields(&[("email", "a@x.io"), ("phone", "+2"), ("title", "CEO")]);
        let remote = fields(&[("email", "a@x.io"), ("phone", "+1"), ("title", "CTO")]);
        let out = run(&base, &local, &remote, &ConflictPolicy::default());
        assert_eq!(out.remote_patch, fields(&[("phone", "+2")]));
        assert_eq!(out.local_patch, fields(&[("title", "CTO")]));
        assert!(out.conflicts.is_empty());
        assert_eq!(
            out.base,
            fields(&[("email", "a@x.io"), ("phone", "+2"), ("title", "CTO")])
        );
    }

    #[test]
    fn each_strategy_resolves_a_true_conflict() {
        let base = fields(&[("title", "CEO")]);
        let local = fields(&[("title", "Founder")]);
        let remote = fields(&[("title", "CTO")]);
        let remote_wins = run(
            &base,
            &local,
            &remote,
            &ConflictPolicy::new(ConflictStrategy::RemoteWins),
        );
        assert_eq!(remote_wins.local_patch, fields(&[("title", "CTO")]));
        assert!(remote_wins.remote_patch.is_empty());
        let local_wins = run(
            &base,
            &local,
            &remote,
            &ConflictPolicy::new(ConflictStrategy::LocalWins),
        );
        assert_eq!(local_wins.remote_patch, fields(&[("title", "Founder")]));
        assert!(local_wins.local_patch.is_empty());
        // Local modified at 200 s, remote at 100 s: local is newer.
        let lww = run(
            &base,
            &local,
            &remote,
            &ConflictPolicy::new(ConflictStrategy::LastWriteWins),
        );
        assert_eq!(lww.remote_patch, fields(&[("title", "Founder")]));
        let manual = run(
            &base,
            &local,
            &remote,
            &ConflictPolicy::new(ConflictStrategy::Manual),
        );
        assert!(manual.local_patch.is_empty() && manual.remote_patch.is_empty());
        assert_eq!(manual.parked, vec!["title".to_owned()]);
        assert_eq!(manual.base, base);
    }

    #[test]
    fn per_field_strategy_overrides_the_default() {
        let policy = ConflictPolicy::new(ConflictStrategy::RemoteWins).field(
            ObjectKind::Contact,
            "title",
            ConflictStrategy::LocalWins,
        );
        let out = run(
            &fields(&[("title", "a"), ("phone", "1")]),
            &fields(&[("title", "b"), ("phone", "2")]),
            &fields(&[("title", "c"), ("phone", "3")]),
            &policy,
        );
        assert_eq!(out.remote_patch, fields(&[("title", "b")]));
        assert_eq!(out.local_patch, fields(&[("phone", "3")]));
    }

    #[test]
    fn equal_changes_on_both_sides_are_not_conflicts() {
        let out = run(
            &fields(&[("title", "a")]),
            &fields(&[("title", "b")]),
            &fields(&[("title", "b")]),
            &ConflictPolicy::default(),
        );
        assert!(out.conflicts.is_empty());
        assert!(out.local_patch.is_empty() && out.remote_patch.is_empty());
        assert_eq!(out.base, fields(&[("title", "b")]));
    }

    #[test]
    fn deleted_field_values_propagate_as_null() {
        let out = run(
            &fields(&[("title", "a")]),
            &fields(&[]),
            &fields(&[("title", "a")]),
            &ConflictPolicy::default(),
        );
        assert_eq!(out.remote_patch.get("title"), Some(&Value::Null));
        assert!(out.base.is_empty());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const FIELDS: [&str; 4] = ["email", "phone", "title", "city"];

    /// A field map over a few fields and values, so sides often agree and often differ.
    fn fields() -> impl Strategy<Value = Fields> {
        proptest::collection::vec(proptest::option::of(0u8..3), FIELDS.len()).prop_map(|values| {
            FIELDS
                .iter()
                .zip(values)
                .filter_map(|(f, v)| v.map(|v| ((*f).to_owned(), json!(format!("v{v}")))))
                .collect()
        })
    }

    fn strategy() -> impl Strategy<Value = ConflictStrategy> {
        prop_oneof![
            Just(ConflictStrategy::RemoteWins),
            Just(ConflictStrategy::LocalWins),
            Just(ConflictStrategy::LastWriteWins),
            Just(ConflictStrategy::FieldMerge),
            Just(ConflictStrategy::Manual),
        ]
    }

    fn apply(side: &Fields, patch: &Fields) -> Fields {
        let mut out = side.clone();
        for (k, v) in patch {
            if v.is_null() {
                out.remove(k);
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    proptest! {
        #[test]
        fn merging_is_deterministic_and_applying_it_twice_changes_nothing(
            base in fields(),
            local in fields(),
            remote in fields(),
            strategy in strategy(),
            local_newer in any::<bool>(),
        ) {
            let all: BTreeSet<String> = FIELDS.iter().map(|f| (*f).to_owned()).collect();
            let (l_at, r_at) = if local_newer { (200, 100) } else { (100, 200) };
            let policy = ConflictPolicy::new(strategy);
            let input = |base: &Fields, local: &Fields, remote: &Fields| -> MergeOutcome {
                merge(
                    &MergeInput {
                        object: &ObjectKind::Contact,
                        base,
                        local,
                        remote,
                        local_modified_at: DateTime::<Utc>::from_timestamp(l_at, 0),
                        remote_modified_at: DateTime::<Utc>::from_timestamp(r_at, 0),
                        inbound: &all,
                        outbound: &all,
                        force_remote: false,
                    },
                    &policy,
                )
            };
            let first = input(&base, &local, &remote);
            prop_assert_eq!(&first, &input(&base, &local, &remote), "deterministic");
            // Apply the decision to both sides, with the new base: the next merge of the
            // same state writes nothing and finds no conflict to decide again.
            let local2 = apply(&local, &first.local_patch);
            let remote2 = apply(&remote, &first.remote_patch);
            let second = input(&first.base, &local2, &remote2);
            prop_assert!(second.local_patch.is_empty(), "local patch again: {:?}", second.local_patch);
            prop_assert!(second.remote_patch.is_empty(), "remote patch again: {:?}", second.remote_patch);
            prop_assert!(second.conflicts.is_empty());
            prop_assert_eq!(&second.parked, &first.parked, "parked fields stay parked, nothing more");
            // Fields not parked agree on both sides afterwards.
            for field in FIELDS.iter().filter(|f| !first.parked.contains(&(**f).to_owned())) {
                prop_assert_eq!(local2.get(*field), remote2.get(*field), "{} differs", field);
            }
        }
    }
}

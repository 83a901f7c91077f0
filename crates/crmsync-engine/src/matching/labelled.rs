//! A generated, labelled set of contacts for measuring the matcher: people held by both
//! systems, written differently on each side, among look-alikes that are other people.
//!
//! Deterministic for a seed (its own splitmix64, no `rand`), so figures reported from it
//! can be reproduced. Overlapping people vary as real exports do: e-mail case and spaces
//! (around and inside), an e-mail missing on one side or a personal address instead of
//! the work one, phone formats (`(415) 555-0132`, `+1 415 555 0132`, `415.555.0132`, UK
//! and German numbers nationally and internationally), a phone in `mobile_phone` instead
//! of `phone`, name typos (a letter swapped, dropped or doubled), case, accents and
//! apostrophes, an initial for a first name, company legal forms and case (`Acme Inc`,
//! `ACME, Inc.`, `Acme`), missing companies and countries.
//!
//! People on one side only include hard negatives: the same first name at the same
//! company with another last name; the same last name (sometimes the same full name) at
//! another company; a team address (`info@…`) shared by different people; family
//! members sharing a phone (and sometimes an address).
//!
//! Every overlapping pair keeps at least one lookup key in common (the e-mail, an E.164
//! phone, or the last name): a pair sharing none cannot be found by a batched `find`
//! and is beyond any matcher.

mod people;
mod render;

use std::collections::HashSet;

use crmsync_core::Fields;

use people::{Generator, Person};

/// Local and remote contacts in canonical field names, and which are the same person.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelledSet {
    /// The application's contacts.
    pub local: Vec<Fields>,
    /// The CRM's contacts.
    pub remote: Vec<Fields>,
    /// `(local index, remote index)` of every pair that is one person; each index at
    /// most once.
    pub truth: Vec<(usize, usize)>,
}

/// `n_local` and `n_remote` contacts of which `overlap × min(n_local, n_remote)` people
/// are on both sides; the same `seed` gives the same set.
pub fn labelled_contacts(seed: u64, n_local: usize, n_remote: usize, overlap: f64) -> LabelledSet {
    let mut generator = Generator {
        rng: Rng(seed),
        emails: HashSet::new(),
        phones: HashSet::new(),
        identities: HashSet::new(),
        households: HashSet::new(),
    };
    let shared = ((overlap.clamp(0.0, 1.0) * n_local.min(n_remote) as f64).round() as usize)
        .min(n_local.min(n_remote));
    let both: Vec<Person> = (0..shared).map(|_| generator.person(true)).collect();
    // People someone else shares an address or a phone with: their first name is always
    // written, or no data could tell them from their look-alike.
    let mut has_twin = vec![false; shared];
    let mut local_only = Vec::new();
    for _ in shared..n_local {
        let person = match generator.rng.chance(0.35) {
            true if !both.is_empty() => {
                let anchor = generator.rng.below(both.len());
                let (person, twin) = generator.hard_negative(&both[anchor]);
                has_twin[anchor] |= twin;
                person
            }
            _ => generator.person(false),
        };
        local_only.push(person);
    }
    let mut remote_only = Vec::new();
    for _ in shared..n_remote {
        let negative = generator.rng.chance(0.35);
        let on_both = generator.rng.chance(0.5) || local_only.is_empty();
        let person = match (negative, on_both) {
            (true, true) if !both.is_empty() => {
                let anchor = generator.rng.below(both.len());
                let (person, twin) = generator.hard_negative(&both[anchor]);
                has_twin[anchor] |= twin;
                person
            }
            (true, false) => {
                let anchor = generator.rng.below(local_only.len());
                generator.hard_negative(&local_only[anchor]).0
            }
            _ => generator.person(false),
        };
        remote_only.push(person);
    }
    let mut local: Vec<(Fields, Option<usize>)> = Vec::with_capacity(n_local);
    let mut remote: Vec<(Fields, Option<usize>)> = Vec::with_capacity(n_remote);
    for (id, person) in both.iter().enumerate() {
        let (l, r) = generator.render_pair(person, has_twin[id]);
        local.push((l, Some(id)));
        remote.push((r, Some(id)));
    }
    for person in &local_only {
        let fields = generator.render_one(person);
        local.push((fields, None));
    }
    for person in &remote_only {
        let fields = generator.render_one(person);
        remote.push((fields, None));
    }
    generator.rng.shuffle(&mut local);
    generator.rng.shuffle(&mut remote);
    let mut local_at = vec![usize::MAX; shared];
    for (index, (_, id)) in local.iter().enumerate() {
        if let Some(id) = id {
            local_at[*id] = index;
        }
    }
    let truth = remote
        .iter()
        .enumerate()
        .filter_map(|(r, (_, id))| id.map(|id| (local_at[id], r)))
        .collect();
    LabelledSet {
        local: local.into_iter().map(|(f, _)| f).collect(),
        remote: remote.into_iter().map(|(f, _)| f).collect(),
        truth,
    }
}

/// splitmix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

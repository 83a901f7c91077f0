//! How each side writes a person: formats, typos and missing fields.

use crmsync_core::Fields;
use serde_json::Value;

use super::Rng;
use super::people::{COMPANIES, Country, Generator, LEGAL_FORMS, Person, Phone, capitalize};
use crate::matching::profile::fold;

impl Phone {
    /// The number as someone typed it.
    fn render(&self, rng: &mut Rng) -> String {
        let (a, r, cc) = (&self.area, &self.rest, self.country.code());
        let split = r.len() / 2;
        let (r1, r2) = r.split_at(if self.country == Country::Us {
            3
        } else {
            split
        });
        let international = rng.chance(0.4);
        match (self.country, international, rng.below(3)) {
            (Country::Us, false, 0) => format!("({a}) {r1}-{r2}"),
            (Country::Us, false, 1) => format!("{a}.{r1}.{r2}"),
            (Country::Us, false, _) => format!("{a}-{r1}-{r2}"),
            (Country::Us, true, 0) => format!("+1 {a} {r1} {r2}"),
            (Country::Us, true, 1) => format!("+1 ({a}) {r1}-{r2}"),
            (Country::Us, true, _) => format!("+1{a}{r}"),
            (_, false, 0) => format!("0{a} {r1} {r2}"),
            (_, false, 1) => format!("0{a}{r}"),
            (Country::Gb, false, _) => format!("(0{a}) {r1} {r2}"),
            (Country::De, false, _) => format!("0{a}/{r}"),
            (_, true, 0) => format!("+{cc} {a} {r1} {r2}"),
            (_, true, 1) => format!("+{cc} (0){a} {r}"),
            (_, true, _) => format!("00{cc} {a} {r}"),
        }
    }
}

/// How one side writes a person.
#[derive(Clone, Copy, Debug, Default)]
struct Variation {
    drop_email: bool,
    other_email: bool,
    drop_phones: bool,
    swap_phone_fields: bool,
    typo_first: bool,
    typo_last: bool,
    drop_first: bool,
    initial_first: bool,
    drop_company: bool,
    drop_country: bool,
}

impl Generator {
    /// One side-only person, with the occasional missing field.
    pub(super) fn render_one(&mut self, person: &Person) -> Fields {
        let variation = Variation {
            drop_email: self.rng.chance(0.1),
            drop_country: self.rng.chance(0.1),
            drop_company: self.rng.chance(0.05),
            ..Variation::default()
        };
        self.render(person, &variation).0
    }

    /// One person as both sides write them: each side varies, and at least one lookup
    /// key (e-mail, E.164 phone, last name) survives on both.
    pub(super) fn render_pair(&mut self, person: &Person, has_twin: bool) -> (Fields, Fields) {
        let mut sides = [Variation::default(), Variation::default()];
        let one = self.rng.below(2);
        let r = &mut self.rng;
        if r.chance(0.15) {
            sides[one].drop_email = true;
        } else if r.chance(0.05) {
            sides[1].other_email = true;
        }
        if r.chance(0.15) {
            sides[1 - one].drop_phones = true;
        }
        for side in &mut sides {
            side.swap_phone_fields = r.chance(0.1);
            side.drop_company = r.chance(0.05);
            side.drop_country = r.chance(0.07);
        }
        let typo_side = r.below(2);
        if r.chance(0.3) {
            if r.chance(0.5) {
                sides[typo_side].typo_first = true;
            } else {
                sides[typo_side].typo_last = true;
            }
        }
        match r.below(40) {
            _ if has_twin => {}
            0 => sides[r.below(2)].drop_first = true,
            1 | 2 => sides[r.below(2)].initial_first = true,
            _ => {}
        }
        let (local, local_keys) = self.render(person, &sides[0]);
        let (remote, remote_keys) = self.render(person, &sides[1]);
        if local_keys.iter().any(|k| remote_keys.contains(k)) {
            return (local, remote);
        }
        for side in &mut sides {
            side.typo_last = false;
        }
        (
            self.render(person, &sides[0]).0,
            self.render(person, &sides[1]).0,
        )
    }

    /// The fields of a person as one side writes them, and the lookup keys they keep
    /// intact (`email`, each findable E.164 number, `last`).
    fn render(&mut self, p: &Person, v: &Variation) -> (Fields, Vec<String>) {
        let mut fields = Fields::new();
        let mut keys = Vec::new();
        let mut put = |name: &str, value: String| {
            fields.insert(name.to_owned(), Value::String(value));
        };
        if !v.drop_first {
            let first = if v.initial_first {
                format!("{}.", p.first.chars().next().unwrap_or('X'))
            } else {
                self.write_name(&p.first, v.typo_first)
            };
            put("first_name", first);
        }
        put("last_name", self.write_name(&p.last, v.typo_last));
        if !v.typo_last {
            keys.push("last".to_owned());
        }
        let email = if v.other_email {
            Some(p.other_email.clone())
        } else {
            p.email.clone()
        };
        if let Some(email) = email.filter(|_| !v.drop_email) {
            if !v.other_email {
                keys.push(format!("email:{email}"));
            }
            put("email", self.write_email(&email));
        }
        if !v.drop_phones {
            let (phone_field, mobile_field) = if v.swap_phone_fields {
                ("mobile_phone", "phone")
            } else {
                ("phone", "mobile_phone")
            };
            for (field, phone) in [(phone_field, &p.phone), (mobile_field, &p.mobile)] {
                if let Some(phone) = phone {
                    let text = phone.render(&mut self.rng);
                    // Findable when it reads as the number the way the matcher reads it:
                    // in the record's country, else in the US.
                    let region = if v.drop_country {
                        "US"
                    } else {
                        p.country.region()
                    };
                    let e164 = phone.e164();
                    let reads = |region: &str| {
                        crmsync_transform::normalize_phone(&text, region).is_ok_and(|n| n == e164)
                    };
                    if reads(region) || reads("US") {
                        keys.push(e164);
                    }
                    put(field, text);
                }
            }
        }
        if let Some(company) = p.company.filter(|_| !v.drop_company) {
            let form = *self.rng.pick(LEGAL_FORMS);
            let name = format!("{}{form}", COMPANIES[company]);
            put(
                "company",
                match self.rng.below(6) {
                    0 => name.to_uppercase(),
                    1 => name.to_lowercase(),
                    _ => name,
                },
            );
        }
        if !v.drop_country {
            put("country", self.rng.pick(p.country.names()).to_string());
        }
        (fields, keys)
    }

    /// A name as typed: case, accents and apostrophes vary; a typo when asked.
    fn write_name(&mut self, name: &str, typo: bool) -> String {
        let mut text = name.to_owned();
        if self.rng.chance(0.3) {
            text = fold(&text).collect::<String>();
            text = capitalize(&text);
        }
        if self.rng.chance(0.3) {
            text = text.replace('\'', "");
        }
        if typo {
            text = self.typo(&text);
        }
        match self.rng.below(8) {
            0 => text.to_uppercase(),
            1 => text.to_lowercase(),
            _ => text,
        }
    }

    /// One letter swapped with the next, dropped, or doubled (never the first letter, so
    /// that a typo is a typo and not another name).
    fn typo(&mut self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        if chars.len() < 4 {
            return text.to_owned();
        }
        let at = 1 + self.rng.below(chars.len() - 2);
        match self.rng.below(3) {
            0 => chars.swap(at, at + 1),
            1 => {
                chars.remove(at);
            }
            _ => chars.insert(at, chars[at]),
        }
        chars.into_iter().collect()
    }

    fn write_email(&mut self, email: &str) -> String {
        let mut text = match self.rng.below(4) {
            0 => email.to_uppercase(),
            1 => email
                .split('.')
                .map(capitalize)
                .collect::<Vec<_>>()
                .join("."),
            _ => email.to_owned(),
        };
        if self.rng.chance(0.1) {
            text = text.replacen('@', " @", 1);
        }
        if self.rng.chance(0.2) {
            text = format!("  {text} ");
        }
        text
    }
}

//! A record's identifying fields, normalized once so that comparing two records is cheap
//! and format-blind: [`MatchProfile`].

use crmsync_core::{Fields, MatchKey};
use crmsync_transform::{normalize_email, normalize_phone, region_for_country};
use serde_json::Value;

use super::MatchConfig;

/// The canonical field with the given name as text (numbers are read as their digits,
/// for phones stored in number fields); blank text is absent.
fn text<'a>(fields: &'a Fields, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    match fields.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Local parts of e-mail addresses that a team shares (`info@`, `sales@`): an address
/// like this says which company, not which person.
const GENERIC_LOCAL_PARTS: &[&str] = &[
    "accounts",
    "admin",
    "billing",
    "contact",
    "enquiries",
    "hello",
    "help",
    "hr",
    "info",
    "inquiries",
    "jobs",
    "mail",
    "marketing",
    "no-reply",
    "noreply",
    "office",
    "orders",
    "reception",
    "sales",
    "service",
    "support",
    "team",
];

/// Trailing words of company names that name a legal form, not the company, compared
/// after dots are dropped (`S.A.` → `sa`).
const LEGAL_SUFFIXES: &[&str] = &[
    "ab",
    "ag",
    "as",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "kk",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pty",
    "sa",
    "sarl",
    "sas",
    "spa",
    "srl",
];

/// Digits kept from the end of a phone number that did not normalize (a national number
/// without its country, say): enough to tell people apart, few enough to survive
/// differently written prefixes.
const PHONE_TAIL_DIGITS: usize = 7;

/// A record's identifying fields, normalized for matching.
///
/// Built from canonical fields (`first_name`, `last_name`, `email`, `phone`,
/// `mobile_phone`, `company`, `country`) by [`MatchProfile::from_fields`]:
///
/// - e-mail: trimmed, lower case, spaces inside dropped; absent unless it has an `@`;
/// - phones: `phone` and `mobile_phone` in E.164 (extension dropped), national numbers
///   read in the record's `country`, else in [`MatchConfig::default_region`]; the last
///   digits of numbers that do not normalize are kept for composite matching;
/// - names: lower case, accents folded, punctuation and spaces removed within a part
///   (`O'Brien` → `obrien`, `Jean-Luc` → `jeanluc`); the full name is `first last`;
/// - company: lower case, accents folded, punctuation removed and legal suffixes dropped
///   (`ACME, Inc.` → `acme`, `Globex S.A.` → `globex`).
///
/// ```
/// use crmsync_core::Fields;
/// use crmsync_engine::matching::{MatchConfig, MatchProfile};
/// use serde_json::json;
///
/// let fields: Fields = serde_json::from_value(json!({
///     "first_name": "José", "last_name": "O'Brien", "email": " Jose.OBrien @Acme.example ",
///     "phone": "(415) 555-0132", "company": "ACME, Inc.",
/// }))?;
/// let profile = MatchProfile::from_fields(&fields, &MatchConfig::default());
/// assert_eq!(profile.email(), Some("jose.obrien@acme.example"));
/// assert_eq!(profile.phones(), ["+14155550132"]);
/// assert_eq!(profile.full_name(), Some("jose obrien"));
/// assert_eq!(profile.company(), Some("acme"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MatchProfile {
    email: Option<String>,
    phones: Vec<String>,
    phone_tails: Vec<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    company: Option<String>,
}

impl MatchProfile {
    /// The profile of a record in canonical field names. Never fails: a field that does
    /// not normalize (an e-mail without `@`, a phone that is no valid number) is left out.
    pub fn from_fields(fields: &Fields, config: &MatchConfig) -> Self {
        let email = text(fields, "email").and_then(|e| clean_email(&e));
        let region = text(fields, "country")
            .and_then(|c| region_for_country(&c))
            .unwrap_or(config.default_region.as_str());
        let mut phones = Vec::new();
        let mut phone_tails = Vec::new();
        for field in ["phone", "mobile_phone"] {
            let Some(raw) = text(fields, field) else {
                continue;
            };
            match e164(&raw, region, &config.default_region) {
                Some(number) => push_unique(&mut phones, number),
                None => {
                    if let Some(tail) = phone_tail(&raw) {
                        push_unique(&mut phone_tails, tail);
                    }
                }
            }
        }
        // The tails of normalized numbers too, so a number that normalized on one side
        // only still meets its twin.
        for number in &phones {
            if let Some(tail) = phone_tail(number) {
                push_unique(&mut phone_tails, tail);
            }
        }
        let first_name = text(fields, "first_name").and_then(|n| name_part(&n));
        let last_name = text(fields, "last_name").and_then(|n| name_part(&n));
        let full_name = match (&first_name, &last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        };
        let company = text(fields, "company").and_then(|c| company_name(&c));
        Self {
            email,
            phones,
            phone_tails,
            first_name,
            last_name,
            full_name,
            company,
        }
    }

    /// The normalized e-mail address.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// Whether the e-mail address is one a team shares (`info@`, `sales@`, ...).
    pub fn has_generic_email(&self) -> bool {
        self.email.as_deref().is_some_and(is_generic_email)
    }

    /// The phone numbers (`phone`, then `mobile_phone`) in E.164, without duplicates.
    pub fn phones(&self) -> &[String] {
        &self.phones
    }

    /// The last seven digits of every phone number, normalized or not.
    pub fn phone_tails(&self) -> &[String] {
        &self.phone_tails
    }

    /// The normalized first name.
    pub fn first_name(&self) -> Option<&str> {
        self.first_name.as_deref()
    }

    /// The normalized last name.
    pub fn last_name(&self) -> Option<&str> {
        self.last_name.as_deref()
    }

    /// The normalized full name, `first last` (or whichever part is known).
    pub fn full_name(&self) -> Option<&str> {
        self.full_name.as_deref()
    }

    /// The normalized company name, without its legal form.
    pub fn company(&self) -> Option<&str> {
        self.company.as_deref()
    }

    /// Whether the profile holds nothing to match on.
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.phones.is_empty()
            && self.phone_tails.is_empty()
            && self.full_name.is_none()
    }

    /// The keys to fetch this record's candidates with, in one batched
    /// [`find`](crmsync_core::CrmProvider::find) for a whole page (see
    /// [`LookupBatch`](super::LookupBatch)): the e-mail, each E.164 phone, and the name
    /// as [`MatchKey::Name`] (the last name's key and the first name's initial).
    ///
    /// The engine sends providers that do not understand name keys the last name as
    /// `Field { name: "last_name", .. }` instead, with the *normalized* value (lower
    /// case, accents folded, punctuation removed); providers compare `last_name` keys
    /// case-insensitively, and a provider that cannot fold accents or punctuation misses
    /// only those candidates that neither e-mail nor phone finds.
    pub fn lookup_keys(&self) -> Vec<MatchKey> {
        let mut keys = Vec::with_capacity(2 + self.phones.len());
        if let Some(email) = &self.email {
            keys.push(MatchKey::Email(email.clone()));
        }
        keys.extend(self.phones.iter().cloned().map(MatchKey::Phone));
        if let Some(last) = &self.last_name {
            keys.push(MatchKey::Name {
                last_name: last.clone(),
                first_initial: self.first_name.as_deref().and_then(|f| f.chars().next()),
            });
        }
        keys
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Trimmed, lower case, without spaces inside (`"Jane.Doe @Acme.com"`); `None` without
/// an `@` between a local part and a domain.
fn clean_email(raw: &str) -> Option<String> {
    let email: String = normalize_email(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (local, domain) = email.split_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some(email)
}

/// Whether a normalized address is a team's (`info@`, `sales@`, `support+eu@`).
pub(crate) fn is_generic_email(email: &str) -> bool {
    let local = email.split('@').next().unwrap_or_default();
    let base = local.split('+').next().unwrap_or_default();
    GENERIC_LOCAL_PARTS.contains(&base)
}

/// The number in E.164 without extension: read in `region`, else in `fallback`.
fn e164(raw: &str, region: &str, fallback: &str) -> Option<String> {
    let number = normalize_phone(raw, region)
        .or_else(|err| {
            if region == fallback {
                Err(err)
            } else {
                normalize_phone(raw, fallback)
            }
        })
        .ok()?;
    Some(match number.split_once(';') {
        Some((number, _extension)) => number.to_owned(),
        None => number,
    })
}

/// The last [`PHONE_TAIL_DIGITS`] digits of a number (extension excluded), if it has
/// that many.
fn phone_tail(raw: &str) -> Option<String> {
    // `;ext=12`, `x12`, `ext. 12`, `#12`: the extension starts at the first of these.
    let number = raw.split([';', 'x', 'X', '#']).next().unwrap_or_default();
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let start = digits.len().checked_sub(PHONE_TAIL_DIGITS)?;
    Some(digits[start..].iter().collect())
}

/// One part of a person's name: lower case, accents folded, only letters and digits
/// (the store's last-name key, so that look-ups by it find what the matcher compares).
fn name_part(raw: &str) -> Option<String> {
    crmsync_core::match_key::name_key(raw)
}

/// A company name: lower case, accents folded, dots and apostrophes dropped, other
/// punctuation read as spaces, trailing legal forms removed (but never the last word).
fn company_name(raw: &str) -> Option<String> {
    let cleaned: String = fold(raw)
        .filter(|c| !matches!(c, '.' | '\'' | '’'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_SUFFIXES.contains(w)) {
        words.pop();
    }
    // "Smith & Co" → "smith"; "S A" written with spaces → dropped as a pair too.
    while words.len() > 2 && words[words.len() - 2..] == ["s", "a"] {
        words.truncate(words.len() - 2);
    }
    let name = words.join(" ");
    (!name.is_empty()).then_some(name)
}

pub(crate) use crmsync_core::match_key::fold;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(value: serde_json::Value) -> MatchProfile {
        let fields: Fields = serde_json::from_value(value).unwrap_or_default();
        MatchProfile::from_fields(&fields, &MatchConfig::default())
    }

    #[test]
    fn emails_ignore_case_and_spaces_and_need_an_at() {
        assert_eq!(
            profile(json!({"email": "  Jane.Doe @ Example.COM "})).email(),
            Some("jane.doe@example.com")
        );
        assert_eq!(profile(json!({"email": "not an address"})).email(), None);
        assert_eq!(profile(json!({"email": "@example.com"})).email(), None);
        assert!(profile(json!({"email": "Info@acme.example"})).has_generic_email());
        assert!(profile(json!({"email": "sales+eu@acme.example"})).has_generic_email());
        assert!(!profile(json!({"email": "jane@acme.example"})).has_generic_email());
    }

    #[test]
    fn phones_in_any_format_read_as_e164_in_the_records_country() {
        for raw in [
            "(415) 555-0132",
            "+1 415 555 0132",
            "415.555.0132",
            "1-415-555-0132",
        ] {
            assert_eq!(
                profile(json!({"phone": raw})).phones(),
                ["+14155550132"],
                "{raw}"
            );
        }
        let uk = profile(json!({"mobile_phone": "020 7946 0958", "country": "United Kingdom"}));
        assert_eq!(uk.phones(), ["+442079460958"]);
        let de = profile(json!({"phone": "030 12345678", "country": "Germany"}));
        assert_eq!(de.phones(), ["+493012345678"]);
        // Both fields, one number: one phone.
        let both = profile(json!({"phone": "4155550132", "mobile_phone": "+14155550132"}));
        assert_eq!(both.phones(), ["+14155550132"]);
        // An extension does not make another number.
        let ext = profile(json!({"phone": "+1 415 555 0132 ext. 12"}));
        assert_eq!(ext.phones(), ["+14155550132"]);
    }

    #[test]
    fn a_number_that_does_not_normalize_keeps_its_last_digits() {
        // A UK national number on a record without country, read in the US: invalid.
        let p = profile(json!({"phone": "020 7946 0958"}));
        assert!(p.phones().is_empty());
        assert_eq!(p.phone_tails(), ["9460958"]);
        assert_eq!(
            profile(json!({"phone": "12"})).phone_tails(),
            [] as [String; 0]
        );
    }

    #[test]
    fn names_fold_case_accents_and_punctuation() {
        let p = profile(json!({"first_name": " Jean-Luc ", "last_name": "O'Brien-Müller"}));
        assert_eq!(p.first_name(), Some("jeanluc"));
        assert_eq!(p.last_name(), Some("obrienmuller"));
        assert_eq!(p.full_name(), Some("jeanluc obrienmuller"));
        assert_eq!(
            profile(json!({"last_name": "Straße"})).last_name(),
            Some("strasse")
        );
        assert_eq!(profile(json!({"last_name": " - "})).last_name(), None);
    }

    #[test]
    fn companies_lose_their_legal_form() {
        for (raw, want) in [
            ("Acme Inc", "acme"),
            ("ACME, Inc.", "acme"),
            ("Acme", "acme"),
            ("Acme Corp.", "acme"),
            ("Globex S.A.", "globex"),
            ("Globex S. A.", "globex"),
            ("Initech GmbH", "initech"),
            ("Hooli Holdings Ltd", "hooli holdings"),
            ("Vandelay Industries, LLC", "vandelay industries"),
            ("Smith & Co.", "smith"),
            ("Société Générale SAS", "societe generale"),
            ("Co", "co"),
        ] {
            assert_eq!(
                profile(json!({"company": raw})).company(),
                Some(want),
                "{raw}"
            );
        }
    }

    #[test]
    fn lookup_keys_are_email_phones_and_last_name() {
        let p = profile(json!({
            "email": "Jane@Acme.example", "phone": "415 555 0132",
            "mobile_phone": "+1 (415) 555-0199", "last_name": "Doe",
        }));
        assert_eq!(
            p.lookup_keys(),
            vec![
                MatchKey::Email("jane@acme.example".into()),
                MatchKey::Phone("+14155550132".into()),
                MatchKey::Phone("+14155550199".into()),
                MatchKey::Name {
                    last_name: "doe".into(),
                    first_initial: None,
                },
            ]
        );
        let named = profile(json!({"first_name": "Élodie", "last_name": "O'Neil"}));
        assert_eq!(
            named.lookup_keys(),
            vec![MatchKey::Name {
                last_name: "oneil".into(),
                first_initial: Some('e'),
            }]
        );
        assert!(profile(json!({})).lookup_keys().is_empty());
        assert!(profile(json!({})).is_empty());
    }
}

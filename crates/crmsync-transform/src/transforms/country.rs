//! Country text as CRMs store it (`"United Kingdom"`, `"gb"`, `"DEU"`, `"The
//! Netherlands"`) → the ISO 3166-1 alpha-2 region libphonenumber reads national numbers
//! in.

use std::{collections::HashMap, str::FromStr, sync::OnceLock};

use phonenumber::country::Id;

/// The region (ISO 3166-1 alpha-2, upper case) of a country as CRMs store it, for reading
/// phone numbers written without a country code; `None` when the text names no country
/// libphonenumber has numbering rules for.
///
/// Accepts, case-insensitively and ignoring surrounding spaces:
///
/// - every alpha-2 code libphonenumber knows (`GB`, `de`, and `UK` for `GB`);
/// - ISO 3166-1 alpha-3 codes (`GBR`, `deu`, `USA`);
/// - English short names and common variants (`United Kingdom`, `Great Britain`,
///   `England`, `United States of America`, `The Netherlands`, `Holland`, `Korea,
///   Republic of`, `Ivory Coast`, `St Lucia`, `Trinidad & Tobago`, ...), and the local
///   names of the most common ones (`Deutschland`, `España`, `Österreich`, `Schweiz`,
///   `Sverige`, ...). Accents, dots, commas, brackets and a leading `the` do not matter.
///
/// ```
/// use crmsync_transform::region_for_country;
/// assert_eq!(region_for_country("United Kingdom"), Some("GB"));
/// assert_eq!(region_for_country(" the netherlands "), Some("NL"));
/// assert_eq!(region_for_country("DEU"), Some("DE"));
/// assert_eq!(region_for_country("España"), Some("ES"));
/// assert_eq!(region_for_country("fr"), Some("FR"));
/// assert_eq!(region_for_country("Atlantis"), None);
/// ```
pub fn region_for_country(text: &str) -> Option<&'static str> {
    lookup(text).map(|id| id.as_ref())
}

/// [`region_for_country`] as libphonenumber's id.
pub(crate) fn region_id_for_country(text: &str) -> Option<Id> {
    lookup(text).copied()
}

/// Builds the lookup table now rather than on the first record.
pub(crate) fn warm_up() {
    table();
}

fn lookup(text: &str) -> Option<&'static Id> {
    let text = text.trim();
    // Longer than any name in the table: not a country (and not worth normalizing).
    if text.is_empty() || text.len() > MAX_NAME_LEN {
        return None;
    }
    table().get(normalize(text).as_str())
}

/// Longer text is no country name ("United Kingdom of Great Britain and Northern Ireland"
/// is 52 bytes).
const MAX_NAME_LEN: usize = 80;

/// Normalized name, alpha-2 or alpha-3 code → region, built once.
fn table() -> &'static HashMap<String, Id> {
    static TABLE: OnceLock<HashMap<String, Id>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::with_capacity(1200);
        for (key, alpha2) in keys() {
            if let Ok(id) = Id::from_str(alpha2) {
                // The first entry wins; a test checks that no key names two countries.
                table.entry(key).or_insert(id);
            }
        }
        table
    })
}

/// Every key of the table with the alpha-2 code it stands for, normalized.
fn keys() -> impl Iterator<Item = (String, &'static str)> {
    COUNTRIES.iter().flat_map(|&(alpha2, alpha3, names)| {
        std::iter::once(alpha2)
            .chain((!alpha3.is_empty()).then_some(alpha3))
            .chain(names.iter().copied())
            .map(move |name| (normalize(name), alpha2))
    })
}

/// Lower case without accents; dots and apostrophes dropped (`U.S.A.` → `usa`); `&` read
/// as `and`; other punctuation and runs of spaces as one space; a leading `the` dropped;
/// `st` read as `saint`.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    // Where the word being read starts in `out`.
    let mut word: Option<usize> = None;
    for c in text.chars() {
        match c {
            '.' | '\'' | '’' | '`' => {}
            '&' => {
                end_word(&mut out, &mut word);
                push_letters(&mut out, &mut word, "and".chars());
                end_word(&mut out, &mut word);
            }
            c if c.is_alphanumeric() => {
                push_letters(&mut out, &mut word, c.to_lowercase().map(fold_accent));
            }
            _ => end_word(&mut out, &mut word),
        }
    }
    end_word(&mut out, &mut word);
    out
}

/// Appends letters to the current word of [`normalize`], starting one if needed.
fn push_letters(out: &mut String, word: &mut Option<usize>, letters: impl Iterator<Item = char>) {
    if word.is_none() {
        if !out.is_empty() {
            out.push(' ');
        }
        *word = Some(out.len());
    }
    out.extend(letters);
}

/// Ends the current word of [`normalize`]: a leading `the` is dropped, `st` becomes
/// `saint`.
fn end_word(out: &mut String, word: &mut Option<usize>) {
    let Some(start) = word.take() else {
        return;
    };
    match out.get(start..) {
        Some("the") if start == 0 => out.clear(),
        Some("st") => {
            out.truncate(start);
            out.push_str("saint");
        }
        _ => {}
    }
}

/// The letter without its accent, for the accents of country names.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ř' => 'r',
        'ł' => 'l',
        other => other,
    }
}

#[path = "country_table.rs"]
mod table_data;
use table_data::COUNTRIES;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_and_variants_resolve() {
        let cases = [
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("u.k.", "GB"),
            ("Great Britain", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("GB", "GB"),
            ("gb", "GB"),
            ("GBR", "GB"),
            ("gbr", "GB"),
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("United States of America", "US"),
            ("US", "US"),
            ("us", "US"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("DEU", "DE"),
            ("France", "FR"),
            ("FRA", "FR"),
            ("Netherlands", "NL"),
            ("The Netherlands", "NL"),
            ("the  netherlands", "NL"),
            ("Holland", "NL"),
            ("NLD", "NL"),
            ("Spain", "ES"),
            ("España", "ES"),
            ("ESPAÑA", "ES"),
            ("espana", "ES"),
            ("Italy", "IT"),
            ("Ireland", "IE"),
            ("Northern Ireland", "GB"),
            ("Australia", "AU"),
            ("AUS", "AU"),
            ("Canada", "CA"),
            ("Mexico", "MX"),
            ("México", "MX"),
            ("Brazil", "BR"),
            ("India", "IN"),
            ("Japan", "JP"),
            ("China", "CN"),
            ("Sweden", "SE"),
            ("Norway", "NO"),
            ("Denmark", "DK"),
            ("Finland", "FI"),
            ("Switzerland", "CH"),
            ("Austria", "AT"),
            ("Österreich", "AT"),
            ("Belgium", "BE"),
            ("Portugal", "PT"),
            ("Poland", "PL"),
            ("New Zealand", "NZ"),
            ("South Africa", "ZA"),
            ("Singapore", "SG"),
            ("Israel", "IL"),
            ("Iceland", "IS"),
            ("Korea, Republic of", "KR"),
            ("South Korea", "KR"),
            ("Côte d'Ivoire", "CI"),
            ("Cote d’Ivoire", "CI"),
            ("Ivory Coast", "CI"),
            ("St. Lucia", "LC"),
            ("St Kitts & Nevis", "KN"),
            ("Trinidad & Tobago", "TT"),
            ("Bosnia-Herzegovina", "BA"),
            ("Guinea-Bissau", "GW"),
            ("Guinea Bissau", "GW"),
            ("Viet Nam", "VN"),
            ("Czech Republic", "CZ"),
            ("Türkiye", "TR"),
            ("UAE", "AE"),
            ("Hong Kong", "HK"),
            ("Kosovo", "XK"),
            ("  united   kingdom\t", "GB"),
        ];
        for (text, code) in cases {
            assert_eq!(region_for_country(text), Some(code), "{text:?}");
        }
    }

    #[test]
    fn every_libphonenumber_region_resolves_by_its_code() {
        let mut known = 0;
        for &(alpha2, alpha3, _) in COUNTRIES {
            if Id::from_str(alpha2).is_ok() {
                known += 1;
                assert_eq!(region_for_country(alpha2), Some(alpha2));
                assert_eq!(
                    region_for_country(&alpha2.to_ascii_lowercase()),
                    Some(alpha2)
                );
                if !alpha3.is_empty() {
                    assert_eq!(region_for_country(alpha3), Some(alpha2), "{alpha3}");
                }
            }
        }
        // Every region phonenumber 0.3 has rules for (its `Id` enum) is in the table.
        assert_eq!(known, 245);
    }

    #[test]
    fn no_key_names_two_countries() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (key, alpha2) in keys() {
            assert!(!key.is_empty(), "empty key for {alpha2}");
            if let Some(other) = seen.insert(key.clone(), alpha2) {
                assert_eq!(other, alpha2, "`{key}` names {other} and {alpha2}");
            }
        }
    }

    #[test]
    fn unknown_text_resolves_to_nothing() {
        for text in [
            "",
            "   ",
            "Atlantis",
            "XX",
            "ZZZ",
            "Europe",
            "Antarctica", // ISO, but no phone numbering of its own
            "AQ",
            "United",
            "the",
            "12",
            "📞",
            &"a".repeat(10_000),
        ] {
            assert_eq!(region_for_country(text), None, "{text:?}");
        }
    }
}

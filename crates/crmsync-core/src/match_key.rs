//! Normalized match keys: the forms in which match before create compares e-mail
//! addresses, phone numbers and last names. The matcher builds its look-up keys with
//! them, and stores index application rows by them, so that a row written as
//! `" Ada.Lovelace@Example.COM"`, `"(415) 555-0132"` or `"O'Connor"` is found by the
//! key of `ada.lovelace@example.com`, `+14155550132` or `oconnor`.
//!
//! Every function is idempotent (`key(key(x)) == key(x)`), so a caller may pass either
//! a raw value or a key.
//!
//! ```
//! use crmsync_core::match_key::{email_key, field_key, name_key, phone_key};
//!
//! assert_eq!(email_key(" Ada.Lovelace @Example.COM ").as_deref(), Some("ada.lovelace@example.com"));
//! assert_eq!(phone_key("(415) 555-0132"), phone_key("+1 415 555 0132"));
//! assert_eq!(phone_key("07911 123456"), phone_key("+44 7911 123456"));
//! assert_eq!(name_key("O'Connor-Gómez").as_deref(), Some("oconnorgomez"));
//! assert_eq!(field_key("last_name", "ÉLODIE"), name_key("elodie"));
//! assert_eq!(field_key("city", "Oslo"), None); // not a match field
//! ```

/// The canonical fields stores index by match key.
pub const MATCH_FIELDS: [&str; 4] = ["email", "phone", "mobile_phone", "last_name"];

/// Digits a phone key keeps from the end of the number (extension excluded): the
/// national number without trunk or country prefixes, however it was written.
pub const PHONE_KEY_DIGITS: usize = 8;

/// An e-mail address's key: lower case, without any whitespace. `None` when empty.
pub fn email_key(raw: &str) -> Option<String> {
    let key: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    (!key.is_empty()).then_some(key)
}

/// A phone number's key: its last [`PHONE_KEY_DIGITS`] digits before any extension
/// (`;ext=`, `x`, `#`), all of them when it has fewer. `None` without digits.
pub fn phone_key(raw: &str) -> Option<String> {
    let number = raw.split([';', 'x', 'X', '#']).next().unwrap_or_default();
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let start = digits.len().saturating_sub(PHONE_KEY_DIGITS);
    (!digits.is_empty()).then(|| digits[start..].iter().collect())
}

/// A name's key: lower case, accents folded, only letters and digits (`O'Brien` →
/// `obrien`, `Jean-Luc` → `jeanluc`). `None` when nothing is left.
pub fn name_key(raw: &str) -> Option<String> {
    let key: String = fold(raw).filter(|c| c.is_alphanumeric()).collect();
    (!key.is_empty()).then_some(key)
}

/// The pseudo-field stores look [`person_key`]s up by (`mirror_find` with this name):
/// not a record field, a key computed from `last_name` and `first_name`.
pub const PERSON: &str = "@person";

/// A person's blocking key: the last name's [`name_key`], a space, and the first letter of
/// the first name's key (nothing after the space when there is no first name). Finer than
/// the last name alone, so that a common surname does not make every record a candidate
/// of every other; still tolerant of first-name typos after the first letter and of
/// initials (`J.` and `John` share `j`). `None` without a last name.
///
/// ```
/// use crmsync_core::match_key::person_key;
///
/// assert_eq!(person_key("O'Brien", Some("Jean-Luc")).as_deref(), Some("obrien j"));
/// assert_eq!(person_key("OBRIEN", Some("J.")), person_key("o'brien", Some("jean")));
/// assert_eq!(person_key("Smith", None).as_deref(), Some("smith "));
/// assert_eq!(person_key(" - ", Some("Ann")), None);
/// ```
pub fn person_key(last_name: &str, first_name: Option<&str>) -> Option<String> {
    let last = name_key(last_name)?;
    let initial = first_name.and_then(|first| fold(first).find(|c| c.is_alphanumeric()));
    Some(person_key_of(&last, initial))
}

/// [`person_key`] from a last name's key and a first initial already folded.
pub fn person_key_of(last_name_key: &str, first_initial: Option<char>) -> String {
    let mut key = String::with_capacity(last_name_key.len() + 2);
    key.push_str(last_name_key);
    key.push(' ');
    if let Some(initial) = first_initial {
        key.push(initial);
    }
    key
}

/// The key of a value of one of the [`MATCH_FIELDS`]; `None` for other fields and for
/// values without a key.
pub fn field_key(field: &str, text: &str) -> Option<String> {
    match field {
        "email" => email_key(text),
        "phone" | "mobile_phone" => phone_key(text),
        "last_name" => name_key(text),
        _ => None,
    }
}

/// Lower case letters with their accents folded (`É` → `e`, `ß` → `ss`).
pub fn fold(raw: &str) -> impl Iterator<Item = char> + '_ {
    raw.chars().flat_map(char::to_lowercase).flat_map(|c| {
        let folded: &'static str = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ğ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'œ' => "oe",
            'ř' => "r",
            'ś' | 'š' | 'ş' | 'ș' => "s",
            'ß' => "ss",
            'ť' | 'ţ' | 'ț' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => "",
        };
        let mut out = [None, None];
        if folded.is_empty() {
            out[0] = Some(c);
        } else {
            for (slot, f) in out.iter_mut().zip(folded.chars()) {
                *slot = Some(f);
            }
        }
        out.into_iter().flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_idempotent() {
        for raw in [
            " Ada.Lovelace @Example.COM ",
            "(415) 555-0132 x12",
            "+49 (0)30 42597742",
            "O'Connor-Gómez",
            "ß",
            "",
        ] {
            for field in MATCH_FIELDS {
                if let Some(key) = field_key(field, raw) {
                    assert_eq!(field_key(field, &key), Some(key.clone()), "{field} {raw:?}");
                }
            }
        }
    }

    #[test]
    fn national_and_international_phones_share_a_key() {
        let same = [
            ("(415) 555-0132", "+14155550132"),
            ("415.555.0132", "+1 415 555 0132"),
            ("030 63927787", "+49 30 63927787"),
            ("0049 30 63927787", "+493063927787"),
            ("07911 123456", "+447911123456"),
            ("555-0132;ext=9", "555 0132"),
        ];
        for (a, b) in same {
            assert_eq!(phone_key(a), phone_key(b), "{a} / {b}");
        }
        assert_ne!(phone_key("+14155550132"), phone_key("+14155550133"));
        assert_eq!(phone_key("no digits"), None);
    }

    #[test]
    fn names_fold_case_accents_and_punctuation() {
        assert_eq!(name_key("GÓMEZ"), name_key("gomez"));
        assert_eq!(name_key("O'CONNOR"), name_key("oconnor"));
        assert_eq!(name_key("Straße").as_deref(), Some("strasse"));
        assert_eq!(name_key(" - "), None);
    }
}

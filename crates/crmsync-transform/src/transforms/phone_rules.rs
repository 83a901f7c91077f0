//! Phone number validity, as libphonenumber decides it, without its per-call cost.
//!
//! `phonenumber::PhoneNumber::is_valid` looks every pattern up in a mutex-guarded
//! regex cache keyed by the pattern's text (patterns of hundreds of characters, hashed
//! on every call): 5–11 µs per number, most of the cost of normalizing one. This module
//! compiles the same patterns once per country calling code, on first use, and applies
//! the same rules (`phonenumber::validator::is_valid`): the region is the only one of
//! the code, or the first whose leading digits match, or the first the number is a
//! valid type of; the number is valid when its region's general pattern and one of its
//! type patterns match (with the same possible-length filter). A test checks the two
//! agree.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

/// A descriptor's pattern and possible lengths.
struct Desc {
    pattern: Regex,
    lengths: Vec<u16>,
}

impl Desc {
    fn new(descriptor: &Descriptor) -> Option<Self> {
        Some(Self {
            pattern: compile(descriptor.national_number().as_str())?,
            lengths: descriptor.possible_length().to_vec(),
        })
    }

    /// `Descriptor::is_match`: a possible length, and the pattern matches from the start.
    fn is_match(&self, national: &str) -> bool {
        let len = u16::try_from(national.len()).unwrap_or(u16::MAX);
        if !self.lengths.is_empty() && !self.lengths.contains(&len) {
            return false;
        }
        self.pattern.is_match(national)
    }
}

/// A metadata pattern, compiled as `phonenumber` compiles it (white space ignored: the
/// patterns are written over several lines), anchored at the start: `phonenumber` asks
/// whether the leftmost match starts at 0, which is whether an anchored match exists,
/// and the anchored search does not try every other start.
fn compile(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// One region's rules.
struct Region {
    leading_digits: Option<Regex>,
    /// The national (trunk) prefix the parser strips, even after a country code.
    national_prefix: Option<Regex>,
    general: Desc,
    /// Every number type's descriptor, in the order `number_type` tries them.
    types: Vec<Desc>,
}

impl Region {
    fn new(meta: &Metadata) -> Option<Self> {
        let d = meta.descriptors();
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ];
        Some(Self {
            leading_digits: match meta.leading_digits() {
                Some(pattern) => Some(compile(pattern.as_str())?),
                None => None,
            },
            national_prefix: match (meta.national_prefix_for_parsing(), meta.national_prefix()) {
                (Some(pattern), _) => Some(compile(pattern.as_str())?),
                (None, Some(prefix)) => Some(compile(&regex::escape(prefix))?),
                (None, None) => None,
            },
            general: Desc::new(d.general())?,
            types: types.into_iter().flatten().filter_map(Desc::new).collect(),
        })
    }

    /// `number_type(..) != Unknown`.
    fn has_type(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

/// The rules of one country calling code: its regions in the database's order.
struct CodeRules {
    regions: Vec<Region>,
}

impl CodeRules {
    fn new(code: u16) -> Option<Self> {
        let ids = DATABASE.region(&code)?;
        let regions = if ids.len() == 1 {
            // One region (or a non-geographic "001" entity): its metadata by code.
            let meta = match ids[0] {
                "001" => DATABASE.by_code(&code)?.into_iter().next()?,
                id => DATABASE.by_id(id)?,
            };
            vec![Region::new(meta)?]
        } else {
            ids.iter()
                .map(|id| DATABASE.by_id(*id).and_then(Region::new))
                .collect::<Option<Vec<_>>>()?
        };
        Some(Self { regions })
    }

    /// Whether the parser might strip a national prefix from the start of `national`
    /// (`+7 8…` reads as `+7 …` in Russia, whose trunk prefix is 8).
    fn may_strip_prefix(&self, national: &str) -> bool {
        self.regions.iter().any(|r| {
            r.national_prefix
                .as_ref()
                .is_some_and(|p| p.is_match(national))
        })
    }

    /// `validator::is_valid`: the number's region, then whether it is a valid type there.
    fn is_valid(&self, national: &str) -> bool {
        let region = if let [only] = self.regions.as_slice() {
            Some(only)
        } else {
            self.regions.iter().find(|r| match &r.leading_digits {
                Some(leading) => leading.is_match(national),
                None => r.has_type(national),
            })
        };
        region.is_some_and(|r| r.has_type(national))
    }
}

/// Compiled rules by country calling code, each built on first use.
fn index() -> &'static HashMap<u16, OnceLock<Option<Arc<CodeRules>>>> {
    static INDEX: OnceLock<HashMap<u16, OnceLock<Option<Arc<CodeRules>>>>> = OnceLock::new();
    // Calling codes have one to three digits; non-geographic ones (800, 979, ...) share
    // the id "001", so they are found by code, not by iterating the regions.
    INDEX.get_or_init(|| {
        (1..1000)
            .filter(|code| DATABASE.region(code).is_some())
            .map(|code| (code, OnceLock::new()))
            .collect()
    })
}

fn rules(code: u16) -> Option<&'static CodeRules> {
    index()
        .get(&code)?
        .get_or_init(|| CodeRules::new(code).map(Arc::new))
        .as_deref()
}

/// Whether `national` (digits, leading zeros kept) is a valid number of country calling
/// code `code`, as `phonenumber` decides it.
pub(crate) fn is_valid(code: u16, national: &str) -> bool {
    rules(code).is_some_and(|r| r.is_valid(national))
}

/// Whether the parser might strip a national prefix from the start of `national` of
/// calling code `code`.
pub(crate) fn may_strip_prefix(code: u16, national: &str) -> bool {
    rules(code).is_some_and(|r| r.may_strip_prefix(national))
}

/// Whether `code` is a country calling code.
pub(crate) fn is_country_code(code: u16) -> bool {
    index().contains_key(&code)
}

/// Compiles the rules of a code now (on start-up) rather than on its first number.
pub(crate) fn warm_up(code: u16) {
    let _ = rules(code);
}

/// `+` and digits with spaces, dots or hyphens between them (no brackets, letters or
/// other marks) read as E.164 without libphonenumber's parser, when valid and when the
/// parser could not read them otherwise (no national prefix after the country code): the
/// form canonical values and most CRM values already have. `None` sends the text to the
/// full parser.
pub(crate) fn fast_e164(text: &str) -> Option<String> {
    let rest = text.strip_prefix('+')?;
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' => {}
            _ => return None,
        }
        if digits.len() > 15 {
            return None;
        }
    }
    if digits.len() < 3 || digits.starts_with('0') {
        return None;
    }
    // Country calling codes are prefix-free: at most one of 1, 2 or 3 digits is one.
    let (code, national) = (1..=3).find_map(|len| {
        let code: u16 = digits[..len].parse().ok()?;
        is_country_code(code).then(|| (code, &digits[len..]))
    })?;
    let rules = rules(code)?;
    // Where the parser could read the digits differently, let it.
    if rules.may_strip_prefix(national) || !rules.is_valid(national) {
        return None;
    }
    digits.insert(0, '+');
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules agree with `phonenumber`'s own `is_valid` on every kind of number.
    #[test]
    fn validity_agrees_with_libphonenumber() {
        let mut numbers: Vec<String> = vec![
            "+16502530000",
            "+12127365000",
            "+14165550199",
            "+18005550199",
            "+447400123456",
            "+442079460958",
            "+441179277000",
            "+4930901820",
            "+33142685300",
            "+33612345678",
            "+390236618300",
            "+61293744000",
            "+81332245000",
            "+80012345678",
            "+979123456789",
            "+6421387835",
            "+12530000",
            "+999123456789",
            "+4412",
            "+10000000000",
            "+447911123456",
            "+35312345678",
            "+5511987654321",
            "+8613800138000",
            "+919876543210",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        // Every region's example numbers, and each with its last digit dropped and doubled.
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            for desc in [
                Some(d.general()),
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.voip(),
            ]
            .into_iter()
            .flatten()
            {
                if let Some(example) = desc.example() {
                    let number = format!("+{}{example}", meta.country_code());
                    numbers.push(number.clone());
                    numbers.push(number[..number.len() - 1].to_owned());
                    numbers.push(format!("{number}{}", &number[number.len() - 1..]));
                }
            }
        }
        let mut checked = 0;
        for number in &numbers {
            let Ok(parsed) = phonenumber::parse(None, number) else {
                continue;
            };
            let national = parsed.national().to_string();
            assert_eq!(
                is_valid(parsed.code().value(), &national),
                parsed.is_valid(),
                "{number}"
            );
            checked += 1;
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn e164_text_is_read_without_the_parser_when_valid() {
        for (text, expected) in [
            ("+16502530000", Some("+16502530000")),
            ("+44 7400 123456", Some("+447400123456")),
            ("+49-30-901820", Some("+4930901820")),
            ("+1 212.736.5000", Some("+12127365000")),
            ("+44 (0)20 7946 0958", None),
            ("+1 650 253 0000 ext. 1", None),
            ("+1 212", None),
            ("+999 123 456 789", None),
            ("16502530000", None),
            ("+0123", None),
            ("+1234567890123456", None),
        ] {
            assert_eq!(fast_e164(text).as_deref(), expected, "{text}");
        }
    }
}

//! `phone_e164`: phone numbers in any format ⇄ E.164.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::OnceLock,
};

use crmsync_core::FieldType;
use phonenumber::country::Id;
use serde_json::Value;

use super::{FieldClass, Transform, TransformEnv, TransformError, kind, phone_rules};

/// Longer inputs are not phone numbers (libphonenumber's own limit).
const MAX_INPUT_LEN: usize = 250;

/// How an extension is written after the E.164 number (RFC 3966's parameter).
const EXTENSION_SEPARATOR: &str = ";ext=";

/// `phone_e164`: a phone number in any national or international format ⇄ its E.164
/// form, e.g. `"(212) 736-5000"` → `"+12127365000"`; see [`normalize_phone`].
///
/// Both directions normalize, so E.164 passes unchanged and a national number from the
/// application is sent as E.164. A number without a country code is read in the record's
/// country ([`TransformEnv::phone_region`], when the mapping reads it from the record),
/// and, if it is not a valid number there, in the default region. A number that cannot
/// be parsed or is not valid fails with rule `phone_e164`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhoneE164;

impl Transform for PhoneE164 {
    fn name(&self) -> &str {
        "phone_e164"
    }

    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let text = match value {
            Value::String(s) => s.clone(),
            // A phone stored in a number field: digits without formatting.
            Value::Number(n) if n.is_u64() => format!("{n}"),
            other => {
                return Err(TransformError::new(format!(
                    "expected a phone number as text, got {}",
                    kind(other)
                )));
            }
        };
        let record_region = env.phone_region_id();
        match normalize_phone_with(&text, record_region) {
            // Not a number of the record's country: a number written the way the tenant
            // writes its own (a US tenant's "(650) 253-0000" on a UK contact) still reads.
            Err(err) if record_region != env.region_id() => {
                normalize_phone_with(&text, env.region_id()).map_err(|_| err)
            }
            other => other,
        }
        .map(Value::String)
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        self.inbound(value, env)
    }

    fn sensitive(&self) -> bool {
        true
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text, FieldClass::Number])
    }
}

/// A phone number in E.164 (`+` country code and national number), numbers without a
/// country code read as belonging to `region`. An extension is kept as `;ext=digits`
/// (RFC 3966), e.g. `"+1 650-253-0000 ext. 12"` → `"+16502530000;ext=12"`.
///
/// The same normalization serves as the phone match key for deduplication.
///
/// ```
/// use crmsync_transform::normalize_phone;
/// assert_eq!(normalize_phone("020 7946 0958", "GB").ok().as_deref(), Some("+442079460958"));
/// assert!(normalize_phone("12", "US").is_err());
/// ```
///
/// # Errors
/// When `region` is unknown, or the text is not a valid phone number. The message never
/// contains the number.
pub fn normalize_phone(text: &str, region: &str) -> Result<String, TransformError> {
    let env = TransformEnv::new(region).map_err(|e| TransformError::new(e.message()))?;
    normalize_phone_with(text, env.region_id())
}

/// Loads libphonenumber's metadata now rather than on the first record (the first
/// parse costs about 100 ms), and compiles the validity rules of `region`'s calling code
/// (and North America's). Cheap after the first call.
pub(crate) fn warm_up(region: Id) {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| {
        let _ = normalize_phone_with("(212) 736-5000", Id::US);
    });
    if let Some(meta) = phonenumber::metadata::DATABASE.by_id(region.as_ref()) {
        phone_rules::warm_up(meta.country_code());
    }
}

fn normalize_phone_with(text: &str, region: Id) -> Result<String, TransformError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TransformError::new("empty phone number"));
    }
    if text.len() > MAX_INPUT_LEN {
        return Err(TransformError::new(format!(
            "too long for a phone number (more than {MAX_INPUT_LEN} characters)"
        )));
    }
    // Our own canonical form carries the extension as `;ext=`, which the parser does not
    // read without a `tel:` prefix: split it off so that canonical values round-trip.
    let (number, own_extension) = match text.split_once(EXTENSION_SEPARATOR) {
        Some((number, ext)) if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) => {
            (number, Some(ext))
        }
        _ => (text, None),
    };
    // Already E.164 (perhaps spaced): no need for the full parser.
    if let Some(e164) = phone_rules::fast_e164(number) {
        return Ok(match own_extension {
            Some(ext) => format!("{e164}{EXTENSION_SEPARATOR}{ext}"),
            None => e164,
        });
    }
    let parsed = match parse_number(number, region) {
        // "+44 (0)20 …": the bracketed trunk prefix is dropped when dialling from abroad.
        Err(_) if number.starts_with('+') && number.contains("(0)") => {
            parse_number(&number.replacen("(0)", "", 1), region)
        }
        other => other,
    };
    let parsed = parsed?;
    if !reads_back(&parsed) {
        // Read from this text the number is valid, but its E.164 form reads as another
        // number (`+7 8…` loses Russia's trunk prefix 8): not a number to store.
        return Err(TransformError::new(
            "not a valid phone number for its country",
        ));
    }
    match own_extension.map(str::to_owned).or(parsed.extension) {
        Some(ext) if !ext.is_empty() => Ok(format!("{}{EXTENSION_SEPARATOR}{ext}", parsed.e164)),
        _ => Ok(parsed.e164),
    }
}

/// Whether a valid number's E.164 form normalizes to itself, so that normalizing is
/// idempotent: it does unless the parser would strip a national prefix from it again.
fn reads_back(parsed: &Parsed) -> bool {
    let code = parsed.country_code.to_string();
    let national = parsed.e164.get(1 + code.len()..).unwrap_or_default();
    if !phone_rules::may_strip_prefix(parsed.country_code, national) {
        return true;
    }
    parse_with(&parsed.e164, None).is_ok_and(|p| p.valid && p.e164 == parsed.e164)
}

/// A number libphonenumber read.
struct Parsed {
    valid: bool,
    e164: String,
    extension: Option<String>,
    country_code: u16,
    /// Whether the country code came from the default region (a national number).
    national: bool,
}

/// Parses a valid number, working around phonenumber 0.3.10 reading the national part
/// of an international number with the *default region's* rules (so `+33 1 42 68 53 00`
/// with region `US` lost its leading `1`, the US trunk prefix).
fn parse_number(number: &str, region: Id) -> Result<Parsed, TransformError> {
    let international = number
        .strip_prefix("tel:")
        .unwrap_or(number)
        .trim_start()
        .starts_with('+');
    if international {
        // The number names its country: no default region, so its own rules apply.
        return parse_with(number, None).and_then(valid);
    }
    let first = parse_with(number, Some(region))?;
    let region_code = phonenumber::metadata::DATABASE
        .by_id(region.as_ref())
        .map(|m| m.country_code());
    if first.national || Some(first.country_code) == region_code {
        return valid(first);
    }
    // Dialled from abroad with an international prefix (`011 33 …`): read the digits
    // after the prefix and the country code again as `+33 …`.
    let mut digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if let Some(ext) = &first.extension {
        if digits.ends_with(ext.as_str()) {
            digits.truncate(digits.len() - ext.len());
        }
    }
    let code = first.country_code.to_string();
    for start in 0..=digits.len().min(5) {
        let reread = digits[start..]
            .strip_prefix(code.as_str())
            .and_then(|rest| parse_with(&format!("+{code}{rest}"), None).ok())
            .and_then(|parsed| valid(parsed).ok());
        if let Some(parsed) = reread {
            return Ok(Parsed {
                extension: first.extension,
                ..parsed
            });
        }
    }
    valid(first)
}

fn valid(parsed: Parsed) -> Result<Parsed, TransformError> {
    if parsed.valid {
        Ok(parsed)
    } else {
        Err(TransformError::new(
            "not a valid phone number for its country",
        ))
    }
}

fn parse_with(number: &str, region: Option<Id>) -> Result<Parsed, TransformError> {
    // libphonenumber ports have panicked on odd input before; a panic must not take a
    // sync run down with it, so treat one as "not a phone number".
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        phonenumber::parse(region, number).map(|n| {
            let national = n.national().to_string();
            let code = n.code().value();
            Parsed {
                // `n.is_valid()` and `n.format()` give the same, many times slower.
                valid: phone_rules::is_valid(code, &national),
                e164: format!("+{code}{national}"),
                extension: n.extension().map(|e| e.to_string()),
                country_code: code,
                national: n.code().source() == phonenumber::country::Source::Default,
            }
        })
    }));
    match parsed {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(err)) => Err(TransformError::new(match region {
            Some(region) => format!(
                "not a phone number ({err}; default region {})",
                region.as_ref()
            ),
            None => format!("not a phone number ({err})"),
        })),
        Err(_) => Err(TransformError::new("not a phone number (unparseable)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::assert_round_trips;
    use serde_json::json;

    fn env(region: &str) -> TransformEnv {
        match TransformEnv::new(region) {
            Ok(env) => env,
            Err(e) => panic!("{e}"),
        }
    }

    fn inbound(text: &str, region: &str) -> Result<Value, TransformError> {
        PhoneE164.inbound(&json!(text), &env(region))
    }

    #[test]
    fn national_and_international_formats_become_e164() {
        let cases = [
            ("+1 212-736-5000", "US", "+12127365000"),
            ("(650) 253-0000", "US", "+16502530000"),
            ("650.253.0000", "US", "+16502530000"),
            ("6502530000", "US", "+16502530000"),
            ("1-650-253-0000", "US", "+16502530000"),
            ("+1 (650) 253 0000", "DE", "+16502530000"),
            ("001 650 253 0000", "DE", "+16502530000"),
            ("+44 20 7946 0958", "US", "+442079460958"),
            ("020 7946 0958", "GB", "+442079460958"),
            ("+44 (0)20 7946 0958", "US", "+442079460958"),
            ("+49 (0)30 901820", "US", "+4930901820"),
            ("07400 123456", "GB", "+447400123456"),
            ("+49 30 901820", "US", "+4930901820"),
            ("030 901820", "DE", "+4930901820"),
            ("030/901820", "DE", "+4930901820"),
            ("+33 1 42 68 53 00", "US", "+33142685300"),
            ("01 42 68 53 00", "FR", "+33142685300"),
            ("+61 2 9374 4000", "US", "+61293744000"),
            ("(02) 9374 4000", "AU", "+61293744000"),
            ("+81 3-3224-5000", "US", "+81332245000"),
            ("+33 6 12 34 56 78", "US", "+33612345678"),
            ("011 33 1 42 68 53 00", "US", "+33142685300"),
            ("00 33 1 42 68 53 00", "DE", "+33142685300"),
            ("0033142685300", "GB", "+33142685300"),
            ("+1 416-555-0199", "US", "+14165550199"),
            ("  +12127365000  ", "US", "+12127365000"),
            ("tel:+1-650-253-0000", "US", "+16502530000"),
        ];
        for (input, region, expected) in cases {
            assert_eq!(
                inbound(input, region).ok(),
                Some(json!(expected)),
                "{input} in {region}"
            );
        }
    }

    #[test]
    fn extensions_are_kept() {
        for input in [
            "+1 650-253-0000 ext. 123",
            "(650) 253-0000 x123",
            "650-253-0000 extension 123",
            "+16502530000;ext=123",
            "tel:+1-650-253-0000;ext=123",
        ] {
            assert_eq!(
                inbound(input, "US").ok(),
                Some(json!("+16502530000;ext=123")),
                "{input}"
            );
        }
    }

    #[test]
    fn outbound_leaves_e164_as_is_and_normalizes_the_rest() {
        let us = env("US");
        for canonical in ["+12127365000", "+442079460958", "+16502530000;ext=9"] {
            assert_eq!(
                PhoneE164.outbound(&json!(canonical), &us).ok(),
                Some(json!(canonical))
            );
        }
        assert_eq!(
            PhoneE164.outbound(&json!("(212) 736-5000"), &us).ok(),
            Some(json!("+12127365000"))
        );
        assert_eq!(
            PhoneE164.inbound(&json!(2_127_365_000_u64), &us).ok(),
            Some(json!("+12127365000"))
        );
    }

    #[test]
    fn invalid_numbers_fail_without_panicking_or_leaking_the_number() {
        let inputs = [
            "12",
            "not a phone",
            "555",
            "+1 212",
            "+999 123 456 789",
            "+",
            "++++",
            "()",
            "+0 000",
            "0000000000000000000000000",
            "+1 650 253 0000 0000 0000 0000",
            "\u{0}\u{1}",
            "ext. 12",
            ";ext=12",
            "+1;ext=",
            "١٢٣٤٥٦٧٨٩٠",
            "📞 call me",
        ];
        for input in inputs {
            match inbound(input, "US") {
                Ok(v) => panic!("{input:?} was accepted as {v}"),
                Err(e) => {
                    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
                    let message_digits: String =
                        e.message().chars().filter(char::is_ascii_digit).collect();
                    assert!(
                        digits.len() < 3 || !message_digits.contains(&digits),
                        "{input:?}: {e}"
                    );
                }
            }
        }
        let long = "1".repeat(MAX_INPUT_LEN + 1);
        assert!(inbound(&long, "US").is_err());
        assert!(PhoneE164.inbound(&json!(true), &env("US")).is_err());
        assert!(PhoneE164.inbound(&json!(-5), &env("US")).is_err());
    }

    #[test]
    fn many_numbers_round_trip() {
        let mut inputs = Vec::new();
        for i in 0..40_u32 {
            let line = 1000 + i * 97 % 9000;
            inputs.push(json!(format!("(212) 736-{line:04}")));
            inputs.push(json!(format!("+1 650 253 {line:04}")));
            inputs.push(json!(format!("+44 20 7946 {line:04}")));
            inputs.push(json!(format!("+49 30 9018{:02}", i % 100)));
        }
        inputs.push(json!("+16502530000 ext. 77"));
        assert_round_trips(&PhoneE164, &env("US"), &inputs);
        let gb: Vec<Value> = (0..20)
            .map(|i| json!(format!("020 7946 {:04}", 1000 + i)))
            .collect();
        assert_round_trips(&PhoneE164, &env("GB"), &gb);
    }

    #[test]
    fn the_records_country_reads_national_numbers_before_the_default_region() {
        let us = env("US");
        let cases = [
            ("0117 927 7000", "United Kingdom", "+441179277000"),
            ("01 68 73 76 27", "fr", "+33168737627"),
            ("(07) 3212 3839", "AUS", "+61732123839"),
            ("030 8431455", "Deutschland", "+49308431455"),
            // Not a valid UK number, but a valid US one: the default region reads it.
            ("(650) 253-0000", "GB", "+16502530000"),
            // International numbers do not depend on either region.
            ("+49 30 8431455", "France", "+49308431455"),
            ("+16502530000;ext=5", "Spain", "+16502530000;ext=5"),
        ];
        for (input, country, expected) in cases {
            let record = us.with_country(country);
            assert_eq!(
                PhoneE164.inbound(&json!(input), &record).ok(),
                Some(json!(expected)),
                "{input} in {country}"
            );
            assert_eq!(
                PhoneE164.outbound(&json!(input), &record).ok(),
                Some(json!(expected)),
                "{input} in {country}"
            );
        }
        assert_eq!(us.with_country("GB").phone_region(), "GB");
        assert_eq!(us.with_country("GB").region(), "US");
        assert_eq!(us.with_country("nowhere").phone_region(), "US");
        // Invalid in both the record's country and the default region: the record's
        // country's reason is given.
        let err = PhoneE164.inbound(&json!("0117 927"), &us.with_country("GB"));
        assert!(err.is_err(), "{err:?}");
        let gb = us.with_country("GB");
        assert_round_trips(
            &PhoneE164,
            &gb,
            &[
                json!("0117 927 7000"),
                json!("07400 123456"),
                json!("(212) 736-5000"),
            ],
        );
    }

    #[test]
    fn normalizing_is_idempotent_even_for_vanity_letters() {
        // Found by the `phone_normalize` fuzz target: keypad letters made a Russian
        // number whose E.164 form, read again, loses its trunk prefix.
        let text = "f(\0\0\0\x000) 0/( 786104Eext.t. ";
        for region in ["US", "GB", "DE", "FR", "AU"] {
            if let Ok(e164) = normalize_phone(text, region) {
                assert_eq!(normalize_phone(&e164, region).ok(), Some(e164), "{region}");
            }
        }
        // Vanity numbers still read.
        assert_eq!(
            normalize_phone("1-800-FLOWERS", "US").ok().as_deref(),
            Some("+18003569377")
        );
    }

    #[test]
    fn normalize_phone_names_a_bad_region() {
        assert!(normalize_phone("+12127365000", "ZZ").is_err());
        assert_eq!(
            normalize_phone("030 901820", "de").ok().as_deref(),
            Some("+4930901820")
        );
        warm_up(Id::US);
        warm_up(Id::GB);
    }
}

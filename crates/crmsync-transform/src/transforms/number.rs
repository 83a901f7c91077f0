//! Number transforms: `integer`, `decimal`.
//!
//! HubSpot sends every property as text, Salesforce sends JSON numbers; both are read.
//! Canonical integers are JSON numbers, canonical decimals stay exact text (never a
//! float, so money keeps its cents). Outbound, text providers get text and typed ones
//! ([`RemoteValues::Typed`](crate::RemoteValues::Typed)) JSON numbers, exact or refused.

use crmsync_core::FieldType;
use serde_json::{Number, Value};

use super::{FieldClass, Transform, TransformEnv, TransformError, kind};

/// Exponents beyond this are not amounts anyone means (and would build huge strings).
const MAX_EXPONENT: i64 = 400;

/// `integer`: `"42"` (or `"42.0"`, or a number) ⇄ canonical JSON number `42`; outbound
/// gives text `"42"`, or the number `42` to a typed provider. Fractions fail.
#[derive(Clone, Copy, Debug, Default)]
pub struct Integer;

impl Transform for Integer {
    fn name(&self) -> &str {
        "integer"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        parse_integer(value).map(Value::Number)
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let n = parse_integer(value)?;
        Ok(if env.typed() {
            Value::Number(n)
        } else {
            Value::String(n.to_string())
        })
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Number])
    }
}

/// `decimal`: an exact decimal as normalized text (see [`normalize_decimal`]), e.g.
/// `"1200.50"`; JSON numbers are accepted and turned into text. Outbound gives the text,
/// or to a typed provider a JSON number that reads back as exactly the same decimal
/// (`1200.5`); a decimal a JSON number cannot carry exactly (more than about 15
/// significant digits) fails rather than being rounded. A JSON number has no scale, so
/// from a typed provider canonical decimals come without trailing zeros (`"1200.5"`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Decimal;

impl Transform for Decimal {
    fn name(&self) -> &str {
        "decimal"
    }

    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let text = decimal_text(value)?;
        if env.typed() {
            // A JSON number has no scale: `1200.50` and `1200.5` are one value there.
            return Ok(Value::String(trim_zeros(&text).to_owned()));
        }
        Ok(Value::String(text))
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let text = decimal_text(value)?;
        if env.typed() {
            exact_number(&text)
        } else {
            Ok(Value::String(text))
        }
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Number])
    }
}

fn parse_integer(value: &Value) -> Result<Number, TransformError> {
    if let Value::String(s) = value {
        // Plain digits, the usual case, need no decimal normalization.
        if let Ok(n) = s.parse::<i64>() {
            return Ok(Number::from(n));
        }
    }
    let text = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => return Ok(n.clone()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => {
            return Err(TransformError::new(format!(
                "expected a whole number, got {}",
                kind(other)
            )));
        }
    };
    let decimal =
        normalize_decimal(&text).map_err(|_| TransformError::new("expected a whole number"))?;
    let whole = match decimal.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole,
        Some(_) => {
            return Err(TransformError::new(
                "expected a whole number, got a fraction",
            ));
        }
        None => decimal.as_str(),
    };
    if let Ok(n) = whole.parse::<i64>() {
        return Ok(Number::from(n));
    }
    whole
        .parse::<u64>()
        .map(Number::from)
        .map_err(|_| TransformError::new("whole number out of range (64 bits)"))
}

/// A normalized decimal as a JSON number that serializes back to the same decimal:
/// integers as integers, others as the `f64` whose shortest form is the decimal.
pub(crate) fn exact_number(decimal: &str) -> Result<Value, TransformError> {
    let inexact = || {
        TransformError::new(
            "the decimal has more significant digits than a JSON number carries exactly; \
             round it or send it as text",
        )
    };
    let decimal = trim_zeros(decimal);
    if !decimal.contains('.') {
        if let Ok(n) = decimal.parse::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = decimal.parse::<u64>() {
            return Ok(Value::from(n));
        }
    }
    let float: f64 = decimal.parse().map_err(|_| inexact())?;
    let number = Number::from_f64(float).ok_or_else(inexact)?;
    let back = normalize_decimal(&number.to_string())?;
    if same_decimal(&back, decimal) {
        Ok(Value::Number(number))
    } else {
        Err(inexact())
    }
}

/// Whether two normalized decimals are the same number (trailing zeros aside).
fn same_decimal(a: &str, b: &str) -> bool {
    trim_zeros(a) == trim_zeros(b)
}

/// A normalized decimal without trailing fraction zeros: `"1200.50"` → `"1200.5"`,
/// `"5.00"` → `"5"`.
pub(crate) fn trim_zeros(decimal: &str) -> &str {
    if decimal.contains('.') {
        decimal.trim_end_matches('0').trim_end_matches('.')
    } else {
        decimal
    }
}

pub(crate) fn decimal_text(value: &Value) -> Result<String, TransformError> {
    match value {
        Value::String(s) => normalize_decimal(s),
        Value::Number(n) => normalize_decimal(&n.to_string()),
        other => Err(TransformError::new(format!(
            "expected a decimal number, got {}",
            kind(other)
        ))),
    }
}

/// An exact decimal in plain notation: no `+`, no leading zeros, no exponent, no
/// negative zero, and the scale (digits after the point) kept, so that `"1200.50"`
/// stays `"1200.50"`.
///
/// ```
/// use crmsync_transform::normalize_decimal;
/// assert_eq!(normalize_decimal(" +001200.50 ").ok().as_deref(), Some("1200.50"));
/// assert_eq!(normalize_decimal("1.2005e3").ok().as_deref(), Some("1200.5"));
/// assert_eq!(normalize_decimal(".5").ok().as_deref(), Some("0.5"));
/// assert!(normalize_decimal("1,200.50").is_err());
/// ```
///
/// # Errors
/// When the text is not a decimal number (thousands separators are refused: `,` is a
/// decimal point in much of the world).
pub fn normalize_decimal(text: &str) -> Result<String, TransformError> {
    let invalid = || TransformError::new("expected a decimal number such as 1200.50");
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => {
            let exp: i64 = s[at + 1..].parse().map_err(|_| invalid())?;
            if exp.abs() > MAX_EXPONENT {
                return Err(TransformError::new("decimal exponent out of range"));
            }
            (&s[..at], exp)
        }
        None => (s, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return Err(invalid());
    }

    // All digits with the point moved by the exponent: value = digits × 10^(point - len).
    let digits: String = [whole, fraction].concat();
    let scale = i64::try_from(fraction.len()).map_err(|_| invalid())? - exponent;
    let len = i64::try_from(digits.len()).map_err(|_| invalid())?;
    let (whole, fraction) = if scale <= 0 {
        // No fraction left: append zeros.
        let zeros = usize::try_from(-scale).map_err(|_| invalid())?;
        (format!("{digits}{}", "0".repeat(zeros)), String::new())
    } else if scale >= len {
        let zeros = usize::try_from(scale - len).map_err(|_| invalid())?;
        (String::new(), format!("{}{digits}", "0".repeat(zeros)))
    } else {
        let at = usize::try_from(len - scale).map_err(|_| invalid())?;
        (digits[..at].to_owned(), digits[at..].to_owned())
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let is_zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
    let sign = if negative && !is_zero { "-" } else { "" };
    Ok(if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::assert_round_trips;
    use serde_json::json;

    fn env() -> TransformEnv {
        TransformEnv::default()
    }

    #[test]
    fn integer_text_becomes_a_number_and_back() {
        let cases = [
            (json!("250"), json!(250)),
            (json!(" 250 "), json!(250)),
            (json!("+7"), json!(7)),
            (json!("-12"), json!(-12)),
            (json!("250.0"), json!(250)),
            (json!("1e3"), json!(1000)),
            (json!(42), json!(42)),
            (json!(42.0), json!(42)),
            (json!("18446744073709551615"), json!(u64::MAX)),
        ];
        for (remote, canonical) in cases {
            assert_eq!(
                Integer.inbound(&remote, &env()).ok(),
                Some(canonical),
                "{remote}"
            );
        }
        assert_eq!(
            Integer.outbound(&json!(250), &env()).ok(),
            Some(json!("250"))
        );
        assert_eq!(
            Integer.outbound(&json!("0250"), &env()).ok(),
            Some(json!("250"))
        );
        for bad in [
            json!("12.5"),
            json!("twelve"),
            json!(true),
            json!(1.5),
            json!("99999999999999999999"),
        ] {
            assert!(Integer.inbound(&bad, &env()).is_err(), "{bad}");
        }
        let inputs: Vec<Value> = (-200_i64..200)
            .map(|i| i * 7919)
            .flat_map(|i| [json!(i.to_string()), json!(i)])
            .chain([json!(i64::MIN.to_string()), json!(i64::MAX.to_string())])
            .collect();
        assert_round_trips(&Integer, &env(), &inputs);
    }

    #[test]
    fn decimals_stay_exact_text() {
        let cases = [
            ("1200.50", "1200.50"),
            ("1200.5", "1200.5"),
            ("001200.50", "1200.50"),
            ("+1200", "1200"),
            ("-0.00", "0.00"),
            ("-0", "0"),
            ("5.", "5"),
            (".25", "0.25"),
            ("1.2005e3", "1200.5"),
            ("12E-3", "0.012"),
            ("0.1", "0.1"),
            (
                "123456789012345678901234567890.123456789",
                "123456789012345678901234567890.123456789",
            ),
            ("-19.99", "-19.99"),
        ];
        for (remote, canonical) in cases {
            assert_eq!(
                Decimal.inbound(&json!(remote), &env()).ok(),
                Some(json!(canonical)),
                "{remote}"
            );
            assert_eq!(
                Decimal.outbound(&json!(canonical), &env()).ok(),
                Some(json!(canonical))
            );
        }
        assert_eq!(
            Decimal.inbound(&json!(1200.5), &env()).ok(),
            Some(json!("1200.5"))
        );
        assert_eq!(Decimal.outbound(&json!(42), &env()).ok(), Some(json!("42")));
        for bad in [
            "", ".", "-", "1,200.50", "1.2.3", "abc", "1e", "1e999", "0x10", "NaN", "inf",
        ] {
            assert!(Decimal.inbound(&json!(bad), &env()).is_err(), "{bad:?}");
        }
        assert!(Decimal.inbound(&json!(false), &env()).is_err());
    }

    #[test]
    fn many_decimals_round_trip() {
        let mut inputs = Vec::new();
        for cents in (-5000_i64..5000).step_by(37) {
            let (whole, frac) = (cents / 100, (cents % 100).abs());
            let sign = if cents < 0 && whole == 0 { "-" } else { "" };
            inputs.push(json!(format!("{sign}{whole}.{frac:02}")));
            inputs.push(json!(format!("{cents}e-2")));
        }
        assert_round_trips(&Decimal, &env(), &inputs);
    }

    fn typed() -> TransformEnv {
        env().with_remote_values(crate::RemoteValues::Typed)
    }

    #[test]
    fn typed_providers_get_json_numbers() {
        assert_eq!(
            Integer.outbound(&json!("250"), &typed()).ok(),
            Some(json!(250))
        );
        assert_eq!(
            Integer.inbound(&json!(250), &typed()).ok(),
            Some(json!(250))
        );
        for (canonical, number) in [
            ("1200.50", json!(1200.5)),
            ("1200", json!(1200)),
            ("-0.01", json!(-0.01)),
            ("0.1", json!(0.1)),
            ("123456789012.34", json!(123_456_789_012.34)),
            ("18446744073709551615", json!(u64::MAX)),
        ] {
            let out = Decimal.outbound(&json!(canonical), &typed()).ok();
            assert_eq!(out, Some(number.clone()), "{canonical}");
            // Salesforce sends it back as a number: the same decimal comes in.
            let back = Decimal.inbound(&number, &typed()).ok();
            let back = back.and_then(|b| b.as_str().map(str::to_owned));
            assert_eq!(
                back.as_deref().map(|b| same_decimal(b, canonical)),
                Some(true),
                "{canonical}"
            );
        }
        // More digits than a double carries: refused, never rounded.
        for inexact in ["12345678901234567.89", "0.12345678901234567891"] {
            assert!(
                Decimal.outbound(&json!(inexact), &typed()).is_err(),
                "{inexact}"
            );
        }
        // Text providers still get text.
        assert_eq!(
            Decimal.outbound(&json!("1200.50"), &env()).ok(),
            Some(json!("1200.50"))
        );
    }

    #[test]
    fn number_transforms_need_number_fields() {
        use crmsync_core::FieldType;
        for t in [&Integer as &dyn Transform, &Decimal] {
            assert!(t.compatible_with(&FieldType::Number));
            assert!(t.compatible_with(&FieldType::Other("currency".into())));
            assert!(!t.compatible_with(&FieldType::String));
            assert!(!t.compatible_with(&FieldType::Date));
        }
    }
}

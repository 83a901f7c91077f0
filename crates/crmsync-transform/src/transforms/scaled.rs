//! Exact decimal scaling: `currency_cents` (dollars ⇄ cents) and `duration_ms`
//! (milliseconds ⇄ seconds). The decimal point is moved in the digits' text, never
//! through a float, so `"0.29"` is 29 cents, not 28.999….

use crmsync_core::FieldType;
use serde_json::Value;

use super::{
    FieldClass, Transform, TransformEnv, TransformError, normalize_decimal,
    number::{decimal_text, exact_number},
};

/// `currency_cents`: an amount in currency units (`"49.99"`, `49.99`) ⇄ canonical whole
/// cents as a JSON number (`4999`). Outbound writes `"49.99"`, or the exact JSON number
/// `49.99` to a typed provider. An amount with fractions of a cent (`"0.125"`) fails
/// rather than being rounded.
///
/// ```
/// use crmsync_transform::{TransformEnv, transforms::{CurrencyCents, Transform}};
/// use serde_json::json;
/// let env = TransformEnv::default();
/// assert_eq!(CurrencyCents.inbound(&json!("49.99"), &env).ok(), Some(json!(4999)));
/// assert_eq!(CurrencyCents.outbound(&json!(4999), &env).ok(), Some(json!("49.99")));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CurrencyCents;

impl Transform for CurrencyCents {
    fn name(&self) -> &str {
        "currency_cents"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        let cents = shift(value, 2)?;
        whole(&cents)
            .ok_or_else(|| TransformError::new("the amount has fractions of a cent"))
            .and_then(integer)
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let cents = decimal_text(value)?;
        let cents = whole(&cents)
            .ok_or_else(|| TransformError::new("expected whole cents, got a fraction"))?;
        let amount = normalize_decimal(&format!("{cents}e-2"))?;
        if env.typed() {
            exact_number(&amount)
        } else {
            Ok(Value::String(amount))
        }
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Number])
    }
}

/// `duration_ms`: a duration in milliseconds (HubSpot's `hs_call_duration`: `"342000"`)
/// ⇄ canonical seconds as a JSON number (`342`, or `342.5`), the unit Salesforce's
/// `CallDurationInSeconds` uses. Outbound writes whole milliseconds (text, or a number
/// to a typed provider); a duration finer than a millisecond fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct DurationMs;

impl Transform for DurationMs {
    fn name(&self) -> &str {
        "duration_ms"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        let seconds = shift(value, -3)?;
        match whole(&seconds) {
            Some(s) => integer(s),
            None => exact_number(&seconds),
        }
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let millis = shift(value, 3)?;
        let millis = whole(&millis)
            .ok_or_else(|| TransformError::new("the duration has fractions of a millisecond"))?;
        if env.typed() {
            integer(millis)
        } else {
            Ok(Value::String(millis.to_owned()))
        }
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Number])
    }
}

/// The value's decimal with the point moved `places` to the right.
fn shift(value: &Value, places: i32) -> Result<String, TransformError> {
    let decimal = decimal_text(value)?;
    normalize_decimal(&format!("{decimal}e{places}"))
}

/// The whole part of a normalized decimal whose fraction is all zeros.
fn whole(decimal: &str) -> Option<&str> {
    match decimal.split_once('.') {
        None => Some(decimal),
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => Some(whole),
        Some(_) => None,
    }
}

fn integer(digits: &str) -> Result<Value, TransformError> {
    if let Ok(n) = digits.parse::<i64>() {
        return Ok(Value::from(n));
    }
    Err(TransformError::new("the number is out of range (64 bits)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RemoteValues, transforms::testing::assert_round_trips};
    use serde_json::json;

    fn env() -> TransformEnv {
        TransformEnv::default()
    }

    fn typed() -> TransformEnv {
        env().with_remote_values(RemoteValues::Typed)
    }

    #[test]
    fn dollars_become_cents_exactly() {
        // The Data Transformation Rules table: "49.99" -> 4999.
        for (remote, cents) in [
            (json!("49.99"), 4999),
            (json!("12.34"), 1234),
            (json!(12.34), 1234),
            (json!("0.29"), 29),
            (json!(0.29), 29),
            (json!("1.1"), 110),
            (json!("-5.05"), -505),
            (json!("1000"), 100_000),
            (json!(19.99), 1999),
            (json!("1.2e3"), 120_000),
            (json!("0.10"), 10),
        ] {
            assert_eq!(
                CurrencyCents.inbound(&remote, &env()).ok(),
                Some(json!(cents)),
                "{remote}"
            );
        }
        for bad in [
            json!("0.125"),
            json!("abc"),
            json!(true),
            json!("1,99"),
            json!("1e30"),
        ] {
            assert!(CurrencyCents.inbound(&bad, &env()).is_err(), "{bad}");
        }
    }

    #[test]
    fn cents_become_dollars_exactly() {
        for (cents, text, number) in [
            (json!(4999), "49.99", json!(49.99)),
            (json!(5), "0.05", json!(0.05)),
            (json!(500), "5.00", json!(5)),
            (json!(-505), "-5.05", json!(-5.05)),
            (json!("1234"), "12.34", json!(12.34)),
            (json!(0), "0.00", json!(0)),
        ] {
            assert_eq!(
                CurrencyCents.outbound(&cents, &env()).ok(),
                Some(json!(text)),
                "{cents}"
            );
            assert_eq!(
                CurrencyCents.outbound(&cents, &typed()).ok(),
                Some(number),
                "{cents}"
            );
        }
        assert!(CurrencyCents.outbound(&json!(12.5), &env()).is_err());
        let inputs: Vec<Value> = (-300_i64..300)
            .map(|i| i * 7919)
            .flat_map(|c| {
                [
                    json!(format!("{}.{:02}", c / 100, (c % 100).abs())),
                    json!(c),
                ]
            })
            .collect();
        assert_round_trips(&CurrencyCents, &env(), &inputs);
        assert_round_trips(&CurrencyCents, &typed(), &inputs);
    }

    #[test]
    fn milliseconds_become_seconds() {
        for (ms, seconds) in [
            (json!("342000"), json!(342)),
            (json!(342_000), json!(342)),
            (json!("342500"), json!(342.5)),
            (json!("1"), json!(0.001)),
            (json!("0"), json!(0)),
        ] {
            assert_eq!(DurationMs.inbound(&ms, &env()).ok(), Some(seconds), "{ms}");
        }
        assert_eq!(
            DurationMs.outbound(&json!(342), &env()).ok(),
            Some(json!("342000"))
        );
        assert_eq!(
            DurationMs.outbound(&json!(342.5), &typed()).ok(),
            Some(json!(342_500))
        );
        assert!(DurationMs.outbound(&json!(0.0001), &env()).is_err());
        assert!(DurationMs.inbound(&json!("soon"), &env()).is_err());
        let inputs: Vec<Value> = (0..500_i64)
            .map(|i| json!((i * 1237).to_string()))
            .collect();
        assert_round_trips(&DurationMs, &env(), &inputs);
        assert_round_trips(&DurationMs, &typed(), &inputs);
    }
}

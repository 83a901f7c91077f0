//! Transforms: named, reversible pairs of functions between a provider's value
//! (inbound, remote → canonical) and the application's value (outbound, canonical →
//! remote).
//!
//! | name | canonical value | inbound accepts | outbound gives |
//! | --- | --- | --- | --- |
//! | `none` | as received | anything | the canonical value |
//! | `trim` | text without surrounding spaces | text | trimmed text |
//! | `lowercase` | lower-case text | text | lower-case text |
//! | `email` | trimmed, lower-case text | text | trimmed, lower-case text |
//! | `phone_e164` | `"+14155550132"`, extension as `";ext=12"` | a phone number in any international format, or national in the record's country ([`TransformEnv::phone_region`]) or the default region | E.164 |
//! | `integer` | JSON number | `"42"`, `"42.0"`, `42` | `"42"` |
//! | `decimal` | exact decimal text, scale kept: `"1200.50"` | `"1200.50"`, `"+1.2005e3"`, `1200.5` | the decimal text |
//! | `boolean` | JSON `true`/`false` | `"true"`, `"false"`, `"yes"`, `"no"`, `"1"`, `"0"`, booleans | `"true"`/`"false"` |
//! | `datetime_iso` | `"2024-05-01T00:00:00.000Z"` (UTC, millis) | ISO-8601 with or without offset, a date, epoch milliseconds | the canonical text |
//! | `date_iso` | `"2024-05-01"` | ISO date or date-time, epoch milliseconds, `05/01/2024` (month first in region `US`, day first elsewhere) | the canonical text |
//!
//! The mapper never calls a transform with `null` or an empty string (both mean "no
//! value"), and treats an empty result as no value. Transforms never panic on input and
//! never put the value in their error messages; the mapper adds a (redacted where
//! personal) description of the value itself.
//!
//! Implement [`Transform`] and register it with
//! [`DeclarativeMapperBuilder::transform`](crate::DeclarativeMapperBuilder::transform)
//! to add your own.

use std::{collections::BTreeMap, fmt, str::FromStr, sync::Arc};

use crmsync_core::{Error, ErrorKind, Result};
use serde_json::Value;

mod country;
mod number;
mod phone;
mod text;
mod time;

pub use country::region_for_country;
pub use number::{Boolean, Decimal, Integer, normalize_decimal};
pub use phone::{PhoneE164, normalize_phone};
pub use text::{Email, Lowercase, Trim, Unchanged, normalize_email};
pub use time::{DateIso, DateTimeIso};

pub(crate) use country::{region_id_for_country, warm_up as warm_up_country_table};
pub(crate) use phone::warm_up as warm_up_phone_metadata;

/// A named, reversible conversion between a provider's value and the canonical value.
///
/// `inbound(outbound(c))` must give back `c` for every canonical value `c` that
/// `inbound` produces, so that a value written to a provider and read back is not
/// seen as a change.
pub trait Transform: Send + Sync + 'static {
    /// The name configs use, e.g. `phone_e164`; also the rule named when it fails.
    fn name(&self) -> &str;

    /// Provider value → canonical value. Never called with `null` or `""`.
    ///
    /// # Errors
    /// When the value cannot be converted; the message must not contain the value.
    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError>;

    /// Canonical value → provider value. Never called with `null`.
    ///
    /// # Errors
    /// When the value cannot be converted; the message must not contain the value.
    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError>;

    /// Whether the values are personal data (phone numbers, e-mail addresses) that
    /// error messages must not show.
    fn sensitive(&self) -> bool {
        false
    }
}

/// Why a transform could not convert a value. The message never contains the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformError {
    message: String,
}

impl TransformError {
    /// A failure with a message (which must not contain the value).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransformError {}

/// What transforms may need besides the value: the mapping's default region and, for
/// phone numbers, the region of the record being mapped.
///
/// The mapper gives each record its own environment when the object's mapping names the
/// field holding the record's country ([`ObjectMapping::phone_region`]); building one is
/// a copy of two region ids.
///
/// ```
/// use crmsync_transform::TransformEnv;
/// let tenant = TransformEnv::new("US")?;
/// let record = tenant.with_country("United Kingdom");
/// assert_eq!((record.region(), record.phone_region()), ("US", "GB"));
/// // An unknown country leaves the default region in place.
/// assert_eq!(tenant.with_country("Atlantis").phone_region(), "US");
/// # Ok::<(), crmsync_core::Error>(())
/// ```
///
/// [`ObjectMapping::phone_region`]: crate::ObjectMapping::phone_region
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformEnv {
    region_id: phonenumber::country::Id,
    phone_region_id: phonenumber::country::Id,
}

impl TransformEnv {
    /// An environment with a default region (ISO 3166-1 alpha-2, e.g. `US`).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] if the region is not one libphonenumber knows.
    pub fn new(region: &str) -> Result<Self> {
        let code = region.trim().to_ascii_uppercase();
        let region_id = phonenumber::country::Id::from_str(&code).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "unknown default_region `{region}`: use an ISO 3166-1 alpha-2 code \
                     such as US, GB or DE"
                ),
            )
        })?;
        Ok(Self {
            region_id,
            phone_region_id: region_id,
        })
    }

    /// This environment for a record whose country is `country` (a name, an alpha-2 or
    /// an alpha-3 code, read by [`region_for_country`]): phone numbers without a country
    /// code are read in that country. An unknown or empty country keeps the default
    /// region.
    pub fn with_country(&self, country: &str) -> Self {
        Self {
            region_id: self.region_id,
            phone_region_id: region_id_for_country(country).unwrap_or(self.region_id),
        }
    }

    /// The default region's code, upper case: the tenant's region, which also decides how
    /// ambiguous dates (`05/01/2024`) are read.
    pub fn region(&self) -> &str {
        self.region_id.as_ref()
    }

    /// The code (upper case) of the region phone numbers without a country code are read
    /// in: the record's country when the mapping reads it and it is known, else the
    /// default [`region`](Self::region).
    pub fn phone_region(&self) -> &str {
        self.phone_region_id.as_ref()
    }

    pub(crate) fn region_id(&self) -> phonenumber::country::Id {
        self.region_id
    }

    pub(crate) fn phone_region_id(&self) -> phonenumber::country::Id {
        self.phone_region_id
    }
}

impl Default for TransformEnv {
    fn default() -> Self {
        Self {
            region_id: phonenumber::country::Id::US,
            phone_region_id: phonenumber::country::Id::US,
        }
    }
}

/// Transforms by name: the built-in ones plus any registered.
#[derive(Clone)]
pub struct TransformRegistry {
    by_name: BTreeMap<String, Arc<dyn Transform>>,
}

impl TransformRegistry {
    /// The built-in transforms (see the [module docs](self)).
    pub fn builtin() -> Self {
        let mut registry = Self {
            by_name: BTreeMap::new(),
        };
        registry.register(Arc::new(Unchanged));
        registry.register(Arc::new(Trim));
        registry.register(Arc::new(Lowercase));
        registry.register(Arc::new(Email));
        registry.register(Arc::new(PhoneE164));
        registry.register(Arc::new(Integer));
        registry.register(Arc::new(Decimal));
        registry.register(Arc::new(Boolean));
        registry.register(Arc::new(DateTimeIso));
        registry.register(Arc::new(DateIso));
        registry
    }

    /// Adds a transform, replacing any of the same name.
    pub fn register(&mut self, transform: Arc<dyn Transform>) {
        self.by_name.insert(transform.name().to_owned(), transform);
    }

    /// The transform of that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Transform>> {
        self.by_name.get(name)
    }

    /// The names known, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

impl Default for TransformRegistry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl fmt::Debug for TransformRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.by_name.keys()).finish()
    }
}

/// The text of a string value, or an error naming what was expected.
pub(crate) fn expect_text<'v>(value: &'v Value, what: &str) -> Result<&'v str, TransformError> {
    value
        .as_str()
        .ok_or_else(|| TransformError::new(format!("expected {what} as text, got {}", kind(value))))
}

/// The JSON type of a value, for messages (never the value itself).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Round-trip checks shared by the transforms' tests.

    use super::*;

    /// `inbound(outbound(inbound(x))) == inbound(x)` and `outbound` is stable.
    pub(crate) fn assert_round_trips(t: &dyn Transform, env: &TransformEnv, inputs: &[Value]) {
        for input in inputs {
            let canonical = match t.inbound(input, env) {
                Ok(c) => c,
                Err(e) => panic!("{}: inbound({input}) failed: {e}", t.name()),
            };
            let remote = match t.outbound(&canonical, env) {
                Ok(r) => r,
                Err(e) => panic!("{}: outbound({canonical}) failed: {e}", t.name()),
            };
            let back = match t.inbound(&remote, env) {
                Ok(b) => b,
                Err(e) => panic!("{}: inbound({remote}) failed: {e}", t.name()),
            };
            assert_eq!(
                back,
                canonical,
                "{}: {input} → {canonical} → {remote}",
                t.name()
            );
            let again = t.outbound(&back, env).ok();
            assert_eq!(
                again.as_ref(),
                Some(&remote),
                "{}: outbound unstable",
                t.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_knows_every_builtin_by_name() {
        let registry = TransformRegistry::builtin();
        let names: Vec<&str> = registry.names().collect();
        assert_eq!(
            names,
            [
                "boolean",
                "date_iso",
                "datetime_iso",
                "decimal",
                "email",
                "integer",
                "lowercase",
                "none",
                "phone_e164",
                "trim"
            ]
        );
        for name in names {
            assert_eq!(registry.get(name).map(|t| t.name()), Some(name));
        }
        assert!(registry.get("picklist_map").is_none());
    }

    #[test]
    fn env_accepts_known_regions_only() {
        assert_eq!(
            TransformEnv::new("gb").ok().map(|e| e.region().to_owned()),
            Some("GB".into())
        );
        assert_eq!(TransformEnv::default().region(), "US");
        let err = TransformEnv::new("XX").err();
        assert!(
            matches!(&err, Some(e) if e.kind() == ErrorKind::Config),
            "{err:?}"
        );
    }
}

//! One field rule: [`FieldRule`], the field names on each side ([`FieldNames`]) and the
//! transform it runs ([`TransformSpec`]).

use std::{fmt, ops::Deref};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use serde_json::{Map, Value};

use super::{FieldDirection, Validation};

/// One canonical field ⇄ one remote field (or, for transforms such as `split_name`,
/// several fields on one side).
///
/// ```toml
/// [[objects.contact.fields]]
/// local = "email"
/// remote = "Email"
/// transform = "email"
/// required = true
/// validations = [{ rule = "email" }]
///
/// # A transform with options: a table with `name`.
/// [[objects.lead.fields]]
/// local = "lead_status"
/// remote = "Status"
/// transform = { name = "picklist_map", unmapped = "error", map = { NEW = "Open - Not Contacted" } }
///
/// # Several fields on one side: the transform sees (or gives) a list, in this order.
/// [[objects.contact.fields]]
/// local = ["first_name", "last_name"]
/// remote = "Name"
/// direction = "inbound"
/// transform = "split_name"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The application's (canonical) field name, or names.
    pub local: FieldNames,
    /// The provider's field name, or names.
    pub remote: FieldNames,
    /// Which way the field flows; bidirectional unless told.
    #[serde(default)]
    pub direction: FieldDirection,
    /// The transform (see [`crate::transforms`]): a name, or a table with `name` and the
    /// transform's options; `none` unless told.
    #[serde(default)]
    pub transform: TransformSpec,
    /// Whether an inbound record without a value (after `default`) fails mapping,
    /// and an outbound patch may not clear the field.
    #[serde(default)]
    pub required: bool,
    /// Checks on the canonical value (each canonical field's value, for a rule with
    /// several), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<Validation>,
    /// The canonical value to use when an inbound record has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

impl FieldRule {
    /// A bidirectional rule without transform, validation or default.
    ///
    /// ```
    /// use crmsync_transform::FieldRule;
    /// let one = FieldRule::new("email", "Email").transform("email").required();
    /// let two = FieldRule::new(["first_name", "last_name"], "Name").inbound().transform("split_name");
    /// assert_eq!(one.local, "email");
    /// assert_eq!(two.local.len(), 2);
    /// ```
    pub fn new(local: impl Into<FieldNames>, remote: impl Into<FieldNames>) -> Self {
        Self {
            local: local.into(),
            remote: remote.into(),
            direction: FieldDirection::Bidirectional,
            transform: TransformSpec::default(),
            required: false,
            validations: Vec::new(),
            default: None,
        }
    }

    /// Sets the direction.
    pub fn direction(mut self, direction: FieldDirection) -> Self {
        self.direction = direction;
        self
    }

    /// Makes the rule inbound only.
    pub fn inbound(self) -> Self {
        self.direction(FieldDirection::Inbound)
    }

    /// Makes the rule outbound only.
    pub fn outbound(self) -> Self {
        self.direction(FieldDirection::Outbound)
    }

    /// Sets the transform: a name (`"phone_e164"`) or a [`TransformSpec`] with options.
    pub fn transform(mut self, transform: impl Into<TransformSpec>) -> Self {
        self.transform = transform.into();
        self
    }

    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds a validation.
    pub fn validate(mut self, validation: Validation) -> Self {
        self.validations.push(validation);
        self
    }

    /// Sets the inbound default value.
    pub fn default_value(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }
}

/// The field name (or names, in order) on one side of a [`FieldRule`].
///
/// Written as a string (`"email"`) or a list (`["first_name", "last_name"]`); a single
/// name is written back as a string. Compares equal to a `&str` when it is that one
/// name.
///
/// ```
/// use crmsync_transform::FieldNames;
/// let one = FieldNames::from("email");
/// let two = FieldNames::from(["first_name", "last_name"]);
/// assert_eq!(one, "email");
/// assert_eq!(one.single(), Some("email"));
/// assert_eq!(two.single(), None);
/// assert_eq!(two.to_string(), "[first_name, last_name]");
/// assert_eq!(serde_json::to_string(&one)?, r#""email""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldNames(Vec<String>);

impl FieldNames {
    /// The names, in order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The name, when there is exactly one.
    pub fn single(&self) -> Option<&str> {
        match self.0.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The first name (`""` when there is none).
    pub fn first(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }

    /// Whether `name` is one of the names.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == name)
    }
}

impl Deref for FieldNames {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for FieldNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.single() {
            Some(one) => f.write_str(one),
            None => write!(f, "[{}]", self.0.join(", ")),
        }
    }
}

impl fmt::Debug for FieldNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.single() {
            Some(one) => fmt::Debug::fmt(one, f),
            None => fmt::Debug::fmt(&self.0, f),
        }
    }
}

impl From<&str> for FieldNames {
    fn from(name: &str) -> Self {
        Self(vec![name.to_owned()])
    }
}

impl From<String> for FieldNames {
    fn from(name: String) -> Self {
        Self(vec![name])
    }
}

impl From<&String> for FieldNames {
    fn from(name: &String) -> Self {
        Self(vec![name.clone()])
    }
}

impl From<Vec<String>> for FieldNames {
    fn from(names: Vec<String>) -> Self {
        Self(names)
    }
}

impl<const N: usize> From<[&str; N]> for FieldNames {
    fn from(names: [&str; N]) -> Self {
        Self(names.iter().map(|n| (*n).to_owned()).collect())
    }
}

impl PartialEq<str> for FieldNames {
    fn eq(&self, other: &str) -> bool {
        self.single() == Some(other)
    }
}

impl PartialEq<&str> for FieldNames {
    fn eq(&self, other: &&str) -> bool {
        self.single() == Some(*other)
    }
}

impl PartialEq<String> for FieldNames {
    fn eq(&self, other: &String) -> bool {
        self.single() == Some(other.as_str())
    }
}

impl Serialize for FieldNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.single() {
            Some(one) => s.serialize_str(one),
            None => self.0.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for FieldNames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(name) => Ok(Self(vec![name])),
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(name) => Ok(name),
                    _ => Err(D::Error::custom(
                        "a list of field names must hold only names (strings)",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Self),
            _ => Err(D::Error::custom(
                "expected a field name or a list of field names",
            )),
        }
    }
}

/// Which transform a rule runs: a name (`"phone_e164"`), or a name with options
/// (`{ name = "picklist_map", map = { ... } }` in TOML).
///
/// ```
/// use crmsync_transform::TransformSpec;
/// use serde_json::json;
///
/// let plain: TransformSpec = serde_json::from_value(json!("phone_e164"))?;
/// assert_eq!(plain, "phone_e164");
///
/// let with: TransformSpec = serde_json::from_value(json!(
///     { "name": "date_sfdc", "canonical": "datetime" }))?;
/// assert_eq!(with.name(), "date_sfdc");
/// assert_eq!(with.options().and_then(|o| o.get("canonical")), Some(&json!("datetime")));
///
/// let built = TransformSpec::new("currency_cents").option("scale", json!(2));
/// assert_eq!(serde_json::to_value(&built)?, json!({ "name": "currency_cents", "scale": 2 }));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct TransformSpec {
    name: String,
    options: Map<String, Value>,
}

impl TransformSpec {
    /// A transform by name, without options.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            options: Map::new(),
        }
    }

    /// Adds (or replaces) an option.
    pub fn option(mut self, key: impl Into<String>, value: Value) -> Self {
        self.options.insert(key.into(), value);
        self
    }

    /// The transform's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The options, if any were given.
    pub fn options(&self) -> Option<&Map<String, Value>> {
        (!self.options.is_empty()).then_some(&self.options)
    }

    /// The options (empty when none were given).
    pub fn options_or_empty(&self) -> &Map<String, Value> {
        &self.options
    }
}

impl Default for TransformSpec {
    fn default() -> Self {
        Self::new("none")
    }
}

impl fmt::Debug for TransformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.options.is_empty() {
            fmt::Debug::fmt(&self.name, f)
        } else {
            f.debug_struct("TransformSpec")
                .field("name", &self.name)
                .field("options", &self.options)
                .finish()
        }
    }
}

impl fmt::Display for TransformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl From<&str> for TransformSpec {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl From<String> for TransformSpec {
    fn from(name: String) -> Self {
        Self::new(name)
    }
}

impl PartialEq<str> for TransformSpec {
    fn eq(&self, other: &str) -> bool {
        self.options.is_empty() && self.name == other
    }
}

impl PartialEq<&str> for TransformSpec {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl Serialize for TransformSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.options.is_empty() {
            return s.serialize_str(&self.name);
        }
        let mut table = Map::with_capacity(self.options.len() + 1);
        table.insert("name".to_owned(), Value::String(self.name.clone()));
        for (key, value) in &self.options {
            table.insert(key.clone(), value.clone());
        }
        table.serialize(s)
    }
}

impl<'de> Deserialize<'de> for TransformSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(name) => Ok(Self::new(name)),
            Value::Object(mut options) => match options.remove("name") {
                Some(Value::String(name)) => Ok(Self { name, options }),
                Some(_) => Err(D::Error::custom("a transform's `name` must be text")),
                None => Err(D::Error::custom(
                    "a transform table needs `name`, e.g. { name = \"picklist_map\", map = { .. } }",
                )),
            },
            _ => Err(D::Error::custom(
                "expected a transform name, or a table with `name` and the transform's options",
            )),
        }
    }
}

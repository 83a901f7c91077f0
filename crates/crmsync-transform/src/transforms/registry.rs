//! [`TransformRegistry`]: transforms (and factories of transforms with options) by name.

use std::{collections::BTreeMap, fmt, sync::Arc};

use serde_json::{Map, Value};

use super::{
    Boolean, BooleanCheckbox, BooleanYn, CurrencyCents, DateIso, DateSfdcFactory, DateTimeIso,
    Decimal, DefaultFactory, DurationMs, Email, EpochMs, ExprFactory, Integer, JoinName, Lowercase,
    PhoneE164, PicklistFactory, SplitName, Transform, Trim, Unchanged, UrlDomain,
};
use crate::TransformSpec;

/// The fields on each side of the rule a transform is built for, so that a factory can
/// check and resolve options that name them (a `picklist_map` whose values fill several
/// remote fields).
#[derive(Clone, Copy, Debug)]
pub struct RuleShape<'a> {
    /// The canonical field names, in order.
    pub local: &'a [String],
    /// The remote field names, in order.
    pub remote: &'a [String],
}

/// Builds a [`Transform`] from a rule's options: for transforms configured per rule,
/// such as `picklist_map` (its table) or `expr` (its expressions).
///
/// ```
/// use std::sync::Arc;
/// use crmsync_transform::{
///     DeclarativeMapper, FieldRule, MappingConfig, RuleShape, Transform, TransformEnv,
///     TransformError, TransformFactory, TransformSpec,
/// };
/// use serde_json::{Map, Value, json};
///
/// /// `prefix`: adds `text` in front of values going out, takes it off coming in.
/// struct Prefix(String);
/// impl Transform for Prefix {
///     fn name(&self) -> &str { "prefix" }
///     fn inbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
///         let s = v.as_str().ok_or_else(|| TransformError::new("expected text"))?;
///         Ok(json!(s.strip_prefix(self.0.as_str()).unwrap_or(s)))
///     }
///     fn outbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
///         let s = v.as_str().ok_or_else(|| TransformError::new("expected text"))?;
///         Ok(json!(format!("{}{s}", self.0)))
///     }
/// }
/// struct PrefixFactory;
/// impl TransformFactory for PrefixFactory {
///     fn name(&self) -> &str { "prefix" }
///     fn build(&self, options: &Map<String, Value>, _: RuleShape<'_>)
///         -> Result<Arc<dyn Transform>, String> {
///         match options.get("text") {
///             Some(Value::String(text)) => Ok(Arc::new(Prefix(text.clone()))),
///             _ => Err("`prefix` needs `text`, e.g. { name = \"prefix\", text = \"SF-\" }".into()),
///         }
///     }
/// }
///
/// let config = MappingConfig::default().with_object("contact", [
///     FieldRule::new("ref", "External_Id__c")
///         .transform(TransformSpec::new("prefix").option("text", json!("APP-"))),
/// ]);
/// let mapper = DeclarativeMapper::builder(config).transform_factory(Arc::new(PrefixFactory)).build()?;
/// # Ok::<(), crmsync_core::Error>(())
/// ```
pub trait TransformFactory: Send + Sync + 'static {
    /// The name configs use.
    fn name(&self) -> &str;

    /// A transform for one rule, from its options (the transform table less `name`;
    /// empty when the rule names the transform without options).
    ///
    /// # Errors
    /// A message saying what is wrong with the options and how to fix them; the mapper
    /// adds the file, object and rule.
    fn build(
        &self,
        options: &Map<String, Value>,
        rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String>;
}

#[derive(Clone)]
enum Entry {
    Plain(Arc<dyn Transform>),
    Factory(Arc<dyn TransformFactory>),
}

/// Transforms by name: the built-in ones plus any registered.
#[derive(Clone)]
pub struct TransformRegistry {
    by_name: BTreeMap<String, Entry>,
}

impl TransformRegistry {
    /// The built-in transforms (see the [module docs](super)).
    pub fn builtin() -> Self {
        let mut registry = Self {
            by_name: BTreeMap::new(),
        };
        let plain: [Arc<dyn Transform>; 17] = [
            Arc::new(Unchanged),
            Arc::new(Trim),
            Arc::new(Lowercase),
            Arc::new(Email),
            Arc::new(PhoneE164),
            Arc::new(Integer),
            Arc::new(Decimal),
            Arc::new(Boolean),
            Arc::new(BooleanYn),
            Arc::new(BooleanCheckbox),
            Arc::new(DateTimeIso),
            Arc::new(DateIso),
            Arc::new(EpochMs),
            Arc::new(DurationMs),
            Arc::new(CurrencyCents),
            Arc::new(UrlDomain),
            Arc::new(SplitName),
        ];
        for transform in plain {
            registry.register(transform);
        }
        registry.register(Arc::new(JoinName));
        let factories: [Arc<dyn TransformFactory>; 4] = [
            Arc::new(DateSfdcFactory),
            Arc::new(PicklistFactory),
            Arc::new(ExprFactory),
            Arc::new(DefaultFactory),
        ];
        for factory in factories {
            registry.register_factory(factory);
        }
        registry
    }

    /// Adds a transform, replacing any of the same name.
    pub fn register(&mut self, transform: Arc<dyn Transform>) {
        self.by_name
            .insert(transform.name().to_owned(), Entry::Plain(transform));
    }

    /// Adds a factory of transforms configured per rule, replacing any transform of the
    /// same name.
    pub fn register_factory(&mut self, factory: Arc<dyn TransformFactory>) {
        self.by_name
            .insert(factory.name().to_owned(), Entry::Factory(factory));
    }

    /// The transform of that name, when it takes no options (see
    /// [`resolve`](Self::resolve) for every transform).
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Transform>> {
        match self.by_name.get(name) {
            Some(Entry::Plain(transform)) => Some(transform),
            _ => None,
        }
    }

    /// Whether a transform or factory of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The transform a rule's spec names, built with its options for its fields.
    ///
    /// # Errors
    /// A message (without the file or rule, which the caller adds) when the name is
    /// unknown, options are given to a transform that takes none, or the factory refuses
    /// the options.
    pub fn resolve(
        &self,
        spec: &TransformSpec,
        rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String> {
        match self.by_name.get(spec.name()) {
            None => Err(format!(
                "unknown transform `{}`; use one of {} or register it with \
                 DeclarativeMapper::builder(..).transform(..)",
                spec.name(),
                self.names().collect::<Vec<_>>().join(", ")
            )),
            Some(Entry::Plain(transform)) => match spec.options() {
                Some(options) => Err(format!(
                    "transform `{}` takes no options (got {}); write `transform = \"{}\"`",
                    spec.name(),
                    options.keys().cloned().collect::<Vec<_>>().join(", "),
                    spec.name()
                )),
                None => Ok(transform.clone()),
            },
            Some(Entry::Factory(factory)) => factory
                .build(spec.options_or_empty(), rule)
                .map_err(|problem| format!("transform `{}`: {problem}", spec.name())),
        }
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

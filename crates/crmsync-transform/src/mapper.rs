//! [`DeclarativeMapper`]: a [`FieldMapper`] compiled from a [`MappingConfig`].

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::Arc,
};

use crmsync_core::{
    CanonicalRecord, Error, ErrorKind, FieldMapper, Fields, MapContext, MappingFailure, ObjectKind,
    Record, Result,
};
use serde_json::Value;

use crate::{
    FieldDirection, MappingConfig, ObjectMapping, PhoneRegion,
    transforms::{
        Transform, TransformEnv, TransformRegistry, warm_up_country_table, warm_up_phone_metadata,
    },
    validate::Check,
};

/// A [`FieldMapper`] driven by a [`MappingConfig`]: per object, a list of rules that each
/// map one canonical field to one remote field, in a direction, through a named
/// [transform](crate::transforms), under validations.
///
/// The configuration is checked and compiled once, in [`DeclarativeMapper::new`]; mapping
/// a record then does no parsing of the configuration.
///
/// - Inbound ([`to_canonical`](FieldMapper::to_canonical)): for each inbound rule the
///   remote value is read (`null` or `""` mean no value; remote fields without a rule are
///   ignored), transformed, replaced by the rule's `default` when absent, checked for
///   `required`, then validated. Every failing field is reported, each as an
///   [`ErrorKind::Validation`] error naming the record, the canonical field and the rule
///   (the transform's name, `required`, or the validation's rule). Phone and e-mail values
///   are never shown in messages.
/// - Outbound ([`to_remote`](FieldMapper::to_remote)): only the fields present in the patch
///   are mapped. A `null` (or `""`) canonical value means "clear the field" and is passed
///   on as `Value::Null`: each provider sends its own form of "clear" (HubSpot an empty
///   string). Clearing a `required` field fails.
/// - With [`MapContext::skip_validation`], `required`, validations and failing transforms
///   are not enforced; a value a transform could not convert is kept as received.
/// - When the object's mapping has a [`phone_region`](crate::ObjectMapping::phone_region),
///   each record's transforms get a [`TransformEnv`] whose
///   [`phone_region`](TransformEnv::phone_region) is the record's country (inbound: the
///   record's remote country field; outbound: the patch's local country field, if the
///   patch has it), so that national phone numbers read in the record's country. A
///   missing or unknown country uses the default region.
///
/// ```
/// use crmsync_core::{ConnectionId, FieldMapper, Fields, MapContext, ObjectKind, Record, TenantId};
/// use crmsync_transform::DeclarativeMapper;
/// use serde_json::json;
///
/// let mapper = DeclarativeMapper::hubspot_defaults();
/// let (tenant, connection) = (TenantId::new("acme"), ConnectionId::new("hubspot-main"));
/// let ctx = MapContext {
///     tenant: &tenant,
///     connection: &connection,
///     object: &ObjectKind::Contact,
///     skip_validation: false,
/// };
///
/// let mut properties = Fields::new();
/// properties.insert("email".into(), json!("  Ada@Example.COM "));
/// properties.insert("phone".into(), json!("(650) 253-0000"));
/// properties.insert("jobtitle".into(), json!(""));
/// let record = Record::new("101", ObjectKind::Contact, properties);
///
/// let canonical = mapper.to_canonical(&ctx, &record)?;
/// assert_eq!(canonical.fields["email"], json!("ada@example.com"));
/// assert_eq!(canonical.fields["phone"], json!("+16502530000"));
/// assert!(!canonical.fields.contains_key("title")); // "" means no value
///
/// let mut patch = Fields::new();
/// patch.insert("title".into(), json!("CTO"));
/// patch.insert("mobile_phone".into(), serde_json::Value::Null); // clear it
/// let remote = mapper.to_remote(&ctx, "101", &patch)?;
/// assert_eq!(remote["jobtitle"], json!("CTO"));
/// assert_eq!(remote["mobilephone"], serde_json::Value::Null);
/// assert_eq!(remote.len(), 2);
/// # Ok::<(), crmsync_core::MappingFailure>(())
/// ```
#[derive(Clone)]
pub struct DeclarativeMapper {
    config: MappingConfig,
    env: TransformEnv,
    objects: HashMap<String, CompiledObject>,
}

/// Builds a [`DeclarativeMapper`] with transforms of your own besides the built-in ones.
///
/// ```
/// use crmsync_transform::{DeclarativeMapper, FieldRule, MappingConfig, Transform, TransformEnv, TransformError};
/// use serde_json::Value;
/// use std::sync::Arc;
///
/// /// Dollars as text ⇄ cents as a number.
/// struct Cents;
/// impl Transform for Cents {
///     fn name(&self) -> &str { "currency_cents" }
///     fn inbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
///         let text = crmsync_transform::normalize_decimal(v.as_str().unwrap_or_default())?;
///         let (whole, frac) = text.split_once('.').unwrap_or((&text, "0"));
///         let cents = format!("{whole}{:0<2}", frac).parse::<i64>()
///             .map_err(|_| TransformError::new("not an amount in cents"))?;
///         Ok(Value::from(cents))
///     }
///     fn outbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
///         let cents = v.as_i64().ok_or_else(|| TransformError::new("expected cents"))?;
///         Ok(Value::from(format!("{}.{:02}", cents / 100, cents % 100)))
///     }
/// }
///
/// let config = MappingConfig::default()
///     .with_object("deal", [FieldRule::new("amount_cents", "amount").transform("currency_cents")]);
/// let mapper = DeclarativeMapper::builder(config).transform(Arc::new(Cents)).build()?;
/// # Ok::<(), crmsync_core::Error>(())
/// ```
pub struct DeclarativeMapperBuilder {
    config: MappingConfig,
    registry: TransformRegistry,
}

impl DeclarativeMapperBuilder {
    /// Registers a transform, replacing a built-in one of the same name.
    pub fn transform(mut self, transform: Arc<dyn Transform>) -> Self {
        self.registry.register(transform);
        self
    }

    /// Checks and compiles the configuration.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] listing every problem, each naming the object and the rule
    /// and saying what to do: an unknown `default_region` or transform, an empty field
    /// name, two rules writing one target (two inbound rules with the same `local`, or two
    /// outbound rules with the same `remote`), an invalid validation (a bad regex, min >
    /// max), a `null` default or one that fails its own validations.
    pub fn build(self) -> Result<DeclarativeMapper> {
        let env = TransformEnv::new(&self.config.default_region)?;
        // libphonenumber loads its metadata on first use (~100 ms): pay that now, not on
        // the first record of a sync run.
        warm_up_phone_metadata();
        if self
            .config
            .objects
            .values()
            .any(|o| o.phone_region.is_some())
        {
            warm_up_country_table();
        }

        let mut problems = Vec::new();
        let mut objects = HashMap::new();
        let mut keys: BTreeMap<String, &str> = BTreeMap::new();
        for (key, mapping) in &self.config.objects {
            let kind = ObjectKind::parse(key).as_str().to_owned();
            if let Some(first) = keys.insert(kind.clone(), key) {
                problems.push(format!(
                    "objects `{first}` and `{key}` both configure object `{kind}`; merge them \
                     into one"
                ));
                continue;
            }
            let object = compile_object(&kind, mapping, &self.registry, &mut problems);
            objects.insert(kind, object);
        }
        if !problems.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("invalid field mapping: {}", problems.join("; ")),
            ));
        }
        Ok(DeclarativeMapper {
            config: self.config,
            env,
            objects,
        })
    }
}

impl fmt::Debug for DeclarativeMapperBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclarativeMapperBuilder")
            .field("config", &self.config)
            .field("transforms", &self.registry)
            .finish()
    }
}

impl DeclarativeMapper {
    /// Checks and compiles a configuration with the built-in transforms.
    ///
    /// # Errors
    /// See [`DeclarativeMapperBuilder::build`].
    pub fn new(config: MappingConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder, to register transforms of your own before compiling.
    pub fn builder(config: MappingConfig) -> DeclarativeMapperBuilder {
        DeclarativeMapperBuilder {
            config,
            registry: TransformRegistry::builtin(),
        }
    }

    /// The configuration this mapper was compiled from.
    pub fn config(&self) -> &MappingConfig {
        &self.config
    }

    /// The transforms' environment (the default phone region). Records of an object whose
    /// mapping has a [`phone_region`](crate::ObjectMapping::phone_region) get this
    /// environment [`with_country`](TransformEnv::with_country) their own country.
    pub fn env(&self) -> &TransformEnv {
        &self.env
    }

    /// The environment for one record: with its country, if the object's mapping reads
    /// one and the record has it as text.
    fn env_for(&self, country: Option<&Value>) -> TransformEnv {
        match country.and_then(Value::as_str) {
            Some(country) => self.env.with_country(country),
            None => self.env.clone(),
        }
    }

    /// Whether the mapping has rules for an object.
    pub fn maps(&self, object: &ObjectKind) -> bool {
        self.objects.contains_key(object.as_str())
    }

    fn object(&self, object: &ObjectKind) -> Option<&CompiledObject> {
        self.objects.get(object.as_str())
    }

    fn unmapped(ctx: &MapContext<'_>, record_id: &str) -> MappingFailure {
        MappingFailure::single(
            Error::new(
                ErrorKind::Config,
                format!(
                    "no field mapping for object `{}`; add `objects.{}` to the mapping \
                     configuration",
                    ctx.object, ctx.object
                ),
            )
            .with_tenant(ctx.tenant)
            .with_connection(ctx.connection)
            .with_record(record_id),
        )
    }
}

impl fmt::Debug for DeclarativeMapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclarativeMapper")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl FieldMapper for DeclarativeMapper {
    fn remote_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.object(ctx.object)
            .map(|o| {
                let mut names: Vec<String> = Vec::new();
                for rule in o.inbound() {
                    if !names.contains(&rule.remote) {
                        names.push(rule.remote.clone());
                    }
                }
                // The record's country, to read its phone numbers, even if no rule maps it.
                if let Some(region) = &o.phone_region {
                    if !names.contains(&region.remote) {
                        names.push(region.remote.clone());
                    }
                }
                names
            })
            .unwrap_or_default()
    }

    fn inbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.object(ctx.object)
            .map(|o| o.inbound().map(|r| r.local.clone()).collect())
            .unwrap_or_default()
    }

    fn outbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.object(ctx.object)
            .map(|o| {
                let mut names: Vec<String> = Vec::new();
                for rule in o.outbound() {
                    if !names.contains(&rule.local) {
                        names.push(rule.local.clone());
                    }
                }
                names
            })
            .unwrap_or_default()
    }

    fn to_canonical(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<CanonicalRecord, MappingFailure> {
        let Some(object) = self.object(ctx.object) else {
            return Err(Self::unmapped(ctx, record.id.as_str()));
        };
        let enforce = !ctx.skip_validation;
        let fail = |rule: &CompiledRule, name: &str, message: String| {
            Error::validation(record.id.as_str(), &rule.local, name, message)
                .with_tenant(ctx.tenant)
                .with_connection(ctx.connection)
        };
        let env = match &object.phone_region {
            Some(region) => self.env_for(record.fields.get(&region.remote)),
            None => self.env.clone(),
        };
        let mut fields = Fields::new();
        let mut errors = Vec::new();
        for rule in object.inbound() {
            let raw = record.fields.get(&rule.remote).filter(|v| !is_blank(v));
            let value = match raw {
                None => rule.default.clone(),
                Some(raw) => match rule.transform.inbound(raw, &env) {
                    Ok(v) if is_blank(&v) => rule.default.clone(),
                    Ok(v) => Some(v),
                    Err(_) if !enforce => Some(raw.clone()),
                    Err(err) => {
                        let message = format!(
                            "cannot read remote field `{}`: {err} (got {})",
                            rule.remote,
                            describe(raw, rule.sensitive)
                        );
                        errors.push(fail(rule, rule.transform.name(), message));
                        continue;
                    }
                },
            };
            let Some(value) = value else {
                if rule.required && enforce {
                    let message = format!(
                        "required field has no value (remote field `{}` is empty or missing)",
                        rule.remote
                    );
                    errors.push(fail(rule, "required", message));
                }
                continue;
            };
            if enforce {
                for check in &rule.checks {
                    if let Err(problem) = check.check(&value) {
                        let message = format!(
                            "{problem} (got {})",
                            describe(&value, rule.sensitive || check.sensitive())
                        );
                        errors.push(fail(rule, check.rule(), message));
                    }
                }
            }
            fields.insert(rule.local.clone(), value);
        }
        if errors.is_empty() {
            Ok(CanonicalRecord {
                fields,
                modified_at: record.modified_at,
            })
        } else {
            Err(MappingFailure { errors })
        }
    }

    fn to_remote(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<Fields, MappingFailure> {
        let Some(object) = self.object(ctx.object) else {
            return Err(Self::unmapped(ctx, record_id));
        };
        let enforce = !ctx.skip_validation;
        let fail = |rule: &CompiledRule, name: &str, message: String| {
            Error::validation(record_id, &rule.local, name, message)
                .with_tenant(ctx.tenant)
                .with_connection(ctx.connection)
        };
        let env = match &object.phone_region {
            Some(region) => self.env_for(fields.get(&region.local)),
            None => self.env.clone(),
        };
        let mut remote = Fields::new();
        let mut errors = Vec::new();
        for rule in object.outbound() {
            let Some(value) = fields.get(&rule.local) else {
                continue;
            };
            if is_blank(value) {
                if rule.required && enforce {
                    let message = format!(
                        "required field cannot be cleared (remote field `{}`)",
                        rule.remote
                    );
                    errors.push(fail(rule, "required", message));
                } else {
                    remote.insert(rule.remote.clone(), Value::Null);
                }
                continue;
            }
            if enforce {
                let before = errors.len();
                for check in &rule.checks {
                    if let Err(problem) = check.check(value) {
                        let message = format!(
                            "{problem} (got {})",
                            describe(value, rule.sensitive || check.sensitive())
                        );
                        errors.push(fail(rule, check.rule(), message));
                    }
                }
                if errors.len() > before {
                    continue;
                }
            }
            match rule.transform.outbound(value, &env) {
                Ok(v) => {
                    remote.insert(rule.remote.clone(), v);
                }
                Err(_) if !enforce => {
                    remote.insert(rule.remote.clone(), value.clone());
                }
                Err(err) => {
                    let message = format!(
                        "cannot write remote field `{}`: {err} (got {})",
                        rule.remote,
                        describe(value, rule.sensitive)
                    );
                    errors.push(fail(rule, rule.transform.name(), message));
                }
            }
        }
        if errors.is_empty() {
            Ok(remote)
        } else {
            Err(MappingFailure { errors })
        }
    }
}

/// One object's rules, ready to run.
#[derive(Clone)]
struct CompiledObject {
    rules: Vec<CompiledRule>,
    /// Where the records keep their country, for phone numbers.
    phone_region: Option<PhoneRegion>,
}

impl CompiledObject {
    fn inbound(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().filter(|r| r.direction.is_inbound())
    }

    fn outbound(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().filter(|r| r.direction.is_outbound())
    }
}

#[derive(Clone)]
struct CompiledRule {
    local: String,
    remote: String,
    direction: FieldDirection,
    transform: Arc<dyn Transform>,
    required: bool,
    checks: Vec<Check>,
    default: Option<Value>,
    /// Values are personal data (phone, e-mail): messages show only their length.
    sensitive: bool,
}

fn compile_object(
    object: &str,
    mapping: &ObjectMapping,
    registry: &TransformRegistry,
    problems: &mut Vec<String>,
) -> CompiledObject {
    let rules = &mapping.fields;
    if let Some(region) = &mapping.phone_region {
        if region.remote.trim().is_empty() || region.local.trim().is_empty() {
            problems.push(format!(
                "object `{object}`: `phone_region` must name the field holding the record's \
                 country on both sides (`remote` and `local`, e.g. both \"country\"), or be \
                 removed"
            ));
        }
    }
    let mut compiled = Vec::with_capacity(rules.len());
    // Which rule first writes each target, to report two rules writing one target.
    let mut inbound_targets: HashMap<&str, usize> = HashMap::new();
    let mut outbound_targets: HashMap<&str, usize> = HashMap::new();
    for (index, rule) in rules.iter().enumerate() {
        let at = format!(
            "object `{object}` rule #{index} (local `{}`, remote `{}`)",
            rule.local, rule.remote
        );
        let before = problems.len();
        if rule.local.trim().is_empty() || rule.remote.trim().is_empty() {
            problems.push(format!("{at}: `local` and `remote` must name a field"));
        }
        let first_inbound = rule
            .direction
            .is_inbound()
            .then(|| inbound_targets.insert(&rule.local, index))
            .flatten();
        if let Some(first) = first_inbound {
            problems.push(format!(
                "{at}: rule #{first} already writes canonical field `{}` inbound; remove one \
                 rule or make one of them outbound-only",
                rule.local
            ));
        }
        let first_outbound = rule
            .direction
            .is_outbound()
            .then(|| outbound_targets.insert(&rule.remote, index))
            .flatten();
        if let Some(first) = first_outbound {
            problems.push(format!(
                "{at}: rule #{first} already writes remote field `{}` outbound; remove one \
                 rule or make one of them inbound-only",
                rule.remote
            ));
        }
        let transform = registry.get(&rule.transform).cloned();
        if transform.is_none() {
            let known: Vec<&str> = registry.names().collect();
            problems.push(format!(
                "{at}: unknown transform `{}`; use one of {} or register it with \
                 DeclarativeMapper::builder(..).transform(..)",
                rule.transform,
                known.join(", ")
            ));
        }
        let mut checks = Vec::with_capacity(rule.validations.len());
        for validation in &rule.validations {
            match Check::compile(validation) {
                Ok(check) => checks.push(check),
                Err(problem) => problems.push(format!("{at}: {problem}")),
            }
        }
        match &rule.default {
            Some(Value::Null) => problems.push(format!(
                "{at}: `default` is null; remove it (no default) or give a value"
            )),
            Some(default) if checks.len() == rule.validations.len() => {
                for check in &checks {
                    if let Err(problem) = check.check(default) {
                        problems.push(format!(
                            "{at}: the default value fails validation `{}` ({problem}); fix \
                             the default or the validation",
                            check.rule()
                        ));
                    }
                }
            }
            _ => {}
        }
        if problems.len() > before {
            continue;
        }
        let Some(transform) = transform else {
            continue;
        };
        let sensitive = transform.sensitive()
            || checks.iter().any(Check::sensitive)
            || looks_personal(&rule.local)
            || looks_personal(&rule.remote);
        compiled.push(CompiledRule {
            local: rule.local.clone(),
            remote: rule.remote.clone(),
            direction: rule.direction,
            transform,
            required: rule.required,
            checks,
            default: rule.default.clone(),
            sensitive,
        });
    }
    CompiledObject {
        rules: compiled,
        phone_region: mapping.phone_region.clone(),
    }
}

/// `null` and `""` both mean "no value".
fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn looks_personal(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["email", "phone", "mobile"]
        .iter()
        .any(|p| name.contains(p))
}

/// A value for an error message: personal values only by type and length, others quoted
/// and cut short.
fn describe(value: &Value, sensitive: bool) -> String {
    const MAX_SHOWN: usize = 40;
    match value {
        Value::String(s) if sensitive => format!("text of {} characters", s.chars().count()),
        _ if sensitive => crate::transforms::kind(value).to_owned(),
        Value::String(s) if s.chars().count() > MAX_SHOWN => {
            let cut: String = s.chars().take(MAX_SHOWN).collect();
            format!("{:?}…", cut)
        }
        Value::String(s) => format!("{s:?}"),
        other => {
            let text = other.to_string();
            if text.chars().count() > MAX_SHOWN {
                crate::transforms::kind(other).to_owned()
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
mod tests;

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
    MappingConfig,
    transforms::{
        Transform, TransformEnv, TransformFactory, TransformRegistry, warm_up_country_table,
        warm_up_phone_metadata,
    },
};

mod compile;
mod run;

pub(crate) use compile::CompiledObject;
#[cfg(test)]
use compile::looks_personal;
use run::Findings;
#[cfg(test)]
use run::describe;

/// A [`FieldMapper`] driven by a [`MappingConfig`]: per object, a list of rules that each
/// map one canonical field to one remote field (or several, for transforms such as
/// `split_name`), in a direction, through a [transform](crate::transforms), under
/// validations.
///
/// The configuration is checked and compiled once, in [`DeclarativeMapper::new`]:
/// transforms built with their options (expressions parsed, picklist tables indexed),
/// regexes compiled. Mapping a record then parses nothing and allocates little beyond
/// the output map.
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
///   are not enforced; a value a transform could not convert is kept as received. What
///   would have failed is recorded: [`to_canonical_outcome`](Self::to_canonical_outcome)
///   and [`to_remote_outcome`](Self::to_remote_outcome) return it as warnings.
/// - A rule with several canonical fields (`local = ["first_name", "last_name"]`) writes
///   outbound only from a patch that carries all of them; see
///   [`field_groups`](Self::field_groups).
/// - [`check_against`](Self::check_against) checks the rules against what the provider's
///   `describe()` reports.
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
/// /// Dollars as text ⇄ cents as a number (the built-in `currency_cents` does this
/// /// exactly; this one shows how a transform is written).
/// struct Cents;
/// impl Transform for Cents {
///     fn name(&self) -> &str { "cents" }
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
///     .with_object("deal", [FieldRule::new("amount_cents", "amount").transform("cents")]);
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

    /// Registers a factory of transforms configured per rule (`transform = { name =
    /// "...", ... }`), replacing a built-in one of the same name; see
    /// [`TransformFactory`].
    pub fn transform_factory(mut self, factory: Arc<dyn TransformFactory>) -> Self {
        self.registry.register_factory(factory);
        self
    }

    /// Checks and compiles the configuration.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the file (when the configuration came from one) and
    /// listing every problem, each naming the object and the rule and saying what to do:
    /// an unknown `default_region` or transform, bad transform options (an `expr` that
    /// does not parse, a `picklist_map` without `map`), a transform on the wrong number of
    /// fields, a bidirectional rule whose transform is not reversible, an empty field
    /// name, two rules writing one target (two inbound rules with the same `local`, or two
    /// outbound rules with the same `remote`), an invalid validation (a bad regex, min >
    /// max), a `null` default or one that fails its own validations.
    pub fn build(self) -> Result<DeclarativeMapper> {
        let env = TransformEnv::new(&self.config.default_region)
            .map_err(|err| {
                Error::new(
                    ErrorKind::Config,
                    format!("{}: {}", self.config.origin(), err.message()),
                )
            })?
            .with_remote_values(self.config.remote_values);
        // libphonenumber loads its metadata on first use (~100 ms): pay that now, not on
        // the first record of a sync run.
        warm_up_phone_metadata(env.region_id());
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
            let object = compile::compile_object(&kind, mapping, &self.registry, &mut problems);
            objects.insert(kind, object);
        }
        if !problems.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "invalid field mapping in {}: {}",
                    self.config.origin(),
                    problems.join("; ")
                ),
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

    pub(crate) fn object(&self, object: &ObjectKind) -> Option<&CompiledObject> {
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
                    for remote in &rule.remote {
                        if !names.contains(remote) {
                            names.push(remote.clone());
                        }
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
            .map(|o| o.inbound().flat_map(|r| r.local.iter().cloned()).collect())
            .unwrap_or_default()
    }

    fn outbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.object(ctx.object)
            .map(|o| {
                let mut names: Vec<String> = Vec::new();
                for rule in o.outbound() {
                    for local in &rule.local {
                        if !names.contains(local) {
                            names.push(local.clone());
                        }
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
        self.to_canonical_outcome(ctx, record).map(|o| o.value)
    }

    fn to_canonical_checked(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<(CanonicalRecord, Vec<crmsync_core::Error>), MappingFailure> {
        self.to_canonical_outcome(ctx, record)
            .map(|o| (o.value, o.warnings))
    }

    fn to_remote_checked(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<(Fields, Vec<crmsync_core::Error>), MappingFailure> {
        self.to_remote_outcome(ctx, record_id, fields)
            .map(|o| (o.value, o.warnings))
    }

    fn to_remote(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<Fields, MappingFailure> {
        self.to_remote_outcome(ctx, record_id, fields)
            .map(|o| o.value)
    }
}

/// A mapped record (or patch) and the failures [`MapContext::skip_validation`] let
/// through: each a [`ErrorKind::Validation`] error naming the record, the field and the
/// rule, as it would have failed the record, for the engine to log or report.
#[derive(Debug)]
pub struct MappingOutcome<T> {
    /// The mapped record or patch.
    pub value: T,
    /// What would have failed without `skip_validation` (always empty with it off: the
    /// failures fail the record instead).
    pub warnings: Vec<Error>,
}

impl DeclarativeMapper {
    /// [`to_canonical`](FieldMapper::to_canonical), also returning what
    /// `skip_validation` let through.
    ///
    /// ```
    /// use crmsync_core::{ConnectionId, Fields, MapContext, ObjectKind, Record, TenantId};
    /// use crmsync_transform::DeclarativeMapper;
    /// use serde_json::json;
    ///
    /// let mapper = DeclarativeMapper::hubspot_defaults();
    /// let (tenant, connection) = (TenantId::new("acme"), ConnectionId::new("hubspot"));
    /// let ctx = MapContext { tenant: &tenant, connection: &connection,
    ///                        object: &ObjectKind::Contact, skip_validation: true };
    /// let mut properties = Fields::new();
    /// properties.insert("email".into(), json!("not-an-address"));
    /// let outcome = mapper.to_canonical_outcome(&ctx, &Record::new("7", ObjectKind::Contact, properties))?;
    /// assert_eq!(outcome.value.fields["email"], json!("not-an-address"));
    /// assert_eq!(outcome.warnings[0].context().rule.as_deref(), Some("email"));
    /// # Ok::<(), crmsync_core::MappingFailure>(())
    /// ```
    ///
    /// # Errors
    /// As [`to_canonical`](FieldMapper::to_canonical).
    pub fn to_canonical_outcome(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<MappingOutcome<CanonicalRecord>, MappingFailure> {
        let Some(object) = self.object(ctx.object) else {
            return Err(Self::unmapped(ctx, record.id.as_str()));
        };
        let env = match &object.phone_region {
            Some(region) => self.env_for(record.fields.get(&region.remote)),
            None => self.env.clone(),
        };
        let mut fields = Fields::new();
        let mut findings = Findings::new(ctx, record.id.as_str());
        run::inbound(object, &env, &record.fields, &mut fields, &mut findings);
        if !findings.errors.is_empty() {
            return Err(MappingFailure {
                errors: findings.errors,
            });
        }
        Ok(MappingOutcome {
            value: CanonicalRecord {
                fields,
                modified_at: record.modified_at,
            },
            warnings: findings.warnings,
        })
    }

    /// [`to_remote`](FieldMapper::to_remote), also returning what `skip_validation` let
    /// through.
    ///
    /// # Errors
    /// As [`to_remote`](FieldMapper::to_remote).
    pub fn to_remote_outcome(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<MappingOutcome<Fields>, MappingFailure> {
        let Some(object) = self.object(ctx.object) else {
            return Err(Self::unmapped(ctx, record_id));
        };
        let env = match &object.phone_region {
            Some(region) => self.env_for(fields.get(&region.local)),
            None => self.env.clone(),
        };
        let mut remote = Fields::new();
        let mut findings = Findings::new(ctx, record_id);
        run::outbound(object, &env, fields, &mut remote, &mut findings);
        if !findings.errors.is_empty() {
            return Err(MappingFailure {
                errors: findings.errors,
            });
        }
        Ok(MappingOutcome {
            value: remote,
            warnings: findings.warnings,
        })
    }

    /// The canonical fields that outbound patches must carry together, per rule with
    /// several `local` fields (`["first_name", "last_name"]` for a `join_name` into one
    /// remote `Name`): a patch with only some of a group fails that rule. An engine that
    /// sends only changed fields widens a patch to whole groups.
    pub fn field_groups(&self, object: &ObjectKind) -> Vec<&[String]> {
        self.object(object)
            .map(|o| {
                o.outbound()
                    .filter(|r| r.local.len() > 1)
                    .map(|r| r.local.as_slice())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;

//! [`IdentityMapper`]: canonical names on both sides, for a list of fields.

use std::collections::HashMap;

use crmsync_core::{
    CanonicalRecord, FieldMapper, Fields, MapContext, MappingFailure, ObjectKind, Record,
};

/// A [`FieldMapper`] for a system that already speaks the canonical names (the
/// application's own records, a test double): listed fields are copied unchanged both
/// ways, others are dropped. No transforms, no validation.
///
/// Inbound, `null`s are dropped (a canonical record holds none); outbound, a `null` in a
/// patch is kept (it means "clear").
///
/// ```
/// use crmsync_core::{ConnectionId, FieldMapper, Fields, MapContext, ObjectKind, Record, TenantId};
/// use crmsync_transform::IdentityMapper;
/// use serde_json::json;
///
/// let mapper = IdentityMapper::new(["email", "first_name"])
///     .with_object(ObjectKind::Deal, ["name", "amount"]);
/// let (tenant, connection) = (TenantId::new("t"), ConnectionId::new("app"));
/// let ctx = MapContext { tenant: &tenant, connection: &connection,
///                        object: &ObjectKind::Contact, skip_validation: false };
/// let mut fields = Fields::new();
/// fields.insert("email".into(), json!("ada@example.com"));
/// fields.insert("internal_flag".into(), json!(true));
/// let canonical = mapper.to_canonical(&ctx, &Record::new("1", ObjectKind::Contact, fields))?;
/// assert_eq!(canonical.fields.len(), 1);
/// # Ok::<(), crmsync_core::MappingFailure>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct IdentityMapper {
    fields: Vec<String>,
    per_object: HashMap<String, Vec<String>>,
}

impl IdentityMapper {
    /// Maps these fields, for every object without a list of its own.
    pub fn new(fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            fields: fields.into_iter().map(Into::into).collect(),
            per_object: HashMap::new(),
        }
    }

    /// Maps these fields for one object instead.
    pub fn with_object(
        mut self,
        object: ObjectKind,
        fields: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.per_object.insert(
            object.as_str().to_owned(),
            fields.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// The fields mapped for an object.
    pub fn fields(&self, object: &ObjectKind) -> &[String] {
        self.per_object.get(object.as_str()).unwrap_or(&self.fields)
    }
}

impl FieldMapper for IdentityMapper {
    fn remote_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.fields(ctx.object).to_vec()
    }

    fn inbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.fields(ctx.object).to_vec()
    }

    fn outbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.fields(ctx.object).to_vec()
    }

    fn to_canonical(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<CanonicalRecord, MappingFailure> {
        let fields = copy(self.fields(ctx.object), &record.fields, false);
        Ok(CanonicalRecord {
            fields,
            modified_at: record.modified_at,
        })
    }

    fn to_remote(
        &self,
        ctx: &MapContext<'_>,
        _record_id: &str,
        fields: &Fields,
    ) -> Result<Fields, MappingFailure> {
        Ok(copy(self.fields(ctx.object), fields, true))
    }
}

fn copy(names: &[String], from: &Fields, keep_nulls: bool) -> Fields {
    names
        .iter()
        .filter_map(|name| {
            from.get(name)
                .filter(|v| keep_nulls || !v.is_null())
                .map(|v| (name.clone(), v.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_core::{ConnectionId, TenantId};
    use serde_json::{Value, json};

    fn with_ctx<T>(object: ObjectKind, f: impl FnOnce(&MapContext<'_>) -> T) -> T {
        let tenant = TenantId::new("t");
        let connection = ConnectionId::new("app");
        f(&MapContext {
            tenant: &tenant,
            connection: &connection,
            object: &object,
            skip_validation: false,
        })
    }

    #[test]
    fn listed_fields_pass_unchanged_both_ways() {
        let mapper = IdentityMapper::new(["email", "phone", "score"]);
        let mut fields = Fields::new();
        fields.insert("email".into(), json!("  Mixed@Case "));
        fields.insert("phone".into(), Value::Null);
        fields.insert("score".into(), json!(87));
        fields.insert("secret".into(), json!("dropped"));
        let record = Record::new("1", ObjectKind::Contact, fields.clone());

        with_ctx(ObjectKind::Contact, |ctx| {
            let canonical = mapper.to_canonical(ctx, &record).map(|c| c.fields);
            let expected: Fields = [
                ("email".to_owned(), json!("  Mixed@Case ")),
                ("score".to_owned(), json!(87)),
            ]
            .into();
            assert_eq!(canonical.ok(), Some(expected));

            let remote = mapper.to_remote(ctx, "1", &fields).ok().unwrap_or_default();
            assert_eq!(remote.len(), 3);
            assert_eq!(remote["phone"], Value::Null);
            assert_eq!(mapper.remote_fields(ctx), ["email", "phone", "score"]);
            assert_eq!(mapper.inbound_fields(ctx), mapper.outbound_fields(ctx));
        });
    }

    #[test]
    fn per_object_lists_override_the_default_list() {
        let mapper =
            IdentityMapper::new(["email"]).with_object(ObjectKind::Deal, ["name", "amount"]);
        with_ctx(ObjectKind::Deal, |ctx| {
            assert_eq!(mapper.remote_fields(ctx), ["name", "amount"]);
        });
        with_ctx(ObjectKind::Company, |ctx| {
            assert_eq!(mapper.remote_fields(ctx), ["email"]);
        });
    }
}

//! [`ConnectionMappers`]: one mapping per tenant or connection, with a default.

use std::{collections::HashMap, fmt, sync::Arc};

use crmsync_core::{
    CanonicalRecord, ConnectionId, Error, ErrorKind, FieldMapper, Fields, MapContext,
    MappingFailure, Record, TenantId,
};

/// A [`FieldMapper`] that picks, for each call, the mapper configured for the call's
/// connection, else its tenant, else the default: tenants start from defaults and
/// override them.
///
/// Each tenant's mapper is typically the provider's defaults with the tenant's
/// [`MappingOverlay`](crate::MappingOverlay) on top, compiled once:
///
/// ```
/// use std::sync::Arc;
/// use crmsync_core::{ConnectionId, TenantId};
/// use crmsync_transform::{ConnectionMappers, DeclarativeMapper, MappingConfig, MappingOverlay};
///
/// let acme = MappingOverlay::from_toml_str(r#"
///     [[objects.contact.fields]]
///     local = "region"
///     remote = "hs_region"
///     direction = "inbound"
/// "#)?;
/// let acme = DeclarativeMapper::new(MappingConfig::hubspot_defaults().overlay(&acme)?)?;
/// let mappers = ConnectionMappers::new()
///     .with_default(Arc::new(DeclarativeMapper::hubspot_defaults()))
///     .with_tenant(TenantId::new("acme"), Arc::new(acme))
///     .with_connection(
///         TenantId::new("acme"),
///         ConnectionId::new("salesforce-eu"),
///         Arc::new(DeclarativeMapper::salesforce_defaults()),
///     );
/// # Ok::<(), crmsync_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ConnectionMappers {
    default: Option<Arc<dyn FieldMapper>>,
    tenants: HashMap<TenantId, Arc<dyn FieldMapper>>,
    /// By tenant, then connection, so that a call looks up by reference (no clones).
    connections: HashMap<TenantId, HashMap<ConnectionId, Arc<dyn FieldMapper>>>,
}

impl ConnectionMappers {
    /// No mappers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the mapper for connections and tenants without one of their own.
    pub fn with_default(mut self, mapper: Arc<dyn FieldMapper>) -> Self {
        self.default = Some(mapper);
        self
    }

    /// Sets the mapper for every connection of a tenant.
    pub fn with_tenant(mut self, tenant: TenantId, mapper: Arc<dyn FieldMapper>) -> Self {
        self.tenants.insert(tenant, mapper);
        self
    }

    /// Sets the mapper for one connection of a tenant.
    pub fn with_connection(
        mut self,
        tenant: TenantId,
        connection: ConnectionId,
        mapper: Arc<dyn FieldMapper>,
    ) -> Self {
        self.connections
            .entry(tenant)
            .or_default()
            .insert(connection, mapper);
        self
    }

    /// The mapper that serves a call, if any.
    pub fn resolve(&self, ctx: &MapContext<'_>) -> Option<&Arc<dyn FieldMapper>> {
        self.connections
            .get(ctx.tenant)
            .and_then(|connections| connections.get(ctx.connection))
            .or_else(|| self.tenants.get(ctx.tenant))
            .or(self.default.as_ref())
    }

    fn missing(ctx: &MapContext<'_>, record_id: &str) -> MappingFailure {
        MappingFailure::single(
            Error::new(
                ErrorKind::Config,
                "no field mapping for this tenant or connection and no default; configure one",
            )
            .with_tenant(ctx.tenant)
            .with_connection(ctx.connection)
            .with_record(record_id),
        )
    }
}

impl fmt::Debug for ConnectionMappers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionMappers")
            .field("default", &self.default.is_some())
            .field("tenants", &self.tenants.keys().collect::<Vec<_>>())
            .field(
                "connections",
                &self
                    .connections
                    .iter()
                    .flat_map(|(t, cs)| cs.keys().map(move |c| (t, c)))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl FieldMapper for ConnectionMappers {
    fn remote_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.resolve(ctx)
            .map(|m| m.remote_fields(ctx))
            .unwrap_or_default()
    }

    fn inbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.resolve(ctx)
            .map(|m| m.inbound_fields(ctx))
            .unwrap_or_default()
    }

    fn outbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String> {
        self.resolve(ctx)
            .map(|m| m.outbound_fields(ctx))
            .unwrap_or_default()
    }

    fn to_canonical(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<CanonicalRecord, MappingFailure> {
        match self.resolve(ctx) {
            Some(mapper) => mapper.to_canonical(ctx, record),
            None => Err(Self::missing(ctx, record.id.as_str())),
        }
    }

    fn to_canonical_checked(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<(CanonicalRecord, Vec<crmsync_core::Error>), MappingFailure> {
        match self.resolve(ctx) {
            Some(mapper) => mapper.to_canonical_checked(ctx, record),
            None => Err(Self::missing(ctx, record.id.as_str())),
        }
    }

    fn to_remote_checked(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<(Fields, Vec<crmsync_core::Error>), MappingFailure> {
        match self.resolve(ctx) {
            Some(mapper) => mapper.to_remote_checked(ctx, record_id, fields),
            None => Err(Self::missing(ctx, record_id)),
        }
    }

    fn to_remote(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<Fields, MappingFailure> {
        match self.resolve(ctx) {
            Some(mapper) => mapper.to_remote(ctx, record_id, fields),
            None => Err(Self::missing(ctx, record_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityMapper;
    use crmsync_core::ObjectKind;

    fn fields_for(mappers: &ConnectionMappers, tenant: &str, connection: &str) -> Vec<String> {
        let (tenant, connection) = (TenantId::new(tenant), ConnectionId::new(connection));
        mappers.remote_fields(&MapContext {
            tenant: &tenant,
            connection: &connection,
            object: &ObjectKind::Contact,
            skip_validation: false,
        })
    }

    #[test]
    fn connection_beats_tenant_beats_default() {
        let mappers = ConnectionMappers::new()
            .with_default(Arc::new(IdentityMapper::new(["default"])))
            .with_tenant(
                TenantId::new("acme"),
                Arc::new(IdentityMapper::new(["tenant"])),
            )
            .with_connection(
                TenantId::new("acme"),
                ConnectionId::new("eu"),
                Arc::new(IdentityMapper::new(["connection"])),
            );
        assert_eq!(fields_for(&mappers, "acme", "eu"), ["connection"]);
        assert_eq!(fields_for(&mappers, "acme", "us"), ["tenant"]);
        assert_eq!(fields_for(&mappers, "globex", "eu"), ["default"]);
    }

    #[test]
    fn without_any_mapper_records_fail_with_a_config_error() {
        let mappers = ConnectionMappers::new();
        let (tenant, connection) = (TenantId::new("t"), ConnectionId::new("c"));
        let ctx = MapContext {
            tenant: &tenant,
            connection: &connection,
            object: &ObjectKind::Contact,
            skip_validation: false,
        };
        assert!(mappers.remote_fields(&ctx).is_empty());
        let record = Record::new("1", ObjectKind::Contact, Fields::new());
        let failure = mappers.to_canonical(&ctx, &record).err();
        assert_eq!(
            failure.and_then(|f| f.first().map(|e| e.kind())),
            Some(ErrorKind::Config)
        );
    }
}

//! The `FieldMapper` contract: provider records ⇄ canonical records.

use std::fmt;

use crate::{CanonicalRecord, ConnectionId, Error, Fields, ObjectKind, Record, TenantId};

/// Who is mapping what: passed to every [`FieldMapper`] call.
#[derive(Clone, Copy, Debug)]
pub struct MapContext<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The connection.
    pub connection: &'a ConnectionId,
    /// The object.
    pub object: &'a ObjectKind,
    /// Record validation failures instead of enforcing them.
    pub skip_validation: bool,
}

/// Why a record could not be mapped: one [`Error`] per failing field and rule
/// (kind [`Validation`](crate::ErrorKind::Validation)).
#[derive(Debug)]
pub struct MappingFailure {
    /// The failures; never empty.
    pub errors: Vec<Error>,
}

impl MappingFailure {
    /// A failure of one rule.
    pub fn single(error: Error) -> Self {
        Self {
            errors: vec![error],
        }
    }

    /// The first failure, which dead letters and reports name.
    pub fn first(&self) -> Option<&Error> {
        self.errors.first()
    }
}

impl fmt::Display for MappingFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingFailure {}

/// Maps one provider's records to the application's field names and back, per tenant,
/// connection and object, with direction per field, transforms and validation.
pub trait FieldMapper: Send + Sync + 'static {
    /// The provider fields to request when reading.
    fn remote_fields(&self, ctx: &MapContext<'_>) -> Vec<String>;

    /// Canonical fields that flow from the provider into the application.
    fn inbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String>;

    /// Canonical fields that flow from the application to the provider.
    fn outbound_fields(&self, ctx: &MapContext<'_>) -> Vec<String>;

    /// A provider record in canonical names (inbound fields only).
    fn to_canonical(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<CanonicalRecord, MappingFailure>;

    /// [`to_canonical`](FieldMapper::to_canonical), also returning the validation
    /// failures `skip_validation` let through, so they can be recorded (the engine
    /// writes them to the audit trail). The default reports none.
    fn to_canonical_checked(
        &self,
        ctx: &MapContext<'_>,
        record: &Record,
    ) -> Result<(CanonicalRecord, Vec<Error>), MappingFailure> {
        self.to_canonical(ctx, record).map(|c| (c, Vec::new()))
    }

    /// Canonical fields (a full record or a patch) in the provider's names
    /// (outbound fields only). `record_id` names the record in errors.
    fn to_remote(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<Fields, MappingFailure>;

    /// [`to_remote`](FieldMapper::to_remote), also returning the validation failures
    /// `skip_validation` let through (the engine writes them to the audit trail). The
    /// default reports none.
    fn to_remote_checked(
        &self,
        ctx: &MapContext<'_>,
        record_id: &str,
        fields: &Fields,
    ) -> Result<(Fields, Vec<Error>), MappingFailure> {
        self.to_remote(ctx, record_id, fields)
            .map(|f| (f, Vec::new()))
    }
}

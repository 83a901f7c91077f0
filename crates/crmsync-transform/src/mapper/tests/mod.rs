//! The mapper's tests: basics, phone regions by record, and rules with options or
//! several fields.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use crmsync_core::{ConnectionId, ErrorKind, ObjectKind, TenantId};
use serde_json::json;

use super::*;
use crate::{FieldRule, PhoneRegion, TransformError, Validation};

mod basics;
mod regions;
mod rules;

pub(super) struct Ctx {
    pub(super) tenant: TenantId,
    pub(super) connection: ConnectionId,
    pub(super) object: ObjectKind,
    pub(super) skip_validation: bool,
}

impl Ctx {
    pub(super) fn new(object: ObjectKind) -> Self {
        Self {
            tenant: TenantId::new("acme"),
            connection: ConnectionId::new("hubspot-1"),
            object,
            skip_validation: false,
        }
    }

    pub(super) fn skipping(mut self) -> Self {
        self.skip_validation = true;
        self
    }

    pub(super) fn get(&self) -> MapContext<'_> {
        MapContext {
            tenant: &self.tenant,
            connection: &self.connection,
            object: &self.object,
            skip_validation: self.skip_validation,
        }
    }
}

pub(super) fn mapper(config: MappingConfig) -> DeclarativeMapper {
    match DeclarativeMapper::new(config) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

pub(super) fn contact_mapper() -> DeclarativeMapper {
    mapper(
        MappingConfig::default().with_object(
            "contact",
            [
                FieldRule::new("email", "email")
                    .transform("email")
                    .required()
                    .validate(Validation::Email),
                FieldRule::new("phone", "phone").transform("phone_e164"),
                FieldRule::new("status", "hs_lead_status")
                    .default_value(json!("NEW"))
                    .validate(Validation::Enum {
                        values: vec![json!("NEW"), json!("OPEN")],
                    }),
                FieldRule::new("title", "jobtitle")
                    .transform("trim")
                    .validate(Validation::Length {
                        min: None,
                        max: Some(10),
                    }),
                FieldRule::new("score", "score")
                    .outbound()
                    .transform("integer"),
                FieldRule::new("owner", "hubspot_owner_id").inbound(),
            ],
        ),
    )
}

pub(super) fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub(super) fn config_error(config: MappingConfig) -> String {
    match DeclarativeMapper::new(config) {
        Ok(_) => panic!("the configuration compiled"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            e.to_string()
        }
    }
}

pub(super) fn rules_of(failure: &MappingFailure) -> Vec<(String, String, String)> {
    failure
        .errors
        .iter()
        .map(|e| {
            let c = e.context();
            (
                c.record.clone().unwrap_or_default(),
                c.field.clone().unwrap_or_default(),
                c.rule.clone().unwrap_or_default(),
            )
        })
        .collect()
}

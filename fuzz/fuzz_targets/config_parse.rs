//! Mapping configurations from untrusted text (a tenant's upload): parsing, overlaying,
//! compiling and mapping a record through the result must never panic, hang or blow up.

#![no_main]

use crmsync_core::{ConnectionId, FieldMapper, Fields, MapContext, ObjectKind, Record, TenantId};
use crmsync_transform::{DeclarativeMapper, MappingConfig, MappingOverlay};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for config in [MappingConfig::from_toml_str(text), MappingConfig::from_json_str(text)] {
        if let Ok(config) = config {
            let _ = config.to_toml_string();
            exercise(config);
        }
    }
    for overlay in [MappingOverlay::from_toml_str(text), MappingOverlay::from_json_str(text)] {
        if let Ok(overlay) = overlay {
            if let Ok(config) = MappingConfig::salesforce_defaults().overlay(&overlay) {
                exercise(config);
            }
        }
    }
});

/// Compiles a configuration and maps a record of each object through it, both ways.
fn exercise(config: MappingConfig) {
    let objects: Vec<String> = config.objects.keys().cloned().collect();
    let Ok(mapper) = DeclarativeMapper::new(config) else {
        return;
    };
    let (tenant, connection) = (TenantId::new("t"), ConnectionId::new("c"));
    let samples = [json!("Ada Lovelace"), json!("+1 650-253-0000"), json!(42), json!(true)];
    for object in objects {
        let object = ObjectKind::parse(&object);
        for skip_validation in [false, true] {
            let ctx = MapContext {
                tenant: &tenant,
                connection: &connection,
                object: &object,
                skip_validation,
            };
            for sample in &samples {
                let fields: Fields = mapper
                    .remote_fields(&ctx)
                    .into_iter()
                    .map(|name| (name, sample.clone()))
                    .collect();
                let record = Record::new("1", object.clone(), fields);
                if let Ok(canonical) = mapper.to_canonical(&ctx, &record) {
                    let _ = mapper.to_remote(&ctx, "1", &canonical.fields);
                }
                let patch: Fields = mapper
                    .outbound_fields(&ctx)
                    .into_iter()
                    .map(|name| (name, sample.clone()))
                    .chain([("unmapped".to_owned(), Value::Null)])
                    .collect();
                let _ = mapper.to_remote(&ctx, "1", &patch);
            }
        }
    }
}

//! `crmsync discover <connection> <object>`: an object's fields as the CRM describes
//! them, which canonical field each feeds, and rules to start from for unmapped custom
//! fields.

use std::collections::BTreeMap;

use crmsync_core::ObjectKind;
use crmsync_transform::{MappingConfig, discover};
use serde_json::json;

use crate::{
    cli::DiscoverArgs,
    config::Config,
    error::CliError,
    output::{Out, Table, truncate},
    wiring,
};

/// Describes the object and suggests rules.
pub async fn run(config: &Config, args: &DiscoverArgs, out: &Out) -> Result<u8, CliError> {
    let connection = config.connection(&args.connection)?;
    let object = ObjectKind::parse(args.object.trim());
    let mapper = wiring::mapper(connection)?;
    let remote = wiring::remote_provider(connection, Default::default())?;
    let schema = remote.describe(&object).await?;
    let suggestions = discover(&schema, mapper.config(), object.as_str());
    let check = mapper.check_against(&schema).err().map(|e| e.to_string());

    // Which canonical field(s) each remote field feeds.
    let mut mapped: BTreeMap<String, String> = BTreeMap::new();
    if let Some((_, mapping)) = mapper
        .config()
        .objects
        .iter()
        .find(|(key, _)| ObjectKind::parse(key) == object)
    {
        for rule in &mapping.fields {
            for remote_name in rule.remote.names() {
                mapped.insert(remote_name.clone(), rule.local.names().join(", "));
            }
        }
    }
    let rules = MappingConfig::default()
        .with_object(object.as_str(), suggestions.iter().map(|s| s.to_rule()))
        .to_toml_string()
        .unwrap_or_default();

    if out.json {
        out.json_value(&json!({
            "connection": connection.name,
            "object": object.as_str(),
            "fields": schema.fields.iter().map(|f| json!({
                "name": f.name,
                "label": f.label,
                "type": f.field_type,
                "required": f.required,
                "read_only": f.read_only,
                "custom": f.custom,
                "options": f.options,
                "mapped_to": mapped.get(&f.name),
            })).collect::<Vec<_>>(),
            "suggestions": suggestions.iter().map(|s| json!({
                "remote": s.remote,
                "local": s.local,
                "transform": s.transform.name(),
                "direction": s.direction.as_str(),
            })).collect::<Vec<_>>(),
            "suggested_rules_toml": rules,
            "mapping_check": check,
        }));
        return Ok(0);
    }
    out.line(format!(
        "{} {} on {} ({} fields)",
        out.heading("Fields of"),
        object,
        connection.name,
        schema.fields.len()
    ));
    let mut table = Table::new(&["field", "label", "type", "flags", "mapped to"]);
    for f in &schema.fields {
        let mut flags = Vec::new();
        if f.required {
            flags.push("required");
        }
        if f.read_only {
            flags.push("read-only");
        }
        if f.custom {
            flags.push("custom");
        }
        let field_type = serde_json::to_value(&f.field_type)
            .ok()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_default();
        table.row(vec![
            f.name.clone(),
            truncate(&f.label, 32),
            field_type,
            flags.join(" "),
            mapped.get(&f.name).cloned().unwrap_or_else(|| "-".into()),
        ]);
    }
    table.print(out, 2);
    if let Some(problem) = check {
        out.line("");
        out.line(format!("{} {problem}", out.heading("Mapping check:")));
    }
    out.line("");
    if suggestions.is_empty() {
        out.line("Every custom field is mapped.");
    } else {
        out.line(format!(
            "{} ({} unmapped custom field(s)); add them to the connection's mapping file:",
            out.heading("Suggested rules"),
            suggestions.len()
        ));
        // The rules alone: the file they go into has its own top-level settings.
        for line in rules.lines().skip_while(|l| !l.starts_with("[[")) {
            out.line(format!("  {line}"));
        }
    }
    Ok(0)
}

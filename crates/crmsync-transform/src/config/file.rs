//! Reading configurations from text and files, with errors that say where.

use std::path::Path;

use crmsync_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;

/// The formats a configuration file may be in.
pub(crate) enum Format {
    Toml,
    Json,
}

/// The format of a file, by its extension.
pub(crate) fn format_of(path: &Path) -> Result<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("toml") => Ok(Format::Toml),
        Some(ext) if ext.eq_ignore_ascii_case("json") => Ok(Format::Json),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!(
                "mapping file `{}`: unknown format; name it `.toml` or `.json`",
                path.display()
            ),
        )),
    }
}

/// A file's text and the name errors use for it.
pub(crate) fn read(path: &Path) -> Result<(String, String)> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text, name)),
        Err(err) => Err(Error::new(
            ErrorKind::Config,
            format!("mapping file `{name}`: cannot read it: {err}"),
        )
        .with_source(err)),
    }
}

/// Parses TOML; errors name the source, the line and the column.
pub(crate) fn parse_toml<T: DeserializeOwned>(text: &str, source: Option<&str>) -> Result<T> {
    toml::from_str(text).map_err(|err| {
        let at = err
            .span()
            .map(|span| {
                let (line, column) = line_and_column(text, span.start);
                format!(", line {line}, column {column}")
            })
            .unwrap_or_default();
        let what = match source {
            Some(name) => format!("mapping file `{name}`{at}"),
            None => format!("mapping configuration{at}"),
        };
        Error::new(
            ErrorKind::Config,
            format!("{what}: not valid TOML: {}", err.message().trim()),
        )
        .with_source(err)
    })
}

/// Parses JSON; errors name the source, the line and the column.
pub(crate) fn parse_json<T: DeserializeOwned>(text: &str, source: Option<&str>) -> Result<T> {
    serde_json::from_str(text).map_err(|err| {
        let what = match source {
            Some(name) => format!("mapping file `{name}`"),
            None => "mapping configuration".to_owned(),
        };
        Error::new(ErrorKind::Config, format!("{what}: not valid JSON: {err}")).with_source(err)
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbb = 2\n  ccc";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 9), (2, 4));
        assert_eq!(line_and_column(text, 15), (3, 3));
        assert_eq!(line_and_column(text, 999), (3, 6));
        assert_eq!(line_and_column("é\nx", 1), (1, 1));
    }
}

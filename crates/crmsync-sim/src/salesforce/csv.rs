//! Bulk API 2.0 CSV: the column delimiters and line endings a job declares, reading uploads
//! (header row of field names, `#N/A` for null) and writing results with every value quoted,
//! as Salesforce does.

use csv::{QuoteStyle, ReaderBuilder, Terminator, WriterBuilder};

/// A job's `columnDelimiter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delimiter {
    pub name: &'static str,
    pub byte: u8,
}

const DELIMITERS: &[Delimiter] = &[
    Delimiter {
        name: "COMMA",
        byte: b',',
    },
    Delimiter {
        name: "TAB",
        byte: b'\t',
    },
    Delimiter {
        name: "PIPE",
        byte: b'|',
    },
    Delimiter {
        name: "SEMICOLON",
        byte: b';',
    },
    Delimiter {
        name: "CARET",
        byte: b'^',
    },
    Delimiter {
        name: "BACKQUOTE",
        byte: b'`',
    },
];

impl Delimiter {
    /// `COMMA` when absent.
    pub(crate) fn parse(name: Option<&str>) -> Option<Self> {
        let name = name.unwrap_or("COMMA");
        DELIMITERS
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .copied()
    }
}

/// A job's `lineEnding`: true for `CRLF`, false for `LF` (the default).
pub(crate) fn parse_line_ending(name: Option<&str>) -> Option<bool> {
    match name.map(str::to_ascii_uppercase).as_deref() {
        None | Some("LF") => Some(false),
        Some("CRLF") => Some(true),
        _ => None,
    }
}

/// An uploaded CSV: the header row and the data rows (cells as text).
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Reads an upload. The first line's ending must be the declared one, as Salesforce checks.
pub(crate) fn read(data: &[u8], delimiter: Delimiter, crlf: bool) -> Result<Table, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if let Some(nl) = data.iter().position(|b| *b == b'\n') {
        let has_cr = nl > 0 && data[nl - 1] == b'\r';
        if has_cr != crlf {
            return Err(format!(
                "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}",
                if crlf { "CRLF" } else { "LF" }
            ));
        }
    }
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter.byte)
        .has_headers(false)
        .flexible(true)
        .terminator(Terminator::CRLF)
        .from_reader(data);
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(h)) => h.iter().map(|c| c.trim().to_string()).collect(),
        Some(Err(e)) => return Err(format!("InvalidBatch : {e}")),
        None => return Err("InvalidBatch : the upload has no header row".to_string()),
    };
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| format!("InvalidBatch : {e}"))?;
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue;
        }
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Table { header, rows })
}

/// Writes rows with every value quoted.
pub(crate) fn write<'a>(
    header: impl IntoIterator<Item = &'a str>,
    rows: impl IntoIterator<Item = Vec<String>>,
    delimiter: Delimiter,
    crlf: bool,
) -> Vec<u8> {
    let mut writer = WriterBuilder::new()
        .delimiter(delimiter.byte)
        .quote_style(QuoteStyle::Always)
        .flexible(true)
        .terminator(if crlf {
            Terminator::CRLF
        } else {
            Terminator::Any(b'\n')
        })
        .from_writer(Vec::new());
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(&row);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_round_trip() {
        let comma = Delimiter::parse(None).unwrap_or(DELIMITERS[0]);
        let table = read(b"FirstName,LastName\nAda,\"Love, lace\"\n", comma, false);
        let Ok(table) = table else {
            panic!("{table:?}");
        };
        assert_eq!(table.header, ["FirstName", "LastName"]);
        assert_eq!(table.rows, [["Ada", "Love, lace"]]);
        assert!(read(b"A,B\r\n1,2\r\n", comma, false).is_err());
        assert!(read(b"A,B\r\n1,2\r\n", comma, true).is_ok());
        let out = write(
            ["sf__Id", "Name"],
            vec![vec!["1".into(), String::new()]],
            comma,
            false,
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "\"sf__Id\",\"Name\"\n\"1\",\"\"\n"
        );
    }
}

//! The `$batch` wire format: a `multipart/mixed` request of `application/http` parts,
//! and the `batchresponse_…` answer parsed back into one response per operation.
//!
//! crmsync sends every operation as its own top-level part (no change sets) with
//! `Prefer: odata.continue-on-error`: a change set is atomic, so one bad record in it
//! would fail every other record of the set, and without `continue-on-error` Dataverse
//! stops the batch at the first failed operation. Independent parts give one outcome
//! per record, which is what [`crmsync_core::WriteOutcome`] reports.

use serde_json::Value;

/// One operation to send.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BatchOp {
    pub method: &'static str,
    /// A URL relative to the Web API root (`contacts(…)`), or absolute.
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

/// One operation's answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct BatchAnswer {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl BatchAnswer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The request body for `ops`, with `boundary`, and the content type to send it with.
pub(crate) fn build(boundary: &str, base: &str, ops: &[BatchOp]) -> (String, Vec<u8>) {
    let mut out = String::new();
    for op in ops {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n");
        let url = if op.url.starts_with("http://") || op.url.starts_with("https://") {
            op.url.clone()
        } else {
            format!("{base}/{}", op.url)
        };
        out.push_str(&format!("{} {url} HTTP/1.1\r\n", op.method));
        for (name, value) in &op.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        match &op.body {
            Some(body) => {
                out.push_str("Content-Type: application/json; type=entry\r\n\r\n");
                out.push_str(&body.to_string());
                out.push_str("\r\n");
            }
            None => out.push_str("\r\n"),
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/mixed; boundary={boundary}"),
        out.into_bytes(),
    )
}

/// The `boundary` parameter of a `multipart/mixed` content type.
pub(crate) fn boundary_of(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

fn split_head(text: &str) -> (&str, &str) {
    let crlf = text.find("\r\n\r\n").map(|i| (i, 4));
    let lf = text.find("\n\n").map(|i| (i, 2));
    let cut = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match cut {
        Some((i, n)) => (&text[..i], &text[i + n..]),
        None => (text, ""),
    }
}

fn headers(head: &str) -> Vec<(String, String)> {
    head.lines()
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            Some((n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect()
}

fn find_delimiter(text: &str, delimiter: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(delimiter) {
        let at = from + i;
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            return Some(at);
        }
        from = at + delimiter.len();
    }
    None
}

/// A part of a multipart body: its headers and content.
type Part = (Vec<(String, String)>, String);

/// The parts of a multipart body.
fn parts(body: &str, boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let mut rest = &body[find_delimiter(body, &delimiter)? + delimiter.len()..];
    let mut out = Vec::new();
    loop {
        if rest.starts_with("--") {
            return Some(out);
        }
        rest = &rest[rest.find('\n')? + 1..];
        let next = find_delimiter(rest, &delimiter)?;
        let content = rest[..next]
            .strip_suffix("\r\n")
            .or_else(|| rest[..next].strip_suffix('\n'))
            .unwrap_or(&rest[..next]);
        let (head, body) = split_head(content);
        out.push((headers(head), body.to_owned()));
        rest = &rest[next + delimiter.len()..];
    }
}

/// Parses a `batchresponse`: one answer per top-level part, the answers of a change
/// set's parts in place of the set. `None` for a body that is not a batch response.
pub(crate) fn parse(content_type: &str, body: &str) -> Option<Vec<BatchAnswer>> {
    let boundary = boundary_of(content_type)?;
    let mut out = Vec::new();
    for (part_headers, content) in parts(body, &boundary)? {
        let kind = part_headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        if let Some(inner) = boundary_of(kind) {
            for (_, inner_content) in parts(&content, &inner)? {
                out.push(answer(&inner_content)?);
            }
        } else {
            out.push(answer(&content)?);
        }
    }
    Some(out)
}

/// `HTTP/1.1 204 No Content` + headers + body.
fn answer(content: &str) -> Option<BatchAnswer> {
    let (head, body) = split_head(content.trim_start_matches(['\r', '\n']));
    let mut lines = head.lines();
    let status_line = lines.next()?;
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    Some(BatchAnswer {
        status,
        headers: headers(&lines.collect::<Vec<_>>().join("\n")),
        body: body.trim_end_matches(['\r', '\n']).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_independent_parts() {
        let ops = vec![
            BatchOp {
                method: "POST",
                url: "contacts".into(),
                headers: vec![],
                body: Some(json!({"lastname": "L"})),
            },
            BatchOp {
                method: "DELETE",
                url: "contacts(00000000-0000-0000-0000-000000000001)".into(),
                headers: vec![("If-Match", "*".into())],
                body: None,
            },
        ];
        let (content_type, body) = build("batch_x1", "http://h/api/data/v9.2", &ops);
        assert_eq!(content_type, "multipart/mixed; boundary=batch_x1");
        let text = String::from_utf8(body).unwrap_or_default();
        assert!(text.contains("POST http://h/api/data/v9.2/contacts HTTP/1.1\r\n"));
        assert!(text.contains("DELETE http://h/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000001) HTTP/1.1\r\nIf-Match: *\r\n"));
        assert!(!text.contains("changeset"));
        assert!(text.ends_with("--batch_x1--\r\n"));
    }

    #[test]
    fn parses_the_documented_response() {
        let body = "--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f\r\n\
Content-Type: multipart/mixed; boundary=changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abc\r\n\
\r\n\
--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abc\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
Content-ID: 1\r\n\
\r\n\
HTTP/1.1 204 No Content\r\n\
OData-Version: 4.0\r\n\
Location: [Organization URI]/api/data/v9.2/tasks(a59c24a3-e5e1-e711-8122-000d3a2d8b00)\r\n\
OData-EntityId: [Organization URI]/api/data/v9.2/tasks(a59c24a3-e5e1-e711-8122-000d3a2d8b00)\r\n\
\r\n\
\r\n\
--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abc--\r\n\
--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
\r\n\
HTTP/1.1 400 Bad Request\r\n\
Content-Type: application/json; odata.metadata=minimal\r\n\
OData-Version: 4.0\r\n\
\r\n\
{\"error\":{\"code\":\"0x80060888\",\"message\":\"The property 'x' does not exist\"}}\r\n\
--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f--\r\n";
        let answers = parse(
            "multipart/mixed; boundary=batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f",
            body,
        )
        .unwrap_or_default();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].status, 204);
        assert!(
            answers[0]
                .header("OData-EntityId")
                .is_some_and(|v| v.ends_with("tasks(a59c24a3-e5e1-e711-8122-000d3a2d8b00)"))
        );
        assert_eq!(answers[1].status, 400);
        assert!(answers[1].body.starts_with("{\"error\""));
        assert!(parse("application/json", "{}").is_none());
        assert!(
            parse(
                "multipart/mixed; boundary=b",
                "--b\r\nContent-Type: application/http\r\n\r\nnot http"
            )
            .is_none()
        );
    }
}

//! `$batch`: the `multipart/mixed` request body (operations, and change sets that hold
//! operations atomically), and the `batchresponse_…` answer.

/// One part of a multipart body: its headers (names lower-cased) and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Part {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub content_id: Option<String>,
}

/// A top-level element of a batch: one operation, or a change set of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Element {
    Single(Operation),
    ChangeSet(Vec<Operation>),
}

/// The `boundary` parameter of a `multipart/mixed` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
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

/// Splits headers from content at the first empty line (CRLF or LF).
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

fn parse_headers(head: &str) -> Vec<(String, String)> {
    head.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

/// Splits a multipart body into its parts; `None` when the boundary never appears or
/// the closing delimiter is missing.
pub(crate) fn parts(body: &str, boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    let mut rest = body;
    // Skip the preamble up to the first delimiter at a line start.
    let start = find_delimiter(rest, &delimiter)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with("--") {
            return Some(out);
        }
        // The rest of the delimiter line.
        let line_end = rest.find('\n')?;
        rest = &rest[line_end + 1..];
        let next = find_delimiter(rest, &delimiter)?;
        let mut content = &rest[..next];
        content = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .unwrap_or(content);
        let (head, body) = split_head(content);
        out.push(Part {
            headers: parse_headers(head),
            body: body.to_owned(),
        });
        rest = &rest[next + delimiter.len()..];
    }
}

/// The position of `delimiter` at the start of a line.
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

/// Parses an `application/http` part into an operation.
fn operation(part: &Part) -> Result<Operation, String> {
    let (head, body) = split_head(part.body.trim_start_matches(['\r', '\n']));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split_whitespace();
    let (Some(method), Some(url)) = (words.next(), words.next()) else {
        return Err(format!("The request line '{request_line}' is not valid."));
    };
    let headers = parse_headers(&lines.collect::<Vec<_>>().join("\n"));
    Ok(Operation {
        method: method.to_ascii_uppercase(),
        url: url.to_owned(),
        headers,
        body: body.trim_end_matches(['\r', '\n']).to_owned(),
        content_id: part.header("content-id").map(str::to_owned),
    })
}

/// Parses a `$batch` body.
pub(crate) fn parse(body: &str, boundary: &str) -> Result<Vec<Element>, String> {
    let parts = parts(body, boundary).ok_or("The batch body is not a valid multipart message.")?;
    let mut out = Vec::new();
    for part in parts {
        let content_type = part.header("content-type").unwrap_or_default().to_owned();
        if let Some(inner) = self::boundary(&content_type) {
            let ops = self::parts(&part.body, &inner)
                .ok_or("A change set is not a valid multipart message.")?
                .iter()
                .map(operation)
                .collect::<Result<Vec<_>, _>>()?;
            if ops.iter().any(|o| o.method == "GET") {
                return Err("GET requests are not allowed in a change set.".into());
            }
            out.push(Element::ChangeSet(ops));
        } else if content_type
            .to_ascii_lowercase()
            .starts_with("application/http")
        {
            out.push(Element::Single(operation(&part)?));
        } else {
            return Err(format!("A batch part has content type '{content_type}'."));
        }
    }
    Ok(out)
}

/// One operation's answer, as a batch response carries it.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub reason: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub content_id: Option<String>,
}

fn write_answer(out: &mut String, answer: &Answer) {
    out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = &answer.content_id {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&format!("HTTP/1.1 {} {}\r\n", answer.status, answer.reason));
    for (name, value) in &answer.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(&answer.body));
    out.push_str("\r\n");
}

/// A top-level answer: one operation's, or a change set's.
#[derive(Debug, Clone)]
pub(crate) enum Answered {
    Single(Answer),
    ChangeSet(String, Vec<Answer>),
}

/// Builds the `batchresponse_…` body.
pub(crate) fn build(boundary: &str, answers: &[Answered]) -> String {
    let mut out = String::new();
    for answered in answers {
        out.push_str(&format!("--{boundary}\r\n"));
        match answered {
            Answered::Single(a) => write_answer(&mut out, a),
            Answered::ChangeSet(inner, list) => {
                out.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary={inner}\r\n\r\n"
                ));
                for a in list {
                    out.push_str(&format!("--{inner}\r\n"));
                    write_answer(&mut out, a);
                }
                out.push_str(&format!("--{inner}--\r\n"));
            }
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "--batch_AAA123\r\n\
Content-Type: multipart/mixed; boundary=changeset_BBB456\r\n\
\r\n\
--changeset_BBB456\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
Content-ID: 1\r\n\
\r\n\
POST http://127.0.0.1/api/data/v9.2/tasks HTTP/1.1\r\n\
Content-Type: application/json; type=entry\r\n\
\r\n\
{\"subject\":\"Task 1 in batch\"}\r\n\
--changeset_BBB456\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
Content-ID: 2\r\n\
\r\n\
POST http://127.0.0.1/api/data/v9.2/tasks HTTP/1.1\r\n\
Content-Type: application/json; type=entry\r\n\
\r\n\
{\"subject\":\"Task 2 in batch\"}\r\n\
--changeset_BBB456--\r\n\
\r\n\
--batch_AAA123\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
\r\n\
GET http://127.0.0.1/api/data/v9.2/tasks?$select=subject HTTP/1.1\r\n\
Accept: application/json\r\n\
\r\n\
\r\n\
--batch_AAA123--\r\n";

    #[test]
    fn parses_the_documented_example() {
        assert_eq!(
            boundary("multipart/mixed; boundary=\"batch_AAA123\"").as_deref(),
            Some("batch_AAA123")
        );
        let elements = parse(BODY, "batch_AAA123").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(elements.len(), 2);
        let Element::ChangeSet(ops) = &elements[0] else {
            panic!("change set expected");
        };
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].content_id.as_deref(), Some("2"));
        assert_eq!(ops[1].body, "{\"subject\":\"Task 2 in batch\"}");
        let Element::Single(get) = &elements[1] else {
            panic!("single expected");
        };
        assert_eq!(get.method, "GET");
        assert!(get.url.ends_with("tasks?$select=subject"));
        assert!(get.body.is_empty());
    }

    #[test]
    fn broken_bodies_are_refused() {
        assert!(parse("no delimiter here", "batch_x").is_err());
        assert!(
            parse(
                "--batch_x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--batch_x--",
                "batch_x"
            )
            .is_err()
        );
        assert!(
            parse(
                "--batch_x\r\nContent-Type: application/http\r\n\r\nGET",
                "batch_x"
            )
            .is_err()
        );
    }

    #[test]
    fn builds_answers_that_parse_back() {
        let answers = vec![
            Answered::ChangeSet(
                "changesetresponse_1".into(),
                vec![Answer {
                    status: 204,
                    reason: "No Content",
                    headers: vec![(
                        "OData-EntityId".into(),
                        "http://x/api/data/v9.2/tasks(1)".into(),
                    )],
                    body: Vec::new(),
                    content_id: Some("1".into()),
                }],
            ),
            Answered::Single(Answer {
                status: 400,
                reason: "Bad Request",
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: b"{\"error\":{\"code\":\"\",\"message\":\"x\"}}".to_vec(),
                content_id: None,
            }),
        ];
        let text = build("batchresponse_9", &answers);
        let top = parts(&text, "batchresponse_9").unwrap_or_default();
        assert_eq!(top.len(), 2);
        let inner = parts(&top[0].body, "changesetresponse_1").unwrap_or_default();
        assert_eq!(inner.len(), 1);
        assert!(inner[0].body.starts_with("HTTP/1.1 204 No Content"));
        assert!(top[1].body.contains("\"message\":\"x\""));
    }
}

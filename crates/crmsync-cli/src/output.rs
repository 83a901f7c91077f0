//! Everything the tool prints goes through here: secrets are redacted, colour is used only
//! on a terminal without `NO_COLOR`, tables are aligned, and `--json` prints JSON alone.

use std::{
    borrow::Cow,
    io::{IsTerminal, Write},
    sync::RwLock,
};

use anstyle::{AnsiColor, Style};

/// Secret values seen this run (tokens, client secrets, store URLs). Every line printed
/// — tables, errors, `--debug` logs — has them replaced by `[REDACTED]`.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers a secret so that no output ever shows it.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    // Very short values would blank out ordinary words; no real credential is that short.
    if secret.len() < 6 {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered secret replaced by `[REDACTED]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for secret in secrets.iter() {
        out = out.replace(secret.as_str(), "[REDACTED]");
    }
    Cow::Owned(out)
}

/// A `Write` that redacts secrets, for the `--debug` log.
pub struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// How to print: JSON or text, colour or not.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// Machine-readable output (`--json`).
    pub json: bool,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_err: bool,
    /// Stdout is a terminal.
    pub stdout_tty: bool,
    /// `--debug`.
    pub debug: bool,
}

fn colour_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    !no_color && !dumb
}

impl Out {
    /// Looks at the terminal and the environment.
    pub fn detect(json: bool, debug: bool) -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        let allowed = colour_allowed();
        Self {
            json,
            color: allowed && stdout_tty && !json,
            color_err: allowed && std::io::stderr().is_terminal(),
            stdout_tty,
            debug,
        }
    }

    /// Prints a line on stdout (redacted).
    pub fn line(&self, text: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`crmsync history | head`) is not an error worth reporting.
        let _ = writeln!(out, "{}", redact(text.as_ref()));
    }

    /// Prints a note on stderr (redacted), e.g. progress when stdout is JSON.
    pub fn note(&self, text: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "{}", redact(text.as_ref()));
    }

    /// Prints a JSON document on stdout (redacted).
    pub fn json_value(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
        self.line(text);
    }

    /// `text` in `style` when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color, style, text)
    }

    /// A bold heading.
    pub fn heading(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// Dimmed text.
    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }
}

/// `text` in `style` when `on`.
pub fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// The colour of a status word (`success`, `partial`, `failed`, `pending`, ...).
pub fn status_style(status: &str) -> Style {
    let color = match status {
        "success" | "ok" | "replayed" | "applied" | "resolved" => AnsiColor::Green,
        "partial" | "warn" | "pending" | "running" | "dry run" => AnsiColor::Yellow,
        "failed" | "fail" => AnsiColor::Red,
        _ => return Style::new().dimmed(),
    };
    Style::new().fg_color(Some(color.into())).bold()
}

/// An aligned table: columns sized by their widest cell, numbers right-aligned, colour
/// applied after padding so escapes never break the alignment.
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<(String, Option<Style>)>>,
}

impl Table {
    /// A table with these column headers; a header starting with `>` is right-aligned.
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            right: headers.iter().map(|h| h.starts_with('>')).collect(),
            headers: headers.iter().map(|h| h.trim_start_matches('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of plain cells.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| (c, None)).collect());
    }

    /// Adds a row whose cells may carry a style.
    pub fn styled_row(&mut self, cells: Vec<(String, Option<Style>)>) {
        self.rows.push(cells);
    }

    /// Prints the table, indented by `indent` spaces.
    pub fn print(&self, out: &Out, indent: usize) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, (cell, _)) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let pad = " ".repeat(indent);
        let render = |cells: Vec<(String, Option<Style>)>| -> String {
            let last = cells.len().saturating_sub(1);
            let parts: Vec<String> = cells
                .into_iter()
                .enumerate()
                .map(|(i, (cell, style))| {
                    let width = widths.get(i).copied().unwrap_or(0);
                    let right = self.right.get(i).copied().unwrap_or(false);
                    let padded = if right {
                        format!("{cell:>width$}")
                    } else if i == last {
                        cell
                    } else {
                        format!("{cell:<width$}")
                    };
                    match style {
                        Some(style) => out.paint(style, &padded),
                        None => padded,
                    }
                })
                .collect();
            format!("{pad}{}", parts.join("  ").trim_end())
        };
        let headers = self
            .headers
            .iter()
            .map(|h| ((*h).to_owned(), Some(Style::new().bold())))
            .collect();
        out.line(render(headers));
        for row in &self.rows {
            out.line(render(row.clone()));
        }
    }
}

/// A duration as people read it: `0.42 s`, `3 min 5 s`, `2 h 10 min`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.2} s")
    } else if seconds < 3600.0 {
        format!(
            "{} min {} s",
            (seconds / 60.0) as u64,
            (seconds % 60.0) as u64
        )
    } else {
        format!(
            "{} h {} min",
            (seconds / 3600.0) as u64,
            ((seconds % 3600.0) / 60.0) as u64
        )
    }
}

/// A schedule interval as written in the configuration: `15m`, `1h30m`, `90s`.
pub fn interval(every: std::time::Duration) -> String {
    let s = every.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// Text cut to `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_never_print() {
        register_secret("pat-na1-very-secret-token");
        assert_eq!(
            redact("Authorization: Bearer pat-na1-very-secret-token!"),
            "Authorization: Bearer [REDACTED]!"
        );
        assert_eq!(redact("nothing to hide"), "nothing to hide");
    }

    #[test]
    fn short_values_are_not_treated_as_secrets() {
        register_secret("abc");
        assert_eq!(redact("abc"), "abc");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(0.5), "0.50 s");
        assert_eq!(human_duration(185.0), "3 min 5 s");
        assert_eq!(human_duration(7800.0), "2 h 10 min");
    }
}

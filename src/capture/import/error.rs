//! Why a capture could not be imported: [`ImportError`], with the file,
//! the place in it and the field, and what to do next.

use std::fmt;
use std::path::PathBuf;

/// Why [`read_file`](super::read_file) refused a capture.
///
/// Its text names the file, the place in it (a HAR entry, a log line, a
/// byte offset) and the field, then says what is wrong and what to do. It
/// never quotes a value from the capture: a header or body may hold a
/// secret.
///
/// ```
/// use bedrock_harness::capture::import::{ImportErrorKind, ImportOptions, read_file};
///
/// let dir = std::env::temp_dir().join(format!("import-error-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("session.log");
/// std::fs::write(&path, "{\"v\":2}\n").unwrap();
/// let error = read_file(&path, &ImportOptions::new()).unwrap_err();
/// assert_eq!(error.kind, ImportErrorKind::Version);
/// assert_eq!(error.line, Some(1));
/// assert!(error.to_string().contains("line 1, field `v`: log version 2"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportError {
    /// The file, when the error is about one (an unknown `--format` name
    /// is not).
    pub file: Option<PathBuf>,
    /// The HAR entry at fault, its index in `log.entries` (0-based, as in
    /// the file).
    pub entry: Option<usize>,
    /// The proxy log's line at fault (1-based).
    pub line: Option<usize>,
    /// The byte offset in an event-stream body.
    pub offset: Option<u64>,
    /// The field at fault, as a path from the document's root
    /// (`log.entries[2].response.status`; in a log line, `outcome.status`).
    pub field: Option<String>,
    /// What kind of problem it is.
    pub kind: ImportErrorKind,
    /// What is wrong, and what to do about it.
    pub message: String,
}

/// The kinds of [`ImportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportErrorKind {
    /// The file could not be read.
    Unreadable,
    /// The file is empty.
    Empty,
    /// A `--format` name that is not `har`, `log` or `eventstream`, or a
    /// file whose content is none of them.
    UnknownFormat,
    /// Not well-formed: broken JSON, a cut line, bad base64, a corrupt
    /// event-stream frame.
    Syntax,
    /// Well-formed, but a field is missing, of the wrong type or out of
    /// range.
    Shape,
    /// A proxy log of another version than this program reads.
    Version,
    /// An event-stream body that names no model, with no `--model` given.
    NoModel,
    /// Nothing in the file is a Bedrock, Mantle, STS or SSO request.
    Nothing,
}

impl ImportError {
    pub(crate) fn new(kind: ImportErrorKind, message: impl Into<String>) -> Self {
        Self {
            file: None,
            entry: None,
            line: None,
            offset: None,
            field: None,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub(crate) fn at_entry(mut self, entry: Option<usize>) -> Self {
        self.entry = entry;
        self
    }

    pub(crate) fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn at_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub(crate) fn field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty() && field != ".").then_some(field);
        self
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = Vec::new();
        if let Some(file) = &self.file {
            place.push(file.display().to_string());
        }
        let mut within = Vec::new();
        if let Some(entry) = self.entry {
            within.push(format!("entry {entry}"));
        }
        if let Some(line) = self.line {
            within.push(format!("line {line}"));
        }
        if let Some(offset) = self.offset {
            within.push(format!("byte {offset}"));
        }
        if let Some(field) = &self.field {
            within.push(format!("field `{field}`"));
        }
        if !within.is_empty() {
            place.push(within.join(", "));
        }
        for part in place {
            write!(f, "{part}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ImportError {}

/// A serde error's text without the values it quotes (`invalid type:
/// string "Bearer …"`): a capture's strings may be secrets. Field and
/// variant names (in backticks) stay.
pub(crate) fn without_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            // Skip to the closing quote, honouring escapes.
            let mut escaped = false;
            for c in chars.by_ref() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => break,
                    _ => escaped = false,
                }
            }
            out.push_str("…\"");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_left_out() {
        assert_eq!(
            without_values(r#"invalid type: string "Bearer s\"ecret", expected u16 at line 1"#),
            r#"invalid type: string "…", expected u16 at line 1"#
        );
        assert_eq!(
            without_values("missing field `status`"),
            "missing field `status`"
        );
    }

    #[test]
    fn the_text_names_file_place_and_field() {
        let e = ImportError::new(ImportErrorKind::Shape, "not a number")
            .in_file("a.har")
            .at_entry(Some(3))
            .field("log.entries[3].response.status");
        assert_eq!(
            e.to_string(),
            "a.har: entry 3, field `log.entries[3].response.status`: not a number"
        );
    }
}

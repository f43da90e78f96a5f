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
/// use bedrock_harness::capture::import::{ImportErrorKind, ImportOptions, Place, read_file};
///
/// let dir = std::env::temp_dir().join(format!("import-error-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("session.log");
/// std::fs::write(&path, "{\"v\":2}\n").unwrap();
/// let error = read_file(&path, &ImportOptions::new()).unwrap_err();
/// assert_eq!(error.kind, ImportErrorKind::Version);
/// assert_eq!(error.place, Some(Place::Line(1)));
/// assert!(error.to_string().contains("line 1, field `v`: log version 2"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportError {
    /// The file, when the error is about one (an unknown `--format` name
    /// is not).
    pub file: Option<PathBuf>,
    /// Where in the file, when the error is about one place.
    pub place: Option<Place>,
    /// The field at fault, as a path from the document's root
    /// (`log.entries[2].response.status`; in a log line, `outcome.status`).
    pub field: Option<String>,
    /// What kind of problem it is.
    pub kind: ImportErrorKind,
    /// What is wrong, and what to do about it.
    pub message: String,
}

/// Where in a capture an [`ImportError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// A HAR entry, its index in `log.entries` (0-based, as in the file).
    Entry(usize),
    /// A proxy log's line (1-based).
    Line(usize),
    /// A byte offset in an event-stream body.
    Byte(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Entry(i) => write!(f, "entry {i}"),
            Place::Line(n) => write!(f, "line {n}"),
            Place::Byte(o) => write!(f, "byte {o}"),
        }
    }
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
            place: None,
            field: None,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub(crate) fn at(mut self, place: Option<Place>) -> Self {
        self.place = place;
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
        if let Some(place) = self.place {
            within.push(place.to_string());
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
            .at(Some(Place::Entry(3)))
            .field("log.entries[3].response.status");
        assert_eq!(
            e.to_string(),
            "a.har: entry 3, field `log.entries[3].response.status`: not a number"
        );
    }
}

//! Naming templates (`--output-template`, not in DCMTK): the path of each stored object below the
//! output directory, built from attributes of its data set.
//!
//! A template is a relative path whose components mix text and fields in braces:
//!
//! - `{Keyword}` or `{(gggg,eeee)}`: a root-level attribute of the data set (its first value,
//!   trailing spaces and NULs removed), read by the streaming scanner before Pixel Data;
//!   attributes at or after (7FE0,0010) and File Meta attributes (group 0002) are refused;
//! - `{StudyDate:YYYY}`: a date attribute (DA) formatted with `YYYY`, `MM` and `DD` (any other
//!   text of the format is kept);
//! - `{PatientID|UNKNOWN}`: the text after `|` when the attribute is missing or empty;
//! - `{prefix}`: the modality prefix of DCMTK's names (`CT`, `MR`, ...; `UNKNOWN` if the SOP
//!   class has none).
//!
//! The last component is the file name (`-fe` and the `+fu`/`+fsu`/`+fst` schemes do not apply).
//!
//! **Hostile values never escape the output directory.** Each component, once its fields are
//! substituted, is mapped with DCMTK's character mapping (everything but ASCII letters, digits,
//! space and `. : @ _ -` becomes `_`, so a `/` or a control byte inside a value cannot start a new
//! component). When a component is then empty, `.` or `..`, or longer than 255 bytes, or a field
//! has no value and no `|` fallback, the template is not used for that object: it is stored under
//! DCMTK's default name (`<prefix>.<SOP Instance UID>`, with `-fe`) directly in the output
//! directory, and a warning says why. There is never a partial path.

use std::path::PathBuf;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use snafu::{Snafu, ensure};

use crate::naming::{self, parse_series_date};

/// A root-level tag, `(group, element)`.
pub type AttributeTag = (u16, u16);

/// Errors in an output template, found at start-up.
#[non_exhaustive]
#[derive(Debug, Snafu, PartialEq, Eq)]
pub enum TemplateError {
    /// The template is empty.
    #[snafu(display("the output template is empty"))]
    Empty,
    /// The template starts with `/`.
    #[snafu(display("the output template {template:?} must be a relative path"))]
    Absolute {
        /// The template.
        template: String,
    },
    /// A component is empty, `.` or `..` as written.
    #[snafu(display(
        "the output template {template:?} has an empty, '.' or '..' component; write each directory level as text or fields"
    ))]
    BadComponent {
        /// The template.
        template: String,
    },
    /// Unbalanced braces.
    #[snafu(display("unbalanced braces in the output template {template:?}"))]
    Unbalanced {
        /// The template.
        template: String,
    },
    /// A field names no attribute of the standard dictionary.
    #[snafu(display(
        "the field {field:?} of the output template names no attribute (use a keyword such as PatientID, or (gggg,eeee))"
    ))]
    UnknownField {
        /// The field as written.
        field: String,
    },
    /// A field names an attribute the scanner cannot read before storing.
    #[snafu(display(
        "the field {field:?} of the output template is not a data set attribute before Pixel Data"
    ))]
    UnusableTag {
        /// The field as written.
        field: String,
    },
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Attribute(AttributeTag),
    Prefix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field {
        source: Source,
        date_format: Option<String>,
        fallback: Option<String>,
    },
}

/// A parsed `--output-template`. See the module documentation for the syntax.
///
/// ```
/// use dcmrecv_storage_policy::OutputTemplate;
///
/// let t = OutputTemplate::parse("{PatientID|UNKNOWN}/{StudyDate:YYYY}/{StudyInstanceUID}/{Modality}.{SOPInstanceUID}.dcm")?;
/// assert_eq!(t.attributes(), [(0x0008, 0x0018), (0x0008, 0x0020), (0x0008, 0x0060), (0x0010, 0x0020), (0x0020, 0x000D)]);
///
/// let values = |tag: (u16, u16)| match tag {
///     (0x0010, 0x0020) => Some("/etc/cron.d/x".to_string()),
///     (0x0008, 0x0020) => Some("20261207".to_string()),
///     (0x0020, 0x000D) => Some("1.2.3".to_string()),
///     (0x0008, 0x0060) => Some("CT".to_string()),
///     (0x0008, 0x0018) => Some("1.2.3.4".to_string()),
///     _ => None,
/// };
/// let path = t.evaluate(&values, "CT").map_err(|why| why.to_string())?;
/// assert_eq!(path, std::path::PathBuf::from("_etc_cron.d_x/2026/1.2.3/CT.1.2.3.4.dcm"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTemplate {
    source: String,
    components: Vec<Vec<Piece>>,
}

impl OutputTemplate {
    /// Parses a template; every field must name a standard attribute by keyword or a
    /// `(gggg,eeee)` tag of the data set before Pixel Data.
    pub fn parse(template: &str) -> Result<OutputTemplate, TemplateError> {
        ensure!(!template.is_empty(), EmptySnafu);
        ensure!(
            !template.starts_with('/'),
            AbsoluteSnafu {
                template: template.to_string()
            }
        );
        let mut components = Vec::new();
        for component in template.split('/') {
            ensure!(
                !matches!(component, "" | "." | ".."),
                BadComponentSnafu {
                    template: template.to_string()
                }
            );
            components.push(parse_component(component, template)?);
        }
        Ok(OutputTemplate {
            source: template.to_string(),
            components,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The attributes it reads, sorted, each once.
    pub fn attributes(&self) -> Vec<AttributeTag> {
        let mut tags: Vec<AttributeTag> = self
            .components
            .iter()
            .flatten()
            .filter_map(|p| match p {
                Piece::Field {
                    source: Source::Attribute(tag),
                    ..
                } => Some(*tag),
                _ => None,
            })
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    /// The relative path for an object whose attributes `value` returns (trimmed first values,
    /// `None` when missing) and whose modality prefix is `prefix`; or why the template cannot be
    /// used for it (then the caller uses the documented fallback).
    pub fn evaluate(
        &self,
        value: &dyn Fn(AttributeTag) -> Option<String>,
        prefix: &str,
    ) -> Result<PathBuf, String> {
        let mut path = PathBuf::new();
        for pieces in &self.components {
            let mut text = String::new();
            for piece in pieces {
                match piece {
                    Piece::Text(t) => text.push_str(t),
                    Piece::Field {
                        source,
                        date_format,
                        fallback,
                    } => {
                        let found = match source {
                            Source::Prefix => Some(prefix.to_string()),
                            Source::Attribute(tag) => value(*tag).filter(|v| !v.is_empty()),
                        };
                        let found = match (found, date_format) {
                            (Some(v), Some(format)) => format_date(&v, format),
                            (found, None) => found,
                            (None, Some(_)) => None,
                        };
                        match (found, fallback) {
                            (Some(v), _) => text.push_str(&v),
                            (None, Some(f)) => text.push_str(f),
                            (None, None) => {
                                return Err(format!(
                                    "{} has no value",
                                    field_name(source, date_format.as_deref())
                                ));
                            }
                        }
                    }
                }
            }
            let component = naming::finish_component(&text)
                .map_err(|problem| format!("a path component {}", problem.text()))?;
            path.push(component);
        }
        Ok(path)
    }
}

fn field_name(source: &Source, format: Option<&str>) -> String {
    let name = match source {
        Source::Prefix => "{prefix}".to_string(),
        Source::Attribute(tag) => format!("({:04X},{:04X})", tag.0, tag.1),
    };
    match format {
        Some(f) => format!("{name}:{f}"),
        None => name,
    }
}

/// `format` with `YYYY`, `MM`, `DD` replaced by the parts of a DA value, or `None` when it is
/// not a valid date.
fn format_date(value: &str, format: &str) -> Option<String> {
    let (year, month, day) = parse_series_date(value.as_bytes())?;
    Some(
        format
            .replace("YYYY", year)
            .replace("MM", month)
            .replace("DD", day),
    )
}

fn parse_component(component: &str, template: &str) -> Result<Vec<Piece>, TemplateError> {
    let unbalanced = || TemplateError::Unbalanced {
        template: template.to_string(),
    };
    let mut pieces = Vec::new();
    let mut rest = component;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                pieces.push(Piece::Text(rest.to_string()));
                break;
            }
            Some(i) if rest.as_bytes().get(i) == Some(&b'}') => return Err(unbalanced()),
            Some(i) => {
                if i > 0 {
                    pieces.push(Piece::Text(rest[..i].to_string()));
                }
                let after = &rest[i + 1..];
                let end = after.find('}').ok_or_else(unbalanced)?;
                let field = &after[..end];
                ensure!(!field.contains('{'), UnbalancedSnafu { template });
                pieces.push(parse_field(field)?);
                rest = &after[end + 1..];
            }
        }
    }
    Ok(pieces)
}

fn parse_field(field: &str) -> Result<Piece, TemplateError> {
    let (spec, fallback) = match field.split_once('|') {
        Some((spec, fallback)) => (spec, Some(fallback.to_string())),
        None => (field, None),
    };
    let (name, date_format) = match spec.split_once(':') {
        // `(gggg,eeee)` has no colon, so a colon always starts a format.
        Some((name, format)) => (name.trim(), Some(format.to_string())),
        None => (spec.trim(), None),
    };
    let source = if name == "prefix" {
        Source::Prefix
    } else {
        let tag = parse_tag(name).or_else(|| {
            StandardDataDictionary
                .by_name(name)
                .map(|entry| {
                    let tag = entry.tag();
                    (tag.0, tag.1)
                })
                .filter(|_| !name.is_empty())
        });
        let tag = tag.ok_or_else(|| TemplateError::UnknownField {
            field: field.to_string(),
        })?;
        ensure!(
            tag.0 != 0x0002 && tag.0 != 0xFFFE && tag < (0x7FE0, 0x0010),
            UnusableTagSnafu { field }
        );
        Source::Attribute(tag)
    };
    Ok(Piece::Field {
        source,
        date_format,
        fallback,
    })
}

/// `(gggg,eeee)` in hexadecimal.
fn parse_tag(name: &str) -> Option<AttributeTag> {
    let inner = name.strip_prefix('(')?.strip_suffix(')')?;
    let (g, e) = inner.split_once(',')?;
    let hex = |s: &str| {
        let s = s.trim();
        (s.len() == 4)
            .then(|| u16::from_str_radix(s, 16).ok())
            .flatten()
    };
    Some((hex(g)?, hex(e)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(template: &str, values: &[(AttributeTag, &str)]) -> Result<String, String> {
        let t = OutputTemplate::parse(template).map_err(|e| e.to_string())?;
        let lookup = |tag: AttributeTag| {
            values
                .iter()
                .find(|(t, _)| *t == tag)
                .map(|(_, v)| v.to_string())
        };
        t.evaluate(&lookup, "CT").map(|p| p.display().to_string())
    }

    const PID: AttributeTag = (0x0010, 0x0020);
    const STUDY: AttributeTag = (0x0020, 0x000D);

    #[test]
    fn fields_dates_fallbacks_and_prefixes() {
        assert_eq!(
            eval(
                "{PatientID|UNKNOWN}/{(0020,000D)}/{prefix}.{StudyDate:YYYY-MM-DD}.dcm",
                &[(STUDY, "1.2"), ((0x0008, 0x0020), "20261207")]
            )
            .unwrap(),
            "UNKNOWN/1.2/CT.2026-12-07.dcm"
        );
    }

    #[test]
    fn hostile_values_never_escape() {
        for hostile in [
            "/etc/cron.d/x",
            "../../x",
            "a/../../b",
            "x\ny",
            "x\u{1b}[31m",
            "..\\..",
        ] {
            let got = eval("{PatientID}/f", &[(PID, hostile)]).unwrap();
            let path = std::path::Path::new(&got);
            assert_eq!(path.components().count(), 2, "{hostile:?} -> {got}");
            assert!(
                path.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "{hostile:?} -> {got}"
            );
        }
        for unusable in ["..", ".", ""] {
            assert!(
                eval("{PatientID}/f", &[(PID, unusable)]).is_err(),
                "{unusable:?}"
            );
        }
        let long = "x".repeat(256);
        assert!(eval("{PatientID}/f", &[(PID, &long)]).is_err());
        assert!(eval("{PatientID}/f", &[]).is_err(), "missing, no fallback");
        assert_eq!(
            eval("{PatientID|..}/f", &[]),
            Err("a path component is '.' or '..'".into())
        );
    }

    #[test]
    fn bad_templates_are_refused_at_start_up() {
        for bad in [
            "",
            "/abs/{PatientID}",
            "a//b",
            "../x",
            "a/./b",
            "{Nonsense}",
            "{PatientID",
            "x}",
            "{PixelData}",
            "{(0002,0010)}",
            "{(12,34)}",
        ] {
            assert!(OutputTemplate::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! An incremental data set scanner: a push parser fed the data set bytes in whatever chunks they
//! arrive in.
//!
//! It does two jobs while the bytes stream to disk:
//!
//! * it picks up the root-level attributes the storage policy needs: SOP Class UID (0008,0016),
//!   SOP Instance UID (0008,0018) and Series Date (0008,0021), with the VR they were sent with;
//! * when validating (normal mode), it checks that the whole data set is structurally decodable:
//!   element headers complete, lengths within the enclosing items and sequences, items and
//!   delimiters properly nested, undefined lengths only where they are legal (SQ, UN holding a
//!   sequence, encapsulated Pixel Data) and the data set ending exactly at an element boundary.
//!
//! Values are skipped, never copied (except the first bytes of the three attributes above), so
//! memory is O(nesting depth): one 24-byte frame on the heap per open sequence and per open
//! item, never recursion, and nesting is bounded by [`MAX_DEPTH`] levels of sequences (16,384:
//! at most 768 KiB of frames). It never panics on any input. Deflated data sets are inflated as
//! the bytes arrive, and an optional bound stops the inflation as soon as the inflated size
//! passes it.
//!
//! Where DCMTK 3.6.7 is lenient, so is the scanner: odd value lengths are fine, an unknown VR is
//! read like UN (4-byte length field, as DCMTK's "assuming 4 byte length field"), an item
//! delimiter's length field is not checked, and bytes after the end of a deflate stream (padding)
//! are ignored.

mod inflate;
mod parser;

use snafu::Snafu;

use crate::transfer_syntax::Syntax;

pub(crate) use parser::MAX_DEPTH;

/// A data element tag, `(group, element)`.
pub(crate) type Tag = (u16, u16);

/// SOP Class UID.
pub(crate) const SOP_CLASS_UID: Tag = (0x0008, 0x0016);
/// SOP Instance UID.
pub(crate) const SOP_INSTANCE_UID: Tag = (0x0008, 0x0018);
/// Series Date.
pub(crate) const SERIES_DATE: Tag = (0x0008, 0x0021);

/// At most this many bytes of each captured value are kept (a UID has at most 64).
pub(crate) const CAPTURE_LIMIT: usize = 256;

/// Formats a tag the way DCMTK prints it: `(0008,0016)`.
pub(crate) fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

/// Why a data set is not structurally decodable. Offsets count bytes of the (inflated) data set.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
pub(crate) enum Error {
    /// A tag that is not allowed where it appears (e.g. an item outside a sequence).
    #[snafu(display("unexpected {} {where_} at byte {offset}", tag_text(*tag)))]
    UnexpectedTag {
        tag: Tag,
        where_: &'static str,
        offset: u64,
    },
    /// An undefined length on an element that cannot have one.
    #[snafu(display(
        "undefined length on {} {} at byte {offset}",
        tag_text(*tag),
        String::from_utf8_lossy(vr)
    ))]
    UndefinedLength { tag: Tag, vr: [u8; 2], offset: u64 },
    /// An element or item that extends past the end of the item or sequence containing it.
    #[snafu(display(
        "{} at byte {offset} extends beyond its enclosing item or sequence",
        tag_text(*tag)
    ))]
    Overrun { tag: Tag, offset: u64 },
    /// The data set ended in the middle of something.
    #[snafu(display("data set ends inside {what} at byte {offset}"))]
    Truncated { what: String, offset: u64 },
    /// Sequences nested deeper than [`MAX_DEPTH`] levels.
    #[snafu(display("sequences nested deeper than {MAX_DEPTH} levels at byte {offset}"))]
    TooDeep { offset: u64 },
    /// The deflate stream is corrupt.
    #[snafu(display("deflated data set cannot be inflated"))]
    Inflate { source: flate2::DecompressError },
    /// The deflate stream ended before its end-of-stream marker.
    #[snafu(display("deflated data set ends before its end of stream"))]
    InflateTruncated,
    /// The data set inflates to more than the bound it was given.
    #[snafu(display("deflated data set inflates to more than {limit} bytes"))]
    TooLarge { limit: u64 },
}

/// A root-level attribute value captured while scanning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    /// The VR was the expected one (always true in implicit VR, where the dictionary decides).
    pub(crate) vr_matches: bool,
    /// The first [`CAPTURE_LIMIT`] bytes of the value.
    pub(crate) value: Vec<u8>,
    /// The value was longer than [`CAPTURE_LIMIT`].
    pub(crate) truncated: bool,
    /// The whole value went past the scanner (false when the data ended inside it).
    pub(crate) complete: bool,
}

impl Captured {
    /// The first value as text, surrounding spaces and NULs removed; `None` when the value is
    /// incomplete, truncated, or empty.
    pub(crate) fn as_text(&self) -> Option<String> {
        if !self.complete || self.truncated {
            return None;
        }
        let first = self.value.split(|b| *b == b'\\').next().unwrap_or(&[]);
        let text = String::from_utf8_lossy(first);
        let text = text.trim_matches([' ', '\0']);
        (!text.is_empty()).then(|| text.to_string())
    }

    /// The first value's bytes, surrounding spaces and NULs removed; `None` when the value is
    /// incomplete, truncated or empty.
    pub(crate) fn first_value(&self) -> Option<&[u8]> {
        if !self.complete || self.truncated {
            return None;
        }
        let first = self.value.split(|b| *b == b'\\').next().unwrap_or(&[]);
        let start = first.iter().position(|b| !matches!(b, b' ' | 0));
        let end = first.iter().rposition(|b| !matches!(b, b' ' | 0));
        match (start, end) {
            (Some(start), Some(end)) => Some(&first[start..=end]),
            _ => None,
        }
    }

    /// The value as a UID: expected VR, complete, at most 64 characters of printable ASCII once
    /// the trailing padding is removed, and not empty.
    pub(crate) fn as_uid(&self) -> Option<&str> {
        if !self.vr_matches || !self.complete || self.truncated {
            return None;
        }
        let text = std::str::from_utf8(&self.value).ok()?;
        let uid = text.trim_end_matches([' ', '\0']);
        let usable = !uid.is_empty()
            && uid.len() <= 64
            && uid.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        usable.then_some(uid)
    }
}

/// What the scanner found at the root level of the data set (first occurrence of each tag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Findings {
    pub(crate) sop_class_uid: Option<Captured>,
    pub(crate) sop_instance_uid: Option<Captured>,
    pub(crate) series_date: Option<Captured>,
    /// The extra attributes asked for ([`Scanner::capture_extra`]), in the order of their tags.
    pub(crate) extra: Vec<Option<Captured>>,
    /// The tags of `extra`.
    pub(crate) extra_tags: std::sync::Arc<[Tag]>,
    /// Never filled (the slot of an out-of-range index).
    pub(crate) unused: Option<Captured>,
}

impl Findings {
    /// An extra attribute's captured value, if it was asked for and seen.
    pub(crate) fn extra(&self, tag: Tag) -> Option<&Captured> {
        let i = self.extra_tags.binary_search(&tag).ok()?;
        self.extra.get(i)?.as_ref()
    }

    /// An extra attribute's first value as text ([`Captured::as_text`]).
    pub(crate) fn extra_text(&self, tag: Tag) -> Option<String> {
        self.extra(tag).and_then(Captured::as_text)
    }
}

/// The scanner: an optional inflater in front of the parser.
#[derive(Debug)]
pub(crate) struct Scanner {
    inflater: Option<inflate::Inflater>,
    parser: parser::Parser,
    /// Validate the whole data set (normal mode) or only look for the attributes.
    validate: bool,
    /// Scanning has stopped: everything needed was found, or (when not validating) the data
    /// could not be parsed any further.
    stopped: bool,
}

impl Scanner {
    /// A scanner for the given transfer syntax, or `None` if the syntax is unknown (then nothing
    /// can be scanned). With `validate` false, the scanner stops parsing as soon as it has
    /// passed Series Date and swallows structural errors. With `inflated_limit`, a deflated data
    /// set that inflates to more bytes fails with [`Error::TooLarge`] (validating or not) as
    /// soon as the inflated size passes the bound; it is inflated to the end for that even when
    /// parsing has stopped.
    pub(crate) fn new(
        syntax: Syntax,
        validate: bool,
        inflated_limit: Option<u64>,
    ) -> Option<Scanner> {
        let (explicit, big_endian, encapsulated, deflated) = match syntax {
            Syntax::ImplicitLittle => (false, false, false, false),
            Syntax::ExplicitLittle => (true, false, false, false),
            Syntax::ExplicitBig => (true, true, false, false),
            Syntax::DeflatedExplicitLittle => (true, false, false, true),
            Syntax::Encapsulated => (true, false, true, false),
            Syntax::Unknown => return None,
        };
        Some(Scanner {
            inflater: deflated.then(|| inflate::Inflater::new(inflated_limit)),
            parser: parser::Parser::new(
                explicit,
                big_endian,
                encapsulated,
                (!validate).then_some(SERIES_DATE),
            ),
            validate,
            stopped: false,
        })
    }

    /// Feeds the next chunk of data set bytes (as received, i.e. still deflated if deflated).
    /// Also captures the root-level attributes `extra` (sorted, deduplicated); see
    /// [`Findings::extra`].
    pub(crate) fn capture_extra(mut self, extra: std::sync::Arc<[Tag]>) -> Scanner {
        self.parser.capture_extra(extra);
        self
    }

    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.stopped {
            return Ok(());
        }
        let result = match &mut self.inflater {
            Some(inflater) => inflater.feed(chunk, &mut self.parser),
            None => self.parser.feed(chunk),
        };
        self.after(result)
    }

    /// Declares the end of the data set and checks that it ended at an element boundary.
    pub(crate) fn finish(&mut self) -> Result<(), Error> {
        if self.stopped {
            return Ok(());
        }
        let result = match &mut self.inflater {
            Some(inflater) => inflater
                .finish(&mut self.parser)
                .and_then(|()| self.parser.finish()),
            None => self.parser.finish(),
        };
        let result = self.after(result);
        self.stopped = true;
        result
    }

    fn after(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        match result {
            Err(e) if self.validate || matches!(e, Error::TooLarge { .. }) => {
                self.stopped = true;
                Err(e)
            }
            Err(_) => {
                // Not validating: we only lose the attributes we had not found yet.
                self.stopped = true;
                Ok(())
            }
            Ok(()) => {
                // A halted parser ignores what it is fed; inflation goes on while it is
                // bounded.
                if self.parser.halted() && !self.bounds_inflated() {
                    self.stopped = true;
                }
                Ok(())
            }
        }
    }

    /// Whether this scanner bounds the inflated size of the data set (a deflated data set with
    /// a bound, still being inflated): then the caller need not bound the received bytes.
    pub(crate) fn bounds_inflated(&self) -> bool {
        !self.stopped
            && self
                .inflater
                .as_ref()
                .is_some_and(inflate::Inflater::bounded)
    }

    /// The attributes found so far.
    pub(crate) fn findings(&self) -> &Findings {
        self.parser.findings()
    }

    /// Whether SOP Class and SOP Instance UID are settled: the scanner has passed (0008,0018) at
    /// the root level, or it has stopped.
    pub(crate) fn uids_settled(&self) -> bool {
        self.stopped || self.parser.passed(SOP_INSTANCE_UID)
    }

    /// The number of data set bytes parsed (after inflation).
    pub(crate) fn parsed_len(&self) -> u64 {
        self.parser.position()
    }
}

#[cfg(test)]
mod tests;

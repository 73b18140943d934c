//! The push parser proper: a state machine over element headers and value lengths.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag as DicomTag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use snafu::ensure;

use super::{
    CAPTURE_LIMIT, Captured, Error, Findings, OverrunSnafu, SERIES_DATE, SOP_CLASS_UID,
    SOP_INSTANCE_UID, Tag, TooDeepSnafu, TruncatedSnafu, UndefinedLengthSnafu, UnexpectedTagSnafu,
    tag_text,
};

/// The deepest nesting of sequences accepted (a sequence in an item of a sequence ... counts
/// one level per sequence). Real data sets stay below ten; DCMTK 3.6.7, which recurses once a
/// level, stores 9,000 and dies of a stack overflow at 10,000 with the usual 8 MiB stack. The
/// state lives on the heap (two 24-byte frames a level, at most 768 KiB), so the bound only
/// keeps hostile input from costing more.
pub(crate) const MAX_DEPTH: usize = 16_384;

/// Frames on the stack at [`MAX_DEPTH`]: a sequence and an item for each level.
const MAX_FRAMES: usize = 2 * MAX_DEPTH;

/// [`Frame::end`] and [`Frame::limit`] when there is none (undefined length).
const NO_END: u64 = u64::MAX;

/// The length value meaning "undefined length".
const UNDEFINED: u32 = 0xFFFF_FFFF;

const ITEM: Tag = (0xFFFE, 0xE000);
const ITEM_DELIMITATION: Tag = (0xFFFE, 0xE00D);
const SEQUENCE_DELIMITATION: Tag = (0xFFFE, 0xE0DD);
const PIXEL_DATA: Tag = (0x7FE0, 0x0010);

/// Byte-level encoding of a data set (or of a nested one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

impl Encoding {
    /// The encoding of the items of an explicit-VR UN element with undefined length (PS3.5
    /// section 6.2.2: Implicit VR Little Endian).
    const IMPLICIT_LITTLE: Encoding = Encoding {
        explicit: false,
        big_endian: false,
    };

    // The offsets passed below are constants (0 to 8) within the 12-byte header buffer.

    fn u16_at(self, bytes: &[u8; 12], at: usize) -> u16 {
        let pair = [bytes[at], bytes[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    }

    fn u32_at(self, bytes: &[u8; 12], at: usize) -> u32 {
        let quad = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(quad)
        } else {
            u32::from_le_bytes(quad)
        }
    }
}

/// What a container on the stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A sequence of items.
    Sequence,
    /// Encapsulated Pixel Data: a sequence of fragments.
    PixelSequence,
    /// An item: a nested data set.
    Item,
}

/// One open sequence or item: 24 bytes.
#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: Kind,
    /// The tag that opened it (for messages).
    tag: Tag,
    /// Absolute end offset for a defined length, [`NO_END`] for an undefined one.
    end: u64,
    /// The tightest end among this frame and its ancestors ([`NO_END`]: none).
    limit: u64,
    /// Encoding of the elements inside (items inherit their sequence's).
    encoding: Encoding,
}

impl Frame {
    /// The end offset of a defined length.
    fn end(&self) -> Option<u64> {
        (self.end != NO_END).then_some(self.end)
    }

    /// The tightest end among this frame and its ancestors.
    fn limit(&self) -> Option<u64> {
        (self.limit != NO_END).then_some(self.limit)
    }
}

/// Which captured attribute a value goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    SopClass,
    SopInstance,
    SeriesDate,
    /// The attribute at this index of the parser's extra tags.
    Extra(usize),
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Reading a header; `have` bytes of it are in the header buffer.
    Header { have: usize },
    /// Skipping (or capturing) the rest of a value.
    Value {
        tag: Tag,
        remaining: u64,
        capture: Option<Target>,
    },
}

/// The parser state. See the module documentation.
#[derive(Debug)]
pub(super) struct Parser {
    root: Encoding,
    /// Pixel Data may be encapsulated (fragments with undefined length).
    encapsulated: bool,
    stack: Vec<Frame>,
    /// Bytes consumed so far.
    pos: u64,
    header: [u8; 12],
    step: Step,
    findings: Findings,
    /// The last root-level tag whose header was read.
    last_root_tag: Option<Tag>,
    /// Stop parsing once past this root-level tag (when only looking for attributes).
    stop_after: Option<Tag>,
    /// More root-level attributes to capture (sorting, output templates), sorted.
    extra: std::sync::Arc<[Tag]>,
}

fn is_long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

fn is_short_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// Whether the standard dictionary declares a tag as a sequence (used in implicit VR).
fn dictionary_says_sequence(tag: Tag) -> bool {
    StandardDataDictionary
        .by_tag(DicomTag(tag.0, tag.1))
        .is_some_and(|entry| entry.vr() == VirtualVr::Exact(VR::SQ))
}

/// The captured attribute a root-level tag goes to, and the VR it must have (`None`: any).
fn target_of(tag: Tag, extra: &[Tag]) -> Option<(Target, Option<[u8; 2]>)> {
    match tag {
        SOP_CLASS_UID => Some((Target::SopClass, Some(*b"UI"))),
        SOP_INSTANCE_UID => Some((Target::SopInstance, Some(*b"UI"))),
        SERIES_DATE => Some((Target::SeriesDate, Some(*b"DA"))),
        _ => extra
            .binary_search(&tag)
            .ok()
            .map(|i| (Target::Extra(i), None)),
    }
}

impl Parser {
    pub(super) fn new(
        explicit: bool,
        big_endian: bool,
        encapsulated: bool,
        stop_after: Option<Tag>,
    ) -> Parser {
        Parser {
            root: Encoding {
                explicit,
                big_endian,
            },
            encapsulated,
            stack: Vec::new(),
            pos: 0,
            header: [0; 12],
            step: Step::Header { have: 0 },
            findings: Findings::default(),
            last_root_tag: None,
            stop_after,
            extra: std::sync::Arc::from(Vec::new()),
        }
    }

    /// Also captures the root-level attributes `extra` (sorted, deduplicated), and, when only
    /// looking for attributes, stops after the last of them rather than earlier.
    pub(super) fn capture_extra(&mut self, extra: std::sync::Arc<[Tag]>) {
        if let (Some(stop), Some(&last)) = (self.stop_after, extra.last()) {
            self.stop_after = Some(stop.max(last));
        }
        self.findings.extra = vec![None; extra.len()];
        self.findings.extra_tags = std::sync::Arc::clone(&extra);
        self.extra = extra;
    }

    /// Whether the parser has stopped because it is past its `stop_after` tag.
    pub(super) fn halted(&self) -> bool {
        self.stop_after.is_some_and(|tag| self.passed(tag))
    }

    pub(super) fn findings(&self) -> &Findings {
        &self.findings
    }

    pub(super) fn position(&self) -> u64 {
        self.pos
    }

    /// Whether the parser is past `tag` at the root level: it has read the header of a later
    /// root-level element, or it has read all of `tag`'s value.
    pub(super) fn passed(&self, tag: Tag) -> bool {
        match self.last_root_tag {
            Some(last) if last > tag => true,
            Some(last) if last == tag => {
                !matches!(self.step, Step::Value { .. }) || !self.stack.is_empty()
            }
            _ => false,
        }
    }

    fn encoding(&self) -> Encoding {
        self.stack.last().map_or(self.root, |f| f.encoding)
    }

    fn limit(&self) -> Option<u64> {
        self.stack.last().and_then(Frame::limit)
    }

    fn slot(&mut self, target: Target) -> &mut Option<Captured> {
        match target {
            Target::SopClass => &mut self.findings.sop_class_uid,
            Target::SopInstance => &mut self.findings.sop_instance_uid,
            Target::SeriesDate => &mut self.findings.series_date,
            Target::Extra(i) => match self.findings.extra.get_mut(i) {
                Some(slot) => slot,
                None => &mut self.findings.unused,
            },
        }
    }

    /// Consumes a chunk.
    pub(super) fn feed(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            if self.halted() {
                return Ok(());
            }
            match self.step {
                Step::Value {
                    tag,
                    remaining,
                    capture,
                } => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    let (value, rest) = data.split_at(take);
                    if let Some(target) = capture {
                        if let Some(captured) = self.slot(target) {
                            let room = CAPTURE_LIMIT.saturating_sub(captured.value.len());
                            let keep = room.min(value.len());
                            captured
                                .value
                                .extend_from_slice(value.get(..keep).unwrap_or(&[]));
                            captured.truncated |= keep < value.len();
                        }
                    }
                    data = rest;
                    self.pos += take as u64;
                    let remaining = remaining - take as u64;
                    if remaining == 0 {
                        self.value_done(capture);
                    } else {
                        self.step = Step::Value {
                            tag,
                            remaining,
                            capture,
                        };
                    }
                }
                Step::Header { have } => {
                    if have == 0 {
                        self.close_ended_frames();
                    }
                    let need = self.header_need(have);
                    let take = need.saturating_sub(have).min(data.len());
                    let (bytes, rest) = data.split_at(take);
                    for (slot, byte) in self.header.iter_mut().skip(have).zip(bytes) {
                        *slot = *byte;
                    }
                    data = rest;
                    self.pos += take as u64;
                    let have = have + take;
                    self.step = Step::Header { have };
                    if have == need && self.header_need(have) == have {
                        self.step = Step::Header { have: 0 };
                        self.on_header(have)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Declares the end of the data.
    pub(super) fn finish(&mut self) -> Result<(), Error> {
        if self.halted() {
            return Ok(());
        }
        match self.step {
            Step::Value { tag, remaining, .. } if remaining > 0 => {
                return TruncatedSnafu {
                    what: format!("the value of {}", tag_text(tag)),
                    offset: self.pos,
                }
                .fail();
            }
            Step::Header { have } if have > 0 => {
                return TruncatedSnafu {
                    what: "an element header",
                    offset: self.pos,
                }
                .fail();
            }
            _ => {}
        }
        self.close_ended_frames();
        if let Some(frame) = self.stack.last() {
            let what = match frame.kind {
                Kind::Item => format!("an item of {}", tag_text(frame.tag)),
                Kind::Sequence | Kind::PixelSequence => {
                    format!("the sequence {}", tag_text(frame.tag))
                }
            };
            return TruncatedSnafu {
                what,
                offset: self.pos,
            }
            .fail();
        }
        Ok(())
    }

    /// Pops every defined-length container that ends at the current position.
    fn close_ended_frames(&mut self) {
        while self.stack.last().is_some_and(|f| f.end() == Some(self.pos)) {
            self.stack.pop();
        }
    }

    /// How many header bytes are needed, given the `have` bytes already read.
    fn header_need(&self, have: usize) -> usize {
        let in_dataset = matches!(self.stack.last().map(|f| f.kind), None | Some(Kind::Item));
        if !in_dataset {
            return 8;
        }
        if have < 4 {
            return 4;
        }
        let encoding = self.encoding();
        if encoding.u16_at(&self.header, 0) == 0xFFFE || !encoding.explicit {
            return 8;
        }
        if have < 6 {
            return 6;
        }
        let vr = [self.header[4], self.header[5]];
        if is_short_vr(vr) { 8 } else { 12 }
    }

    fn value_done(&mut self, capture: Option<Target>) {
        if let Some(target) = capture {
            if let Some(captured) = self.slot(target) {
                captured.complete = true;
            }
        }
        self.step = Step::Header { have: 0 };
    }

    /// Checks that something ending at `end` fits in the enclosing containers.
    fn check_fits(&self, tag: Tag, start: u64, end: u64) -> Result<(), Error> {
        match self.limit() {
            Some(limit) if end > limit => OverrunSnafu { tag, offset: start }.fail(),
            _ => Ok(()),
        }
    }

    fn push(
        &mut self,
        kind: Kind,
        tag: Tag,
        end: Option<u64>,
        encoding: Encoding,
    ) -> Result<(), Error> {
        ensure!(
            self.stack.len() < MAX_FRAMES,
            TooDeepSnafu { offset: self.pos }
        );
        let end = end.unwrap_or(NO_END);
        let limit = end.min(self.limit().unwrap_or(NO_END));
        self.stack.push(Frame {
            kind,
            tag,
            end,
            limit,
            encoding,
        });
        Ok(())
    }

    fn start_value(&mut self, tag: Tag, len: u32, capture: Option<Target>) {
        if len == 0 {
            self.value_done(capture);
        } else {
            self.step = Step::Value {
                tag,
                remaining: u64::from(len),
                capture,
            };
        }
    }

    /// Interprets a complete header of `len` bytes that ended at the current position.
    fn on_header(&mut self, len: usize) -> Result<(), Error> {
        let start = self.pos - len as u64;
        let encoding = self.encoding();
        let tag = (
            encoding.u16_at(&self.header, 0),
            encoding.u16_at(&self.header, 2),
        );
        // The header itself must lie inside the enclosing containers.
        self.check_fits(tag, start, self.pos)?;
        let top = self.stack.last().copied();
        match top.map(|f| f.kind) {
            Some(Kind::Sequence) => {
                let length = encoding.u32_at(&self.header, 4);
                match tag {
                    ITEM if length == UNDEFINED => self.push(Kind::Item, tag, None, encoding),
                    ITEM => {
                        let end = self.pos + u64::from(length);
                        self.check_fits(tag, start, end)?;
                        self.push(Kind::Item, tag, Some(end), encoding)
                    }
                    SEQUENCE_DELIMITATION if top.is_some_and(|f| f.end().is_none()) => {
                        self.stack.pop();
                        Ok(())
                    }
                    _ => UnexpectedTagSnafu {
                        tag,
                        where_: "in a sequence",
                        offset: start,
                    }
                    .fail(),
                }
            }
            Some(Kind::PixelSequence) => {
                let length = encoding.u32_at(&self.header, 4);
                match tag {
                    ITEM if length == UNDEFINED => UndefinedLengthSnafu {
                        tag,
                        vr: *b"--",
                        offset: start,
                    }
                    .fail(),
                    ITEM => {
                        self.check_fits(tag, start, self.pos + u64::from(length))?;
                        self.start_value(tag, length, None);
                        Ok(())
                    }
                    SEQUENCE_DELIMITATION => {
                        self.stack.pop();
                        Ok(())
                    }
                    _ => UnexpectedTagSnafu {
                        tag,
                        where_: "in encapsulated pixel data",
                        offset: start,
                    }
                    .fail(),
                }
            }
            None | Some(Kind::Item) => self.on_element_header(tag, start, top, encoding),
        }
    }

    fn on_element_header(
        &mut self,
        tag: Tag,
        start: u64,
        top: Option<Frame>,
        encoding: Encoding,
    ) -> Result<(), Error> {
        if tag.0 == 0xFFFE {
            let in_undefined_item = top.is_some_and(|f| f.kind == Kind::Item && f.end().is_none());
            if tag == ITEM_DELIMITATION && in_undefined_item {
                self.stack.pop();
                return Ok(());
            }
            let where_ = if top.is_some() {
                "in an item"
            } else {
                "at the top level of the data set"
            };
            return UnexpectedTagSnafu {
                tag,
                where_,
                offset: start,
            }
            .fail();
        }
        let at_root = top.is_none();
        let (vr, length) = if encoding.explicit {
            let vr = [self.header[4], self.header[5]];
            if is_short_vr(vr) {
                (Some(vr), u32::from(encoding.u16_at(&self.header, 6)))
            } else {
                (Some(vr), encoding.u32_at(&self.header, 8))
            }
        } else {
            (None, encoding.u32_at(&self.header, 4))
        };
        if at_root {
            self.last_root_tag = Some(tag);
        }
        // An unknown VR is read like UN.
        let vr_is = |name: &[u8; 2]| vr.is_some_and(|v| &v == name);
        let unknown_or_un = vr.is_some_and(|v| !is_long_vr(v) && !is_short_vr(v)) || vr_is(b"UN");
        if length == UNDEFINED {
            return match vr {
                Some(v) if &v == b"SQ" => self.push(Kind::Sequence, tag, None, encoding),
                Some(v)
                    if tag == PIXEL_DATA
                        && self.encapsulated
                        && matches!(&v, b"OB" | b"OW" | b"UN") =>
                {
                    self.push(Kind::PixelSequence, tag, None, encoding)
                }
                Some(_) if unknown_or_un => {
                    self.push(Kind::Sequence, tag, None, Encoding::IMPLICIT_LITTLE)
                }
                Some(v) => UndefinedLengthSnafu {
                    tag,
                    vr: v,
                    offset: start,
                }
                .fail(),
                // Implicit VR: an undefined length means a sequence, whatever the dictionary
                // says (private and unknown sequences are sent like this), except for Pixel Data,
                // which cannot be encapsulated in implicit VR.
                None if tag == PIXEL_DATA => UndefinedLengthSnafu {
                    tag,
                    vr: *b"OW",
                    offset: start,
                }
                .fail(),
                None => self.push(Kind::Sequence, tag, None, encoding),
            };
        }
        let end = self.pos + u64::from(length);
        self.check_fits(tag, start, end)?;
        let is_sequence = match vr {
            Some(v) => &v == b"SQ",
            None => dictionary_says_sequence(tag),
        };
        if is_sequence {
            return self.push(Kind::Sequence, tag, Some(end), encoding);
        }
        let capture = match target_of(tag, &self.extra) {
            Some((target, expected_vr)) if at_root => {
                let slot = self.slot(target);
                if slot.is_none() {
                    *slot = Some(Captured {
                        vr_matches: vr.is_none_or(|v| expected_vr.is_none_or(|e| v == e)),
                        ..Captured::default()
                    });
                    Some(target)
                } else {
                    None
                }
            }
            _ => None,
        };
        self.start_value(tag, length, capture);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_small() {
        // What MAX_DEPTH costs at most: 2 frames a level.
        assert_eq!(std::mem::size_of::<Frame>(), 24);
        assert_eq!(MAX_FRAMES * std::mem::size_of::<Frame>(), 768 * 1024);
    }
}

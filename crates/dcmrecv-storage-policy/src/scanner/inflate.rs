//! Inflating a Deflated Explicit VR Little Endian data set as its bytes arrive.

use flate2::{Decompress, FlushDecompress, Status};

use super::parser::Parser;
use super::{Error, InflateTruncatedSnafu, TooLargeSnafu};

/// Size of the buffer inflated bytes pass through on their way to the parser.
const OUT_BUFFER: usize = 32 * 1024;

/// A raw deflate stream (PS3.5 section A.5: no zlib header) feeding a [`Parser`].
pub(super) struct Inflater {
    stream: Decompress,
    out: Box<[u8]>,
    /// The end-of-stream marker has been seen; later bytes (padding) are ignored.
    ended: bool,
    /// Fail as soon as more bytes than this have been inflated.
    limit: Option<u64>,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("total_in", &self.stream.total_in())
            .field("total_out", &self.stream.total_out())
            .field("ended", &self.ended)
            .field("limit", &self.limit)
            .finish()
    }
}

impl Inflater {
    /// An inflater that fails once more than `limit` bytes have come out (if given).
    pub(super) fn new(limit: Option<u64>) -> Inflater {
        Inflater {
            stream: Decompress::new(false),
            out: vec![0; OUT_BUFFER].into_boxed_slice(),
            ended: false,
            limit,
        }
    }

    /// Whether it has a bound and is still inflating.
    pub(super) fn bounded(&self) -> bool {
        self.limit.is_some() && !self.ended
    }

    /// Inflates `input` and passes everything it yields to `parser`.
    pub(super) fn feed(&mut self, input: &[u8], parser: &mut Parser) -> Result<(), Error> {
        self.run(input, FlushDecompress::None, parser)
    }

    /// Flushes what is left and checks that the stream was complete.
    pub(super) fn finish(&mut self, parser: &mut Parser) -> Result<(), Error> {
        self.run(&[], FlushDecompress::Finish, parser)?;
        snafu::ensure!(self.ended, InflateTruncatedSnafu);
        Ok(())
    }

    fn run(
        &mut self,
        mut input: &[u8],
        flush: FlushDecompress,
        parser: &mut Parser,
    ) -> Result<(), Error> {
        while !self.ended {
            let (in_before, out_before) = (self.stream.total_in(), self.stream.total_out());
            let result = self.stream.decompress(input, &mut self.out, flush);
            let consumed = usize::try_from(self.stream.total_in() - in_before).unwrap_or(0);
            let produced = usize::try_from(self.stream.total_out() - out_before).unwrap_or(0);
            // Checked after every output buffer (32 KiB): a deflate bomb costs no more than the
            // bound's worth of inflation.
            if let Some(limit) = self.limit {
                snafu::ensure!(self.stream.total_out() <= limit, TooLargeSnafu { limit });
            }
            // What was inflated before a corrupt spot is parsed before the error is reported,
            // so that the outcome does not depend on how the bytes were split into chunks.
            parser.feed(self.out.get(..produced).unwrap_or(&[]))?;
            let status = result.map_err(|source| Error::Inflate { source })?;
            input = input.get(consumed..).unwrap_or(&[]);
            if status == Status::StreamEnd {
                self.ended = true;
            }
            // Stop when no progress is possible: all input consumed and the output buffer was
            // not filled (so nothing is pending inside the decompressor).
            if (input.is_empty() && produced < self.out.len()) || (consumed == 0 && produced == 0) {
                break;
            }
        }
        Ok(())
    }
}

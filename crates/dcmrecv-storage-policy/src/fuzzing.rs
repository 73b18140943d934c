//! Entry points for the fuzzers (`cargo xtask fuzz` and the end-to-end test suite). Not part of
//! the API: hidden from the documentation and free to change.

use crate::scanner::{Findings, Scanner};
use crate::transfer_syntax::Syntax;

/// Scans `data` as a data set in `transfer_syntax_uid`, once in one piece and once in chunks of
/// `chunk_len` bytes (at least 1), validating the structure when `validate` is set, as the
/// storage policy does while an object streams in.
///
/// Returns a fingerprint of the outcome (which error, which attributes were found), so that a
/// fuzzer can tell inputs that behave differently apart, or `Err` with a description when the
/// two scans disagree: the outcome must not depend on how the bytes are split.
pub fn scan(
    transfer_syntax_uid: &str,
    validate: bool,
    data: &[u8],
    chunk_len: usize,
) -> Result<u64, String> {
    let whole = scan_pieces(transfer_syntax_uid, validate, std::iter::once(data));
    let chunked = scan_pieces(transfer_syntax_uid, validate, data.chunks(chunk_len.max(1)));
    if whole != chunked {
        return Err(format!(
            "the scan depends on the chunking ({chunk_len}-byte chunks): {whole:?} in one piece, \
             {chunked:?} in chunks"
        ));
    }
    let Some((result, findings, _)) = whole else {
        return Ok(0);
    };
    // The error's kind (its text up to the first tag or number, so that tags and offsets do
    // not count) and which attributes were found, and whether they are usable.
    let mut fingerprint = 0xcbf2_9ce4_8422_2325_u64;
    let mut mix =
        |byte: u8| fingerprint = (fingerprint ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
    if let Err(e) = &result {
        e.bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'(')
            .for_each(&mut mix);
    }
    for captured in [
        &findings.sop_class_uid,
        &findings.sop_instance_uid,
        &findings.series_date,
    ] {
        mix(match captured {
            None => 0,
            Some(c) if c.as_uid().is_some() => 1,
            Some(_) => 2,
        });
    }
    Ok(fingerprint)
}

/// The result, findings and parsed length of one scan; `None` for an unknown transfer syntax.
type Outcome = Option<(Result<(), String>, Findings, u64)>;

fn scan_pieces<'a>(
    transfer_syntax_uid: &str,
    validate: bool,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> Outcome {
    let mut scanner = Scanner::new(Syntax::from_uid(transfer_syntax_uid), validate, None)?;
    let fed = pieces
        .map(|piece| scanner.feed(piece))
        .find(Result::is_err)
        .unwrap_or(Ok(()));
    let result = fed
        .and_then(|()| scanner.finish())
        .map_err(|e| e.to_string());
    Some((result, scanner.findings().clone(), scanner.parsed_len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_is_fingerprinted_and_chunking_makes_no_difference() {
        // (0008,0018) UI "1.2.3.4" in Explicit VR Little Endian.
        let mut data = vec![0x08, 0x00, 0x18, 0x00, b'U', b'I', 8, 0];
        data.extend_from_slice(b"1.2.3.4\0");
        let explicit = "1.2.840.10008.1.2.1";
        let good = scan(explicit, true, &data, 3).unwrap();
        assert_eq!(scan(explicit, true, &data, 1).unwrap(), good);
        let truncated = scan(explicit, true, &data[..11], 2).unwrap();
        assert_ne!(truncated, good);
        assert_eq!(scan("1.2.3.4.5", true, &data, 1).unwrap(), 0);
    }
}

//! How the data set bytes of a transfer syntax are laid out, as far as the scanner cares.

use crate::prefix::trim_uid;

/// The encoding family of a transfer syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// Implicit VR Little Endian (1.2.840.10008.1.2).
    ImplicitLittle,
    /// Explicit VR Little Endian (1.2.840.10008.1.2.1).
    ExplicitLittle,
    /// Explicit VR Big Endian (retired, 1.2.840.10008.1.2.2).
    ExplicitBig,
    /// The whole data set is a raw deflate stream of Explicit VR Little Endian
    /// (1.2.840.10008.1.2.1.99 and the two deflated JPIP syntaxes).
    DeflatedExplicitLittle,
    /// Explicit VR Little Endian in which Pixel Data may be encapsulated (fragments with
    /// undefined length): JPEG, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL, RLE, MPEG, HEVC, ...
    Encapsulated,
    /// A UID we do not know: the bytes are stored, never interpreted.
    Unknown,
}

/// Transfer syntaxes whose data sets are Explicit VR Little Endian with possibly encapsulated
/// Pixel Data. This is the list of encapsulated syntaxes in dicom-rs's registry (0.10), plus the
/// retired JPEG processes that DCMTK 3.6.7 still decodes, plus the non-pixel syntaxes the registry
/// files under "encapsulated" (JPIP Referenced, SMPTE ST 2110), which are Explicit VR Little
/// Endian as far as the data set structure goes.
const ENCAPSULATED: &[&str] = &[
    "1.2.840.10008.1.2.1.98", // Encapsulated Uncompressed Explicit VR Little Endian
    "1.2.840.10008.1.2.5",    // RLE Lossless
    "1.2.840.10008.1.2.4.50", // JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51", // JPEG Extended (Process 2 & 4)
    "1.2.840.10008.1.2.4.52", // JPEG Extended (Process 3 & 5), retired
    "1.2.840.10008.1.2.4.53", // JPEG Spectral Selection, Non-Hierarchical (6 & 8), retired
    "1.2.840.10008.1.2.4.54", // JPEG Spectral Selection, Non-Hierarchical (7 & 9), retired
    "1.2.840.10008.1.2.4.55", // JPEG Full Progression, Non-Hierarchical (10 & 12), retired
    "1.2.840.10008.1.2.4.56", // JPEG Full Progression, Non-Hierarchical (11 & 13), retired
    "1.2.840.10008.1.2.4.57", // JPEG Lossless, Non-Hierarchical (Process 14)
    "1.2.840.10008.1.2.4.58", // JPEG Lossless, Non-Hierarchical (Process 15), retired
    "1.2.840.10008.1.2.4.59", // JPEG Extended, Hierarchical (16 & 18), retired
    "1.2.840.10008.1.2.4.60", // JPEG Extended, Hierarchical (17 & 19), retired
    "1.2.840.10008.1.2.4.61", // JPEG Spectral Selection, Hierarchical (20 & 22), retired
    "1.2.840.10008.1.2.4.62", // JPEG Spectral Selection, Hierarchical (21 & 23), retired
    "1.2.840.10008.1.2.4.63", // JPEG Full Progression, Hierarchical (24 & 26), retired
    "1.2.840.10008.1.2.4.64", // JPEG Full Progression, Hierarchical (25 & 27), retired
    "1.2.840.10008.1.2.4.65", // JPEG Lossless, Hierarchical (Process 28), retired
    "1.2.840.10008.1.2.4.66", // JPEG Lossless, Hierarchical (Process 29), retired
    "1.2.840.10008.1.2.4.70", // JPEG Lossless, Non-Hierarchical, First-Order Prediction
    "1.2.840.10008.1.2.4.80", // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81", // JPEG-LS Lossy (Near-Lossless)
    "1.2.840.10008.1.2.4.90", // JPEG 2000 (Lossless Only)
    "1.2.840.10008.1.2.4.91", // JPEG 2000
    "1.2.840.10008.1.2.4.92", // JPEG 2000 Part 2 Multi-component (Lossless Only)
    "1.2.840.10008.1.2.4.93", // JPEG 2000 Part 2 Multi-component
    "1.2.840.10008.1.2.4.94", // JPIP Referenced
    "1.2.840.10008.1.2.4.100", // MPEG2 Main Profile / Main Level
    "1.2.840.10008.1.2.4.100.1", // Fragmentable MPEG2 MP@ML
    "1.2.840.10008.1.2.4.101", // MPEG2 Main Profile / High Level
    "1.2.840.10008.1.2.4.101.1", // Fragmentable MPEG2 MP@HL
    "1.2.840.10008.1.2.4.102", // MPEG-4 AVC/H.264 High Profile / Level 4.1
    "1.2.840.10008.1.2.4.102.1", // Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1
    "1.2.840.10008.1.2.4.103", // MPEG-4 AVC/H.264 BD-compatible High Profile
    "1.2.840.10008.1.2.4.103.1", // Fragmentable MPEG-4 AVC/H.264 BD-compatible
    "1.2.840.10008.1.2.4.104", // MPEG-4 AVC/H.264 High Profile For 2D Video
    "1.2.840.10008.1.2.4.104.1", // Fragmentable MPEG-4 AVC/H.264 For 2D Video
    "1.2.840.10008.1.2.4.105", // MPEG-4 AVC/H.264 High Profile For 3D Video
    "1.2.840.10008.1.2.4.105.1", // Fragmentable MPEG-4 AVC/H.264 For 3D Video
    "1.2.840.10008.1.2.4.106", // MPEG-4 AVC/H.264 Stereo High Profile
    "1.2.840.10008.1.2.4.106.1", // Fragmentable MPEG-4 AVC/H.264 Stereo High Profile
    "1.2.840.10008.1.2.4.107", // HEVC/H.265 Main Profile / Level 5.1
    "1.2.840.10008.1.2.4.108", // HEVC/H.265 Main 10 Profile / Level 5.1
    "1.2.840.10008.1.2.4.110", // JPEG XL Lossless
    "1.2.840.10008.1.2.4.111", // JPEG XL JPEG Recompression
    "1.2.840.10008.1.2.4.112", // JPEG XL
    "1.2.840.10008.1.2.4.201", // High-Throughput JPEG 2000 (Lossless Only)
    "1.2.840.10008.1.2.4.202", // High-Throughput JPEG 2000 with RPCL Options (Lossless Only)
    "1.2.840.10008.1.2.4.203", // High-Throughput JPEG 2000
    "1.2.840.10008.1.2.4.204", // JPIP HTJ2K Referenced
    "1.2.840.10008.1.2.7.1",  // SMPTE ST 2110-20 Uncompressed Progressive Active Video
    "1.2.840.10008.1.2.7.2",  // SMPTE ST 2110-20 Uncompressed Interlaced Active Video
    "1.2.840.10008.1.2.7.3",  // SMPTE ST 2110-30 PCM Digital Audio
    "1.2.840.10008.1.2.8.1",  // Deflated Image Frame Compression
];

impl Syntax {
    /// Classifies a transfer syntax UID (DICOM padding ignored).
    pub(crate) fn from_uid(uid: &str) -> Syntax {
        match trim_uid(uid) {
            "1.2.840.10008.1.2" => Syntax::ImplicitLittle,
            "1.2.840.10008.1.2.1" => Syntax::ExplicitLittle,
            "1.2.840.10008.1.2.2" => Syntax::ExplicitBig,
            // Deflated Explicit VR LE, JPIP Referenced Deflate, JPIP HTJ2K Referenced Deflate.
            "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" | "1.2.840.10008.1.2.4.205" => {
                Syntax::DeflatedExplicitLittle
            }
            other if ENCAPSULATED.contains(&other) => Syntax::Encapsulated,
            _ => Syntax::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            Syntax::from_uid("1.2.840.10008.1.2"),
            Syntax::ImplicitLittle
        );
        assert_eq!(
            Syntax::from_uid("1.2.840.10008.1.2\0"),
            Syntax::ImplicitLittle
        );
        assert_eq!(
            Syntax::from_uid("1.2.840.10008.1.2.1"),
            Syntax::ExplicitLittle
        );
        assert_eq!(Syntax::from_uid("1.2.840.10008.1.2.2"), Syntax::ExplicitBig);
        assert_eq!(
            Syntax::from_uid("1.2.840.10008.1.2.1.99"),
            Syntax::DeflatedExplicitLittle
        );
        assert_eq!(
            Syntax::from_uid("1.2.840.10008.1.2.4.91"),
            Syntax::Encapsulated
        );
        assert_eq!(
            Syntax::from_uid("1.2.840.10008.1.2.5"),
            Syntax::Encapsulated
        );
        assert_eq!(Syntax::from_uid("1.2.3.4.5.6"), Syntax::Unknown);
        assert_eq!(Syntax::from_uid(""), Syntax::Unknown);
    }

    #[test]
    fn every_encapsulated_syntax_known_to_dicom_rs_is_listed() {
        use dicom_encoding::transfer_syntax::{Codec, Endianness};
        use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
        let mut seen = 0;
        for ts in TransferSyntaxRegistry.iter() {
            seen += 1;
            let expected = match ts.codec() {
                Codec::EncapsulatedPixelData(..) => Syntax::Encapsulated,
                Codec::Dataset(_) => Syntax::DeflatedExplicitLittle,
                Codec::None if ts.uid() == "1.2.840.10008.1.2" => Syntax::ImplicitLittle,
                Codec::None if ts.endianness() == Endianness::Big => Syntax::ExplicitBig,
                Codec::None => Syntax::ExplicitLittle,
            };
            assert_eq!(
                Syntax::from_uid(ts.uid()),
                expected,
                "{} {}",
                ts.uid(),
                ts.name()
            );
        }
        assert!(seen > 40, "the registry lists {seen} transfer syntaxes");
    }
}

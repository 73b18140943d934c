//! The Part-10 header: 128-byte preamble, `DICM` and the File Meta Information group.
//!
//! The group is encoded by dicom-object's `FileMetaTable::write`, which produces DCMTK's exact
//! bytes (UIDs padded with NUL, SH/AE with a space, (0002,0001) = `00\01`); this was checked
//! against files written by the real `dcmrecv` in both modes (see the tests).

use dicom_object::meta::FileMetaTableBuilder;
use snafu::{ResultExt, Snafu};

/// What goes into the meta group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaFields<'a> {
    pub(crate) sop_class_uid: &'a str,
    pub(crate) sop_instance_uid: &'a str,
    pub(crate) transfer_syntax_uid: &'a str,
    pub(crate) implementation_class_uid: &'a str,
    pub(crate) implementation_version_name: &'a str,
    /// (0002,0016), written only in bit-preserving mode.
    pub(crate) source_ae_title: Option<&'a str>,
}

/// The meta group could not be encoded.
#[derive(Debug, Snafu)]
pub(crate) enum Error {
    /// dicom-object refused the values.
    #[snafu(display("cannot build the file meta group"))]
    Build { source: dicom_object::meta::Error },
}

/// The preamble, `DICM` and the encoded meta group, ready to be written in front of the data set.
pub(crate) fn part10_header(fields: &MetaFields<'_>) -> Result<Vec<u8>, Error> {
    let mut builder = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(fields.sop_class_uid.trim_end_matches([' ', '\0']))
        .media_storage_sop_instance_uid(fields.sop_instance_uid.trim_end_matches([' ', '\0']))
        .transfer_syntax(fields.transfer_syntax_uid.trim_end_matches([' ', '\0']))
        .implementation_class_uid(fields.implementation_class_uid)
        .implementation_version_name(fields.implementation_version_name);
    if let Some(ae) = fields.source_ae_title {
        builder = builder.source_application_entity_title(ae.trim_end_matches([' ', '\0']));
    }
    let table = builder.build().context(BuildSnafu)?;
    let mut out = Vec::with_capacity(128 + 4 + 256);
    out.resize(128, 0);
    out.extend_from_slice(b"DICM");
    // Writing into a Vec cannot fail for I/O reasons; any error is about the values.
    table.write(&mut out).context(BuildSnafu)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn ct_fields<'a>(version: &'a str, ae: Option<&'a str>) -> MetaFields<'a> {
        MetaFields {
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
            sop_instance_uid: "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
            transfer_syntax_uid: "1.2.840.10008.1.2.1",
            implementation_class_uid: "1.2.276.0.7230010.3.0.3.6.7",
            implementation_version_name: version,
            source_ae_title: ae,
        }
    }

    /// The meta group bytes after `DICM` of the file the real `dcmrecv +B` (3.6.7, Debian)
    /// wrote for pydicom's CT_small.dcm sent by `storescu -aet MYSCU`.
    const DCMTK_BIT_PRESERVING: &str = "02000000554c0400ce000000020001004f4200000200000000010200020055491a00312e322e3834302e31303030382e352e312e342e312e312e32000200030055493000312e332e362e312e342e312e353936322e312e312e312e312e312e32303034303131393037323733302e3132333232000200100055491400312e322e3834302e31303030382e312e322e31000200120055491c00312e322e3237362e302e373233303031302e332e302e332e362e370002001300534810004f464649535f44434d42505f3336372002001600414506004d5953435520";

    /// The same for the real `dcmrecv` in normal mode.
    const DCMTK_NORMAL: &str = "02000000554c0400c0000000020001004f4200000200000000010200020055491a00312e322e3834302e31303030382e352e312e342e312e312e32000200030055493000312e332e362e312e342e312e353936322e312e312e312e312e312e32303034303131393037323733302e3132333232000200100055491400312e322e3834302e31303030382e312e322e31000200120055491c00312e322e3237362e302e373233303031302e332e302e332e362e370002001300534810004f464649535f44434d544b5f33363720";

    #[test]
    fn the_encoding_is_dcmtks_byte_for_byte() {
        let header = part10_header(&ct_fields("OFFIS_DCMBP_367", Some("MYSCU"))).unwrap();
        assert_eq!(&header[..128], &[0u8; 128][..]);
        assert_eq!(&header[128..132], b"DICM");
        assert_eq!(hex(&header[132..]), DCMTK_BIT_PRESERVING);

        let header = part10_header(&ct_fields("OFFIS_DCMTK_367", None)).unwrap();
        assert_eq!(hex(&header[132..]), DCMTK_NORMAL);
    }

    #[test]
    fn padding_in_the_input_does_not_change_the_output() {
        let mut fields = ct_fields("OFFIS_DCMBP_367", Some("MYSCU   "));
        fields.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2\0";
        fields.transfer_syntax_uid = "1.2.840.10008.1.2.1 ";
        let header = part10_header(&fields).unwrap();
        assert_eq!(hex(&header[132..]), DCMTK_BIT_PRESERVING);
    }

    #[test]
    fn empty_values_still_encode() {
        let mut fields = ct_fields("OFFIS_DCMBP_367", Some(""));
        fields.sop_class_uid = "";
        let header = part10_header(&fields).unwrap();
        // (0002,0002) with length 0 and (0002,0016) with length 0.
        assert!(hex(&header).contains("0200020055490000"));
        assert!(hex(&header).ends_with("0200160041450000"));
    }
}

//! Comparing what two receivers did with the same input: stored paths, file meta, dataset bytes
//! (bit-preserving) or parsed datasets (normal mode). Used by the end-to-end tests and by
//! `cargo xtask conformance`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dicom_core::value::Value;
use dicom_object::{InMemDicomObject, OpenFileOptions};

/// The naming scheme a scenario uses, so unique/random/time-based names can be compared by shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `+fd`: names are deterministic and compared exactly.
    Default,
    /// `+fu`: `<prefix>.X.<new UID>`.
    UniqueUid,
    /// `+fsu`: `<prefix>_<16 hex>`.
    ShortUnique,
    /// `+fst`: `<YYYYMMDDhhmmss>.<ffffff>.<prefix>`.
    SystemTime,
}

/// One difference found between the real dcmrecv and ours.
#[derive(Debug, Clone)]
pub struct Difference {
    /// A stable kind, matched by the allow-list (`status`, `stored-paths`, `meta`, ...).
    pub kind: &'static str,
    /// What differs, for humans.
    pub detail: String,
}

fn diff(kind: &'static str, detail: String) -> Difference {
    Difference { kind, detail }
}

/// The shape of a stored relative path: random, unique and time-based parts replaced by `*`.
pub fn path_key(rel: &str, naming: Naming) -> String {
    let (dir, name) = rel.rsplit_once('/').map_or(("", rel), |(d, n)| (d, n));
    let key = match naming {
        Naming::Default => name.to_string(),
        Naming::UniqueUid => match name.split_once(".X.") {
            Some((prefix, rest)) => {
                let mut uid_len = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                if uid_len < rest.len() && rest[..uid_len].ends_with('.') {
                    uid_len -= 1; // the extension's own dot
                }
                let ext = &rest[uid_len..];
                format!("{prefix}.X.*{ext}")
            }
            None => name.to_string(),
        },
        Naming::ShortUnique => match name.split_once('_') {
            Some((prefix, rest)) if rest.len() >= 16 => format!("{prefix}_*{}", &rest[16..]),
            _ => name.to_string(),
        },
        Naming::SystemTime => {
            let shaped = name.len() > 22
                && name[..14].bytes().all(|b| b.is_ascii_digit())
                && &name[14..15] == "."
                && name[15..21].bytes().all(|b| b.is_ascii_digit());
            if shaped {
                format!("*{}", &name[21..])
            } else {
                name.to_string()
            }
        }
    };
    if dir.is_empty() {
        key
    } else {
        format!("{dir}/{key}")
    }
}

/// All regular files below `root`, as `/`-separated paths relative to it, sorted.
pub fn stored_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The file meta group of a Part-10 file: element number → raw value, and the dataset offset.
pub fn read_meta(bytes: &[u8]) -> Option<(BTreeMap<u16, Vec<u8>>, usize)> {
    if bytes.get(128..132)? != b"DICM" {
        return None;
    }
    let mut pos = 132;
    let mut meta = BTreeMap::new();
    while bytes.len() >= pos + 8 && bytes[pos..pos + 2] == [0x02, 0x00] {
        let elem = u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]);
        let vr = &bytes[pos + 4..pos + 6];
        let (len, header) = if matches!(vr, b"OB" | b"OW" | b"UN" | b"SQ" | b"UT" | b"UC" | b"UR") {
            let l = bytes.get(pos + 8..pos + 12)?;
            (u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize, 12)
        } else {
            (
                u16::from_le_bytes([bytes[pos + 6], bytes[pos + 7]]) as usize,
                8,
            )
        };
        let value = bytes.get(pos + header..pos + header + len)?;
        meta.insert(elem, value.to_vec());
        pos += header + len;
    }
    Some((meta, pos))
}

/// The file meta element (0002,`elem`) of the Part-10 file at `path` as text, if the file can
/// be read and has it (e.g. `0x0010` for the transfer syntax).
pub fn meta_text(path: &Path, elem: u16) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let (meta, _) = read_meta(&bytes)?;
    meta.get(&elem).map(|v| value_text(v))
}

/// A meta element's value as text, without its padding.
pub fn value_text(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .trim_end_matches(['\0', ' '])
        .to_string()
}

/// Compares two stored files of the same instance.
pub fn compare_files(ours: &Path, theirs: &Path, bit_preserving: bool, out: &mut Vec<Difference>) {
    let (Ok(a), Ok(b)) = (std::fs::read(ours), std::fs::read(theirs)) else {
        out.push(diff("unreadable", format!("{}", ours.display())));
        return;
    };
    let (Some((meta_a, off_a)), Some((meta_b, off_b))) = (read_meta(&a), read_meta(&b)) else {
        out.push(diff(
            "meta",
            format!("{} has no parsable file meta", ours.display()),
        ));
        return;
    };
    // (0002,0000) follows from the rest; (0002,0012)/(0002,0013) name the implementation.
    let elems: BTreeSet<&u16> = meta_a.keys().chain(meta_b.keys()).collect();
    for elem in elems {
        if matches!(elem, 0x0000 | 0x0012 | 0x0013) {
            continue;
        }
        let (va, vb) = (meta_a.get(elem), meta_b.get(elem));
        if va != vb {
            out.push(diff(
                "meta",
                format!(
                    "(0002,{elem:04X}) ours {:?} dcmrecv {:?} in {}",
                    va.map(|v| value_text(v)),
                    vb.map(|v| value_text(v)),
                    ours.display()
                ),
            ));
        }
    }
    if bit_preserving {
        if a[off_a..] != b[off_b..] {
            out.push(diff(
                "dataset-bytes",
                format!(
                    "{} dataset bytes differ ({} vs {} bytes)",
                    ours.display(),
                    a.len() - off_a,
                    b.len() - off_b
                ),
            ));
        }
        return;
    }
    let open = |p: &Path| OpenFileOptions::new().open_file(p);
    match (open(ours), open(theirs)) {
        (Ok(x), Ok(y)) => compare_datasets(&x, &y, &format!("{}: ", ours.display()), out),
        (x, y) => out.push(diff(
            "dataset",
            format!(
                "{}: cannot parse (ours: {}, dcmrecv: {})",
                ours.display(),
                x.err().map_or("ok".into(), |e| e.to_string()),
                y.err().map_or("ok".into(), |e| e.to_string())
            ),
        )),
    }
}

/// Compares two datasets element by element, ignoring how lengths were encoded (DCMTK's normal
/// mode writes every sequence with undefined length); `at` prefixes the reported locations.
pub fn compare_datasets(
    a: &InMemDicomObject,
    b: &InMemDicomObject,
    at: &str,
    out: &mut Vec<Difference>,
) {
    let tags_a: Vec<_> = a.iter().map(|e| e.header().tag).collect();
    let tags_b: Vec<_> = b.iter().map(|e| e.header().tag).collect();
    if tags_a != tags_b {
        out.push(diff(
            "dataset",
            format!(
                "{at}: element lists differ ({} vs {})",
                tags_a.len(),
                tags_b.len()
            ),
        ));
        return;
    }
    for (ea, eb) in a.iter().zip(b.iter()) {
        let tag = ea.header().tag;
        let here = format!("{at}{tag}");
        if ea.vr() != eb.vr() {
            out.push(diff(
                "dataset",
                format!("{here}: VR {} vs {}", ea.vr(), eb.vr()),
            ));
            continue;
        }
        match (ea.value(), eb.value()) {
            (Value::Primitive(x), Value::Primitive(y)) => {
                if x != y {
                    let kind = if tag.element() == 0 {
                        "group-length"
                    } else if tag == dicom_core::Tag(0xFFFC, 0xFFFC) {
                        "trailing-padding"
                    } else {
                        "dataset"
                    };
                    out.push(diff(kind, format!("{here}: values differ")));
                }
            }
            (Value::Sequence(x), Value::Sequence(y)) => {
                if x.items().len() != y.items().len() {
                    out.push(diff("dataset", format!("{here}: item counts differ")));
                    continue;
                }
                for (i, (ia, ib)) in x.items().iter().zip(y.items()).enumerate() {
                    compare_datasets(ia, ib, &format!("{here}[{i}]."), out);
                }
            }
            (Value::PixelSequence(x), Value::PixelSequence(y)) => {
                if x.offset_table() != y.offset_table() || x.fragments() != y.fragments() {
                    out.push(diff("dataset", format!("{here}: pixel fragments differ")));
                }
            }
            _ => out.push(diff("dataset", format!("{here}: value kinds differ"))),
        }
    }
}

/// Pairs the stored files of the two receivers by path shape (and, where several files share
/// a shape, by media storage SOP instance UID), and compares stored path sets and the contents
/// of each pair.
pub fn compare_trees(
    ours_root: &Path,
    theirs_root: &Path,
    naming: Naming,
    bit_preserving: bool,
    out: &mut Vec<Difference>,
) {
    // Path shape -> (media storage SOP instance UID, path) of every stored file.
    type Index = BTreeMap<String, Vec<(String, PathBuf)>>;
    let index = |root: &Path| -> Index {
        let mut map = Index::new();
        for rel in stored_files(root) {
            let path = root.join(&rel);
            let uid = std::fs::read(&path)
                .ok()
                .and_then(|b| read_meta(&b))
                .and_then(|(m, _)| m.get(&0x0003).map(|v| value_text(v)))
                .unwrap_or_default();
            map.entry(path_key(&rel, naming))
                .or_default()
                .push((uid, path));
        }
        map
    };
    let ours = index(ours_root);
    let theirs = index(theirs_root);
    let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        let mine = ours.get(key).map_or(&[][..], Vec::as_slice);
        let dcmtk = theirs.get(key).map_or(&[][..], Vec::as_slice);
        if let ([(_, p)], [(_, q)]) = (mine, dcmtk) {
            // One file each under this name: compare them even if their instance UIDs differ
            // (a UID each receiver generated differs by design and shows as a meta difference).
            compare_files(p, q, bit_preserving, out);
            continue;
        }
        // Names shared by several files (unique or time-based naming): pair by instance UID;
        // files whose UID only one side has (UIDs each receiver generated) are paired by content.
        let uids: BTreeSet<&String> = mine.iter().chain(dcmtk).map(|(uid, _)| uid).collect();
        let (mut lone_ours, mut lone_theirs) = (Vec::new(), Vec::new());
        for uid in uids {
            let with = |files: &[(String, PathBuf)]| -> Vec<PathBuf> {
                files
                    .iter()
                    .filter(|(u, _)| u == uid)
                    .map(|(_, p)| p.clone())
                    .collect()
            };
            let (a, b) = (with(mine), with(dcmtk));
            match (a.len(), b.len()) {
                (0, _) => lone_theirs.extend(b),
                (_, 0) => lone_ours.extend(a),
                (x, y) if x != y => {
                    out.push(diff("stored-paths", format!("{key}: {x} files vs {y}")))
                }
                _ => pair_up(&a, &b, bit_preserving, out),
            }
        }
        if lone_ours.len() == lone_theirs.len() {
            pair_up(&lone_ours, &lone_theirs, bit_preserving, out);
        } else {
            for p in &lone_theirs {
                out.push(diff(
                    "stored-paths",
                    format!("dcmrecv stored {key} ({}), ours did not", p.display()),
                ));
            }
            for p in &lone_ours {
                out.push(diff(
                    "stored-paths",
                    format!("ours stored {key} ({}), dcmrecv did not", p.display()),
                ));
            }
        }
    }
}

/// Pairs files of the same instance stored under random or unique names (the same instance
/// sent several times, e.g. in different transfer syntaxes): each of DCMTK's files is matched
/// with one of ours that compares equal; what remains is paired in order and its differences
/// reported.
fn pair_up(ours: &[PathBuf], theirs: &[PathBuf], bit_preserving: bool, out: &mut Vec<Difference>) {
    let mut unmatched: Vec<&PathBuf> = ours.iter().collect();
    let mut leftover = Vec::new();
    for q in theirs {
        let equal = unmatched.iter().position(|p| {
            let mut found = Vec::new();
            compare_files(p, q, bit_preserving, &mut found);
            // Generated instance UIDs differ by design; everything else must match.
            found
                .iter()
                .all(|d| d.kind == "meta" && d.detail.starts_with("(0002,0003)"))
        });
        match equal {
            Some(i) => {
                unmatched.remove(i);
            }
            None => leftover.push(q),
        }
    }
    for (p, q) in unmatched.into_iter().zip(leftover) {
        compare_files(p, q, bit_preserving, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_hide_unique_parts() {
        assert_eq!(
            path_key(
                "CT.X.1.2.276.0.7230010.3.1.4.1.2.3.4.dcm",
                Naming::UniqueUid
            ),
            "CT.X.*.dcm"
        );
        assert_eq!(path_key("CT.X.2.25.1234", Naming::UniqueUid), "CT.X.*");
        assert_eq!(
            path_key(
                "data/2020/01/15/CT_6b0919552dd736c4.dcm",
                Naming::ShortUnique
            ),
            "data/2020/01/15/CT_*.dcm"
        );
        assert_eq!(
            path_key("20261127054702.821628.CT.xyz", Naming::SystemTime),
            "*.CT.xyz"
        );
        assert_eq!(path_key("CT.1.2.3", Naming::Default), "CT.1.2.3");
    }

    #[test]
    fn meta_reader_reads_a_group() {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        // (0002,0010) UI "1.2\0"
        f.extend_from_slice(&[
            0x02, 0x00, 0x10, 0x00, b'U', b'I', 4, 0, b'1', b'.', b'2', 0,
        ]);
        f.extend_from_slice(&[0x08, 0x00, 0x16, 0x00]);
        let (meta, off) = read_meta(&f).unwrap();
        assert_eq!(value_text(&meta[&0x0010]), "1.2");
        assert_eq!(off, 144);
    }
}

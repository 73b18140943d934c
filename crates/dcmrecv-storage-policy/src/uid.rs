//! New UIDs: `2.25.<UUID as a decimal integer>` (PS3.5 section B.2), never OFFIS's root.

/// A fresh UID from a random (version 4) UUID; at most 44 characters.
pub(crate) fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_uids_are_valid_and_distinct() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
        for uid in [a, b] {
            assert!(uid.starts_with("2.25."), "{uid}");
            assert!(uid.len() <= 64, "{uid}");
            let number = uid.trim_start_matches("2.25.");
            assert!(number.bytes().all(|c| c.is_ascii_digit()), "{uid}");
            assert!(!number.starts_with('0') || number == "0", "{uid}");
        }
    }
}

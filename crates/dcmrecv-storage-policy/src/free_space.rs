//! `--min-free-space`: the free space below which new instances are refused before any byte of
//! them is written, measured with `statvfs` on the output directory.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use snafu::Snafu;
use tracing::warn;

/// A text that is not a size or a percentage, refused by [`MinFreeSpace`]'s `FromStr`.
///
/// ```
/// let e = "lots".parse::<dcmrecv_storage_policy::MinFreeSpace>().unwrap_err();
/// assert!(e.to_string().starts_with("invalid free space \"lots\""));
/// ```
#[derive(Debug, Snafu, PartialEq, Eq)]
#[snafu(display(
    "invalid free space {value:?}: expected bytes with an optional K, M, G or T suffix (powers of 1024), or a percentage below 100 such as 5%"
))]
pub struct MinFreeSpaceError {
    /// The value as given.
    value: String,
}

/// The least free space the output directory must keep (`dcmrecv --min-free-space`): bytes, or
/// a percentage of the file system's size.
///
/// ```
/// use dcmrecv_storage_policy::MinFreeSpace;
///
/// assert_eq!("2G".parse(), Ok(MinFreeSpace::Bytes(2 << 30)));
/// assert_eq!("512m".parse(), Ok(MinFreeSpace::Bytes(512 << 20)));
/// assert_eq!("1048576".parse(), Ok(MinFreeSpace::Bytes(1 << 20)));
/// assert_eq!("5%".parse(), Ok(MinFreeSpace::Percent(5.0)));
/// assert!("5 %".parse::<MinFreeSpace>().is_err());
/// assert_eq!(MinFreeSpace::Percent(5.0).bytes_of(1000), 50);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinFreeSpace {
    /// At least this many bytes.
    Bytes(u64),
    /// At least this share of the file system's size, in percent (more than 0, less than 100).
    Percent(f64),
}

impl MinFreeSpace {
    /// The threshold in bytes on a file system of `size` bytes.
    pub fn bytes_of(self, size: u64) -> u64 {
        match self {
            MinFreeSpace::Bytes(bytes) => bytes,
            // Precision loss is irrelevant at this scale.
            MinFreeSpace::Percent(p) => (size as f64 * p / 100.0).ceil() as u64,
        }
    }
}

impl fmt::Display for MinFreeSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinFreeSpace::Bytes(bytes) => write!(f, "{}", human(*bytes)),
            MinFreeSpace::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for MinFreeSpace {
    type Err = MinFreeSpaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || MinFreeSpaceError {
            value: text.to_string(),
        };
        if let Some(number) = text.strip_suffix('%') {
            let digits_and_dot =
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            let p: f64 = number.parse().map_err(|_| error())?;
            return if digits_and_dot && p > 0.0 && p < 100.0 {
                Ok(MinFreeSpace::Percent(p))
            } else {
                Err(error())
            };
        }
        let (digits, shift) = match text.as_bytes().last().map(u8::to_ascii_uppercase) {
            Some(b'K') => (&text[..text.len() - 1], 10),
            Some(b'M') => (&text[..text.len() - 1], 20),
            Some(b'G') => (&text[..text.len() - 1], 30),
            Some(b'T') => (&text[..text.len() - 1], 40),
            _ => (text, 0),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        let n: u64 = digits.parse().map_err(|_| error())?;
        let bytes = n.checked_mul(1u64 << shift).ok_or_else(error)?;
        if bytes == 0 {
            return Err(error());
        }
        Ok(MinFreeSpace::Bytes(bytes))
    }
}

/// The space of the file system holding the output directory.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let storage = dcmrecv_storage_policy::Storage::new(
///     dcmrecv_storage_policy::StorageOptions::new(dir.path()),
/// )?;
/// let space = storage.free_space().expect("a directory has a size")?;
/// assert!(space.available <= space.total);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpace {
    /// Bytes an unprivileged writer can still use (`f_bavail × f_frsize`).
    pub available: u64,
    /// The file system's size (`f_blocks × f_frsize`).
    pub total: u64,
}

/// Measures the file system holding `path`.
pub(crate) fn measure(path: &Path) -> std::io::Result<FreeSpace> {
    let stat = rustix::fs::statvfs(path)?;
    let unit = if stat.f_frsize > 0 {
        stat.f_frsize
    } else {
        stat.f_bsize
    };
    Ok(FreeSpace {
        available: stat.f_bavail.saturating_mul(unit),
        total: stat.f_blocks.saturating_mul(unit),
    })
}

/// The threshold and whether the output is below it now (for the one line per transition).
#[derive(Debug)]
pub(crate) struct SpaceGuard {
    pub(crate) min: MinFreeSpace,
    below: AtomicBool,
}

/// The outcome of one check against the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shortage {
    pub(crate) available: u64,
    pub(crate) needed: u64,
}

impl SpaceGuard {
    pub(crate) fn new(min: MinFreeSpace) -> Self {
        SpaceGuard {
            min,
            below: AtomicBool::new(false),
        }
    }

    /// Measures `path`: `Err` with the figures when the free space is below the threshold. A
    /// failed measurement counts as enough space (a write will tell). Logs one warning per
    /// transition, whichever thread sees it first.
    pub(crate) fn check(&self, path: &Path) -> Result<(), Shortage> {
        let Ok(space) = measure(path) else {
            return Ok(());
        };
        let needed = self.min.bytes_of(space.total);
        let below = space.available < needed;
        if self.below.swap(below, Ordering::Relaxed) != below {
            if below {
                warn!(
                    "free space on the output directory is {} (below the minimum of {}): refusing new objects with 0xA700 until space is freed",
                    human(space.available),
                    human(needed)
                );
            } else {
                warn!(
                    "free space on the output directory is {} (the minimum is {}): storing objects again",
                    human(space.available),
                    human(needed)
                );
            }
        }
        if below {
            Err(Shortage {
                available: space.available,
                needed,
            })
        } else {
            Ok(())
        }
    }
}

/// Bytes for people: `1.5 GiB`, `312 MiB`, `900 B`.
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_percentages_parse_and_nothing_else() {
        assert_eq!("1K".parse(), Ok(MinFreeSpace::Bytes(1024)));
        assert_eq!("3t".parse(), Ok(MinFreeSpace::Bytes(3 << 40)));
        assert_eq!("0.5%".parse(), Ok(MinFreeSpace::Percent(0.5)));
        for bad in [
            "",
            "G",
            "0",
            "0%",
            "100%",
            "-1",
            "1.5G",
            "2GB",
            "1e3",
            "99999999999T",
            "%",
        ] {
            assert!(bad.parse::<MinFreeSpace>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn humans_read_sizes() {
        assert_eq!(human(900), "900 B");
        assert_eq!(human(1536 << 20), "1.5 GiB");
        assert_eq!(human(312 << 20), "312 MiB");
    }

    #[test]
    fn an_impossible_threshold_is_a_shortage_and_a_tiny_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let guard = SpaceGuard::new(MinFreeSpace::Percent(99.999));
        assert!(guard.check(dir.path()).is_err());
        let guard = SpaceGuard::new(MinFreeSpace::Bytes(1));
        assert_eq!(guard.check(dir.path()), Ok(()));
    }
}

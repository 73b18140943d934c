//! The options for running unattended (not in DCMTK): the metrics and health endpoint, disk
//! back-pressure, the duplicate policy and the per-AE association limit. Kept apart from
//! `config.rs` so that the operational options read as one block.
//!
//! systemd needs no option: notifications go to `$NOTIFY_SOCKET` when it is set, and a socket
//! passed with `LISTEN_FDS` is served instead of binding the port.

use std::net::SocketAddr;

use dcmrecv_cmdline::{Arguments, ValueError};
use dcmrecv_storage_policy::{MinFreeSpace, OnDuplicate};

use crate::command_line::Opt;

/// `--metrics-address`, `--metrics-per-ae`, `--min-free-space`, `--on-duplicate` and
/// `--max-associations-per-ae`.
///
/// ```
/// use dcmrecv_cli::{Config, Parsed, parse};
/// use dcmrecv_storage_policy::{MinFreeSpace, OnDuplicate};
///
/// let line = ["dcmrecv", "--metrics-address", "127.0.0.1:9104", "--min-free-space", "5%",
///             "--on-duplicate", "keep", "--max-associations-per-ae", "4", "11112"];
/// let Parsed::Run(args) = parse(line.map(Into::into))? else { unreachable!() };
/// let log = dcmrecv_logging::LogSettings::from_args(&args, "dcmrecv")?;
/// let ops = Config::from_args(&args, log, true)?.operations;
/// assert_eq!(ops.metrics_address, Some("127.0.0.1:9104".parse()?));
/// assert!(!ops.metrics_per_ae);
/// assert_eq!(ops.min_free_space, Some(MinFreeSpace::Percent(5.0)));
/// assert_eq!(ops.on_duplicate, OnDuplicate::Keep);
/// assert_eq!(ops.max_associations_per_ae, Some(4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Operations {
    /// `--metrics-address ADDR:PORT`: serve `/metrics`, `/healthz` and `/readyz` there
    /// (default: no endpoint).
    pub metrics_address: Option<SocketAddr>,
    /// `--metrics-per-ae`: a `calling_ae` label on the association and object metrics.
    pub metrics_per_ae: bool,
    /// `--min-free-space SIZE|N%`: refuse C-STOREs with 0xA700 below it (default: none).
    pub min_free_space: Option<MinFreeSpace>,
    /// `--on-duplicate overwrite|keep|reject|unique` (default overwrite, DCMTK's behaviour).
    pub on_duplicate: OnDuplicate,
    /// `--max-associations-per-ae N`: associations of one calling AE title at once (default:
    /// only `--max-associations` applies).
    pub max_associations_per_ae: Option<usize>,
}

impl Operations {
    /// Evaluates the operational options (rightmost wins for each).
    pub(crate) fn from_args(args: &Arguments) -> Result<Operations, ValueError> {
        let metrics_address = match args.last(Opt::MetricsAddress) {
            Some(o) => Some(o.text(0).parse().map_err(|_| o.invalid())?),
            None => None,
        };
        let min_free_space = match args.last(Opt::MinFreeSpace) {
            Some(o) => Some(o.text(0).parse().map_err(|_| o.invalid())?),
            None => None,
        };
        let on_duplicate = match args.last(Opt::OnDuplicate) {
            Some(o) => o.text(0).parse().map_err(|()| o.invalid())?,
            None => OnDuplicate::Overwrite,
        };
        let max_associations_per_ae = match args.last(Opt::MaxAssociationsPerAe) {
            Some(o) => Some(usize::try_from(o.number(1, Some(65535))?).unwrap_or(65535)),
            None => None,
        };
        Ok(Operations {
            metrics_address,
            metrics_per_ae: args.has(Opt::MetricsPerAe),
            min_free_space,
            on_duplicate,
            max_associations_per_ae,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::command_line::{Parsed, parse};

    fn operations(args: &[&str]) -> Result<Operations, String> {
        let mut all = vec![OsString::from("dcmrecv")];
        all.extend(args.iter().map(OsString::from));
        all.push(OsString::from("104"));
        match parse(all) {
            Ok(Parsed::Run(low)) => Operations::from_args(&low).map_err(|e| e.to_string()),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_change_nothing() {
        assert_eq!(operations(&[]), Ok(Operations::default()));
        assert_eq!(Operations::default().on_duplicate, OnDuplicate::Overwrite);
    }

    #[test]
    fn rightmost_wins_and_bad_values_are_refused() {
        let o = operations(&["--on-duplicate", "keep", "--on-duplicate", "unique"]).unwrap();
        assert_eq!(o.on_duplicate, OnDuplicate::Unique);
        let o = operations(&["--min-free-space", "1G", "--min-free-space", "512M"]).unwrap();
        assert_eq!(o.min_free_space, Some(MinFreeSpace::Bytes(512 << 20)));
        assert_eq!(
            operations(&["--metrics-address", "[::1]:9104", "--metrics-per-ae"])
                .unwrap()
                .metrics_address,
            Some("[::1]:9104".parse().unwrap())
        );
        for bad in [
            &["--on-duplicate", "ignore"][..],
            &["--min-free-space", "lots"],
            &["--min-free-space", "100%"],
            &["--metrics-address", "localhost"],
            &["--metrics-address", "127.0.0.1"],
            &["--max-associations-per-ae", "0"],
        ] {
            let e = operations(bad).unwrap_err();
            assert!(e.contains(bad[0]), "{bad:?}: {e}");
        }
    }
}

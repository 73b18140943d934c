//! What happens after a file lands: storescp's event and sorting options (`-xcr`, `-xcs`, `-rns`,
//! `-tos`, `-xs`, `-su`, `-ss`, `-sp`, with storescp 3.6.7's spellings) and our extensions
//! (`--exec-workers`, `--exec-timeout`, `--events`, `--output-template`), validated into a
//! [`Pipeline`].
//!
//! Where storescp's rules conflict with dcmrecv's, dcmrecv's meaning wins, deliberately:
//!
//! - `-xcs` works without sorting (our end of study is decided per Study Instance UID, so it
//!   needs no study folders; `#p` is then the directory the study's objects are in);
//! - sorting works with `+B` (storescp refuses it: our scanner reads the Study Instance UID while
//!   the bytes stream to disk, in every mode);
//! - `-rns` and `-tos` keep storescp's rules and messages (`-rns` needs a study folder, `-tos`
//!   needs sorting or an end-of-study option).

use std::path::PathBuf;
use std::time::Duration;

use dcmrecv_cmdline::{Arguments, ValueError};
use dcmrecv_hooks::{CommandTemplate, HookKind, TemplateError};
use dcmrecv_storage_policy::{Mode, OutputTemplate, Sorting, is_object_store_url};
use snafu::Snafu;

use crate::command_line::Opt;

/// The default `--exec-timeout`: a hook running longer is killed (its process group).
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(300);

/// The default `--exec-workers`.
pub const DEFAULT_EXEC_WORKERS: usize = 4;

/// An error in the pipeline options (exit code 1).
#[non_exhaustive]
#[derive(Debug, Snafu)]
pub enum PipelineError {
    /// A hook command that cannot run without a shell, or is empty.
    #[snafu(display("Invalid value for option {option}: {source}"))]
    Command {
        /// The option (`--exec-on-reception`, `--exec-on-eostudy`).
        option: &'static str,
        /// Why.
        source: TemplateError,
    },
    /// An `--output-template` that cannot be used.
    #[snafu(display("Invalid value for option --output-template: {source}"))]
    Template {
        /// Why.
        source: dcmrecv_storage_policy::TemplateError,
    },
    /// storescp's combination rules (its messages, word for word).
    #[snafu(display("{message}"))]
    Combination {
        /// DCMTK's message.
        message: &'static str,
    },
    /// A value DCMTK's parser refuses.
    #[snafu(transparent)]
    Value {
        /// DCMTK's message.
        source: ValueError,
    },
}

/// The validated pipeline options.
///
/// ```
/// use dcmrecv_cli::{Config, Parsed, parse};
/// use dcmrecv_storage_policy::Sorting;
///
/// let line = ["dcmrecv", "-su", "ST", "-xcr", "/usr/local/bin/ingest #p/#f #a", "--events", "-", "11112"];
/// let Parsed::Run(args) = parse(line.map(Into::into))? else { unreachable!() };
/// let log = dcmrecv_logging::LogSettings::from_args(&args, "dcmrecv")?;
/// let pipeline = Config::from_args(&args, log, true)?.pipeline;
/// assert_eq!(pipeline.sorting, Sorting::StudyUid("ST".into()));
/// assert_eq!(pipeline.on_reception.as_ref().map(|t| t.source()), Some("/usr/local/bin/ingest #p/#f #a"));
/// assert!(pipeline.is_active());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// `-xcr`: the command per stored object.
    pub on_reception: Option<CommandTemplate>,
    /// `-xcs`: the command per completed study (revision).
    pub on_end_of_study: Option<CommandTemplate>,
    /// `-rns`: rename a completed study's files to `<2 chars><6 digits>`, never replacing.
    pub rename_on_end_of_study: bool,
    /// `-tos`: a study is complete after this long without an object of it (else: when the last
    /// association that carried it ends).
    pub end_of_study_timeout: Option<Duration>,
    /// `-xs`: hooks on the association's thread, after the C-STORE response (as storescp).
    pub exec_sync: bool,
    /// `--exec-workers` (default 4).
    pub exec_workers: usize,
    /// `--exec-timeout` (default 300 s; 0: none).
    pub exec_timeout: Option<Duration>,
    /// `--events FILE` (`-`: standard output).
    pub events: Option<PathBuf>,
    /// `-su`/`-ss`/`-sp`.
    pub sorting: Sorting,
    /// `--output-template`.
    pub output_template: Option<OutputTemplate>,
}

impl Pipeline {
    /// Whether anything watches what is stored (hooks, events): the binary then wires the
    /// observer in.
    pub fn is_active(&self) -> bool {
        self.on_reception.is_some() || self.on_end_of_study.is_some() || self.events.is_some()
    }

    /// Whether studies are tracked (an end-of-study hook, `-rns`, or events).
    pub fn tracks_studies(&self) -> bool {
        self.on_end_of_study.is_some() || self.rename_on_end_of_study || self.events.is_some()
    }

    /// Evaluates the pipeline options; `mode` is the storage mode in effect.
    pub(crate) fn from_args(args: &Arguments, mode: Mode) -> Result<Pipeline, PipelineError> {
        let command = |opt: Opt,
                       kind: HookKind|
         -> Result<Option<CommandTemplate>, PipelineError> {
            match args.last(opt) {
                None => Ok(None),
                Some(o) => CommandTemplate::parse(&o.text(0), kind)
                    .map(Some)
                    .map_err(|source| PipelineError::Command {
                        option: o.long(),
                        source,
                    }),
            }
        };
        let on_reception = command(Opt::ExecOnReception, HookKind::Reception)?;
        let on_end_of_study = command(Opt::ExecOnEndOfStudy, HookKind::EndOfStudy)?;
        let sorting = match args.winner(&[
            Opt::SortConcStudies,
            Opt::SortOnStudyUid,
            Opt::SortOnPatientName,
        ]) {
            Some(o) if o.is(Opt::SortConcStudies) => Sorting::StudyTime(o.text(0).into_owned()),
            Some(o) if o.is(Opt::SortOnStudyUid) => Sorting::StudyUid(o.text(0).into_owned()),
            Some(_) => Sorting::PatientName,
            None => Sorting::None,
        };
        let rename_on_end_of_study = args.has(Opt::RenameOnEndOfStudy);
        if rename_on_end_of_study && !sorting.is_on() {
            return CombinationSnafu {
                message: "--rename-on-eostudy only allowed with --sort-conc-studies, --sort-on-study-uid or --sort-on-patientname",
            }
            .fail();
        }
        let end_of_study_timeout = match args.last(Opt::EndOfStudyTimeout) {
            Some(o) => Some(Duration::from_secs(o.number(1, None)?)),
            None => None,
        };
        if end_of_study_timeout.is_some()
            && !sorting.is_on()
            && on_end_of_study.is_none()
            && !rename_on_end_of_study
        {
            return CombinationSnafu {
                message: "--eostudy-timeout only allowed with --sort-conc-studies, --sort-on-study-uid, --sort-on-patientname, --exec-on-eostudy or --rename-on-eostudy",
            }
            .fail();
        }
        let object_store = args
            .last(Opt::OutputDirectory)
            .and_then(|o| o.value(0).to_str().map(is_object_store_url))
            .unwrap_or(false);
        if rename_on_end_of_study && object_store {
            return CombinationSnafu {
                message: "--rename-on-eostudy not allowed with an object store (-od s3://...)",
            }
            .fail();
        }
        if rename_on_end_of_study && mode == Mode::Ignore {
            return CombinationSnafu {
                message: "--rename-on-eostudy not allowed with --ignore",
            }
            .fail();
        }
        let exec_workers = match args.last(Opt::ExecWorkers) {
            Some(o) => usize::try_from(o.number(1, Some(256))?).unwrap_or(256),
            None => DEFAULT_EXEC_WORKERS,
        };
        let exec_timeout = match args.last(Opt::ExecTimeout) {
            Some(o) => Some(Duration::from_secs(o.number(0, None)?)).filter(|d| !d.is_zero()),
            None => Some(DEFAULT_EXEC_TIMEOUT),
        };
        let events = args
            .last(Opt::Events)
            .map(|o| PathBuf::from(o.value(0)))
            .filter(|p| !p.as_os_str().is_empty());
        let output_template = match args.last(Opt::OutputTemplate) {
            Some(o) => Some(
                OutputTemplate::parse(&o.text(0))
                    .map_err(|source| PipelineError::Template { source })?,
            ),
            None => None,
        };
        Ok(Pipeline {
            on_reception,
            on_end_of_study,
            rename_on_end_of_study,
            end_of_study_timeout,
            exec_sync: args.has(Opt::ExecSync),
            exec_workers,
            exec_timeout,
            events,
            sorting,
            output_template,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command_line::{Parsed, parse};

    fn pipeline(line: &[&str]) -> Result<Pipeline, String> {
        let all: Vec<std::ffi::OsString> = ["dcmrecv"]
            .iter()
            .chain(line)
            .chain(&["104"])
            .map(Into::into)
            .collect();
        let Ok(Parsed::Run(args)) = parse(all) else {
            return Err("parse".into());
        };
        Pipeline::from_args(&args, Mode::Normal).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_do_nothing() {
        let p = pipeline(&[]).unwrap();
        assert!(!p.is_active());
        assert_eq!(p.exec_timeout, Some(DEFAULT_EXEC_TIMEOUT));
        assert_eq!(p.exec_workers, 4);
        assert_eq!(p.sorting, Sorting::None);
    }

    #[test]
    fn storescp_spellings_and_rightmost_wins() {
        let p = pipeline(&[
            "-sp",
            "-ss",
            "A",
            "-su",
            "B",
            "-xcr",
            "/bin/echo #p #f",
            "-xcs",
            "/bin/echo #p",
            "-rns",
            "-tos",
            "7",
            "-xs",
            "--exec-workers",
            "2",
            "--exec-timeout",
            "0",
            "--events",
            "-",
            "--output-template",
            "{PatientID}/{SOPInstanceUID}",
        ])
        .unwrap();
        assert_eq!(p.sorting, Sorting::StudyUid("B".into()));
        assert!(p.rename_on_end_of_study && p.exec_sync && p.is_active());
        assert_eq!(p.end_of_study_timeout, Some(Duration::from_secs(7)));
        assert_eq!((p.exec_workers, p.exec_timeout), (2, None));
        assert_eq!(p.events, Some(PathBuf::from("-")));
        assert!(p.output_template.is_some());
        let p = pipeline(&["-su", "B", "-sp"]).unwrap();
        assert_eq!(p.sorting, Sorting::PatientName);
    }

    #[test]
    fn storescps_rules_and_ours() {
        assert_eq!(
            pipeline(&["-rns"]).unwrap_err(),
            "--rename-on-eostudy only allowed with --sort-conc-studies, --sort-on-study-uid or --sort-on-patientname"
        );
        assert_eq!(
            pipeline(&["-tos", "5"]).unwrap_err(),
            "--eostudy-timeout only allowed with --sort-conc-studies, --sort-on-study-uid, --sort-on-patientname, --exec-on-eostudy or --rename-on-eostudy"
        );
        // Ours: -xcs needs no sorting.
        assert!(pipeline(&["-xcs", "/bin/true", "-tos", "5"]).is_ok());
        let e = pipeline(&["-xcr", "touch x; rm y"]).unwrap_err();
        assert!(
            e.starts_with("Invalid value for option --exec-on-reception: ';'"),
            "{e}"
        );
        let e = pipeline(&["--output-template", "/etc/{PatientID}"]).unwrap_err();
        assert!(e.contains("relative"), "{e}");
        assert_eq!(
            pipeline(&["-su", "S", "-rns", "-od", "s3://bucket/in"]).unwrap_err(),
            "--rename-on-eostudy not allowed with an object store (-od s3://...)"
        );
        let e = pipeline(&["--exec-workers", "0"]).unwrap_err();
        assert!(e.contains("--exec-workers"), "{e}");
    }
}

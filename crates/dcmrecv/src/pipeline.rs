//! After the file lands: the SCP's observer calls and the sink's receipts become events
//! (`--events`), reception hooks (`-xcr`), the per-study tracker (end of study, `-tos`) with its
//! end-of-study hook (`-xcs`) and renaming (`-rns`).
//!
//! Where each thing happens:
//!
//! - `instance-stored` is written after the file is published: from the sink's `finish` (before
//!   the C-STORE response) with `--fsync`, so a consumer never learns of a file that a crash could
//!   still lose; otherwise from the observer, right after the response was written (the file was
//!   already published under its final name before that).
//! - The reception hook runs from the observer, after the C-STORE response, as storescp's does
//!   (measured: `tests/e2e/hooks.rs`); with `-xs` on the association's thread (the sender waits
//!   for it before its next response), otherwise on the hook pool.
//! - End of study is the `dcmrecv-events` tracker's rule (per Study Instance UID across all
//!   associations; see `docs/hooks.md`).
//!
//! A hook or an event never changes a status.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dcmrecv_cli::Pipeline as Options;
use dcmrecv_events::{
    AssociationEnded, AssociationId, AssociationRejected, AssociationStarted, EndReason, Event,
    EventSink, FanOut, InstanceFailed, InstanceStored, JsonLinesWriter, StudyWatch, TrackerOptions,
};
use dcmrecv_hooks::{EventHooks, HookJob, HookKind, HookOptions, HookRunner};
use dcmrecv_storage_policy::{Stored, rename_study_files};
use dcmrecv_storage_scp::{
    AssociationEnd, AssociationInfo, AssociationObserver, Observer, Rejection, StoreOutcome,
    StoreRequest,
};
use tracing::{error, info, warn};

/// When the shutdown started (the signal), so queued hooks get what is left of
/// `--shutdown-timeout`.
static SHUTDOWN_STARTED: Mutex<Option<Instant>> = Mutex::new(None);

/// Notes that a shutdown started now.
pub(crate) fn note_shutdown_started() {
    if let Ok(mut at) = SHUTDOWN_STARTED.lock() {
        at.get_or_insert_with(Instant::now);
    }
}

/// What the sink tells the observer about a stored object (the SCP's receipt).
pub(crate) struct Published {
    /// The final path (`None` with `--ignore`); the object URL for an object store.
    pub(crate) path: Option<String>,
    pub(crate) study_instance_uid: Option<String>,
    pub(crate) series_instance_uid: Option<String>,
    /// Whether `instance-stored` was already written (by the sink, with `--fsync`).
    pub(crate) announced: bool,
}

impl Published {
    /// The receipt for `stored`.
    pub(crate) fn of(stored: &Stored) -> Published {
        let path = stored
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .or_else(|| stored.object_url().map(str::to_owned));
        Published {
            path,
            study_instance_uid: stored.study_instance_uid().map(str::to_owned),
            series_instance_uid: stored.series_instance_uid().map(str::to_owned),
            announced: false,
        }
    }
}

/// The running pipeline: event sinks, the study watch and the hook runner.
pub(crate) struct Pipeline {
    /// Events as they happen (the JSON writer and the study watch).
    record: FanOut,
    json: Option<Arc<JsonLinesWriter>>,
    watch: Option<Arc<StudyWatch>>,
    runner: Option<Arc<HookRunner>>,
    reception: Option<dcmrecv_hooks::CommandTemplate>,
    /// `--fsync`: the sink writes `instance-stored` before the response.
    announce_in_sink: bool,
}

/// A start-up error of the pipeline (the events file cannot be opened).
pub(crate) type StartError = dcmrecv_events::JsonError;

impl Pipeline {
    /// Starts what `options` ask for; `None` when nothing watches.
    pub(crate) fn start(
        options: &Options,
        fsync: bool,
    ) -> Result<Option<Arc<Pipeline>>, StartError> {
        if !options.is_active() {
            return Ok(None);
        }
        let json = match &options.events {
            Some(path) => Some(Arc::new(JsonLinesWriter::open(path)?)),
            None => None,
        };
        let hooks_needed = options.on_reception.is_some() || options.on_end_of_study.is_some();
        let runner = hooks_needed.then(|| {
            Arc::new(HookRunner::start(
                HookOptions::new()
                    .workers(options.exec_workers)
                    .timeout(options.exec_timeout)
                    .synchronous(options.exec_sync),
            ))
        });
        let mut after_study = FanOut::new();
        if let Some(json) = &json {
            after_study.push(json.clone());
        }
        if let (Some(runner), Some(template)) = (&runner, &options.on_end_of_study) {
            match EventHooks::new(Arc::clone(runner)).on_end_of_study(template.clone()) {
                Ok(hooks) => after_study.push(Arc::new(hooks)),
                Err(e) => error!("--exec-on-eostudy: {e}"),
            }
        }
        let after_study: Arc<dyn EventSink> = if options.rename_on_end_of_study {
            Arc::new(Renamer { next: after_study })
        } else {
            Arc::new(after_study)
        };
        let watch = options.tracks_studies().then(|| {
            Arc::new(StudyWatch::start(
                TrackerOptions::new().idle_timeout(options.end_of_study_timeout),
                after_study,
            ))
        });
        let mut record = FanOut::new();
        if let Some(json) = &json {
            record.push(json.clone());
        }
        if let Some(watch) = &watch {
            record.push(watch.clone());
        }
        Ok(Some(Arc::new(Pipeline {
            record,
            json,
            watch,
            runner,
            reception: options.on_reception.clone(),
            announce_in_sink: fsync,
        })))
    }

    /// The hook runner's counters for the metrics (all zero without hooks).
    pub(crate) fn hook_counts(&self) -> dcmrecv_metrics::HookCounts {
        let mut c = dcmrecv_metrics::HookCounts::default();
        if let Some(s) = self.runner.as_ref().map(|r| r.stats()) {
            (c.succeeded, c.failed, c.signalled) = (s.succeeded, s.failed, s.signalled);
            (c.timed_out, c.spawn_failed, c.dropped) = (s.timed_out, s.spawn_failed, s.dropped);
            (c.not_run, c.interrupted) = (s.not_run, s.interrupted);
            (c.queue_depth, c.running) = (s.queue_depth, s.running);
        }
        c
    }

    /// Whether the sink writes `instance-stored` (with `--fsync`).
    pub(crate) fn announces_in_sink(&self) -> bool {
        self.announce_in_sink
    }

    /// `instance-stored` for an object just published (before its response is sent).
    pub(crate) fn announce(
        &self,
        request: &StoreRequest,
        published: &Published,
        bytes: u64,
        duration: Duration,
    ) {
        self.record.event(&Event::InstanceStored(instance_stored(
            request, published, bytes, duration,
        )));
    }

    /// At exit: completes the open studies (their hooks are queued), then runs the queued hooks
    /// within what is left of `shutdown_timeout` since the signal.
    pub(crate) fn shutdown(&self, shutdown_timeout: Duration) {
        if let Some(watch) = &self.watch {
            watch.shutdown();
        }
        if let Some(runner) = &self.runner {
            let started = SHUTDOWN_STARTED.lock().ok().and_then(|at| *at);
            let left = match started {
                Some(at) => shutdown_timeout.saturating_sub(at.elapsed()),
                None => shutdown_timeout,
            };
            let queued = runner.stats().queue_depth;
            if queued > 0 {
                info!(
                    "running {queued} queued hook(s) before exiting (at most {} s)",
                    left.as_secs()
                );
            }
            let report = runner.shutdown(left);
            if report.not_run > 0 || report.interrupted > 0 {
                warn!(
                    "shutdown: {} hook(s) not run and {} interrupted (--shutdown-timeout passed)",
                    report.not_run, report.interrupted
                );
            }
        }
        if let Some(json) = &self.json {
            let stats = json.stats();
            if stats.write_errors > 0 {
                warn!(
                    "{} event(s) could not be written to --events",
                    stats.write_errors
                );
            }
        }
    }

    /// The reception hook for a stored instance (`-xcr`).
    fn run_reception_hook(&self, stored: &InstanceStored, written: bool) {
        let (Some(runner), Some(template)) = (&self.runner, &self.reception) else {
            return;
        };
        let mut values = EventHooks::values_for_instance(stored);
        if !written {
            // `--ignore`: nothing was written, so `#p` and `#f` have no value (storescp leaves
            // them as written too).
            values.path = None;
            values.file_name = None;
        }
        let argv = template.expand(&values);
        runner.submit(HookJob::new(HookKind::Reception, argv, stored.path.clone()));
    }
}

/// Renames a completed study's files (`-rns`) before handing the event on (to the end-of-study
/// hook and the events file), so both see the new names.
struct Renamer {
    next: FanOut,
}

impl EventSink for Renamer {
    fn event(&self, event: &Event) {
        match event {
            Event::StudyComplete(study) => {
                let mut study = study.clone();
                let files: Vec<PathBuf> = study.paths.iter().map(PathBuf::from).collect();
                study.paths = rename_study_files(&files)
                    .into_iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if study.paths_truncated {
                    warn!(
                        study = %study.study_instance_uid,
                        "-rns: the study has more files than are tracked; only the tracked ones were renamed"
                    );
                }
                self.next.event(&Event::StudyComplete(study));
            }
            other => self.next.event(other),
        }
    }
}

fn instance_stored(
    request: &StoreRequest,
    published: &Published,
    bytes: u64,
    duration: Duration,
) -> InstanceStored {
    let a = &request.association;
    InstanceStored {
        time: SystemTime::now(),
        association: AssociationId(a.id),
        peer: a.peer_addr.to_string(),
        remote_host: a.peer_host.clone(),
        calling_ae: a.calling_ae_title.clone(),
        called_ae: a.called_ae_title.clone(),
        sop_class_uid: request.sop_class_uid.clone(),
        sop_instance_uid: request.sop_instance_uid.clone(),
        study_instance_uid: published.study_instance_uid.clone(),
        series_instance_uid: published.series_instance_uid.clone(),
        transfer_syntax_uid: request.transfer_syntax_uid.clone(),
        path: published.path.clone().unwrap_or_default(),
        bytes,
        duration,
        status: 0,
    }
}

/// The SCP's observer: one [`Watch`] per association.
pub(crate) struct PipelineObserver(pub(crate) Arc<Pipeline>);

impl Observer for PipelineObserver {
    fn association_rejected(&self, rejection: &Rejection) {
        use dcmrecv_events::RejectReason as Ours;
        use dcmrecv_storage_scp::RejectReason as Scp;
        let reason = match rejection.reason {
            Scp::Malformed => Ours::MalformedRequest,
            Scp::ProtocolVersion => Ours::ProtocolVersionNotSupported,
            Scp::ApplicationContext => Ours::ApplicationContextNotSupported,
            Scp::TooManyAssociations => Ours::TooManyAssociations,
            Scp::AccessDenied => Ours::Refused,
            _ => Ours::NoReasonGiven,
        };
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        self.0
            .record
            .event(&Event::AssociationRejected(AssociationRejected {
                time: SystemTime::now(),
                association: None,
                peer: rejection.peer_addr.to_string(),
                remote_host: rejection.peer_addr.ip().to_string(),
                calling_ae: text(&rejection.calling_ae_title),
                called_ae: text(&rejection.called_ae_title),
                reason,
                result: None,
                source: None,
                diagnostic: None,
            }));
    }

    fn association_started(
        &self,
        info: &Arc<AssociationInfo>,
    ) -> Option<Box<dyn AssociationObserver>> {
        self.0
            .record
            .event(&Event::AssociationStarted(AssociationStarted {
                time: SystemTime::now(),
                association: AssociationId(info.id),
                peer: info.peer_addr.to_string(),
                remote_host: info.peer_host.clone(),
                calling_ae: info.calling_ae_title.clone(),
                called_ae: info.called_ae_title.clone(),
                tls: info.tls.is_some(),
            }));
        Some(Box::new(Watch {
            pipeline: Arc::clone(&self.0),
            info: Arc::clone(info),
        }))
    }
}

/// One association's observer.
struct Watch {
    pipeline: Arc<Pipeline>,
    info: Arc<AssociationInfo>,
}

impl AssociationObserver for Watch {
    fn store_done(&mut self, request: &StoreRequest, outcome: &StoreOutcome) {
        let published = outcome
            .receipt
            .as_ref()
            .and_then(|r| r.downcast_ref::<Published>());
        let status = &outcome.status;
        match published {
            Some(published) if !status.is_failure() => {
                let mut stored =
                    instance_stored(request, published, outcome.bytes, outcome.duration);
                stored.status = status.code();
                if !published.announced {
                    self.pipeline
                        .record
                        .event(&Event::InstanceStored(stored.clone()));
                }
                self.pipeline
                    .run_reception_hook(&stored, published.path.is_some());
            }
            _ => {
                let a = &request.association;
                self.pipeline
                    .record
                    .event(&Event::InstanceFailed(InstanceFailed {
                        time: SystemTime::now(),
                        association: AssociationId(a.id),
                        peer: a.peer_addr.to_string(),
                        remote_host: a.peer_host.clone(),
                        calling_ae: a.calling_ae_title.clone(),
                        called_ae: a.called_ae_title.clone(),
                        sop_class_uid: request.sop_class_uid.clone(),
                        sop_instance_uid: request.sop_instance_uid.clone(),
                        study_instance_uid: None,
                        status: outcome.responded.then(|| status.code()),
                        reason: status
                            .comment()
                            .unwrap_or(if outcome.responded {
                                "refused"
                            } else {
                                "not completed"
                            })
                            .to_string(),
                        bytes: outcome.bytes,
                        duration: outcome.duration,
                    }));
            }
        }
    }

    fn ended(self: Box<Self>, end: &AssociationEnd) {
        use dcmrecv_storage_scp::EndReason as Scp;
        let (reason, detail) = match end.reason {
            Scp::Released => (EndReason::Released, None),
            Scp::PeerAborted => (EndReason::AbortedByPeer, None),
            Scp::TimedOut => (EndReason::Timeout, None),
            Scp::Shutdown => (EndReason::Shutdown, None),
            Scp::ConnectionLost => (EndReason::ConnectionClosed, None),
            other => (EndReason::Aborted, Some(other.name().to_string())),
        };
        self.pipeline
            .record
            .event(&Event::AssociationEnded(AssociationEnded {
                time: SystemTime::now(),
                association: AssociationId(self.info.id),
                peer: self.info.peer_addr.to_string(),
                calling_ae: self.info.calling_ae_title.clone(),
                called_ae: self.info.called_ae_title.clone(),
                reason,
                detail,
                stored: end.objects,
                failed: end.failed,
                bytes: end.bytes,
                duration: end.duration,
            }));
    }
}

#[cfg(test)]
mod tests {
    use dcmrecv_hooks::Values;

    use super::*;

    #[test]
    fn values_without_a_file_keep_their_tokens() {
        let template =
            dcmrecv_hooks::CommandTemplate::parse("/bin/echo #p #f #a", HookKind::Reception)
                .unwrap();
        let values = Values {
            calling_ae: Some("A".into()),
            ..Values::default()
        };
        assert_eq!(template.expand(&values), ["/bin/echo", "#p", "#f", "A"]);
    }
}

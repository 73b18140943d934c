//! Running unattended (issue 14): the metrics and their observer, the `/metrics`, `/healthz`
//! and `/readyz` endpoint (`--metrics-address`), systemd's notifications (`READY=1`,
//! `STATUS=`, `WATCHDOG=1`, `STOPPING=1`), and a monitor thread that keeps `/readyz` and the
//! free-space state current. Nothing here is on the receive path but the observer's few
//! atomic adds per object.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use dcmrecv_cli::Config;
use dcmrecv_logging::fatal;
use dcmrecv_metrics::{
    AssociationMetrics, HookCounts, Metrics, MetricsOptions, StatusClass, StoreSpace,
};
use dcmrecv_metrics_http::{Condition, Endpoint, EndpointOptions, Readiness};
use dcmrecv_storage_policy::Storage;
use dcmrecv_storage_scp::{
    AcceptorOptions, AssociationEnd, AssociationInfo, AssociationObserver, Observer, RejectReason,
    Rejection, ShutdownHandle, StoreOutcome, StoreRequest,
};
use dcmrecv_systemd::{Heartbeat, Notifier, Supervisor, SupervisorOptions};
use tracing::{info, warn};

use crate::exit_codes::Phase;
use crate::pipeline::Pipeline;

/// How often the monitor looks at the shutdown state.
const MONITOR_TICK: Duration = Duration::from_millis(100);
/// How often the monitor measures the output store (every this many ticks).
const STORE_CHECK_TICKS: u32 = 10;

/// Everything operational, set up before the DICOM port is bound.
pub(crate) struct Operations {
    metrics: Metrics,
    readiness: Readiness,
    listening: Condition,
    output: Condition,
    endpoint: Option<Endpoint>,
    notifier: Notifier,
    heartbeat: Heartbeat,
    storage: Storage,
    per_ae: Option<usize>,
    access: AccessLists,
}

/// Which allow-lists are configured, to tell a refused calling title from a refused called one.
#[derive(Clone, Copy)]
struct AccessLists {
    calling: bool,
    called: bool,
}

impl Operations {
    /// Creates the metrics and starts the endpoint (bound now, so a bad address fails before
    /// the DICOM port is bound; `/readyz` says `listening: starting` until [`serving`]).
    ///
    /// [`serving`]: Operations::serving
    pub(crate) fn start(
        config: &Config,
        storage: &Storage,
        pipeline: Option<Arc<Pipeline>>,
    ) -> Result<Operations, Phase> {
        let ops = &config.operations;
        let probe_storage = storage.clone();
        let metrics = Metrics::new(
            MetricsOptions::new()
                .per_ae(ops.metrics_per_ae)
                .store_space(move || match probe_storage.free_space() {
                    Some(Ok(space)) => {
                        Some(StoreSpace::new(space.available).with_size(space.total))
                    }
                    _ => None,
                })
                .hooks(move || {
                    pipeline
                        .as_ref()
                        .map_or_else(HookCounts::default, |p| p.hook_counts())
                }),
        );
        let readiness = Readiness::new();
        let listening = readiness.condition("listening", "starting");
        let output = readiness.condition("output store", "not checked yet");
        let endpoint = match ops.metrics_address {
            Some(address) => {
                let endpoint = Endpoint::start(
                    EndpointOptions::new(address),
                    metrics.clone(),
                    readiness.clone(),
                )
                .map_err(|e| {
                    fatal!(
                        "cannot start the metrics endpoint: {}",
                        snafu::Report::from_error(e)
                    );
                    Phase::Listen
                })?;
                info!(
                    "serving /metrics, /healthz and /readyz on http://{}",
                    endpoint.local_addr()
                );
                Some(endpoint)
            }
            None => None,
        };
        let operations = Operations {
            metrics,
            readiness,
            listening,
            output,
            endpoint,
            notifier: Notifier::from_env(),
            heartbeat: Heartbeat::new(),
            storage: storage.clone(),
            per_ae: ops.max_associations_per_ae,
            access: AccessLists {
                calling: !config.allowed_calling.is_empty(),
                called: !config.allowed_called.is_empty(),
            },
        };
        check_store(&operations.storage, &operations.output);
        Ok(operations)
    }

    /// The acceptor options this needs: the per-AE limit, the metrics observer (after
    /// `others`), and the accept loop's heartbeat for systemd's watchdog.
    pub(crate) fn configure(
        &self,
        options: AcceptorOptions,
        others: dcmrecv_storage_scp::Observers,
    ) -> AcceptorOptions {
        let observer = MetricsObserver {
            metrics: self.metrics.clone(),
            access: self.access,
        };
        let options = options
            .max_associations_per_ae(self.per_ae)
            .observer(others.with(Arc::new(observer)));
        if self.notifier.is_enabled() {
            let heartbeat = self.heartbeat.clone();
            options.heartbeat(move || heartbeat.beat())
        } else {
            options
        }
    }

    /// The DICOM port is bound: `/readyz` may say ready, systemd gets `READY=1`, and the monitor
    /// starts (status, watchdog, free space, and `STOPPING=1` once `stop` is shutting down).
    pub(crate) fn serving(self, stop: ShutdownHandle, port: u16) -> Running {
        self.listening.set_met();
        if let Err(e) = self.notifier.ready() {
            warn!("{}", snafu::Report::from_error(e));
        }
        let metrics = self.metrics.clone();
        let status = move || {
            format!(
                "listening on port {port}; {} association(s) active; {} object(s) stored, {} refused",
                metrics.associations_active(),
                metrics.objects(StatusClass::Success) + metrics.objects(StatusClass::Warning),
                StatusClass::ALL
                    .iter()
                    .filter(|c| c.is_refusal())
                    .map(|&c| metrics.objects(c))
                    .sum::<u64>()
            )
        };
        let supervisor = match Supervisor::spawn(
            self.notifier.clone(),
            self.heartbeat.clone(),
            status,
            SupervisorOptions::new()
                .status_interval(Duration::from_secs(1))
                .beat_period(dcmrecv_storage_scp::HEARTBEAT_PERIOD),
        ) {
            Ok(supervisor) => Some(supervisor),
            Err(e) => {
                warn!("{}", snafu::Report::from_error(e));
                None
            }
        };
        let (quit, quitting) = mpsc::channel();
        let Operations {
            listening,
            output,
            notifier,
            storage,
            endpoint,
            readiness,
            ..
        } = self;
        let monitor = thread::Builder::new()
            .name("dcmrecv-monitor".to_string())
            .spawn(move || {
                monitor(
                    &stop, &storage, &listening, &output, supervisor, &notifier, &quitting,
                );
            })
            .map_err(|e| warn!("cannot start the monitor thread: {e}"))
            .ok();
        Running {
            quit,
            monitor,
            endpoint,
            _readiness: readiness,
        }
    }
}

/// The operations of a serving receiver; [`finish`](Running::finish) after `serve` returned.
pub(crate) struct Running {
    quit: mpsc::Sender<()>,
    monitor: Option<JoinHandle<()>>,
    endpoint: Option<Endpoint>,
    _readiness: Readiness,
}

impl Running {
    /// Stops the monitor (it sends `STOPPING=1` if it has not yet) and the endpoint.
    pub(crate) fn finish(self) {
        let _ = self.quit.send(());
        if let Some(monitor) = self.monitor {
            let _ = monitor.join();
        }
        if let Some(endpoint) = self.endpoint {
            endpoint.shutdown();
        }
    }
}

/// The monitor thread: notices the shutdown, and measures the output store every second.
fn monitor(
    stop: &ShutdownHandle,
    storage: &Storage,
    listening: &Condition,
    output: &Condition,
    mut supervisor: Option<Supervisor>,
    notifier: &Notifier,
    quitting: &mpsc::Receiver<()>,
) {
    let mut ticks = 0u32;
    let stopping = |supervisor: &mut Option<Supervisor>| {
        if let Some(supervisor) = supervisor.take() {
            supervisor.stop();
        }
        listening.set_unmet("shutting down");
        if let Err(e) = notifier.stopping() {
            warn!("{}", snafu::Report::from_error(e));
        }
    };
    let mut stopped = false;
    while let Err(RecvTimeoutError::Timeout) = quitting.recv_timeout(MONITOR_TICK) {
        if !stopped && stop.is_shutting_down() {
            stopping(&mut supervisor);
            stopped = true;
        }
        ticks += 1;
        if ticks % STORE_CHECK_TICKS == 0 && !stopped {
            check_store(storage, output);
        }
    }
    if !stopped {
        stopping(&mut supervisor);
    }
}

/// Measures the output store: writable, and free space above `--min-free-space` (the storage
/// policy logs the transitions).
fn check_store(storage: &Storage, output: &Condition) {
    if let Err(e) = storage.check_writable() {
        output.set_unmet(format!(
            "the output directory is not writable: {}",
            e.to_string().to_lowercase()
        ));
        return;
    }
    match storage.check_free_space() {
        Ok(()) => output.set_met(),
        Err(e) => output.set_unmet(format!("{} (--min-free-space)", e.reason())),
    }
}

/// Counts associations and objects into [`Metrics`].
struct MetricsObserver {
    metrics: Metrics,
    access: AccessLists,
}

impl Observer for MetricsObserver {
    fn association_rejected(&self, rejection: &Rejection) {
        use dcmrecv_metrics::RejectReason as Label;
        let label = match rejection.reason {
            RejectReason::Malformed => return self.metrics.association_failed(),
            RejectReason::ProtocolVersion => Label::ProtocolVersion,
            RejectReason::ApplicationContext => Label::ApplicationContext,
            RejectReason::TooManyAssociations => Label::TooManyAssociations,
            RejectReason::TooManyAssociationsForAe => Label::TooManyAssociationsForAe,
            RejectReason::NoPresentationContexts => Label::NoPresentationContext,
            RejectReason::BlankAeTitle if rejection.called_ae_title.is_empty() => {
                Label::CalledAeTitle
            }
            RejectReason::BlankAeTitle => Label::CallingAeTitle,
            RejectReason::AccessDenied => match (self.access.calling, self.access.called) {
                (true, false) => Label::CallingAeTitle,
                (false, true) => Label::CalledAeTitle,
                _ => Label::Other,
            },
            _ => Label::Other,
        };
        self.metrics
            .association_rejected(&rejection.calling_ae_title, label);
    }

    fn association_started(
        &self,
        info: &Arc<AssociationInfo>,
    ) -> Option<Box<dyn AssociationObserver>> {
        Some(Box::new(AssociationCounts(
            self.metrics.association_accepted(&info.calling_ae_title),
        )))
    }
}

/// One association's metric handles; dropping it ends the association in the metrics.
struct AssociationCounts(AssociationMetrics);

impl AssociationObserver for AssociationCounts {
    fn store_done(&mut self, _request: &StoreRequest, outcome: &StoreOutcome) {
        if outcome.responded {
            self.0
                .object_stored(outcome.status.code(), outcome.bytes, outcome.duration);
        } else {
            self.0.object_aborted(outcome.bytes);
        }
    }

    fn ended(self: Box<Self>, _end: &AssociationEnd) {}
}

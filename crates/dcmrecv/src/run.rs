//! Start-up after the command line (DCMTK's `dcmrecv.cc` order): load the profile, check the output
//! directory, create the TLS transport layer (`+tls`), listen, and serve until SIGINT, SIGTERM
//! or SIGQUIT; each failing step has DCMTK's exit code and log lines.
//!
//! Signals (none of them loses a transfer): SIGINT, SIGTERM and SIGQUIT stop accepting and
//! drain for up to `--shutdown-timeout`; SIGHUP reloads the `-xf` profile and the AE title
//! allow-lists (the command line, `@file`s included, is read again) for new associations,
//! keeping the previous ones when the new ones do not load; SIGUSR1 and SIGUSR2 are logged and
//! otherwise ignored (reserved); SIGPIPE is ignored (Rust's runtime does that before `main`),
//! so a peer that goes away while we write only fails that write.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;

use dcmrecv_logging::fatal;
use dcmrecv_storage_policy::{
    DEFAULT_BIT_PRESERVING_VERSION_NAME, Leftover, OpenError, Storage, StorageOptions,
};
#[cfg(feature = "object-store")]
use dcmrecv_storage_policy::{ObjectStoreOutput, local_node_id};
use dcmrecv_storage_scp::{
    AcceptAny, AcceptorOptions, AeTitleAllowList, DEFAULT_IMPLEMENTATION_CLASS_UID,
    DEFAULT_IMPLEMENTATION_VERSION_NAME, Observers, ReloadHandle, ShutdownHandle,
};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;
use tracing::{debug, error, info, warn};

use crate::exit_codes::Phase;
use crate::operations::Operations;
use crate::sink::PolicySinks;
use crate::{password, pipeline, profile};
use dcmrecv_cli::{AeTitle, Config, ProfileSource};

/// Runs the receiver; returns when a signal stopped it (success) or a start-up step failed.
pub(crate) fn run(config: &Config, inherited: Option<TcpListener>) -> Result<(), Phase> {
    info!("configuring service class provider ...");
    if config.profile == ProfileSource::VerificationOnly {
        warn!("no configuration file specified, SCP will only support the Verification SOP Class");
    }
    let profile = profile::load(&config.profile).map_err(|e| {
        if let Some(message) = e.dcmtk_error_message() {
            error!("{message}");
        }
        if e.line().is_some() {
            // Our addition: where exactly, so the operator can fix it.
            error!("{e}");
        }
        fatal!(
            "cannot load association configuration: {}",
            e.dcmtk_reason()
        );
        Phase::LoadProfile
    })?;

    let storage = storage_options(config)
        .and_then(Storage::new)
        .map_err(|e| match e {
            OpenError::OutputDirectoryMissing { .. } | OpenError::OutputNotADirectory { .. } => {
                fatal!("cannot specify output directory: Directory does not exist");
                Phase::OutputDirectory
            }
            OpenError::OutputDirectoryNotWritable { .. } => {
                fatal!("cannot specify output directory: Directory is not writable");
                Phase::OutputDirectory
            }
            // An object store: DCMTK's line with what is wrong (the cause chain at DEBUG).
            e if e.is_output_location() => {
                debug!("{}", snafu::Report::from_error(&e));
                fatal!("cannot specify output directory: {e}");
                Phase::OutputDirectory
            }
            other => {
                fatal!("{}", snafu::Report::from_error(other));
                Phase::Cli
            }
        })?;
    match storage.sweep_leftovers() {
        Ok(removed) => {
            let files = removed
                .iter()
                .filter(|l| matches!(l, Leftover::TemporaryFile(_)))
                .count();
            let uploads = removed.len() - files;
            if files > 0 {
                warn!(
                    "removed {files} temporary file(s) left by an earlier run that did not finish"
                );
            }
            if uploads > 0 {
                warn!(
                    "aborted {uploads} multipart upload(s) left by an earlier run that did not finish"
                );
            }
        }
        Err(e) => warn!("{}", snafu::Report::from_error(e)),
    }
    let pipeline = pipeline::Pipeline::start(&config.pipeline, config.fsync).map_err(|e| {
        fatal!("--events: {}", snafu::Report::from_error(e));
        Phase::Cli
    })?;
    let operations = Operations::start(config, &storage, pipeline.clone())?;

    info!("starting service class provider and listening ...");
    let tls = match &config.tls.identity {
        Some(identity) => Some(
            dcmrecv_tls::server_config(&config.tls, identity, &mut password::prompt).map_err(
                |e| {
                    error!("{}", e.details());
                    fatal!("{}", e.dcmtk_message());
                    Phase::TransportLayer
                },
            )?,
        ),
        None => None,
    };
    let mut options = AcceptorOptions::new()
        .profile(profile)
        .max_pdu(config.max_pdu)
        .max_associations(config.max_associations)
        .max_pending(config.max_pending)
        .max_pending_per_address(config.max_pending_per_address)
        .pending_timeout(config.pending_timeout)
        .acse_timeout(config.acse_timeout)
        .dimse_timeout(config.dimse_timeout)
        .implementation(
            DEFAULT_IMPLEMENTATION_CLASS_UID,
            DEFAULT_IMPLEMENTATION_VERSION_NAME,
        )
        .host_lookup(config.host_lookup)
        .verbose_pc(config.verbose_pc);
    if let Some(tls) = tls {
        options = options.tls(tls);
    }
    if let AeTitle::Fixed(title) = &config.ae_title {
        options = options.ae_title(title.as_str());
    }
    options = match allow_lists(config) {
        Some(list) => options.access_control(list),
        None => options.access_control(AcceptAny),
    };
    let mut observers = Observers::default();
    if let Some(pipeline) = &pipeline {
        observers = observers.with(Arc::new(pipeline::PipelineObserver(Arc::clone(pipeline))));
    }
    options = operations.configure(options, observers);
    let port = config.port;
    let addr = SocketAddr::new(config.bind_address, port);
    let sinks = PolicySinks::new(storage, pipeline.clone());
    let bound = match inherited {
        Some(listener) => {
            info!("serving the listening socket passed by systemd (LISTEN_FDS)");
            options.from_listener(listener, sinks)
        }
        None => options.bind(addr, sinks),
    };
    let acceptor = bound
        .map_err(|e| {
            if e.is_permission_denied() {
                error!("No privileges to open this network port ({port})");
                fatal!("cannot start SCP and listen on port {port}: Insufficient port privileges");
            } else if e.is_addr_in_use() {
                fatal!(
                    "cannot start SCP and listen on port {port}: TCP Initialization Error: Address already in use"
                );
            } else {
                fatal!(
                    "cannot start SCP and listen on port {port}: {}",
                    snafu::Report::from_error(e)
                );
            }
            Phase::Listen
        })?;

    let stop = acceptor.shutdown_handle();
    let reload = acceptor.reload_handle();
    let signals =
        Signals::new([SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2]).map_err(|e| {
            fatal!("cannot install signal handlers: {e}");
            Phase::Listen
        })?;
    let shutdown_timeout = config.shutdown_timeout;
    let config = config.clone();
    let running = operations.serving(stop.clone(), acceptor.local_addr().port());
    thread::spawn(move || handle_signals(signals, &config, &stop, &reload));
    acceptor.serve();
    if let Some(pipeline) = &pipeline {
        pipeline.shutdown(shutdown_timeout);
    }
    running.finish();
    info!("all associations ended, exiting");
    Ok(())
}

/// Acts on each signal until the process ends.
fn handle_signals(
    mut signals: Signals,
    config: &Config,
    stop: &ShutdownHandle,
    reload: &ReloadHandle,
) {
    for signal in signals.forever() {
        let name = match signal {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            SIGQUIT => "SIGQUIT",
            SIGHUP => "SIGHUP",
            SIGUSR1 => "SIGUSR1",
            _ => "SIGUSR2",
        };
        match signal {
            SIGHUP => reload_policy(config, reload),
            SIGUSR1 | SIGUSR2 => {
                warn!("received {name}: ignored (reserved)");
            }
            _ if stop.is_shutting_down() => {
                warn!("received {name}: already shutting down");
            }
            _ => {
                pipeline::note_shutdown_started();
                let grace = config.shutdown_timeout;
                warn!(
                    "received {name}: no longer accepting associations; waiting up to {} s for {} association(s) in progress",
                    grace.as_secs(),
                    stop.active_associations()
                );
                stop.shutdown(grace);
            }
        }
    }
}

/// SIGHUP: reads the command line again (its `@file`s included), loads the profile it names
/// and swaps it, with the AE title allow-lists, in for new associations. When anything fails,
/// the previous ones stay.
fn reload_policy(config: &Config, reload: &ReloadHandle) {
    warn!("received SIGHUP: reloading the association configuration and the AE title allow-lists");
    let keeping = "keeping the previous association configuration and AE title allow-lists";
    let args = match dcmrecv_cli::parse(std::env::args_os()) {
        Ok(dcmrecv_cli::Parsed::Run(args)) => args,
        Ok(_) => {
            error!("cannot reload: the command line no longer starts the receiver; {keeping}");
            return;
        }
        Err(e) => {
            error!("cannot reload: {e}; {keeping}");
            return;
        }
    };
    let info_enabled = tracing::enabled!(tracing::Level::INFO);
    let fresh = match Config::from_args(&args, config.log.clone(), info_enabled) {
        Ok(fresh) => fresh,
        Err(e) => {
            error!("cannot reload: {e}; {keeping}");
            return;
        }
    };
    let profile = match profile::load(&fresh.profile) {
        Ok(profile) => profile,
        Err(e) => {
            if let Some(message) = e.dcmtk_error_message() {
                error!("{message}");
            }
            if e.line().is_some() {
                error!("{e}");
            }
            error!(
                "cannot reload association configuration: {}; {keeping}",
                e.dcmtk_reason()
            );
            return;
        }
    };
    let name = profile.name().to_string();
    match allow_lists(&fresh) {
        Some(list) => reload.reload(profile, list),
        None => reload.reload(profile, AcceptAny),
    }
    info!(
        "reloaded the association configuration (profile {name}) and the AE title allow-lists ({} calling, {} called); they apply to new associations",
        fresh.allowed_calling.len(),
        fresh.allowed_called.len()
    );
    let mut others = fresh;
    others.profile = config.profile.clone();
    others.allowed_calling = config.allowed_calling.clone();
    others.allowed_called = config.allowed_called.clone();
    if others != *config {
        warn!(
            "SIGHUP: changes to options other than -xf/+xa and --allow-calling/--allow-called take effect only after a restart"
        );
    }
}

/// `--allow-calling`/`--allow-called` as an access control (`None`: none given, accept any).
fn allow_lists(config: &Config) -> Option<AeTitleAllowList> {
    if config.allowed_calling.is_empty() && config.allowed_called.is_empty() {
        return None;
    }
    let list = config
        .allowed_calling
        .iter()
        .fold(AeTitleAllowList::new(), |l, t| l.allow_calling(t));
    Some(
        config
            .allowed_called
            .iter()
            .fold(list, |l, t| l.allow_called(t)),
    )
}

/// The storage policy's options from the configuration: a directory, or an object store
/// (`-od s3://...`, whose receivers always have a node id: `--node-id`, else `<host>-<port>`).
fn storage_options(config: &Config) -> Result<StorageOptions, OpenError> {
    let options = match &config.output_directory.url {
        None => StorageOptions::new(config.output_directory.given.clone()),
        Some(url) => object_store_options(config, url)?,
    };
    let options = match &config.node_id {
        Some(node) => options.node_id(node.as_str()),
        None => options,
    };
    let options = match &config.pipeline.output_template {
        Some(template) => options.output_template(template.clone()),
        None => options,
    };
    Ok(options
        .subdirectories(config.subdirectories)
        .naming(config.naming)
        .extension(config.extension.to_string_lossy())
        .mode(config.storage_mode)
        .fsync(config.fsync)
        .max_object_size(config.max_object_size)
        .on_duplicate(config.operations.on_duplicate)
        .min_free_space(config.operations.min_free_space)
        .sorting(config.pipeline.sorting.clone())
        .implementation(
            DEFAULT_IMPLEMENTATION_CLASS_UID,
            DEFAULT_IMPLEMENTATION_VERSION_NAME,
            DEFAULT_BIT_PRESERVING_VERSION_NAME,
        ))
}

/// `-od s3://BUCKET/PREFIX`: configured from the `AWS_*` environment variables.
#[cfg(feature = "object-store")]
fn object_store_options(config: &Config, url: &str) -> Result<StorageOptions, OpenError> {
    let mut output = ObjectStoreOutput::new(url);
    if let Some(bytes) = config.object_part_size {
        output = output.part_size(bytes);
    }
    if let Some(parts) = config.object_parts_in_flight {
        output = output.parts_in_flight(parts);
    }
    Ok(StorageOptions::object_store(output).node_id(local_node_id(config.port)))
}

/// Without the `object-store` feature, an object-store URL is refused.
#[cfg(not(feature = "object-store"))]
fn object_store_options(_config: &Config, url: &str) -> Result<StorageOptions, OpenError> {
    Err(OpenError::ObjectStoreConfig {
        url: url.to_string(),
        problem: "this dcmrecv was built without object-store support".to_string(),
    })
}

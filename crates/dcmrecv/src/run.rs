//! Start-up after the command line (DCMTK's `dcmrecv.cc` order): load the profile, check the
//! output directory, create the TLS transport layer (`+tls`), listen, and serve until SIGINT or
//! SIGTERM; each failing step has DCMTK's exit code and log lines.

use std::net::SocketAddr;
use std::thread;

use dcmrecv_logging::fatal;
use dcmrecv_storage_policy::{
    DEFAULT_BIT_PRESERVING_VERSION_NAME, Leftover, OpenError, Storage, StorageOptions,
};
#[cfg(feature = "object-store")]
use dcmrecv_storage_policy::{ObjectStoreOutput, local_node_id};
use dcmrecv_storage_scp::{
    AcceptAny, AcceptorOptions, AeTitleAllowList, DEFAULT_IMPLEMENTATION_CLASS_UID,
    DEFAULT_IMPLEMENTATION_VERSION_NAME,
};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{debug, error, info, warn};

use crate::exit_codes::Phase;
use crate::sink::PolicySinks;
use crate::{password, profile};
use dcmrecv_cli::{AeTitle, Config, ProfileSource};

/// Runs the receiver; returns when a signal stopped it (success) or a start-up step failed.
pub(crate) fn run(config: &Config) -> Result<(), Phase> {
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
    options = if config.allowed_calling.is_empty() && config.allowed_called.is_empty() {
        options.access_control(AcceptAny)
    } else {
        let list = config
            .allowed_calling
            .iter()
            .fold(AeTitleAllowList::new(), |l, t| l.allow_calling(t));
        let list = config
            .allowed_called
            .iter()
            .fold(list, |l, t| l.allow_called(t));
        options.access_control(list)
    };
    let port = config.port;
    let addr = SocketAddr::new(config.bind_address, port);
    let acceptor = options
        .bind(addr, PolicySinks::new(storage))
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

    let handle = acceptor.shutdown_handle();
    let grace = config.shutdown_timeout;
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| {
        fatal!("cannot install signal handlers: {e}");
        Phase::Listen
    })?;
    thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            warn!(
                "received {name}: no longer accepting associations; waiting up to {} s for {} association(s) in progress",
                grace.as_secs(),
                handle.active_associations()
            );
            handle.shutdown(grace);
        }
    });
    acceptor.serve();
    info!("all associations ended, exiting");
    Ok(())
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
    Ok(options
        .subdirectories(config.subdirectories)
        .naming(config.naming)
        .extension(config.extension.to_string_lossy())
        .mode(config.storage_mode)
        .fsync(config.fsync)
        .max_object_size(config.max_object_size)
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

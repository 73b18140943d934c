//! Pre-created counter handles: one set for all traffic, or one per calling AE title.
//!
//! Every label combination a caller can reach is created once, up front (or when an AE title
//! is first accepted), and its `Counter` handle (an `Arc<AtomicU64>`) is kept here. Counting an
//! object is then an atomic add on a handle the association already holds: the families' maps
//! and their locks are touched only when series are created and when a scrape encodes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::ae_label::{NO_AE, OTHER_AE};
use crate::association_result::AssociationResult;
use crate::labels::{AeLabels, AssociationLabels, ObjectLabels};
use crate::status_class::StatusClass;

/// The labelled metric families; the registry holds clones (a family's clones share its map).
#[derive(Debug, Default)]
pub(crate) struct Families {
    pub(crate) objects: Family<ObjectLabels, Counter>,
    pub(crate) associations: Family<AssociationLabels, Counter>,
    pub(crate) bytes: Family<AeLabels, Counter>,
}

/// The counters of one `calling_ae` value (or of everything, without per-AE series).
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) objects: [Counter; StatusClass::ALL.len()],
    pub(crate) associations: [Counter; AssociationResult::COUNT],
    pub(crate) bytes: Counter,
}

impl Series {
    fn new(families: &Families, calling_ae: Option<Arc<str>>) -> Series {
        let objects = StatusClass::ALL.map(|status| {
            families.objects.get_or_create_owned(&ObjectLabels {
                status,
                calling_ae: calling_ae.clone(),
            })
        });
        let mut results = AssociationResult::all();
        let associations = std::array::from_fn(|_| {
            let result = results.next().unwrap_or(AssociationResult::Failed);
            families
                .associations
                .get_or_create_owned(&AssociationLabels {
                    result,
                    calling_ae: calling_ae.clone(),
                })
        });
        let bytes = families.bytes.get_or_create_owned(&AeLabels { calling_ae });
        Series {
            objects,
            associations,
            bytes,
        }
    }

    pub(crate) fn association(&self, result: AssociationResult) -> Option<&Counter> {
        self.associations.get(result.index())
    }

    pub(crate) fn object(&self, class: StatusClass) -> Option<&Counter> {
        self.objects.get(class.index())
    }
}

/// Where an association's counters come from.
#[derive(Debug)]
pub(crate) enum SeriesTable {
    /// No `calling_ae` label: one set of counters.
    Global(Arc<Series>),
    /// One set per sanitised calling AE title, up to a limit.
    PerAe(PerAe),
}

#[derive(Debug)]
pub(crate) struct PerAe {
    limit: usize,
    /// Held only to look up or add a title: once per association, never per object.
    by_ae: Mutex<HashMap<Arc<str>, Arc<Series>>>,
    other: Arc<Series>,
    none: Arc<Series>,
}

impl SeriesTable {
    pub(crate) fn new(families: &Families, per_ae: bool, limit: usize) -> SeriesTable {
        if !per_ae {
            return SeriesTable::Global(Arc::new(Series::new(families, None)));
        }
        SeriesTable::PerAe(PerAe {
            limit,
            by_ae: Mutex::new(HashMap::new()),
            other: Arc::new(Series::new(families, Some(Arc::from(OTHER_AE)))),
            none: Arc::new(Series::new(families, Some(Arc::from(NO_AE)))),
        })
    }

    /// The series of an accepted association's calling AE title, claiming a slot for a new
    /// title while there are slots left.
    pub(crate) fn claim(&self, families: &Families, calling_ae: &str) -> Arc<Series> {
        match self {
            SeriesTable::Global(series) => Arc::clone(series),
            SeriesTable::PerAe(table) => {
                let label = crate::ae_label::sanitize_ae_title(calling_ae);
                let mut by_ae = table.by_ae.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(series) = by_ae.get(label.as_str()) {
                    return Arc::clone(series);
                }
                if by_ae.len() >= table.limit {
                    return Arc::clone(&table.other);
                }
                let label: Arc<str> = Arc::from(label);
                let series = Arc::new(Series::new(families, Some(Arc::clone(&label))));
                by_ae.insert(label, Arc::clone(&series));
                series
            }
        }
    }

    /// The series of a calling AE title that already has a slot, else `(other)`: rejected
    /// requests never claim one.
    pub(crate) fn lookup(&self, calling_ae: &str) -> Arc<Series> {
        match self {
            SeriesTable::Global(series) => Arc::clone(series),
            SeriesTable::PerAe(table) => {
                let label = crate::ae_label::sanitize_ae_title(calling_ae);
                let by_ae = table.by_ae.lock().unwrap_or_else(PoisonError::into_inner);
                Arc::clone(by_ae.get(label.as_str()).unwrap_or(&table.other))
            }
        }
    }

    /// The series of connections that never named a calling AE.
    pub(crate) fn unnamed(&self) -> Arc<Series> {
        match self {
            SeriesTable::Global(series) => Arc::clone(series),
            SeriesTable::PerAe(table) => Arc::clone(&table.none),
        }
    }

    /// Calls `f` on every set of counters.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Series)) {
        match self {
            SeriesTable::Global(series) => f(series),
            SeriesTable::PerAe(table) => {
                f(&table.other);
                f(&table.none);
                let by_ae = table.by_ae.lock().unwrap_or_else(PoisonError::into_inner);
                by_ae.values().for_each(|s| f(s));
            }
        }
    }
}

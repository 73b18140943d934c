//! Hooks driven by events: the reception hook per [`InstanceStored`], the end-of-study hook per
//! [`StudyComplete`].

use std::sync::Arc;

use dcmrecv_events::{Event, EventSink, InstanceStored, StudyComplete};

use crate::runner::{HookJob, HookRunner};
use crate::template::{CommandTemplate, HookKind, Values};

/// An [`EventSink`] that runs storescp's two hooks: `--exec-on-reception` for every
/// [`Event::InstanceStored`] and `--exec-on-eostudy` for every [`Event::StudyComplete`].
///
/// Failed instances get no hook (storescp runs its hook even after a failure status, with
/// empty `#p`/`#f`; we do not).
///
/// ```
/// use std::sync::Arc;
///
/// use dcmrecv_hooks::{CommandTemplate, EventHooks, HookKind, HookOptions, HookRunner};
///
/// let runner = Arc::new(HookRunner::start(HookOptions::new()));
/// let hooks = EventHooks::new(Arc::clone(&runner))
///     .on_reception(CommandTemplate::parse("/usr/local/bin/ingest #p/#f #a", HookKind::Reception)?)?
///     .on_end_of_study(CommandTemplate::parse("/usr/local/bin/study-done #p", HookKind::EndOfStudy)?)?;
/// // Feed `hooks` the receiver's events (it is an EventSink); at exit:
/// runner.shutdown(std::time::Duration::from_secs(30));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EventHooks {
    runner: Arc<HookRunner>,
    reception: Option<CommandTemplate>,
    end_of_study: Option<CommandTemplate>,
}

/// A template was given for the wrong hook.
#[derive(Debug, snafu::Snafu, PartialEq, Eq)]
#[snafu(display("the command was parsed for the {actual} hook, not the {expected} hook"))]
pub struct WrongKind {
    /// The kind needed.
    expected: HookKind,
    /// The template's kind.
    actual: HookKind,
}

impl EventHooks {
    /// No hooks yet; jobs go to `runner`.
    pub fn new(runner: Arc<HookRunner>) -> EventHooks {
        EventHooks {
            runner,
            reception: None,
            end_of_study: None,
        }
    }

    /// The command to run per stored instance (a [`HookKind::Reception`] template).
    pub fn on_reception(mut self, template: CommandTemplate) -> Result<EventHooks, WrongKind> {
        check_kind(&template, HookKind::Reception)?;
        self.reception = Some(template);
        Ok(self)
    }

    /// The command to run per completed study (a [`HookKind::EndOfStudy`] template).
    pub fn on_end_of_study(mut self, template: CommandTemplate) -> Result<EventHooks, WrongKind> {
        check_kind(&template, HookKind::EndOfStudy)?;
        self.end_of_study = Some(template);
        Ok(self)
    }

    /// The runner.
    pub fn runner(&self) -> &Arc<HookRunner> {
        &self.runner
    }

    /// The placeholder values for a stored instance: `#p` its directory, `#f` its file name,
    /// `#a`/`#c` the AE titles (without storescp's surrounding double quotes), `#r` the remote
    /// host.
    pub fn values_for_instance(stored: &InstanceStored) -> Values {
        Values {
            path: Some(stored.directory().to_string()),
            file_name: Some(stored.file_name().to_string()),
            calling_ae: Some(stored.calling_ae.clone()),
            called_ae: Some(stored.called_ae.clone()),
            remote_host: Some(stored.remote_host.clone()),
        }
    }

    /// The placeholder values for a completed study: `#p` the study's directory (left as `#p`
    /// when its objects were stored in several), `#a`/`#c`/`#r` of the association that
    /// carried its last object.
    pub fn values_for_study(study: &StudyComplete) -> Values {
        Values {
            path: study.directory.clone(),
            file_name: None,
            calling_ae: Some(study.calling_ae.clone()),
            called_ae: Some(study.called_ae.clone()),
            remote_host: Some(study.remote_host.clone()),
        }
    }
}

fn check_kind(template: &CommandTemplate, expected: HookKind) -> Result<(), WrongKind> {
    if template.kind() == expected {
        Ok(())
    } else {
        Err(WrongKind {
            expected,
            actual: template.kind(),
        })
    }
}

impl EventSink for EventHooks {
    fn event(&self, event: &Event) {
        let job = match (event, &self.reception, &self.end_of_study) {
            (Event::InstanceStored(stored), Some(t), _) => HookJob::new(
                HookKind::Reception,
                t.expand(&Self::values_for_instance(stored)),
                stored.path.clone(),
            ),
            (Event::StudyComplete(study), _, Some(t)) => {
                if study.directory.is_none() {
                    tracing::warn!(
                        study = %study.study_instance_uid,
                        "objects of the study are in several directories; #p is passed as written"
                    );
                }
                HookJob::new(
                    HookKind::EndOfStudy,
                    t.expand(&Self::values_for_study(study)),
                    format!("{} revision {}", study.study_instance_uid, study.revision),
                )
            }
            _ => return,
        };
        self.runner.submit(job);
    }
}

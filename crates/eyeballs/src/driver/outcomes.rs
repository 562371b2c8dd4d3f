//! What the attempts of one race gave, kept by either driver (tokio or blocking) until the
//! engine decides: the values of attempts that succeeded and the errors of those that failed.

use std::io;
use std::sync::Arc;

use eyeballs_proto::{AttemptId, AttemptResult, Failure, Outcome};

use super::few::Few;
use crate::classify::failure_kind;
use crate::connector::Connection;
use crate::error::{Error, ErrorKind};
use crate::label::Label;
use crate::report::Report;

/// Per race: successes waiting for the engine's verdict, and every failure's error.
#[derive(Debug)]
pub(crate) struct Outcomes<T> {
    /// What attempts that succeeded made, until the engine says which one wins (rarely more
    /// than one).
    connected: Few<AttemptId, T>,
    /// Per attempt (by index), the error it failed with.
    errors: Vec<Option<Arc<io::Error>>>,
    /// Why the caller's interruption check stopped the race, if it did.
    interruption: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl<T> Default for Outcomes<T> {
    fn default() -> Self {
        Outcomes {
            connected: Few::default(),
            errors: Vec::new(),
            interruption: None,
        }
    }
}

impl<T> Outcomes<T> {
    /// Keeps an attempt's result; returns what to tell the engine.
    pub(crate) fn record(&mut self, id: AttemptId, result: io::Result<T>) -> AttemptResult {
        match result {
            Ok(value) => {
                tracing::debug!(target: "eyeballs", attempt = %id, "attempt connected");
                self.connected.insert(id, value);
                AttemptResult::Connected
            }
            Err(e) => {
                tracing::debug!(target: "eyeballs", attempt = %id, error = %e, "attempt failed");
                let kind = failure_kind(&e);
                let slot = id.index();
                if self.errors.len() <= slot {
                    self.errors.resize(slot + 1, None);
                }
                self.errors[slot] = Some(Arc::new(e));
                AttemptResult::Failed(kind)
            }
        }
    }

    /// Per attempt (by index), the error it failed with, so far.
    pub(crate) fn errors(&self) -> &[Option<Arc<io::Error>>] {
        &self.errors
    }

    /// Keeps why the caller's interruption check stopped the race: the race's error.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn interrupted(&mut self, why: Box<dyn std::error::Error + Send + Sync>) {
        self.interruption = Some(why);
    }

    /// Drops what attempt `id` made, if anything (it lost, or succeeded too late).
    pub(crate) fn discard(&mut self, id: AttemptId) {
        self.connected.remove(id);
    }

    /// The race's result from the engine's outcome and report: the winner's value, or the
    /// error naming every attempt. Every other value is dropped (its socket closed).
    pub(crate) fn finish(
        mut self,
        outcome: Outcome,
        race: eyeballs_proto::Report,
        target: Label,
    ) -> Result<Connection<T>, Error> {
        let winner = match outcome {
            Outcome::Connected { id, .. } => self.connected.remove(id),
            Outcome::Failed(_) => None,
        };
        self.connected.clear();
        let report = Report::new(race, self.errors);
        match (outcome, winner, self.interruption) {
            (Outcome::Connected { .. }, Some(value), _) => {
                tracing::debug!(target: "eyeballs", winner = ?report.winner(), "connected");
                Ok(Connection::new(value, report))
            }
            (Outcome::Failed(Failure::Cancelled), _, Some(why)) => {
                Err(Error::interrupted(target.to_string(), report, why))
            }
            (Outcome::Failed(Failure::NoAddresses), _, _) => Err(Error::network(
                ErrorKind::NoAddresses,
                target.to_string(),
                report,
            )),
            (Outcome::Failed(Failure::TimedOut), _, _) => Err(Error::network(
                ErrorKind::TimedOut,
                target.to_string(),
                report,
            )),
            _ => Err(Error::network(
                ErrorKind::AllAttemptsFailed,
                target.to_string(),
                report,
            )),
        }
    }
}

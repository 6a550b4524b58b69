//! Fault timelines: the actions a run applies, with their times.

use std::time::Duration;

use serde::Serialize;

/// One change applied to the fault proxy or to the server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "value")]
pub enum FaultAction {
    /// Resets every open client connection of the proxy.
    ResetConnections,
    /// Makes the proxy refuse new connections (`true`) or accept them again.
    RefuseConnections(bool),
    /// Makes the proxy forward nothing in either direction (`true`), or
    /// forward again.
    Blackhole(bool),
    /// Delays every reply chunk by the given time, or by nothing.
    DelayReplies(Option<Duration>),
    /// Delays [`BROWNOUT_DELAYED_SHARE`](super::BROWNOUT_DELAYED_SHARE) of the reply chunks, drawn at
    /// random, by the given time, or stops delaying new chunks.
    DelaySomeReplies(Option<Duration>),
    /// Kills the server process with SIGKILL.
    KillServer,
    /// Starts the killed server again on the same port.
    RestartServer,
    /// Stops the server process with SIGSTOP.
    PauseServer,
    /// Continues the stopped server process with SIGCONT.
    ResumeServer,
}

impl FaultAction {
    /// Returns whether the action signals the server process.
    pub fn needs_server_process(self) -> bool {
        match self {
            FaultAction::KillServer
            | FaultAction::RestartServer
            | FaultAction::PauseServer
            | FaultAction::ResumeServer => true,
            FaultAction::ResetConnections
            | FaultAction::RefuseConnections(_)
            | FaultAction::Blackhole(_)
            | FaultAction::DelayReplies(_)
            | FaultAction::DelaySomeReplies(_) => false,
        }
    }
}

/// A fault action and its time from the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FaultStep {
    /// Time from the start of the run.
    #[serde(rename = "at_ms", serialize_with = "super::serialize_millis")]
    pub at: Duration,
    /// The change applied at that time.
    #[serde(flatten)]
    pub action: FaultAction,
}

/// A span of the run during which a fault is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FaultWindow {
    /// Time from the start of the run to the start of the fault.
    #[serde(rename = "start_ms", serialize_with = "super::serialize_millis")]
    pub start: Duration,
    /// Time from the start of the run to the end of the fault.
    #[serde(rename = "end_ms", serialize_with = "super::serialize_millis")]
    pub end: Duration,
}

/// The fault steps of one run, sorted by time, and the windows they cover.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    steps: Vec<FaultStep>,
    windows: Vec<FaultWindow>,
}

impl Timeline {
    /// Returns the steps, sorted by time.
    pub fn steps(&self) -> &[FaultStep] {
        &self.steps
    }

    /// Returns the spans during which a fault is active.
    pub fn windows(&self) -> &[FaultWindow] {
        &self.windows
    }

    /// Returns the end of the last fault, or `None` for a run without one.
    pub fn fault_end(&self) -> Option<Duration> {
        self.windows.iter().map(|window| window.end).max()
    }

    pub(super) fn push(&mut self, at: Duration, action: FaultAction) {
        self.steps.push(FaultStep { at, action });
        self.steps.sort_by_key(|step| step.at);
    }

    pub(super) fn window(
        &mut self,
        start: Duration,
        length: Duration,
        on: FaultAction,
        off: FaultAction,
    ) {
        self.push(start, on);
        self.push(start + length, off);
        self.windows.push(FaultWindow {
            start,
            end: start + length,
        });
    }

    /// Adds an outage: open connections reset, new ones refused.
    pub(super) fn outage(&mut self, start: Duration, length: Duration) {
        self.push(start, FaultAction::ResetConnections);
        self.window(
            start,
            length,
            FaultAction::RefuseConnections(true),
            FaultAction::RefuseConnections(false),
        );
    }
}

//! Outage scenarios as data: each one is a timeline of fault actions.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use super::timeline::{FaultAction, Timeline};

/// Share of the reply chunks that a brownout delays.
pub const BROWNOUT_DELAYED_SHARE: f64 = 0.3;
/// How far past the attempt timeout a brownout delays a reply.
pub const BROWNOUT_EXTRA_DELAY: Duration = Duration::from_millis(250);

/// An outage scenario replayed by the drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// No fault: the baseline.
    Healthy,
    /// Every connection reset and new ones refused for 200 ms.
    Blip,
    /// No reply, in either direction, for 2 s.
    Blackhole,
    /// The server is killed with SIGKILL and started again on the same port
    /// after 1 s.
    Restart,
    /// The server is stopped with SIGSTOP for 1 s, then continued.
    Pause,
    /// For 3 s, 30% of the replies are delayed past the attempt timeout.
    Brownout,
    /// Five outages of 300 ms each (connections reset and refused), 300 ms
    /// apart.
    Flapping,
    /// Every reply delayed by 50 ms for 3 s.
    Slow,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 8] = [
        Scenario::Healthy,
        Scenario::Blip,
        Scenario::Blackhole,
        Scenario::Restart,
        Scenario::Pause,
        Scenario::Brownout,
        Scenario::Flapping,
        Scenario::Slow,
    ];

    /// Returns the name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::Blip => "blip",
            Scenario::Blackhole => "blackhole",
            Scenario::Restart => "restart",
            Scenario::Pause => "pause",
            Scenario::Brownout => "brownout",
            Scenario::Flapping => "flapping",
            Scenario::Slow => "slow",
        }
    }

    /// Returns a one-line description of the fault.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::Healthy => "no fault (baseline)",
            Scenario::Blip => "open connections reset and new ones refused for 200 ms",
            Scenario::Blackhole => "no bytes forwarded in either direction for 2 s",
            Scenario::Restart => "server killed with SIGKILL, started again after 1 s",
            Scenario::Pause => "server stopped with SIGSTOP for 1 s",
            Scenario::Brownout => {
                "for 3 s, 30% of reply chunks delayed past the attempt timeout, in order"
            }
            Scenario::Flapping => "five 300 ms outages (reset and refuse), 300 ms apart",
            Scenario::Slow => "every reply delayed by 50 ms for 3 s",
        }
    }

    /// Returns whether the scenario signals the server process, which needs
    /// a server that the drill started itself.
    pub fn needs_server_process(self) -> bool {
        self.timeline(&TimelineParams::default())
            .steps()
            .iter()
            .any(|step| step.action.needs_server_process())
    }

    /// Builds the scenario's fault timeline.
    pub fn timeline(self, params: &TimelineParams) -> Timeline {
        let start = params.fault_start;
        let mut timeline = Timeline::default();
        match self {
            Scenario::Healthy => {}
            Scenario::Blip => timeline.outage(start, Duration::from_millis(200)),
            Scenario::Blackhole => timeline.window(
                start,
                Duration::from_secs(2),
                FaultAction::Blackhole(true),
                FaultAction::Blackhole(false),
            ),
            Scenario::Restart => timeline.window(
                start,
                Duration::from_secs(1),
                FaultAction::KillServer,
                FaultAction::RestartServer,
            ),
            Scenario::Pause => timeline.window(
                start,
                Duration::from_secs(1),
                FaultAction::PauseServer,
                FaultAction::ResumeServer,
            ),
            Scenario::Brownout => timeline.window(
                start,
                Duration::from_secs(3),
                FaultAction::DelaySomeReplies(Some(params.attempt_timeout + BROWNOUT_EXTRA_DELAY)),
                FaultAction::DelaySomeReplies(None),
            ),
            Scenario::Flapping => {
                let outage = Duration::from_millis(300);
                for index in 0..5 {
                    timeline.outage(start + outage * 2 * index, outage);
                }
            }
            Scenario::Slow => timeline.window(
                start,
                Duration::from_secs(3),
                FaultAction::DelayReplies(Some(Duration::from_millis(50))),
                FaultAction::DelayReplies(None),
            ),
        }
        timeline
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown scenario {name:?}, expected one of: {}",
                    known.join(", ")
                )
            })
    }
}

/// Inputs that place a scenario's faults in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineParams {
    /// Time from the start of the run to the first fault.
    pub fault_start: Duration,
    /// Attempt timeout of the policy under test; a brownout delays replies
    /// past it.
    pub attempt_timeout: Duration,
}

impl Default for TimelineParams {
    fn default() -> Self {
        Self {
            fault_start: Duration::from_secs(2),
            attempt_timeout: Duration::from_millis(500),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::FaultStep;

    fn params() -> TimelineParams {
        TimelineParams::default()
    }

    #[test]
    fn names_round_trip_through_from_str() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
        }
        for scenario in Scenario::ALL {
            let json = serde_json::to_string(&scenario).expect("serializable");
            assert_eq!(json, format!("\"{}\"", scenario.name()));
        }
        let error = "storm".parse::<Scenario>().expect_err("unknown name");
        assert!(error.starts_with("unknown scenario \"storm\""), "{error}");
    }

    #[test]
    fn healthy_has_no_fault() {
        let timeline = Scenario::Healthy.timeline(&params());
        assert!(timeline.steps().is_empty());
        assert_eq!(timeline.fault_end(), None);
    }

    #[test]
    fn blip_resets_and_refuses_for_200_ms() {
        let timeline = Scenario::Blip.timeline(&params());
        let start = Duration::from_secs(2);
        let expected = [
            FaultStep {
                at: start,
                action: FaultAction::ResetConnections,
            },
            FaultStep {
                at: start,
                action: FaultAction::RefuseConnections(true),
            },
            FaultStep {
                at: start + Duration::from_millis(200),
                action: FaultAction::RefuseConnections(false),
            },
        ];
        assert_eq!(timeline.steps(), expected);
        assert_eq!(timeline.fault_end(), Some(Duration::from_millis(2200)));
    }

    #[test]
    fn flapping_has_five_outages_300_ms_apart() {
        let timeline = Scenario::Flapping.timeline(&params());
        let starts: Vec<u128> = timeline
            .windows()
            .iter()
            .map(|w| w.start.as_millis())
            .collect();
        let ends: Vec<u128> = timeline
            .windows()
            .iter()
            .map(|w| w.end.as_millis())
            .collect();
        assert_eq!(starts, [2000, 2600, 3200, 3800, 4400]);
        assert_eq!(ends, [2300, 2900, 3500, 4100, 4700]);
    }

    #[test]
    fn process_scenarios_need_the_server_process() {
        let needing: Vec<Scenario> = Scenario::ALL
            .into_iter()
            .filter(|scenario| scenario.needs_server_process())
            .collect();
        assert_eq!(needing, [Scenario::Restart, Scenario::Pause]);
    }

    #[test]
    fn brownout_delays_some_replies() {
        let params = TimelineParams {
            attempt_timeout: Duration::from_millis(400),
            ..params()
        };
        let timeline = Scenario::Brownout.timeline(&params);
        let delay = Duration::from_millis(400) + BROWNOUT_EXTRA_DELAY;
        let expected = [
            FaultStep {
                at: Duration::from_secs(2),
                action: FaultAction::DelaySomeReplies(Some(delay)),
            },
            FaultStep {
                at: Duration::from_secs(5),
                action: FaultAction::DelaySomeReplies(None),
            },
        ];
        assert_eq!(timeline.steps(), expected);
    }
}

//! The drill's command line and the options it resolves to.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;

use super::policy::Policy;
use super::scenario::Scenario;

/// Scenarios run when `--scenario` is not given: one short outage, one long
/// silent one, a process restart and a partial slowdown.
pub const DEFAULT_SCENARIOS: [Scenario; 4] = [
    Scenario::Blip,
    Scenario::Blackhole,
    Scenario::Restart,
    Scenario::Brownout,
];
/// Policies run when `--policy` is not given: no resilience against the
/// defaults.
pub const DEFAULT_POLICIES: [Policy; 2] = [Policy::None, Policy::Full];

/// Replays outage scenarios against a real Valkey server under each
/// resilience policy, and reports availability, latency, backend load and
/// recovery time.
///
/// Without arguments it runs blip, blackhole, restart and brownout under
/// the `none` and `full` policies, 7 s each, against a valkey-server it
/// starts on 127.0.0.1, and writes drill-out/drill.json and
/// drill-out/drill.html.
#[derive(Debug, Clone, Parser)]
#[command(name = "drill", version)]
pub struct Args {
    /// Scenarios to run: a name, a comma-separated list, or `all`
    /// [default: blip,blackhole,restart,brownout]
    #[arg(long, value_name = "NAME|all")]
    pub scenario: Option<String>,
    /// Policies to compare: a name, a comma-separated list, or `all`
    /// [default: none,full]
    #[arg(long, value_name = "NAME|all")]
    pub policy: Option<String>,
    /// Shortest length of each run, such as `8s` or `1500ms`; a run lasts
    /// at least 2 s past the end of its last fault
    #[arg(long, default_value = "7s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Requests issued per second, whatever the replies do
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,
    /// Requests in flight at most; requests beyond it are denied as `overload`
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub concurrency: u32,
    /// Distinct sessions the requests spread over
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub sessions: u32,
    /// Share of requests that append a label after loading, from 0 to 1
    #[arg(long, default_value_t = 0.1, value_parser = parse_share)]
    pub append_share: f64,
    /// Seed of the workload, the retry jitter and the brownout slices
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder for drill.json and drill.html
    #[arg(long, value_name = "DIR", default_value = "drill-out")]
    pub out: PathBuf,
    /// Existing server to use, as `redis://HOST:PORT` on a loopback address;
    /// scenarios that restart or pause the server process are then skipped
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// List the scenarios and policies, and exit
    #[arg(long)]
    pub list: bool,
}

/// Resolved settings of a drill.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillOptions {
    /// Scenarios, in the order run.
    pub scenarios: Vec<Scenario>,
    /// Policies, in the order run for each scenario.
    pub policies: Vec<Policy>,
    /// Shortest length of each run.
    pub duration: Duration,
    /// Requests issued per second.
    pub rate: u32,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Distinct sessions.
    pub sessions: u32,
    /// Share of requests that also append.
    pub append_share: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Existing server to use instead of starting one.
    pub endpoint: Option<String>,
    /// Whether to draw the progress bar.
    pub progress: bool,
}

impl Args {
    /// Resolves the scenario and policy lists.
    ///
    /// # Errors
    ///
    /// Returns a message naming an unknown scenario or policy, or a
    /// duration below one second.
    pub fn options(&self) -> Result<DrillOptions, String> {
        if self.duration < Duration::from_secs(1) {
            return Err(format!(
                "invalid --duration {:?}: must be at least 1s",
                self.duration
            ));
        }
        Ok(DrillOptions {
            scenarios: parse_list(self.scenario.as_deref(), &Scenario::ALL, &DEFAULT_SCENARIOS)?,
            policies: parse_list(self.policy.as_deref(), &Policy::ALL, &DEFAULT_POLICIES)?,
            duration: self.duration,
            rate: self.rate,
            concurrency: self.concurrency as usize,
            sessions: self.sessions,
            append_share: self.append_share,
            seed: self.seed,
            endpoint: self.endpoint.clone(),
            progress: true,
        })
    }
}

/// Returns the text printed by `--list`.
pub fn list_text() -> String {
    let mut text = String::from("scenarios:\n");
    for scenario in Scenario::ALL {
        text.push_str(&format!(
            "  {:<16} {}\n",
            scenario.name(),
            scenario.description()
        ));
    }
    text.push_str("policies:\n");
    for policy in Policy::ALL {
        text.push_str(&format!(
            "  {:<16} {}\n",
            policy.name(),
            policy.description()
        ));
    }
    text
}

fn parse_list<T>(value: Option<&str>, all: &[T], default: &[T]) -> Result<Vec<T>, String>
where
    T: FromStr<Err = String> + Copy + PartialEq,
{
    let Some(value) = value else {
        return Ok(default.to_vec());
    };
    if value == "all" {
        return Ok(all.to_vec());
    }
    let mut items = Vec::new();
    for name in value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let item = name.parse::<T>()?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    if items.is_empty() {
        return Err(format!("invalid list {value:?}: name at least one"));
    }
    Ok(items)
}

fn parse_share(value: &str) -> Result<f64, String> {
    let share: f64 = value
        .parse()
        .map_err(|error| format!("invalid share {value:?}: {error}"))?;
    if (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(format!("invalid share {share}: must be from 0 to 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<DrillOptions, String> {
        let mut argv = vec!["drill"];
        argv.extend_from_slice(args);
        Args::try_parse_from(argv)
            .map_err(|error| error.to_string())?
            .options()
    }

    #[test]
    fn no_arguments_select_the_representative_set() {
        let options = parse(&[]).expect("defaults are valid");
        assert_eq!(options.scenarios, DEFAULT_SCENARIOS);
        assert_eq!(options.policies, DEFAULT_POLICIES);
        assert_eq!(options.duration, Duration::from_secs(7));
        assert_eq!(options.rate, 500);
    }

    #[test]
    fn all_and_lists_select_scenarios_and_policies() {
        let options = parse(&["--scenario", "all", "--policy", "none,full,none"]).expect("valid");
        assert_eq!(options.scenarios, Scenario::ALL);
        assert_eq!(options.policies, [Policy::None, Policy::Full]);
    }

    #[test]
    fn durations_parse_in_human_units() {
        let options = parse(&["--duration", "1500ms"]).expect("valid");
        assert_eq!(options.duration, Duration::from_millis(1500));
    }

    #[test]
    fn invalid_values_are_rejected_with_the_value() {
        let cases: [(&[&str], &str); 5] = [
            (&["--scenario", "storm"], "unknown scenario \"storm\""),
            (&["--policy", "fast"], "unknown policy \"fast\""),
            (&["--duration", "500ms"], "invalid --duration 500ms"),
            (&["--append-share", "1.5"], "invalid share 1.5"),
            (&["--rate", "0"], "--rate"),
        ];
        for (args, expected) in cases {
            let error = parse(args).expect_err("invalid arguments");
            assert!(error.contains(expected), "{args:?}: {error}");
        }
    }

    #[test]
    fn list_names_every_scenario_and_policy() {
        let text = list_text();
        for scenario in Scenario::ALL {
            assert!(text.contains(scenario.name()), "{scenario}");
        }
        for policy in Policy::ALL {
            assert!(text.contains(policy.name()), "{policy}");
        }
    }
}

//! Runs the `drill` binary end to end: one short scenario under two policies
//! against a real valkey-server, then checks the JSON and HTML it wrote.

use std::process::Command;

use serde_json::Value;

fn number(run: &Value, field: &str) -> f64 {
    run[field]
        .as_f64()
        .unwrap_or_else(|| panic!("field {field} is not a number in {run}"))
}

#[test]
fn blip_drill_writes_a_complete_report() {
    let out = tempfile::tempdir().expect("temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_drill"))
        .args(["--scenario", "blip", "--policy", "none,full"])
        .args(["--duration", "2s", "--rate", "200", "--sessions", "50"])
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("the drill binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "drill failed with {}:\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("scenario  policy"),
        "no table on stdout:\n{stdout}"
    );

    let json = std::fs::read_to_string(out.path().join("drill.json")).expect("drill.json written");
    let report: Value = serde_json::from_str(&json).expect("drill.json is JSON");
    assert_eq!(report["settings"]["rate"], 200);
    assert!(
        report["machine"]["cpus"].as_u64().unwrap_or(0) >= 1,
        "{}",
        report["machine"]
    );
    let runs = report["runs"].as_array().expect("runs is an array");
    let names: Vec<(&str, &str)> = runs
        .iter()
        .map(|run| {
            (
                run["scenario"].as_str().unwrap_or(""),
                run["policy"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(names, [("blip", "none"), ("blip", "full")]);

    for run in runs {
        for field in [
            "requests",
            "successes",
            "backend_attempts",
            "new_connections",
            "loads_checked",
        ] {
            assert!(number(run, field) > 0.0, "{field} is zero in {run}");
        }
        let availability = number(run, "availability");
        assert!(
            availability > 0.0 && availability < 1.0,
            "blip must cost some requests: {run}"
        );
        for quantile in ["p50_ms", "p99_ms", "p999_ms", "max_ms"] {
            assert!(
                run["latency"][quantile].as_f64().unwrap_or(0.0) > 0.0,
                "{quantile} in {run}"
            );
        }
        assert!(
            run["denials"]
                .as_object()
                .is_some_and(|denials| !denials.is_empty()),
            "{run}"
        );
        assert!(run["recovery"]["status"].is_string(), "{run}");
        assert_eq!(run["violations"].as_array().map(Vec::len), Some(0), "{run}");
        assert_eq!(
            run["fault_windows"].as_array().map(Vec::len),
            Some(1),
            "{run}"
        );
        let faults = run["faults"].as_array().expect("faults is an array");
        assert_eq!(faults.len(), 3, "{run}");
        assert!(faults.iter().all(|fault| fault["error"].is_null()), "{run}");
        let buckets = run["buckets"].as_array().expect("buckets is an array");
        assert_eq!(
            buckets.len() as f64,
            number(run, "length_ms") / 100.0,
            "{run}"
        );
        assert!(
            buckets
                .iter()
                .all(|bucket| bucket["breaker_state"].is_string())
        );
    }
    assert_eq!(runs[0]["breaker_transitions"], 0, "policy none never trips");

    let html = std::fs::read_to_string(out.path().join("drill.html")).expect("drill.html written");
    assert_eq!(html.matches("<svg").count(), 2, "one SVG per run");
    assert!(html.contains("blip under full"), "run heading missing");
}

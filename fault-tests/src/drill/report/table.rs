//! The summary table printed on the terminal at the end of a drill.

use std::fmt::Write as _;

use super::{DrillReport, RunReport};

/// Column headers, in order.
const HEADERS: [&str; 13] = [
    "scenario", "policy", "requests", "avail %", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
    "att/req", "conns", "trans", "recovery", "denials",
];

/// Renders one row per run, aligned in columns, followed by the skipped
/// scenarios.
pub fn render_table(report: &DrillReport) -> String {
    let rows: Vec<[String; 13]> = report.runs.iter().map(row).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let mut output = String::new();
    write_row(&mut output, &HEADERS.map(str::to_owned), &widths);
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    output.push_str(rule.join("  ").trim_end());
    output.push('\n');
    for row in &rows {
        write_row(&mut output, row, &widths);
    }
    for skipped in &report.skipped {
        let _ = writeln!(output, "skipped {}: {}", skipped.scenario, skipped.reason);
    }
    output
}

fn row(run: &RunReport) -> [String; 13] {
    let latency = &run.requests.latency;
    [
        run.scenario.to_string(),
        run.policy.to_string(),
        run.requests.requests.to_string(),
        format!("{:.2}", run.requests.availability * 100.0),
        format!("{:.2}", latency.p50_ms),
        format!("{:.1}", latency.p99_ms),
        format!("{:.1}", latency.p999_ms),
        format!("{:.1}", latency.max_ms),
        format!("{:.2}", run.attempts_per_request),
        run.new_connections.to_string(),
        run.breaker_transitions.to_string(),
        run.recovery.label(),
        denials(run),
    ]
}

/// Lists denial reasons with their counts, the most frequent first.
fn denials(run: &RunReport) -> String {
    let mut reasons: Vec<(&String, &u64)> = run.requests.denials.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    if reasons.is_empty() {
        return "-".to_owned();
    }
    let parts: Vec<String> = reasons
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    parts.join(", ")
}

fn write_row(output: &mut String, cells: &[String; 13], widths: &[usize; 13]) {
    let mut line = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if index > 0 {
            line.push_str("  ");
        }
        // Text columns align left, figures right.
        if !(2..11).contains(&index) {
            let _ = write!(line, "{cell:<width$}");
        } else {
            let _ = write!(line, "{cell:>width$}");
        }
    }
    output.push_str(line.trim_end());
    output.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::sample_report;
    use super::*;

    #[test]
    fn table_lists_runs_and_skips() {
        let table = render_table(&sample_report());
        let lines: Vec<&str> = table.lines().collect();

        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("scenario  policy"), "{table}");
        let row: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(&row[..4], ["blip", "full", "30", "66.67"], "{table}");
        assert!(
            lines[2].ends_with("circuit_open 7, backend_transient 3"),
            "{table}"
        );
        assert!(lines[2].contains("100 ms"), "{table}");
        assert_eq!(lines[3], "skipped restart: it signals the server process");
    }
}

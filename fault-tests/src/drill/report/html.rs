//! The self-contained HTML report: a summary table and SVG timelines per
//! run, with no external file.

use std::fmt::Write as _;

use super::chart::render_run_svg;
use super::{DrillReport, RunReport};

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;font-size:13px}\
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}\
th{background:#f0f0f0}td.text{text-align:left}\
.bad{color:#b00;font-weight:bold}section{margin-top:2.5em}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:14px}\
dt{font-weight:bold}dd{margin:0}";

/// Renders the report as one HTML page.
///
/// # Errors
///
/// Returns a message when a chart cannot be drawn.
pub fn render_html(report: &DrillReport) -> Result<String, String> {
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<title>Outage drill report</title><style>");
    page.push_str(STYLE);
    page.push_str("</style></head><body>\n<h1>Outage drill report</h1>\n");
    write_header(&mut page, report);
    write_summary(&mut page, report);
    for run in &report.runs {
        write_run(&mut page, run)?;
    }
    page.push_str("</body></html>\n");
    Ok(page)
}

fn write_header(page: &mut String, report: &DrillReport) {
    let settings = &report.settings;
    let _ = writeln!(
        page,
        "<dl><dt>command</dt><dd><code>{}</code></dd>\
         <dt>machine</dt><dd>{} logical CPUs, {}; server {}</dd>\
         <dt>workload</dt><dd>{} requests/s open loop, at most {} in flight, {} sessions, \
         {:.0}% of requests also append, seed {}</dd>\
         <dt>runs</dt><dd>at least {} ms each, buckets of {} ms</dd></dl>",
        escape(&report.command),
        report.machine.cpus,
        escape(&report.machine.platform),
        escape(&report.machine.server),
        settings.rate,
        settings.concurrency,
        settings.sessions,
        settings.append_share * 100.0,
        settings.seed,
        settings.duration_ms,
        settings.bucket_ms,
    );
    let violations = report.violation_count();
    if violations > 0 {
        let _ = writeln!(
            page,
            "<p class=\"bad\">{violations} invariant violations: loads missed acknowledged labels.</p>"
        );
    }
    for skipped in &report.skipped {
        let _ = writeln!(
            page,
            "<p>Skipped <b>{}</b>: {}</p>",
            skipped.scenario,
            escape(&skipped.reason)
        );
    }
}

fn write_summary(page: &mut String, report: &DrillReport) {
    page.push_str(
        "<h2>Summary</h2><table><tr><th>scenario</th><th>policy</th><th>requests</th>\
         <th>availability %</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th>\
         <th>attempts/request</th><th>new connections</th><th>breaker transitions</th>\
         <th>recovery</th><th>denials</th></tr>\n",
    );
    for run in &report.runs {
        let latency = &run.requests.latency;
        let denials: Vec<String> = run
            .requests
            .denials
            .iter()
            .map(|(reason, count)| format!("{reason}&nbsp;{count}"))
            .collect();
        let _ = writeln!(
            page,
            "<tr><td class=\"text\"><a href=\"#{id}\">{}</a></td><td class=\"text\">{}</td>\
             <td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td>\
             <td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
            run.scenario,
            run.policy,
            run.requests.requests,
            run.requests.availability * 100.0,
            latency.p50_ms,
            latency.p99_ms,
            latency.p999_ms,
            latency.max_ms,
            run.attempts_per_request,
            run.new_connections,
            run.breaker_transitions,
            escape(&run.recovery.label()),
            denials.join(", "),
            id = run_id(run),
        );
    }
    page.push_str("</table>\n");
}

fn write_run(page: &mut String, run: &RunReport) -> Result<(), String> {
    let _ = writeln!(
        page,
        "<section id=\"{}\"><h2>{} under {}</h2><p>{}; policy: {}. \
         The x axes are seconds from the start of the run; shaded spans have a fault active.</p>",
        run_id(run),
        run.scenario,
        run.policy,
        escape(run.scenario.description()),
        escape(run.policy.description()),
    );
    let _ = writeln!(
        page,
        "<p>{} loads checked against acknowledged appends, {} violations; {} backend attempts, \
         {} retries.</p>",
        run.loads_checked,
        run.violations.len(),
        run.backend_attempts,
        run.retries,
    );
    for fault in run.faults.iter().filter(|fault| fault.error.is_some()) {
        let _ = writeln!(
            page,
            "<p class=\"bad\">Fault {:?} at {} ms failed: {}</p>",
            fault.action,
            fault.applied_at.as_millis(),
            escape(fault.error.as_deref().unwrap_or_default()),
        );
    }
    if !run.violations.is_empty() {
        page.push_str("<ul class=\"bad\">");
        for violation in &run.violations {
            let missing: Vec<&str> = violation.missing.iter().map(String::as_str).collect();
            let _ = write!(
                page,
                "<li>session {} (load at {} ms) missed {}</li>",
                escape(&violation.session),
                violation.load_started.as_millis(),
                escape(&missing.join(", ")),
            );
        }
        page.push_str("</ul>");
    }
    page.push_str(&render_run_svg(run)?);
    page.push_str("</section>\n");
    Ok(())
}

fn run_id(run: &RunReport) -> String {
    format!("{}-{}", run.scenario, run.policy)
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_summary_and_charts() {
        let page = render_html(&super::super::sample_report()).expect("renders");

        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<a href=\"#blip-full\">blip</a>"));
        assert!(page.contains("<section id=\"blip-full\">"));
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.contains("requests per 100 ms, by issue time"));
        assert!(page.contains("Skipped <b>restart</b>"));
        assert!(!page.contains("invariant violations"));
    }

    #[test]
    fn escape_replaces_markup_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

//! SVG timelines of one run, drawn with `plotters`.
//!
//! The SVG backend writes text as `<text>` elements that the browser lays
//! out, so no font is read from the system.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::super::BUCKET;
use super::super::recorder::BreakerStateValue;
use super::{RunReport, TimelineBucket};

/// Size of one run's SVG in pixels.
const SIZE: (u32, u32) = (960, 720);
/// Fill of the spans with a fault active.
const FAULT_FILL: RGBColor = RGBColor(255, 224, 204);
const SUCCESS: RGBColor = RGBColor(46, 139, 87);
const DENIAL: RGBColor = RGBColor(200, 40, 40);
const P99: RGBColor = RGBColor(30, 90, 200);
const MAX: RGBColor = RGBColor(230, 140, 20);
const ATTEMPTS: RGBColor = RGBColor(120, 60, 170);
const CONNECTIONS: RGBColor = RGBColor(110, 110, 110);

type Panel<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// One line of a panel: its name, colour and points (seconds, value).
struct Line {
    name: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// Draws the run's four timelines (requests, latency, breaker state,
/// backend work) as one SVG document.
///
/// # Errors
///
/// Returns the drawing error of `plotters` as text.
pub(crate) fn render_run_svg(run: &RunReport) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let panels = root.split_evenly((4, 1));
        let seconds = run.length_ms as f64 / 1000.0;
        let line = |name, color, pick| Line {
            name,
            color,
            points: steps(run, pick),
        };

        let requests = [
            line("successes", SUCCESS, |b| b.requests.successes as f64),
            line("denials", DENIAL, |b| b.requests.denials as f64),
        ];
        let caption = "requests per 100 ms, by issue time";
        draw_lines(&panels[0], run, caption, seconds, &requests)?;

        let latency = [
            line("p99 ms", P99, |b| b.requests.latency_p99_ms),
            line("max ms", MAX, |b| b.requests.latency_max_ms),
        ];
        let caption = "latency in ms of the requests issued in each 100 ms";
        draw_lines(&panels[1], run, caption, seconds, &latency)?;

        draw_breaker(&panels[2], run, seconds)?;

        let backend = [
            line("attempts", ATTEMPTS, |b| b.attempts as f64),
            line("new connections", CONNECTIONS, |b| b.new_connections as f64),
        ];
        let caption = "backend attempts and new connections per 100 ms";
        draw_lines(&panels[3], run, caption, seconds, &backend)?;

        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
}

/// Returns one value per bucket as a flat step over the bucket's span, in
/// seconds from the start of the run.
fn steps(run: &RunReport, pick: fn(&TimelineBucket) -> f64) -> Vec<(f64, f64)> {
    let width = BUCKET.as_secs_f64();
    run.buckets
        .iter()
        .flat_map(|bucket| {
            let start = bucket.start_ms as f64 / 1000.0;
            [(start, pick(bucket)), (start + width, pick(bucket))]
        })
        .collect()
}

fn draw_lines(
    panel: &Panel<'_>,
    run: &RunReport,
    caption: &str,
    seconds: f64,
    lines: &[Line],
) -> Result<(), String> {
    let top = lines
        .iter()
        .flat_map(|line| line.points.iter().map(|point| point.1))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(panel)
        .margin(6)
        .caption(caption, ("sans-serif", 14))
        .x_label_area_size(22)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..seconds, 0.0..top)
        .map_err(|error| error.to_string())?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|error| error.to_string())?;
    shade_faults(&mut chart, run, 0.0, top)?;
    for line in lines {
        let color = line.color;
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|error| error.to_string())?
            .label(line.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(|error| error.to_string())
}

fn draw_breaker(panel: &Panel<'_>, run: &RunReport, seconds: f64) -> Result<(), String> {
    let mut chart = ChartBuilder::on(panel)
        .margin(6)
        .caption("breaker state", ("sans-serif", 14))
        .x_label_area_size(22)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..seconds, -0.2..2.4)
        .map_err(|error| error.to_string())?;
    chart
        .configure_mesh()
        .y_labels(3)
        .y_label_formatter(&|value| state_label(*value))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|error| error.to_string())?;
    shade_faults(&mut chart, run, -0.2, 2.4)?;

    let mut points = vec![(0.0, 0.0)];
    let mut level = 0.0;
    for transition in &run.transitions {
        let at = transition.at.as_secs_f64();
        points.push((at, level));
        level = state_level(transition.to);
        points.push((at, level));
    }
    points.push((seconds, level));
    chart
        .draw_series(LineSeries::new(points, DENIAL.stroke_width(2)))
        .map_err(|error| error.to_string())?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn shade_faults(
    chart: &mut Chart<'_, '_>,
    run: &RunReport,
    bottom: f64,
    top: f64,
) -> Result<(), String> {
    let windows = run.fault_windows.iter().map(|window| {
        Rectangle::new(
            [
                (window.start.as_secs_f64(), bottom),
                (window.end.as_secs_f64(), top),
            ],
            FAULT_FILL.mix(0.6).filled(),
        )
    });
    chart
        .draw_series(windows)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// Plots closed at 0, half-open at 1 and open (forced or not) at 2, so the
/// line rises with the share of requests rejected.
fn state_level(state: BreakerStateValue) -> f64 {
    match state {
        BreakerStateValue::Closed | BreakerStateValue::Disabled | BreakerStateValue::Unknown => 0.0,
        BreakerStateValue::HalfOpen => 1.0,
        BreakerStateValue::Open | BreakerStateValue::ForcedOpen => 2.0,
    }
}

fn state_label(value: f64) -> String {
    match value.round() as i64 {
        0 => "closed".to_owned(),
        1 => "half-open".to_owned(),
        2 => "open".to_owned(),
        _ => String::new(),
    }
}

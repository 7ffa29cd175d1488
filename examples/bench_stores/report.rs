//! Helpers for figures, the memory table, the verdicts on the targets and
//! the plot of the scaling curve.

use crate::lifecycle::LifecycleResults;
use crate::scaling::{Point, OWNERS};
use crate::stores::{Kind, KINDS};
use crate::IN_FLIGHT;
use plotters::prelude::*;
use pmcp_tasks::domain::TaskRecord;
use pmcp_tasks_examples::bench::thousands;
use std::time::Duration;

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 2.0 * 86_400.0 {
        format!("{:.1} days", s / 86_400.0)
    } else if s >= 2.0 * 3600.0 {
        format!("{:.1} hours", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.0} minutes", s / 60.0)
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

pub(crate) fn memory(points: &[Point]) {
    if points.is_empty() {
        return;
    }
    println!("\n## Memory per live task (bytes the fill allocated, net, ÷ tasks)\n");
    println!(
        "Bytes asked of the allocator, not counting its own overhead. A `TaskRecord` (ours) \
         is {} bytes before its heap parts.\n",
        std::mem::size_of::<TaskRecord>()
    );
    println!("| store | live tasks | 1 owner | 1 000 owners |");
    println!("| --- | --- | --- | --- |");
    for kind in KINDS {
        let mine: Vec<&Point> = points.iter().filter(|p| p.kind == kind).collect();
        let Some(largest) = mine.iter().map(|p| p.live).max() else {
            continue;
        };
        let at = |owners: usize| {
            mine.iter()
                .find(|p| p.live == largest && p.owners == owners)
                .map_or("—".to_owned(), |p| thousands(p.bytes))
        };
        println!(
            "| {} | {} | {} | {} |",
            kind.name(),
            thousands(largest as f64),
            at(1),
            at(1_000)
        );
    }
}

pub(crate) fn targets(lifecycle: &LifecycleResults, points: &[Point]) {
    println!("\n## Targets\n");
    let find = |n: usize, f: usize, kind: Kind| {
        lifecycle
            .iter()
            .find(|(a, b, k, _)| *a == n && *b == f && *k == kind)
            .map(|r| r.3)
    };
    let mut sizes: Vec<usize> = lifecycle.iter().map(|r| r.0).collect();
    sizes.dedup();
    for (other, want) in [(Kind::Pmcp, 2.0), (Kind::V020, 3.0)] {
        for &n in &sizes {
            for f in [1, IN_FLIGHT] {
                if let (Some(ours), Some(theirs)) = (find(n, f, Kind::Ours), find(n, f, other)) {
                    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
                    println!(
                        "- lifecycle throughput ≥ {want}× {} ({} tasks per round, {f} in flight): \
                         {ratio:.2}× — {}",
                        other.short(),
                        thousands(n as f64),
                        if ratio >= want { "met" } else { "MISSED" }
                    );
                }
            }
        }
    }
    for owners in OWNERS {
        let at = |live: usize| {
            points
                .iter()
                .find(|p| p.kind == Kind::Ours && p.live == live && p.owners == owners)
        };
        let lo = points
            .iter()
            .filter(|p| p.kind == Kind::Ours)
            .map(|p| p.live)
            .min();
        let hi = points
            .iter()
            .filter(|p| p.kind == Kind::Ours)
            .map(|p| p.live)
            .max();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if let (Some(a), Some(b)) = (at(lo), at(hi)) {
                let across = b.create.as_secs_f64() / a.create.as_secs_f64();
                let Some(ratio) = b.vs_base else { continue };
                println!(
                    "- our create at {} live tasks within 1.2× of its cost at {} ({} owner{}): \
                     {ratio:.2}× in the same rounds ({across:.2}× between the two rows, \
                     measured at different times) — {}",
                    thousands(hi as f64),
                    thousands(lo as f64),
                    thousands(owners as f64),
                    if owners == 1 { "" } else { "s" },
                    if ratio <= 1.2 { "met" } else { "MISSED" }
                );
            }
        }
    }
}

pub(crate) fn plot(
    path: &std::path::Path,
    points: &[Point],
) -> Result<(), Box<dyn std::error::Error>> {
    if points.is_empty() {
        return Err("nothing measured".into());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let pair = |p: &Point| us(p.create + p.get);
    let x_max = points.iter().map(|p| p.live).max().unwrap_or(1) as f64;
    let x_min = points.iter().map(|p| p.live).min().unwrap_or(1) as f64;
    let y_max = points.iter().map(pair).fold(f64::MIN, f64::max);
    let y_min = points.iter().map(pair).fold(f64::MAX, f64::min);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "One create + one get with N live tasks, µs (median; log–log)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x_min / 1.5..x_max * 1.5).log_scale(),
            (y_min / 2.0..y_max * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("live tasks")
        .y_desc("µs per create + get")
        .x_label_formatter(&|v| thousands(*v))
        .y_label_formatter(&|v| {
            if *v >= 1.0 {
                thousands(*v)
            } else {
                format!("{v}")
            }
        })
        .draw()?;
    let colours = [BLUE, RED, RGBColor(0, 140, 0)];
    for (k, kind) in KINDS.iter().enumerate() {
        for owners in OWNERS {
            let mut series: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.kind == *kind && p.owners == owners)
                .map(|p| (p.live as f64, pair(p)))
                .collect();
            if series.is_empty() {
                continue;
            }
            series.sort_by(|a, b| a.0.total_cmp(&b.0));
            let colour = colours[k];
            let label = format!(
                "{}, {} owner{}",
                kind.short(),
                thousands(owners as f64),
                if owners == 1 { "" } else { "s" }
            );
            if owners == 1 {
                chart
                    .draw_series(LineSeries::new(series.clone(), colour.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                chart.draw_series(series.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
            } else {
                chart
                    .draw_series(DashedLineSeries::new(
                        series.clone(),
                        6,
                        4,
                        colour.stroke_width(2),
                    ))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(1))
                    });
                chart.draw_series(
                    series
                        .iter()
                        .map(|&p| TriangleMarker::new(p, 5, colour.filled())),
                )?;
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

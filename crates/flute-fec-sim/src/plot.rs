//! SVG and PNG plots: failure probability against reception overhead, and against the loss
//! rate.
//!
//! Text is drawn by `plotters`' pure-Rust `ab_glyph` path with the DejaVu Sans font embedded
//! in the binary (crate `dejavu`), so PNGs have their labels on any machine, with or without
//! system fonts; SVGs name the font family and leave the drawing to the viewer.
//!
//! A failure probability of 0 has no place on a log axis: such a point is drawn as a
//! triangle at the upper bound of its confidence interval ("no failure seen; at most this").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::SimError;
use crate::sim::CaseResult;

const SIZE: (u32, u32) = (1000, 650);
const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a fixed, valid TTF; a failure would only leave PNG text out.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Ten well-separated colours (the "tab10" set), then plotters' 99-colour palette.
fn color_of(i: usize) -> RGBAColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    match TAB10.get(i) {
        Some(&(r, g, b)) => RGBColor(r, g, b).to_rgba(),
        None => Palette99::pick(i).to_rgba(),
    }
}

/// One point of a series: x, p, lower and upper bound.
#[derive(Debug, Clone, Copy)]
struct Pt {
    x: f64,
    p: f64,
    lo: f64,
    hi: f64,
}

#[derive(Debug, Clone)]
struct Series {
    label: String,
    points: Vec<Pt>,
}

/// What differs between the cases, for legend labels, and what they share, for the title.
struct Labels {
    varying: Vec<&'static str>,
    common: String,
}

fn dims(r: &CaseResult) -> [(&'static str, String); 7] {
    let row = &r.row;
    [
        ("scheme", row.scheme.clone()),
        ("K", format!("K={}", row.k)),
        ("T", format!("T={}", row.symbol_size)),
        ("repair", format!("repair={}", row.repair)),
        ("blocks", format!("blocks={}", row.blocks)),
        ("order", format!("order={}", row.order.name())),
        ("loss", format!("loss={}", row.loss)),
    ]
}

fn labels(results: &[&CaseResult]) -> Labels {
    let all: Vec<[(&str, String); 7]> = results.iter().map(|r| dims(r)).collect();
    let mut varying = Vec::new();
    let mut common = Vec::new();
    if let Some(first) = all.first() {
        for (i, (name, value)) in first.iter().enumerate() {
            if all.iter().any(|d| d[i].1 != *value) || *name == "scheme" {
                varying.push(*name);
            } else {
                common.push(value.clone());
            }
        }
        let row = &results[0].row;
        common.push(format!(
            "{} trials, seed {}, {}% CI",
            row.trials,
            row.seed,
            row.confidence * 100.0
        ));
    }
    Labels {
        varying,
        common: common.join(", "),
    }
}

fn label_of(r: &CaseResult, varying: &[&str], skip: &str) -> String {
    dims(r)
        .into_iter()
        .filter(|(n, _)| varying.contains(n) && *n != skip)
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `fail_vs_overhead.{svg,png}` and `fail_vs_loss.{svg,png}` into `dir`; returns
/// the files written.
pub fn write_plots(
    dir: &Path,
    results: &[CaseResult],
    png: bool,
) -> Result<Vec<PathBuf>, SimError> {
    register_font();
    let all: Vec<&CaseResult> = results.iter().collect();
    let lab = labels(&all);
    let mut written = Vec::new();

    // Failure probability with exactly K + j symbols received.
    let overhead: Vec<Series> = all
        .iter()
        .filter(|r| !r.curve.is_empty())
        .map(|r| Series {
            label: label_of(r, &lab.varying, ""),
            points: r
                .curve
                .iter()
                .map(|c| Pt {
                    x: f64::from(c.overhead),
                    p: c.p_fail,
                    lo: c.p_fail_lo,
                    hi: c.p_fail_hi,
                })
                .collect(),
        })
        .collect();
    let title = "Decoding failure probability vs reception overhead";
    let xdesc = "symbols received beyond K";
    for (ext, is_png) in [("svg", false), ("png", true)] {
        if is_png && !png {
            continue;
        }
        let path = dir.join(format!("fail_vs_overhead.{ext}"));
        draw_file(&path, is_png, title, &lab.common, xdesc, &overhead, true)?;
        written.push(path);
    }

    // Block failure probability against the loss rate: one series per case without its
    // loss model (and per loss family, so iid and Gilbert-Elliott points are not joined).
    let mut groups: BTreeMap<String, Vec<Pt>> = BTreeMap::new();
    for r in &all {
        let family = r.row.loss.split(':').next().unwrap_or("");
        let family = if family == "none" { "iid" } else { family };
        let mut key = label_of(r, &lab.varying, "loss");
        if lab.varying.contains(&"loss") {
            key = format!("{key} ({family})");
        }
        groups.entry(key).or_default().push(Pt {
            x: r.row.loss_rate,
            p: r.fail.p,
            lo: r.fail.lo,
            hi: r.fail.hi,
        });
    }
    let by_loss: Vec<Series> = groups
        .into_iter()
        .map(|(label, mut points)| {
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series { label, points }
        })
        .collect();
    let title = "Block decoding failure probability vs loss rate";
    let xdesc = "mean packet loss rate";
    for (ext, is_png) in [("svg", false), ("png", true)] {
        if is_png && !png {
            continue;
        }
        let path = dir.join(format!("fail_vs_loss.{ext}"));
        draw_file(&path, is_png, title, &lab.common, xdesc, &by_loss, false)?;
        written.push(path);
    }
    Ok(written)
}

fn draw_file(
    path: &Path,
    png: bool,
    title: &str,
    subtitle: &str,
    xdesc: &str,
    series: &[Series],
    integer_x: bool,
) -> Result<(), SimError> {
    let err = |reason: String| SimError::Plot {
        path: path.to_path_buf(),
        reason,
    };
    if png {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        draw(&root, title, subtitle, xdesc, series, integer_x).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))
    } else {
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        draw(&root, title, subtitle, xdesc, series, integer_x).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    xdesc: &str,
    series: &[Series],
    integer_x: bool,
) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (top, body) = root.split_vertically(78);
    top.draw(&Text::new(title, (20, 8), (FONT, 24).into_font()))
        .map_err(e)?;
    top.draw(&Text::new(subtitle, (20, 38), (FONT, 14).into_font()))
        .map_err(e)?;
    top.draw(&Text::new(
        "bars: confidence interval; triangle: no failure seen, drawn at the upper bound",
        (20, 58),
        (FONT, 12).into_font().color(&RGBColor(90, 90, 90)),
    ))
    .map_err(e)?;

    let pts = series.iter().flat_map(|s| s.points.iter());
    let xmax = pts.clone().map(|p| p.x).fold(0.0f64, f64::max);
    let (xmin, xmax) = if integer_x {
        (-0.5, xmax.max(2.0) + 0.5)
    } else {
        (0.0, (xmax * 1.1).max(0.01))
    };
    // Lowest value to show: half the smallest positive p or bound, and at least three
    // decades.
    let ymin = pts
        .clone()
        .flat_map(|p| [p.p, p.lo, p.hi])
        .filter(|&v| v > 0.0)
        .fold(1e-3f64, f64::min);
    let ymin = 10f64.powf((ymin / 2.0).max(1e-9).log10().floor());
    let mut chart = ChartBuilder::on(&body)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(xmin..xmax, (ymin..1.0f64).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(xdesc)
        .y_desc("failure probability")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_labels(if integer_x {
            ((xmax - xmin) as usize + 1).min(21)
        } else {
            11
        })
        .x_label_formatter(&|v| {
            if !integer_x {
                format!("{v:.2}")
            } else if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(e)?;
    for (i, s) in series.iter().enumerate() {
        let color = color_of(i);
        let positive: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.p > 0.0)
            .map(|p| (p.x, p.p))
            .collect();
        chart
            .draw_series(LineSeries::new(positive.clone(), color.stroke_width(2)))
            .map_err(e)?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                positive
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
            )
            .map_err(e)?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .filter(|p| p.p > 0.0)
                    .map(|p| ErrorBar::new_vertical(p.x, p.lo.max(ymin), p.p, p.hi, color, 6)),
            )
            .map_err(e)?;
        // No failure seen: a triangle at the upper confidence bound.
        chart
            .draw_series(
                s.points
                    .iter()
                    .filter(|p| p.p == 0.0)
                    .map(|p| TriangleMarker::new((p.x, p.hi), 6, color.stroke_width(1))),
            )
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    Ok(())
}

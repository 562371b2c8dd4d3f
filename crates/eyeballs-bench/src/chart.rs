//! The chart next to the time-to-connect table: one panel per scenario, a bar per contender
//! (its median), a whisker to its p90, the ideal as a dashed line. Drawn with plotters from
//! the measured results; labels use a TrueType font from the system (DejaVu Sans, installed
//! by install-deps.sh).

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;

use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::contenders::Contender;
use crate::report::{fmt_ms, Results};

/// The font the labels are drawn with.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

const WIDTH: u32 = 1800;
const TITLE_HEIGHT: u32 = 70;
const BAR_HEIGHT: u32 = 24;
const PANEL_EXTRA: u32 = 90;

const OURS: RGBColor = RGBColor(31, 119, 180);
const OTHERS: RGBColor = RGBColor(140, 140, 140);
const FAILED: RGBColor = RGBColor(214, 39, 40);

/// A contender's label on the chart: its name without Markdown, and its attempt delay
/// without the remark in parentheses.
pub fn chart_name(c: &Contender) -> String {
    let delay = c.delay.split(" (").next().unwrap_or(c.delay);
    format!("{} · {delay}", c.label.replace('`', ""))
}

/// Text left-aligned and vertically centred on its position.
fn label_font(size: u32, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .color(&color)
        .pos(Pos::new(HPos::Left, VPos::Center))
}

/// Registers [`FONT`] as plotters' `sans-serif` (once per process).
fn register_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = std::fs::read(FONT).map_err(|e| {
                format!("reading {FONT} (run crates/eyeballs-bench/install-deps.sh): {e}")
            })?;
            // plotters keeps fonts for the life of the process: leaking one file is the
            // price of its `&'static` API.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{FONT} is not a usable font"))
        })
        .clone()
}

/// Draws the chart of `results` into a PNG at `path`.
pub fn draw(results: &Results, path: &Path) -> Result<(), String> {
    register_font()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let n = results.contenders.len() as u32;
    let panel_height = n * BAR_HEIGHT + PANEL_EXTRA;
    let panel_rows = (results.scenarios.len() as u32).div_ceil(2).max(1);
    let height = TITLE_HEIGHT + panel_rows * panel_height;
    let mut pixels = vec![0u8; WIDTH as usize * height as usize * 3];
    render(results, &mut pixels, height)?;
    write_png(path, &pixels, WIDTH, height)
}

/// Draws the chart into an RGB buffer `WIDTH` × `height`.
fn render(results: &Results, pixels: &mut [u8], height: u32) -> Result<(), String> {
    let n = results.contenders.len() as u32;
    let panel_rows = (results.scenarios.len() as u32).div_ceil(2).max(1);
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, height)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing the chart: {e}");
    root.fill(&WHITE).map_err(err)?;
    let (title, body) = root.split_vertically(TITLE_HEIGHT);
    title
        .draw_text(
            &format!(
                "Time to connect per scenario: median (bar), p90 (whisker), ideal (dashed) — {}{}",
                results.machine.date,
                if results.quick { " — quick run" } else { "" }
            ),
            &("sans-serif", 26).into_font().color(&BLACK),
            (20, 12),
        )
        .map_err(err)?;
    title
        .draw_text(
            &format!(
                "{} runs each; blue: eyeballs; grey: the alternatives; red ✗: did not do what \
                 the scenario calls for (connect within the 5 s cap; or, when nothing works, \
                 fail clearly at the 3 s timeout)",
                results.runs
            ),
            &("sans-serif", 17).into_font().color(&RGBColor(80, 80, 80)),
            (20, 44),
        )
        .map_err(err)?;
    let panels = body.split_evenly((panel_rows as usize, 2));
    for (panel, sr) in panels.iter().zip(&results.scenarios) {
        let ideal = sr.ideal.as_ref().ok().map(|i| i.total.as_secs_f64() * 1e3);
        let mut x_max = ideal.unwrap_or(1.0);
        for s in sr.cells.iter().flatten() {
            x_max = x_max.max(s.p90.as_secs_f64() * 1e3);
        }
        let x_max = (x_max * 1.18).max(1.0);
        let caption = match &sr.ideal {
            Ok(i) => format!("{} — ideal {} ms", sr.scenario.name, fmt_ms(i.total)),
            Err(_) => sr.scenario.name.to_owned(),
        };
        let labels: Vec<String> = results.contenders.iter().map(chart_name).collect();
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(330)
            .build_cartesian_2d(0f64..x_max, (0..n.saturating_sub(1)).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            // Only the labelled grid lines show: fewer colours, a much smaller PNG.
            .light_line_style(WHITE)
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < n => labels
                    .get((n - 1 - *i) as usize)
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_style(("sans-serif", 14))
            .x_label_style(("sans-serif", 13))
            .x_label_formatter(&|v| {
                if x_max >= 20.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            })
            .x_desc("ms")
            .draw()
            .map_err(err)?;
        for (i, (c, cell)) in results.contenders.iter().zip(&sr.cells).enumerate() {
            let y = n - 1 - i as u32;
            let Ok(s) = cell else {
                chart
                    .draw_series(std::iter::once(Text::new(
                        "not measured",
                        (x_max * 0.01, SegmentValue::CenterOf(y)),
                        label_font(14, RGBColor(120, 120, 120)),
                    )))
                    .map_err(err)?;
                continue;
            };
            let median = s.median.as_secs_f64() * 1e3;
            let p90 = s.p90.as_secs_f64() * 1e3;
            let color = if !sr.as_expected(s) {
                FAILED
            } else if c.ours {
                OURS
            } else {
                OTHERS
            };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (median.min(x_max), SegmentValue::Exact(y + 1)),
                ],
                color.filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (median.min(x_max), SegmentValue::CenterOf(y)),
                        (p90.min(x_max), SegmentValue::CenterOf(y)),
                    ],
                    BLACK.stroke_width(2),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    if sr.as_expected(s) {
                        fmt_ms(s.median)
                    } else {
                        format!("{} ✗", fmt_ms(s.median))
                    },
                    (p90.min(x_max) + x_max * 0.01, SegmentValue::CenterOf(y)),
                    label_font(13, BLACK),
                )))
                .map_err(err)?;
        }
        if let Some(ideal) = ideal {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![
                        (ideal, SegmentValue::Exact(0)),
                        (ideal, SegmentValue::Exact(n)),
                    ],
                    6,
                    4,
                    BLACK.stroke_width(2),
                )))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Writes an RGB buffer as a PNG, compressed hard: the file is committed.
fn write_png(path: &Path, pixels: &[u8], width: u32, height: u32) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("writing {}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = encoder.write_header().map_err(|e| err(&e))?;
    writer.write_image_data(pixels).map_err(|e| err(&e))?;
    writer.finish().map_err(|e| err(&e))
}

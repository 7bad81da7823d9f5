//! Evaluation charts a person looks at, drawn as PNG files.
//!
//! Text is set in DejaVu Sans compiled into the binary, so a chart renders the same on a machine
//! with no fonts installed, and the same inputs always give a byte-identical file: DVC compares
//! stage outputs by hash, so a chart must not change unless its data did.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

/// The family every text style below asks for; [`ensure_font`] maps it to the embedded font.
const FONT: &str = "sans-serif";
const SCATTER_SIZE: (u32, u32) = (800, 600);
const MATRIX_SIZE: (u32, u32) = (700, 600);
const TITLE_SIZE: u32 = 24;
const AXIS_DESC_SIZE: u32 = 18;
const TICK_SIZE: u32 = 16;

/// Why a chart was not written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: the input is empty")]
    Empty,
    #[error("{actual} actual values but {predicted} predicted values")]
    LengthMismatch { actual: usize, predicted: usize },
    #[error("{series} value #{index} is {value}, not a finite number")]
    NonFinite {
        series: &'static str,
        index: usize,
        value: f64,
    },
    #[error("confusion matrix has {rows} rows for {classes} classes")]
    NotSquare { classes: usize, rows: usize },
    #[error("confusion matrix row {row} has {len} cells for {classes} classes")]
    RaggedRow {
        row: usize,
        len: usize,
        classes: usize,
    },
    #[error("{0} classes are too many to draw")]
    TooManyClasses(usize),
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("could not draw the chart {}", path.display())]
    Draw {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not write the chart {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Scatter of predicted vs actual values on the test split, with the y = x line.
///
/// `axis_label` names the quantity with its unit, e.g. `"price (USD)"`; the axes read
/// "Actual price (USD)" and "Predicted price (USD)". Ticks are written compactly (`200k`,
/// `1.5M`), with a `$` when the label names US dollars. `title` should carry the scores
/// (R², RMSE) so the file stands on its own. Both axes share one range, so the y = x line is the
/// diagonal and distance from it reads the same in both directions.
pub fn predicted_vs_actual(
    path: &Path,
    title: &str,
    axis_label: &str,
    actual: &[f64],
    predicted: &[f64],
) -> Result<(), PlotError> {
    if actual.is_empty() {
        return Err(PlotError::Empty);
    }
    if actual.len() != predicted.len() {
        return Err(PlotError::LengthMismatch {
            actual: actual.len(),
            predicted: predicted.len(),
        });
    }
    check_finite("actual", actual)?;
    check_finite("predicted", predicted)?;
    let (lo, hi) = shared_range(actual.iter().chain(predicted).copied());
    let dollars = axis_label.contains("USD") || axis_label.contains('$');
    let tick = |v: &f64| format_tick(*v, dollars);

    render(path, SCATTER_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, TITLE_SIZE))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(95)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc(format!("Actual {axis_label}"))
            .y_desc(format!("Predicted {axis_label}"))
            .label_style((FONT, TICK_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .draw()?;

        let point = BLUE.mix(0.45).filled();
        chart
            .draw_series(
                actual
                    .iter()
                    .zip(predicted)
                    .map(|(&a, &p)| Circle::new((a, p), 3, point)),
            )?
            .label("test rows")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, point));
        // Drawn after the points so the reference stays visible through dense clusters.
        let diagonal = RED.stroke_width(2);
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], diagonal))?
            .label("y = x (perfect prediction)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], diagonal));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, TICK_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
        Ok(())
    })
}

/// Confusion matrix heatmap: rows are the actual class, columns the predicted one.
///
/// `counts[i][j]` is how many test rows of class `classes[i]` were predicted as `classes[j]`.
/// Each cell shows its count; the shade scales with the largest count so the diagonal stands out.
pub fn confusion_matrix(
    path: &Path,
    title: &str,
    classes: &[String],
    counts: &[Vec<usize>],
) -> Result<(), PlotError> {
    let n = classes.len();
    if n == 0 {
        return Err(PlotError::Empty);
    }
    if counts.len() != n {
        return Err(PlotError::NotSquare {
            classes: n,
            rows: counts.len(),
        });
    }
    if let Some((row, cells)) = counts.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(PlotError::RaggedRow {
            row,
            len: cells.len(),
            classes: n,
        });
    }
    let max = counts.iter().flatten().copied().max().unwrap_or(0);
    let side = i32::try_from(n).map_err(|_| PlotError::TooManyClasses(n))?;
    // Row 0 is drawn at the top, as in a printed table, so the y axis counts downwards.
    let row_y = |i: usize| side - 1 - i as i32;
    let name = |k: i32| {
        usize::try_from(k)
            .ok()
            .and_then(|k| classes.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let y_label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(k) => name(side - 1 - k),
        _ => String::new(),
    };

    render(path, MATRIX_SIZE, |root| {
        let tick_style = TextStyle::from((FONT, TICK_SIZE + 1).into_font());
        let mut widest = 0;
        for class in classes {
            widest = widest.max(root.estimate_text_size(class, &tick_style)?.0);
        }
        const MARGIN: u32 = 20;
        let y_area = widest + 50;
        // Names wider than their column would run into each other, so they turn to read upwards.
        let column_px = MATRIX_SIZE.0.saturating_sub(2 * MARGIN + y_area) / n as u32;
        let turn_x_labels = widest + 8 > column_px;
        let x_area = if turn_x_labels { widest + 60 } else { 60 };
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, TITLE_SIZE))
            .margin(MARGIN)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            // A discrete i32 range includes its end, so `0..side - 1` holds exactly `side` segments.
            .build_cartesian_2d(
                (0..side - 1).into_segmented(),
                (0..side - 1).into_segmented(),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(k) if !turn_x_labels => name(*k),
                _ => String::new(),
            })
            .y_label_formatter(&y_label)
            .label_style(tick_style.clone())
            .x_desc("Predicted class")
            .y_desc("Actual class")
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .draw()?;

        if turn_x_labels {
            // The mesh clips turned labels to their unturned height, so they are drawn here,
            // ending just under their column and reading upwards.
            let turned = tick_style
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center));
            for k in 0..side {
                let (x, y) =
                    chart.backend_coord(&(SegmentValue::CenterOf(k), SegmentValue::Exact(0)));
                root.draw(&Text::new(name(k), (x, y + 8), turned.clone()))?;
            }
        }

        let plot_px = chart.plotting_area().dim_in_pixel();
        let cell_px = plot_px.0.min(plot_px.1) / n as u32;
        let count_size = (cell_px / 3).clamp(11, 32);
        for (i, row) in counts.iter().enumerate() {
            let y = row_y(i);
            for (j, &count) in row.iter().enumerate() {
                let x = j as i32;
                let shade = if max == 0 {
                    0.0
                } else {
                    count as f64 / max as f64
                };
                chart.draw_series([Rectangle::new(
                    [
                        (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                    ],
                    blues(shade).filled(),
                )])?;
                let ink = if shade > 0.5 { WHITE } else { BLACK };
                let style = (FONT, count_size)
                    .into_font()
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series([Text::new(
                    count.to_string(),
                    (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                    style,
                )])?;
            }
        }
        // Thin white lines keep neighbouring cells of similar shade apart.
        let line = WHITE.stroke_width(2);
        for k in 1..side {
            let (at, lo, hi) = (
                SegmentValue::Exact(k),
                SegmentValue::Exact(0),
                SegmentValue::Exact(side),
            );
            chart.draw_series([
                PathElement::new([(at.clone(), lo.clone()), (at.clone(), hi.clone())], line),
                PathElement::new([(lo, at.clone()), (hi, at)], line),
            ])?;
        }
        Ok(())
    })
}

/// A sequential white-to-blue scale (the ends of matplotlib's "Blues"), `t` in 0..=1.
fn blues(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix =
        |from: u8, to: u8| (f64::from(from) + (f64::from(to) - f64::from(from)) * t).round() as u8;
    RGBColor(mix(247, 8), mix(251, 48), mix(255, 107))
}

fn check_finite(series: &'static str, values: &[f64]) -> Result<(), PlotError> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(PlotError::NonFinite {
            series,
            index,
            value,
        }),
        None => Ok(()),
    }
}

/// The range both axes of the scatter share: all values, plus a margin so no point sits on the
/// frame. A single distinct value still gets a non-empty range.
fn shared_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let span = max - min;
    let pad = if span > 0.0 {
        span * 0.05
    } else {
        (min.abs() * 0.05).max(1.0)
    };
    (min - pad, max + pad)
}

/// Writes `value` compactly, e.g. `$187.5k`, `-$20k`, `$1.2M`, `0.25`.
fn format_tick(value: f64, dollars: bool) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e6 {
        (magnitude / 1e6, "M")
    } else if magnitude >= 1e3 {
        (magnitude / 1e3, "k")
    } else {
        (magnitude, "")
    };
    let digits = format!("{scaled:.3}");
    let digits = digits.trim_end_matches('0').trim_end_matches('.');
    // Tick positions come out of float arithmetic; a "-0" on the axis would only confuse.
    let sign = if value < 0.0 && digits != "0" {
        "-"
    } else {
        ""
    };
    let currency = if dollars { "$" } else { "" };
    format!("{sign}{currency}{digits}{suffix}")
}

/// Registers the embedded font once per process; plotters looks fonts up by family name.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // Only the regular face: plotters falls back to it for any other style, and each face
    // embedded adds its whole file to the binary.
    let ok = *REGISTERED
        .get_or_init(|| register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// Draws on a white canvas of `size` and moves the PNG to `path` only once it is complete, so a
/// failure leaves any previous chart in place rather than a truncated file.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Canvas<'_>) -> DrawResult,
) -> Result<(), PlotError> {
    ensure_font()?;
    let io_error = |source| PlotError::Io {
        path: path.to_owned(),
        source,
    };
    let draw_error = |source: DrawingAreaErrorKind<_>| PlotError::Draw {
        path: path.to_owned(),
        source: Box::new(source),
    };
    // Same folder, so the final rename cannot cross file systems; the encoder picks the format
    // from the extension, hence the `.png` suffix. `File::create_new` keeps the usual umask
    // permissions, which tempfile's own files (0600) would not.
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".plot-")
        .suffix(".tmp.png")
        .make_in(dir, |p| File::create_new(p))
        .map_err(io_error)?;
    {
        let root = BitMapBackend::new(temp.path(), size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    temp.persist(path).map_err(|e| io_error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

    /// Width and height from the IHDR chunk, which the PNG format requires to come first.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], &PNG_SIGNATURE, "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR", "first chunk is not IHDR");
        let be = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        (be(16), be(20))
    }

    /// A deterministic housing-like sample: prices from 5k to 800k, predictions off by a
    /// pattern of errors, including a negative prediction as a linear model can make.
    fn housing_sample() -> (Vec<f64>, Vec<f64>) {
        // A fixed linear congruential generator keeps the sample identical on every run.
        let mut state: u64 = 42;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut actual = Vec::new();
        let mut predicted = Vec::new();
        for _ in 0..300 {
            let price = 5_000.0 + 795_000.0 * uniform().powi(2);
            let noise = (uniform() + uniform() + uniform() - 1.5) * 0.25 * (price + 50_000.0);
            actual.push(price);
            predicted.push(0.92 * price + 12_000.0 + noise);
        }
        (actual, predicted)
    }

    fn iris_sample() -> (Vec<String>, Vec<Vec<usize>>) {
        let classes = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
            .map(String::from)
            .to_vec();
        (classes, vec![vec![10, 0, 0], vec![0, 9, 1], vec![0, 2, 8]])
    }

    fn scatter(path: &Path) -> Result<(), PlotError> {
        let (actual, predicted) = housing_sample();
        predicted_vs_actual(
            path,
            "Housing: predicted vs actual (R² = 0.873, RMSE = $48.2k)",
            "price (USD)",
            &actual,
            &predicted,
        )
    }

    fn matrix(path: &Path) -> Result<(), PlotError> {
        let (classes, counts) = iris_sample();
        confusion_matrix(
            path,
            "Iris: confusion matrix (accuracy 0.900)",
            &classes,
            &counts,
        )
    }

    fn assert_renders(draw: fn(&Path) -> Result<(), PlotError>, size: (u32, u32)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, second) = (dir.path().join("a.png"), dir.path().join("b.png"));
        draw(&first).expect("first render");
        draw(&second).expect("second render");
        let a = std::fs::read(&first).expect("read first");
        let b = std::fs::read(&second).expect("read second");
        assert_eq!(png_size(&a), size);
        assert!(a == b, "two renders of the same input differ");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "temporary files left behind: {left:?}");
    }

    #[test]
    fn scatter_is_a_deterministic_png_of_the_right_size() {
        assert_renders(scatter, SCATTER_SIZE);
    }

    #[test]
    fn confusion_matrix_is_a_deterministic_png_of_the_right_size() {
        assert_renders(matrix, MATRIX_SIZE);
    }

    #[test]
    fn scatter_rejects_bad_input() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.png");
        let plot = |a: &[f64], p: &[f64]| predicted_vs_actual(&path, "t", "y", a, p);
        assert!(matches!(plot(&[], &[]), Err(PlotError::Empty)));
        assert!(matches!(
            plot(&[1.0, 2.0], &[1.0]),
            Err(PlotError::LengthMismatch {
                actual: 2,
                predicted: 1
            })
        ));
        assert!(matches!(
            plot(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(PlotError::NonFinite {
                series: "actual",
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            plot(&[1.0], &[f64::INFINITY]),
            Err(PlotError::NonFinite {
                series: "predicted",
                index: 0,
                ..
            })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn confusion_matrix_rejects_bad_input() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.png");
        let two = ["a", "b"].map(String::from).to_vec();
        let plot = |c: &[String], m: &[Vec<usize>]| confusion_matrix(&path, "t", c, m);
        assert!(matches!(plot(&[], &[]), Err(PlotError::Empty)));
        assert!(matches!(
            plot(&two, &[vec![1, 2]]),
            Err(PlotError::NotSquare {
                classes: 2,
                rows: 1
            })
        ));
        assert!(matches!(
            plot(&two, &[vec![1, 2], vec![3]]),
            Err(PlotError::RaggedRow {
                row: 1,
                len: 1,
                classes: 2
            })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn a_missing_folder_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent").join("chart.png");
        let err = matrix(&path).expect_err("folder does not exist");
        assert!(matches!(&err, PlotError::Io { path: p, .. } if *p == path));
        assert!(err.to_string().contains("chart.png"));
    }

    #[cfg(unix)]
    #[test]
    fn the_chart_gets_ordinary_file_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chart.png");
        matrix(&path).expect("render");
        let plain = dir.path().join("plain");
        File::create(&plain).expect("plain file");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode();
        // Same as any file the process creates, not the 0600 of a private temp file.
        assert_eq!(mode(&path), mode(&plain));
    }

    #[test]
    fn a_failed_render_keeps_the_previous_chart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chart.png");
        std::fs::write(&path, b"previous").expect("seed file");
        let err = render(&path, (10, 10), |_| Err(DrawingAreaErrorKind::LayoutError));
        assert!(matches!(err, Err(PlotError::Draw { .. })));
        assert_eq!(std::fs::read(&path).expect("read"), b"previous");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn ticks_are_compact() {
        assert_eq!(format_tick(200_000.0, true), "$200k");
        assert_eq!(format_tick(187_500.0, true), "$187.5k");
        assert_eq!(format_tick(1_250_000.0, true), "$1.25M");
        assert_eq!(format_tick(-20_000.0, true), "-$20k");
        assert_eq!(format_tick(-1e-12, true), "$0");
        assert_eq!(format_tick(0.25, false), "0.25");
    }

    #[test]
    fn many_long_class_names_still_render() {
        // Names wider than their column take the turned-label path.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wide.png");
        let classes: Vec<String> = (0..8).map(|i| format!("class-number-{i}")).collect();
        let counts: Vec<Vec<usize>> = (0..8)
            .map(|i| {
                (0..8)
                    .map(|j| if i == j { 120 } else { i * j % 7 })
                    .collect()
            })
            .collect();
        confusion_matrix(&path, "Eight classes", &classes, &counts).expect("render");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(png_size(&bytes), MATRIX_SIZE);
    }

    #[test]
    fn a_single_point_still_gets_a_range() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("one.png");
        predicted_vs_actual(&path, "One row", "price (USD)", &[250_000.0], &[250_000.0])
            .expect("render");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(png_size(&bytes), SCATTER_SIZE);
    }

    #[test]
    fn an_all_zero_matrix_renders() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("zero.png");
        let classes = vec!["only".to_string()];
        confusion_matrix(&path, "Empty split", &classes, &[vec![0]]).expect("render");
        assert!(path.exists());
    }
}

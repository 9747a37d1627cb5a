//! `chart.svg`: one metric month by month, this period's bars beside the compared period's.

use plotters::prelude::*;

use super::model::ChartData;

fn metric_label(metric: &str) -> &'static str {
    match metric {
        "households_joined" => "Hộ tham gia mới",
        "households_total" => "Tổng số hộ",
        "products_listed" => "Sản phẩm đăng mới",
        "products_total" => "Tổng số sản phẩm",
        "orders" => "Số đơn hàng",
        "transaction_value_vnd" => "Giá trị giao dịch (đồng)",
        "volume_kg" => "Sản lượng (kg)",
        "export_volume_kg" => "Sản lượng xuất khẩu (kg)",
        "shipping_fees_vnd" => "Phí vận chuyển (đồng)",
        "commission_vnd" => "Hoa hồng nền tảng (đồng)",
        "payouts_vnd" => "Đã chi trả cho hộ (đồng)",
        _ => "Lượt xem sản phẩm",
    }
}

/// 1234567 → "1.234.567", as Vietnamese write numbers.
fn grouped_digits(value: f64) -> String {
    let n = value.round() as i128;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Renders the chart to an SVG document.
pub fn render(data: &ChartData) -> Result<String, String> {
    let months = &data.months;
    let clean = |v: &f64| if v.is_finite() { *v } else { 0.0 };
    let current: Vec<f64> = data.current.iter().map(clean).collect();
    let previous: Vec<f64> = data.previous.iter().flatten().map(clean).collect();
    let (low, high) = current
        .iter()
        .chain(&previous)
        .fold((0f64, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    // Headroom for the legend, and never an axis of zero height.
    let high = (high * 1.25).max(low + 10.0);
    let slots = months.len().max(1) as i32;
    let title = format!(
        "{} theo tháng, {} – {}",
        metric_label(data.metric),
        data.period.from.format("%d/%m/%Y"),
        data.period.to.format("%d/%m/%Y")
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 500)).into_drawing_area();
        let draw = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(draw)?;
        let step = months.len().div_ceil(12).max(1);
        let centres: Vec<i32> = (0..months.len() as i32)
            .step_by(step)
            .map(|i| i * 10 + 5)
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 26))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(40 + 8 * grouped_digits(high).len() as u32)
            .build_cartesian_2d((0..slots * 10).with_key_points(centres), low..high)
            .map_err(draw)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .x_desc("Tháng")
            .y_desc(metric_label(data.metric))
            .axis_desc_style(("sans-serif", 18))
            .x_label_style(("sans-serif", 15))
            .y_label_style(("sans-serif", 15))
            .x_label_formatter(&|x| months.get((*x / 10) as usize).cloned().unwrap_or_default())
            .y_label_formatter(&|y| grouped_digits(*y))
            .draw()
            .map_err(draw)?;
        let mut series = vec![(
            current.as_slice(),
            this_period_label(data),
            RGBColor(31, 119, 180),
            1,
        )];
        if data.previous.is_some() {
            series.push((
                previous.as_slice(),
                compared_label(data),
                RGBColor(255, 127, 14),
                5,
            ));
        }
        for (values, name, colour, offset) in series {
            chart
                .draw_series(values.iter().take(months.len()).enumerate().map(|(i, v)| {
                    let x = i as i32 * 10 + offset;
                    Rectangle::new([(x, 0.0), (x + 4, *v)], colour.filled())
                }))
                .map_err(draw)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 15, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(draw)?;
        root.present().map_err(draw)?;
    }
    Ok(svg)
}

fn this_period_label(data: &ChartData) -> String {
    format!(
        "Kỳ này ({} – {})",
        data.period.from.format("%m/%Y"),
        data.period.to.format("%m/%Y")
    )
}

fn compared_label(data: &ChartData) -> String {
    match data.compared_to {
        Some(p) => format!(
            "Kỳ so sánh ({} – {})",
            p.from.format("%m/%Y"),
            p.to.format("%m/%Y")
        ),
        None => "Kỳ so sánh".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::period::Period;

    fn data(current: Vec<f64>, previous: Option<Vec<f64>>) -> ChartData {
        let day = |t: &str| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
        let period = Period {
            from: day("2021-01-01"),
            to: day("2021-06-30"),
        };
        ChartData {
            metric: "transaction_value_vnd",
            period,
            compared_to: Some(Period {
                from: day("2020-01-01"),
                to: day("2020-06-30"),
            }),
            months: period.months().into_iter().map(|(k, _)| k).collect(),
            current,
            previous,
        }
    }

    #[test]
    fn charts_carry_vietnamese_text_and_survive_empty_data() {
        let svg = render(&data(
            vec![1e9, 2e9, 3e12, 0.0, 5.0, 1e15],
            Some(vec![0.0; 6]),
        ))
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("Giá trị giao dịch (đồng)"));
        assert!(svg.contains("Tháng"));
        assert!(svg.contains("2021-03"));
        assert!(
            render(&data(vec![0.0; 6], None))
                .unwrap()
                .contains("</svg>")
        );
        assert!(render(&data(vec![], None)).unwrap().contains("</svg>"));
        assert_eq!(grouped_digits(1234567.0), "1.234.567");
    }
}

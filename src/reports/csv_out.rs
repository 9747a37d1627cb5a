//! Reports as CSV: UTF-8 with a byte-order mark (so spreadsheets read Vietnamese correctly), a
//! header row, then one row per metric or per report row.
//!
//! Text cells come from users (product names, labels) and a spreadsheet runs a cell that starts
//! like a formula: such cells get a leading `'` (OWASP's rule for CSV injection). Numbers the API
//! computed are written as they are, so a negative growth stays `-12.5`.

use super::metric::{Metric, Value};
use super::model::{BreakdownReport, ProductAmounts, ProductReport, UptakeReport};
use super::service::metric_names;
#[cfg(test)]
use crate::api::spreadsheet::FORMULA_STARTS;
use crate::api::spreadsheet::spreadsheet_safe;

/// One cell: only the constructors below make one, so a number cell is always a number the API
/// formatted and every other cell is made spreadsheet-safe.
struct Cell(String);

impl Cell {
    fn text(text: &str) -> Cell {
        Cell(spreadsheet_safe(text).into_owned())
    }

    fn count(n: i64) -> Cell {
        Cell(n.to_string())
    }

    fn decimal(x: f64, places: usize) -> Cell {
        Cell(format!("{x:.places$}"))
    }

    fn empty() -> Cell {
        Cell(String::new())
    }
}

/// Rows of cells into CSV; the header is text too.
struct SafeWriter(csv::Writer<Vec<u8>>);

impl SafeWriter {
    fn new() -> SafeWriter {
        SafeWriter(csv::Writer::from_writer(Vec::new()))
    }

    fn header<S: AsRef<str>>(&mut self, names: &[S]) -> Result<(), String> {
        self.row(names.iter().map(|n| Cell::text(n.as_ref())).collect())
    }

    fn row(&mut self, cells: Vec<Cell>) -> Result<(), String> {
        self.0
            .write_record(cells.iter().map(|c| c.0.as_str()))
            .map_err(|e| e.to_string())
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        let body = self.0.into_inner().map_err(|e| e.to_string())?;
        let mut out = "\u{feff}".as_bytes().to_vec();
        out.extend(body);
        Ok(out)
    }
}

fn value(v: Option<Value>) -> Cell {
    match v {
        None => Cell::empty(),
        Some(Value::Count(n)) => Cell::count(n),
        Some(Value::Kilograms(kg)) => Cell::decimal(kg, 3),
    }
}

fn growth(m: &Metric) -> Cell {
    m.growth_pct
        .map(|g| Cell::decimal(g, 1))
        .unwrap_or_else(Cell::empty)
}

pub fn uptake(report: &UptakeReport) -> Result<Vec<u8>, String> {
    let mut w = SafeWriter::new();
    w.header(&["metric", "current", "previous", "change", "growth_pct"])?;
    for name in metric_names() {
        let m = report.metrics.get(name);
        w.row(vec![
            Cell::text(name),
            value(Some(m.current)),
            value(m.previous),
            value(m.change),
            growth(m),
        ])?;
    }
    w.finish()
}

pub fn breakdown(report: &BreakdownReport) -> Result<Vec<u8>, String> {
    let mut w = SafeWriter::new();
    // By province, the key column says the map its codes are on.
    let key = match report.map {
        Some(map) => format!("province_code_{map}"),
        None => "key".to_owned(),
    };
    let mut header = vec![key, "label".to_owned()];
    for name in metric_names() {
        header.extend([
            name.to_owned(),
            format!("{name}_previous"),
            format!("{name}_growth_pct"),
        ]);
    }
    w.header(&header)?;
    for row in &report.rows {
        let mut record = vec![Cell::text(&row.key), Cell::text(&row.label)];
        for name in metric_names() {
            let m = row.metrics.get(name);
            record.extend([value(Some(m.current)), value(m.previous), growth(m)]);
        }
        w.row(record)?;
    }
    w.finish()
}

pub fn products(report: &ProductReport) -> Result<Vec<u8>, String> {
    let mut w = SafeWriter::new();
    w.header(&[
        "product_id",
        "name",
        "household_id",
        "orders",
        "value_vnd",
        "volume_kg",
        "views",
        "export_volume_kg",
        "export_by_country",
        "value_vnd_previous",
        "value_vnd_growth_pct",
        "volume_kg_previous",
        "volume_kg_growth_pct",
    ])?;
    for row in &report.rows {
        let mut record = vec![
            Cell::text(&row.product_id),
            Cell::text(&row.name),
            Cell::text(&row.household_id),
        ];
        record.extend(amount_cells(&row.amounts));
        record.extend([
            value(row.growth.value_vnd.previous),
            growth(&row.growth.value_vnd),
            value(row.growth.volume_kg.previous),
            growth(&row.growth.volume_kg),
        ]);
        w.row(record)?;
    }
    let t = &report.totals;
    let mut record = vec![
        Cell::text("TOTAL"),
        Cell::text(&format!("{} products", t.products)),
        Cell::empty(),
    ];
    record.extend(amount_cells(&t.amounts));
    record.extend([Cell::empty(), Cell::empty(), Cell::empty(), Cell::empty()]);
    w.row(record)?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_get_a_quote_and_other_text_is_left_alone() {
        assert_eq!(
            spreadsheet_safe(r#"=HYPERLINK("http://evil.example","Vải")"#),
            r#"'=HYPERLINK("http://evil.example","Vải")"#
        );
        for start in ["+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(start), format!("'{start}"));
        }
        assert_eq!(spreadsheet_safe("Vải thiều"), "Vải thiều");
        assert_eq!(spreadsheet_safe(""), "");
        assert_eq!(spreadsheet_safe("a=b"), "a=b");
    }

    #[test]
    fn numbers_the_api_writes_stay_numbers() {
        assert_eq!(Cell::decimal(-12.5, 1).0, "-12.5");
        assert_eq!(Cell::count(-3).0, "-3");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Writes one row and reads its cells back as a spreadsheet would get them.
    fn round_trip(cells: Vec<Cell>) -> Vec<String> {
        let mut w = SafeWriter::new();
        w.row(cells).unwrap();
        let bytes = w.finish().unwrap();
        let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(body);
        let record = reader.records().next().unwrap().unwrap();
        record.iter().map(str::to_owned).collect()
    }

    proptest! {
        #[test]
        fn no_text_cell_starts_like_a_formula(text in "\\PC{0,30}|[=+\\-@\t\r].{0,20}") {
            let cell = &round_trip(vec![Cell::text(&text)])[0];
            prop_assert!(!cell.starts_with(FORMULA_STARTS), "{:?} written as {:?}", text, cell);
            // Nothing is lost: the quote is the only change.
            let quoted = format!("'{}", text);
            prop_assert!(cell == &text || cell == &quoted);
        }

        #[test]
        fn number_cells_read_back_as_the_same_number(n in any::<i64>(), x in -1e12f64..1e12) {
            let cells = round_trip(vec![Cell::count(n), Cell::decimal(x, 1)]);
            prop_assert_eq!(cells[0].parse::<i64>().unwrap(), n);
            let back = cells[1].parse::<f64>().unwrap();
            prop_assert!((back - x).abs() <= 0.05 + 1e-9, "{} {}", x, back);
        }
    }
}

/// A product's (or the totals') amounts, in the columns' order.
fn amount_cells(a: &ProductAmounts) -> [Cell; 6] {
    let countries = a
        .export_by_country
        .iter()
        .map(|(c, kg)| format!("{c}:{kg:.3}"))
        .collect::<Vec<_>>()
        .join(" ");
    [
        Cell::count(a.orders),
        Cell::count(a.value_vnd),
        Cell::decimal(a.volume_kg, 3),
        Cell::count(a.views),
        Cell::decimal(a.export_volume_kg, 3),
        Cell::text(&countries),
    ]
}

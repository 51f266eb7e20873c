//! A table of text and numbers, and its .xlsx / .csv forms. CSV is written
//! as UTF-8 with a byte-order mark (so Excel shows Chinese) and read as
//! UTF-8, or as GBK when it is not UTF-8 (what Excel on a Chinese Windows
//! saves).

use std::io::Cursor;

use calamine::{Data, Reader};

use super::SheetError;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number (kept a number in .xlsx).
    Number(f64),
    /// Nothing.
    Empty,
}

impl Cell {
    /// The cell as text; numbers without a needless `.0`.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl<T: Into<f64>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, |n| Cell::Number(n.into()))
    }
}

/// A header row and data rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Data rows, each as long as the headers or shorter.
    pub rows: Vec<Vec<Cell>>,
}

/// A spreadsheet file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Excel 2007+ workbook.
    Xlsx,
    /// Comma-separated values.
    Csv,
}

impl Format {
    /// The format a file name's extension names.
    pub fn of(name: &str) -> Result<Format, SheetError> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("xlsx") => Ok(Format::Xlsx),
            Some("csv") => Ok(Format::Csv),
            _ => Err(SheetError::UnknownFormat(name.to_string())),
        }
    }

    /// The MIME type to send it with.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Reads the first sheet of an .xlsx, or a whole .csv; the first row is the header.
pub fn read(bytes: &[u8], format: Format) -> Result<Table, SheetError> {
    let mut rows: Vec<Vec<Cell>> = match format {
        Format::Xlsx => {
            let mut wb =
                calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(Cursor::new(bytes))
                    .map_err(|e| SheetError::Unreadable(e.to_string()))?;
            let range = wb
                .worksheet_range_at(0)
                .ok_or_else(|| SheetError::Unreadable("工作簿中没有工作表".into()))?
                .map_err(|e| SheetError::Unreadable(e.to_string()))?;
            range
                .rows()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Data::Empty => Cell::Empty,
                            Data::Int(i) => Cell::Number(*i as f64),
                            Data::Float(f) => Cell::Number(*f),
                            Data::String(s) => Cell::Text(s.clone()),
                            other => Cell::Text(other.to_string()),
                        })
                        .collect()
                })
                .collect()
        }
        Format::Csv => {
            let text = decode(bytes)?;
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut out = Vec::new();
            for rec in rdr.records() {
                let rec = rec.map_err(|e| SheetError::Unreadable(e.to_string()))?;
                out.push(
                    rec.iter()
                        .map(|s| {
                            if s.trim().is_empty() {
                                Cell::Empty
                            } else {
                                Cell::Text(s.to_string())
                            }
                        })
                        .collect(),
                );
            }
            out
        }
    };
    // Blank rows (common at the end of sheets) are not data.
    rows.retain(|r| r.iter().any(|c| *c != Cell::Empty));
    if rows.is_empty() {
        return Err(SheetError::Columns("表格是空的,第一行应为表头".into()));
    }
    let headers = rows.remove(0).iter().map(Cell::text).collect();
    Ok(Table { headers, rows })
}

/// UTF-8 (a byte-order mark is dropped), else GBK.
fn decode(bytes: &[u8]) -> Result<String, SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            let (text, _, bad) = encoding_rs::GBK.decode(bytes);
            if bad {
                return Err(SheetError::Unreadable(
                    "CSV 文件既不是 UTF-8 也不是 GBK 编码".into(),
                ));
            }
            Ok(text.into_owned())
        }
    }
}

/// The table as a file of `format`.
pub fn write(table: &Table, format: Format, sheet_name: &str) -> Result<Vec<u8>, SheetError> {
    let err = |e: &dyn std::fmt::Display| SheetError::Write(e.to_string());
    match format {
        Format::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            ws.set_name(sheet_name).map_err(|e| err(&e))?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, h) in table.headers.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, h, &bold)
                    .map_err(|e| err(&e))?;
                ws.set_column_width(c as u16, (h.chars().count() as f64 * 2.2).max(10.0))
                    .map_err(|e| err(&e))?;
            }
            for (r, row) in table.rows.iter().enumerate() {
                let r = r as u32 + 1;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Text(s) => ws.write_string(r, c, s).map(|_| ()),
                        Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                        Cell::Empty => Ok(()),
                    }
                    .map_err(|e| err(&e))?;
                }
            }
            wb.save_to_buffer().map_err(|e| err(&e))
        }
        Format::Csv => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            {
                let mut w = csv::Writer::from_writer(&mut out);
                w.write_record(&table.headers).map_err(|e| err(&e))?;
                for row in &table.rows {
                    w.write_record(row.iter().map(Cell::text))
                        .map_err(|e| err(&e))?;
                }
                w.flush().map_err(|e| err(&e))?;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            headers: vec!["客户名称".into(), "信用额度(元)".into()],
            rows: vec![
                vec!["杭州西湖龙井茶业".into(), Cell::Number(800000.0)],
                vec!["苏州丝绸, \"进出口\"".into(), Cell::Empty],
            ],
        }
    }

    #[test]
    fn both_formats_read_back_what_was_written() {
        for f in [Format::Xlsx, Format::Csv] {
            let t = read(&write(&sample(), f, "客户").unwrap(), f).unwrap();
            assert_eq!(t.headers, sample().headers, "{f:?}");
            assert_eq!(t.rows[0][0].text(), "杭州西湖龙井茶业");
            assert_eq!(t.rows[0][1].text(), "800000");
            assert_eq!(t.rows[1][0].text(), "苏州丝绸, \"进出口\"");
        }
    }

    #[test]
    fn gbk_csv_is_read_and_bad_files_are_named() {
        let (gbk, _, _) = encoding_rs::GBK.encode("客户名称,电话\n宁波海产,13800000000\n");
        let t = read(&gbk, Format::Csv).unwrap();
        assert_eq!(t.headers, ["客户名称", "电话"]);
        assert_eq!(t.rows[0][0].text(), "宁波海产");
        assert!(matches!(
            read(b"not a zip", Format::Xlsx),
            Err(SheetError::Unreadable(_))
        ));
        assert!(matches!(
            Format::of("a.xls"),
            Err(SheetError::UnknownFormat(_))
        ));
        assert!(matches!(
            read(b"\n\n", Format::Csv),
            Err(SheetError::Columns(_))
        ));
    }
}

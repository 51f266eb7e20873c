//! Spreadsheets for head office, who live in Excel: customers imported from
//! an .xlsx or .csv sheet with the usual Chinese headers (dry run first,
//! duplicates listed for a person to decide, nothing half-imported), and
//! the customer list, grade summary table, warnings and complaint
//! statistics exported to .xlsx or .csv. The console and the
//! `crm-server sheet` / `export` commands both call this module.
//!
//! - [`table`]: a neutral table and reading/writing it as .xlsx or .csv.
//! - [`columns`]: which header means which card field.
//! - [`import`]: sheet → plan (creates, updates, duplicates, errors) → commit.
//! - [`export`]: the four exports as tables.

pub mod columns;
pub mod export;
pub mod import;
pub mod table;

pub use table::{Cell, Format, Table};

/// Why a sheet could not be read, written or imported. Every variant is the
/// person's mistake (a 400), except [`SheetError::Write`].
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// Not a file type we read or write.
    #[error("不支持的文件类型“{0}”,请使用 .xlsx 或 .csv")]
    UnknownFormat(String),
    /// The bytes are not a readable workbook or CSV.
    #[error("无法读取表格:{0}")]
    Unreadable(String),
    /// The sheet has no header row or no name column.
    #[error("{0}")]
    Columns(String),
    /// Rows with problems; nothing was imported.
    #[error("表格有 {} 行错误,未导入任何数据。{}", .0.len(), .0.iter().take(5).map(|(r, m)| format!("第 {r} 行:{m}")).collect::<Vec<_>>().join(";"))]
    Rows(Vec<(usize, String)>),
    /// Writing the file failed.
    #[error("无法生成表格:{0}")]
    Write(String),
}

impl From<SheetError> for crate::caller::ServiceError {
    fn from(e: SheetError) -> Self {
        match e {
            SheetError::Write(m) => crate::caller::ServiceError::Db(crate::db::DbError::Corrupt(m)),
            other => crate::caller::ServiceError::BadRequest(other.to_string()),
        }
    }
}

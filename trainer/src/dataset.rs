//! Loading a CSV and validating it against its schema in `params.yaml`.
//!
//! Every error names the file, the line and the column, and nothing is returned until the
//! whole file has been checked, so a stage never writes output from a partly valid file.

use std::path::{Path, PathBuf};

use crate::params::{DatasetSchema, TaskKind};

/// A validated dataset, stored by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// One column per numeric feature, in schema order.
    pub numeric: Vec<Vec<f64>>,
    /// One column per categorical feature, in schema order.
    pub categorical: Vec<Vec<String>>,
    pub target: Target,
}

/// The target column.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Numeric(Vec<f64>),
    /// Index into the schema's `classes`.
    Class(Vec<usize>),
}

/// Why a CSV was refused.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: cannot read")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the file is empty (no header line)")]
    Empty { file: PathBuf },
    #[error("{file}: line 1: missing column `{column}` (header has: {header})")]
    MissingColumn {
        file: PathBuf,
        column: String,
        header: String,
    },
    #[error("{file}: no data rows after the header")]
    NoRows { file: PathBuf },
    #[error("{file}: line {line}, column `{column}`: {reason}")]
    Invalid {
        file: PathBuf,
        line: u64,
        column: String,
        reason: String,
    },
    #[error("{file}: line {line}: {reason}")]
    Malformed {
        file: PathBuf,
        line: u64,
        reason: String,
    },
}

impl Table {
    pub fn rows(&self) -> usize {
        match &self.target {
            Target::Numeric(v) => v.len(),
            Target::Class(v) => v.len(),
        }
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Table {
        let pick = |col: &Vec<f64>| indices.iter().map(|&i| col[i]).collect();
        Table {
            numeric: self.numeric.iter().map(pick).collect(),
            categorical: self
                .categorical
                .iter()
                .map(|col| indices.iter().map(|&i| col[i].clone()).collect())
                .collect(),
            target: match &self.target {
                Target::Numeric(v) => Target::Numeric(indices.iter().map(|&i| v[i]).collect()),
                Target::Class(v) => Target::Class(indices.iter().map(|&i| v[i]).collect()),
            },
        }
    }

    /// The table as CSV text with the schema's column order (features, then target).
    pub fn to_csv(&self, schema: &DatasetSchema) -> String {
        let mut out = String::new();
        let header: Vec<&str> = schema
            .feature_names()
            .chain([schema.target.as_str()])
            .collect();
        out.push_str(&csv_line(header.iter().copied()));
        let classes = schema.classes.as_deref().unwrap_or_default();
        for row in 0..self.rows() {
            let mut fields: Vec<String> = self.numeric.iter().map(|c| c[row].to_string()).collect();
            fields.extend(self.categorical.iter().map(|c| c[row].clone()));
            fields.push(match &self.target {
                Target::Numeric(v) => v[row].to_string(),
                Target::Class(v) => classes.get(v[row]).cloned().unwrap_or_default(),
            });
            out.push_str(&csv_line(fields.iter().map(String::as_str)));
        }
        out
    }
}

fn csv_line<'a>(fields: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = fields
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.to_string()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

/// Reads `path` and checks every row against `schema`.
pub fn load(path: &Path, schema: &DatasetSchema) -> Result<Table, DataError> {
    let file = path.to_path_buf();
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        file: file.clone(),
        source,
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::Empty { file });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[..]);
    let header = reader
        .headers()
        .map_err(|e| DataError::Malformed {
            file: file.clone(),
            line: 1,
            reason: e.to_string(),
        })?
        .clone();
    let position = |column: &str| {
        header
            .iter()
            .position(|h| h.trim() == column)
            .ok_or_else(|| DataError::MissingColumn {
                file: file.clone(),
                column: column.to_string(),
                header: header.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let numeric_at: Vec<usize> = schema
        .numeric_features
        .iter()
        .map(|c| position(c))
        .collect::<Result<_, _>>()?;
    let categorical_at: Vec<usize> = schema
        .categorical_features
        .iter()
        .map(|(c, _)| position(c))
        .collect::<Result<_, _>>()?;
    let target_at = position(&schema.target)?;

    let mut table = Table {
        numeric: vec![Vec::new(); numeric_at.len()],
        categorical: vec![Vec::new(); categorical_at.len()],
        target: match schema.task {
            TaskKind::Regression => Target::Numeric(Vec::new()),
            TaskKind::Classification => Target::Class(Vec::new()),
        },
    };
    for record in reader.records() {
        let record = record.map_err(|e| DataError::Malformed {
            file: file.clone(),
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let invalid = |column: &str, reason: String| DataError::Invalid {
            file: file.clone(),
            line,
            column: column.to_string(),
            reason,
        };
        let field = |at: usize| record.get(at).unwrap_or("").trim();
        for ((name, &at), column) in schema
            .numeric_features
            .iter()
            .zip(&numeric_at)
            .zip(&mut table.numeric)
        {
            column.push(parse_number(field(at)).map_err(|r| invalid(name, r))?);
        }
        for (((name, allowed), &at), column) in schema
            .categorical_features
            .iter()
            .zip(&categorical_at)
            .zip(&mut table.categorical)
        {
            let value = field(at);
            if !allowed.iter().any(|a| a == value) {
                return Err(invalid(
                    name,
                    format!(
                        "unknown category {value:?} (allowed: {})",
                        allowed.join(", ")
                    ),
                ));
            }
            column.push(value.to_string());
        }
        let value = field(target_at);
        match &mut table.target {
            Target::Numeric(v) => {
                v.push(parse_number(value).map_err(|r| invalid(&schema.target, r))?)
            }
            Target::Class(v) => {
                let classes = schema.classes.as_deref().unwrap_or_default();
                let class = classes.iter().position(|c| c == value).ok_or_else(|| {
                    invalid(
                        &schema.target,
                        format!("unknown class {value:?} (allowed: {})", classes.join(", ")),
                    )
                })?;
                v.push(class);
            }
        }
    }
    if table.rows() == 0 {
        return Err(DataError::NoRows { file });
    }
    Ok(table)
}

fn parse_number(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err("missing value".into());
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{text:?} is not a finite number")),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> DatasetSchema {
        DatasetSchema {
            raw: "x.csv".into(),
            target: "y".into(),
            task: TaskKind::Regression,
            numeric_features: vec!["a".into()],
            categorical_features: vec![("c".into(), vec!["p".into(), "q r".into()])],
            classes: None,
        }
    }

    fn load_text(text: &str) -> Result<Table, DataError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.csv");
        std::fs::write(&path, text).expect("write");
        load(&path, &schema())
    }

    #[test]
    fn a_valid_file_loads_by_column() {
        let table = load_text("y,c,a\n1.5,p,2\n3,q r,4\n").expect("valid");
        assert_eq!(table.numeric, vec![vec![2.0, 4.0]]);
        assert_eq!(
            table.categorical,
            vec![vec!["p".to_string(), "q r".to_string()]]
        );
        assert_eq!(table.target, Target::Numeric(vec![1.5, 3.0]));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            ("", "is empty"),
            ("y,c\n1,p\n", "line 1: missing column `a`"),
            (
                "y,c,a\n1,p,2\n1,p,abc\n",
                "line 3, column `a`: \"abc\" is not a number",
            ),
            (
                "y,c,a\n1,zz,2\n",
                "line 2, column `c`: unknown category \"zz\"",
            ),
            (
                "y,c,a\nNaN,p,2\n",
                "line 2, column `y`: \"NaN\" is not a finite number",
            ),
            ("y,c,a\n,p,2\n", "line 2, column `y`: missing value"),
            ("y,c,a\n", "no data rows"),
        ];
        for (text, expected) in cases {
            let err = load_text(text).expect_err(text).to_string();
            assert!(err.contains("x.csv"), "{err}");
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn csv_round_trip_keeps_values() {
        let table = load_text("y,c,a\n1.5,p,0.1\n3,q r,4\n").expect("valid");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.csv");
        std::fs::write(&path, table.to_csv(&schema())).expect("write");
        assert_eq!(load(&path, &schema()).expect("reloads"), table);
    }
}

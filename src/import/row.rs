//! Column matching and value conversion for the importer: one dump row seen through the old
//! schema's column names, whatever order (or column list) the dump used.

use super::dump::{Insert, SqlValue};

/// A problem with one row; the caller adds the dump line and table.
#[derive(Debug)]
pub(crate) struct RowError(pub String);

impl From<rusqlite::Error> for RowError {
    fn from(e: rusqlite::Error) -> Self {
        RowError(e.to_string())
    }
}

impl From<String> for RowError {
    fn from(s: String) -> Self {
        RowError(s)
    }
}

pub(crate) type RowResult<T> = Result<T, RowError>;

/// The column names of one INSERT, in value order, lower-cased.
pub(crate) struct Columns {
    names: Vec<String>,
}

impl Columns {
    /// Uses the statement's column list when it has one (mysqldump `--complete-insert`,
    /// phpMyAdmin), else the old schema's column order, because plain mysqldump output
    /// carries no names and relies on the table definition.
    pub(crate) fn for_insert(ins: &Insert, old_order: &[&str]) -> Result<Self, String> {
        if let Some(cols) = &ins.columns {
            let names = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
            return Ok(Columns { names });
        }
        let width = ins.rows.first().map_or(0, Vec::len);
        if width != old_order.len() {
            return Err(format!(
                "the INSERT has no column list and {width} values per row, but the old schema's table has {} columns ({}); export with column names (mysqldump --complete-insert)",
                old_order.len(),
                old_order.join(", ")
            ));
        }
        let names = old_order.iter().map(|c| (*c).to_owned()).collect();
        Ok(Columns { names })
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// One row of values with typed accessors that name the column in their errors.
pub(crate) struct Row<'a> {
    pub(crate) cols: &'a Columns,
    pub(crate) values: &'a [SqlValue],
}

const NULL: SqlValue = SqlValue::Null;

impl Row<'_> {
    /// The value of `name`, or NULL when the dump did not list that column.
    fn value(&self, name: &str) -> &SqlValue {
        self.cols.position(name).and_then(|i| self.values.get(i)).unwrap_or(&NULL)
    }

    /// A required integer (NOT NULL in the old schema without a default).
    pub(crate) fn int(&self, name: &str) -> RowResult<i64> {
        match self.value(name) {
            SqlValue::Null => Err(missing(name)),
            v => v.as_i64().ok_or_else(|| not_int(name, v)),
        }
    }

    /// An integer that may be NULL or absent; `default` stands in, as the old column default.
    pub(crate) fn int_or(&self, name: &str, default: i64) -> RowResult<i64> {
        match self.value(name) {
            SqlValue::Null => Ok(default),
            v => v.as_i64().ok_or_else(|| not_int(name, v)),
        }
    }

    /// A tinyint(1) flag as 0/1 (MySQL accepts any integer there).
    pub(crate) fn flag(&self, name: &str) -> RowResult<i64> {
        Ok(i64::from(self.int_or(name, 0)? != 0))
    }

    /// Required text; numbers are rendered as text since dumps may store them unquoted.
    pub(crate) fn text(&self, name: &str) -> RowResult<String> {
        self.value(name).to_text().ok_or_else(|| missing(name))
    }

    /// Text where NULL (or an absent column) becomes `default`.
    pub(crate) fn text_or(&self, name: &str, default: &str) -> String {
        self.opt_text(name).unwrap_or_else(|| default.to_owned())
    }

    /// Text that stays NULL when NULL.
    pub(crate) fn opt_text(&self, name: &str) -> Option<String> {
        self.value(name).to_text()
    }
}

fn missing(name: &str) -> RowError {
    RowError(format!("column `{name}` is NULL or missing but required"))
}

fn not_int(name: &str, v: &SqlValue) -> RowError {
    let shown = v.to_text().unwrap_or_default();
    RowError(format!("column `{name}`: expected an integer, found `{shown}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(columns: Option<&[&str]>, row: Vec<SqlValue>) -> Insert {
        Insert {
            table: "t".into(),
            columns: columns.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
            rows: vec![row],
            line: 1,
        }
    }

    #[test]
    fn column_list_wins_over_old_order() {
        let vals = vec![SqlValue::Str("x".into()), SqlValue::Int(7)];
        let ins = insert(Some(&["Name", "id"]), vals.clone());
        let cols = Columns::for_insert(&ins, &["id", "name", "extra"]).unwrap();
        let row = Row { cols: &cols, values: &vals };
        assert_eq!(row.int("id").unwrap(), 7);
        assert_eq!(row.text("name").unwrap(), "x");
        assert_eq!(row.text_or("extra", "d"), "d");
        assert!(row.text("extra").is_err());
    }

    #[test]
    fn old_order_needs_matching_width() {
        let vals = vec![SqlValue::Int(1), SqlValue::Null, SqlValue::Str("12".into())];
        let ins = insert(None, vals.clone());
        let cols = Columns::for_insert(&ins, &["id", "a", "b"]).unwrap();
        let row = Row { cols: &cols, values: &vals };
        assert_eq!(row.int_or("a", 5).unwrap(), 5);
        assert_eq!(row.int("b").unwrap(), 12);
        assert!(row.int("a").unwrap_err().0.contains("`a` is NULL"));
        let err = Columns::for_insert(&ins, &["id", "a"]).err().unwrap();
        assert!(err.contains("no column list and 3 values"), "{err}");
    }

    #[test]
    fn bad_integers_and_flags() {
        let vals = vec![SqlValue::Str("abc".into()), SqlValue::Int(2)];
        let ins = insert(Some(&["n", "f"]), vals.clone());
        let cols = Columns::for_insert(&ins, &[]).unwrap();
        let row = Row { cols: &cols, values: &vals };
        assert!(row.int("n").unwrap_err().0.contains("found `abc`"));
        assert_eq!(row.flag("f").unwrap(), 1);
        assert_eq!(row.flag("missing").unwrap(), 0);
    }
}

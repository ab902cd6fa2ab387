//! Properties of the dump reader: any input ends the iteration without a panic, and rows
//! written the way mysqldump writes them read back unchanged.

use std::io::BufReader;

use proptest::prelude::*;

use super::*;

/// Writes a value the way mysqldump does (`doubled` uses `''` for quotes, as some tools do).
fn write_value(v: &SqlValue, doubled: bool) -> String {
    let SqlValue::Str(text) = v else {
        return v.to_text().unwrap_or_else(|| "NULL".into());
    };
    let mut out = String::from("'");
    for c in text.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\'' if doubled => out.push_str("''"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn tricky_string() -> impl Strategy<Value = String> {
    let chars = vec![
        '\\', '\'', '"', '\n', '\r', '\t', '\0', '\u{1a}', '\u{8}', '%', '_', ';', '(', ')', ',', '*', '/', '-', '#',
        '`', 'a', 'é', '🏁', ' ',
    ];
    prop::collection::vec(prop::sample::select(chars), 0..16).prop_map(|cs| cs.into_iter().collect())
}

fn arb_value() -> impl Strategy<Value = SqlValue> {
    prop_oneof![
        Just(SqlValue::Null),
        any::<i64>().prop_map(SqlValue::Int),
        any::<String>().prop_map(SqlValue::Str),
        tricky_string().prop_map(SqlValue::Str),
        "-?[0-9]{1,6}\\.[0-9]{1,6}".prop_map(SqlValue::Num),
        "[0-9]\\.[0-9]{1,3}[eE]-?[0-9]{1,2}".prop_map(SqlValue::Num),
        "[1-9][0-9]{19,24}".prop_map(SqlValue::Num),
    ]
}

fn arb_rows() -> impl Strategy<Value = Vec<Vec<SqlValue>>> {
    (1..5usize).prop_flat_map(|width| prop::collection::vec(prop::collection::vec(arb_value(), width), 1..5))
}

/// Reads `bytes` fully and checks the iterator stops and consumed everything.
fn drain(bytes: &[u8], cap: usize) -> Result<(), TestCaseError> {
    let mut reader = DumpReader::new(BufReader::with_capacity(cap, bytes));
    let bound = bytes.len() + 2;
    let n = reader.by_ref().take(bound).count();
    prop_assert!(n < bound);
    prop_assert!(reader.next().is_none());
    prop_assert_eq!(reader.bytes_read(), bytes.len() as u64);
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), cap in 1..64usize) {
        drain(&bytes, cap)?;
    }

    #[test]
    fn sql_like_noise_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "'", "\\", ";", "(", ")", ",", "/*", "*/", "/*!", "/*M!", "--", "-- ", "#", "\n",
            " ", "INSERT INTO t VALUES", "`", "\"", "0x", "X'", "b'", "_binary", "1", "-1.5e3",
            "NULL", "abc", "é", "\u{0}", ".", "VALUES", "(1,'a')",
        ]), 0..60),
        cap in 1..16usize,
    ) {
        let text: String = parts.concat();
        drain(text.as_bytes(), cap)?;
    }

    #[test]
    fn round_trip(rows in arb_rows(), doubled in any::<bool>(), newline in any::<bool>(), cap in 1..32usize) {
        let sep = if newline { ",\n" } else { "," };
        let body: Vec<String> = rows
            .iter()
            .map(|row| {
                let vals: Vec<String> = row.iter().map(|v| write_value(v, doubled)).collect();
                format!("({})", vals.join(sep))
            })
            .collect();
        let sql = format!("SET x=1;\nINSERT INTO `t` VALUES {};\nCOMMIT;", body.join(sep));
        let reader = DumpReader::new(BufReader::with_capacity(cap, sql.as_bytes()));
        let out: Vec<_> = reader.collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(out.len(), 3);
        let Statement::Insert(ins) = &out[1] else {
            return Err(TestCaseError::fail(format!("{:?}", out[1])));
        };
        prop_assert_eq!(&ins.table, "t");
        prop_assert_eq!(ins.line, 2);
        prop_assert_eq!(&ins.rows, &rows);
    }
}

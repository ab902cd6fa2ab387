//! The admin map upload: a CSV file with the columns `kacky_id`, `author`, `event`, `prefix`
//! (required) and `at`, `difficulty`, `tmx_id`, `tm_uid` (optional), parsed with the `csv`
//! crate into validated rows before anything touches the database.

/// One map of the upload.
#[derive(Debug, Clone, PartialEq)]
pub struct MapUpload {
    pub kacky_id: String,
    pub kacky_id_int: i64,
    pub version: String,
    pub author: String,
    /// Event shortname, e.g. `KK9`.
    pub event: String,
    pub name: String,
    /// Author time in ms (0 when absent).
    pub at: i64,
    pub difficulty: i64,
    pub tmx_id: String,
    pub tm_uid: String,
}

/// Why an upload is refused (→ 422 with the old messages where there were some).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvError(pub String);

const REQUIRED: [&str; 4] = ["kacky_id", "author", "event", "prefix"];
const OPTIONAL: [&str; 4] = ["at", "difficulty", "tmx_id", "tm_uid"];

/// `17`, `-151`, `17 [v2]` → (17, "[v2]").
fn split_kacky_id(raw: &str) -> Option<(i64, String)> {
    let raw = raw.trim().replace('\u{2013}', "-");
    let (num, version) = match raw.split_once(char::is_whitespace) {
        Some((n, v)) => (n.to_owned(), v.trim().to_owned()),
        None => (raw.clone(), String::new()),
    };
    let version_ok = version.is_empty() || (version.starts_with('[') && version.ends_with(']') && version.len() <= 10);
    Some((num.parse().ok()?, version)).filter(|_| version_ok)
}

pub fn parse(bytes: &[u8]) -> Result<Vec<MapUpload>, CsvError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| CsvError(format!("the file is not readable CSV: {e}")))?.clone();
    let names: Vec<&str> = headers.iter().collect();
    if REQUIRED.iter().any(|r| !names.contains(r)) {
        return Err(CsvError("Missing required columns".into()));
    }
    if names.iter().any(|n| !REQUIRED.contains(n) && !OPTIONAL.contains(n)) {
        return Err(CsvError("Unknown columns".into()));
    }
    let col = |name: &str| names.iter().position(|n| *n == name);
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| CsvError(format!("row {line}: {e}")))?;
        let get = |name: &str| col(name).and_then(|c| record.get(c)).unwrap_or("").to_owned();
        if REQUIRED.iter().any(|r| get(r).is_empty()) {
            return Err(CsvError("Values for required columns must be set at all times!".into()));
        }
        let (kacky_id_int, version) = split_kacky_id(&get("kacky_id")).ok_or_else(|| {
            CsvError(format!("row {line}: kacky_id must look like 17 or 17 [v2], got \"{}\"", get("kacky_id")))
        })?;
        let number = |name: &str| -> Result<i64, CsvError> {
            let v = get(name);
            if v.is_empty() {
                return Ok(0);
            }
            v.parse().map_err(|_| CsvError(format!("row {line}: {name} must be a whole number, got \"{v}\"")))
        };
        let (at, difficulty) = (number("at")?, number("difficulty")?);
        if !(0..=100).contains(&difficulty) {
            return Err(CsvError(format!("row {line}: difficulty must be 0-100, got {difficulty}")));
        }
        let kacky_id = get("kacky_id");
        out.push(MapUpload {
            name: format!("{}{}", get("prefix"), kacky_id),
            kacky_id,
            kacky_id_int,
            version,
            author: get("author"),
            event: get("event"),
            at,
            difficulty,
            tmx_id: get("tmx_id"),
            tm_uid: get("tm_uid"),
        });
    }
    if out.is_empty() {
        return Err(CsvError("the file has no map rows".into()));
    }
    refuse_duplicates(&out)?;
    Ok(out)
}

/// Two rows for the same map (event, kacky id and version, compared exactly as the upload
/// matches existing maps) would insert two map rows; the file is refused naming both lines.
fn refuse_duplicates(rows: &[MapUpload]) -> Result<(), CsvError> {
    let mut first_line = std::collections::HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        if let Some(earlier) = first_line.insert((&row.event, row.kacky_id_int, &row.version), line) {
            let version = if row.version.is_empty() { String::new() } else { format!(" {}", row.version) };
            return Err(CsvError(format!(
                "rows {earlier} and {line} are the same map {} #{}{version}",
                row.event, row.kacky_id_int
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_values_are_checked() {
        let ok = parse(b"kacky_id,author,event,prefix,at\n17 [v2],bob,KK9,$o#,12345\n-3,al,KK9,$o#,\n").unwrap();
        assert_eq!(
            (ok[0].kacky_id_int, ok[0].version.as_str(), ok[0].at, ok[0].name.as_str()),
            (17, "[v2]", 12345, "$o#17 [v2]")
        );
        assert_eq!((ok[1].kacky_id_int, ok[1].at), (-3, 0));
        assert_eq!(parse(b"kacky_id,author,event\n1,a,KK9\n"), Err(CsvError("Missing required columns".into())));
        assert_eq!(
            parse(b"kacky_id,author,event,prefix,color\n1,a,KK9,p,red\n"),
            Err(CsvError("Unknown columns".into()))
        );
        assert_eq!(
            parse(b"kacky_id,author,event,prefix\n1,,KK9,p\n"),
            Err(CsvError("Values for required columns must be set at all times!".into()))
        );
        assert!(parse(b"kacky_id,author,event,prefix,at\n1,a,KK9,p,fast\n").unwrap_err().0.contains("row 2: at"));
        assert!(parse(b"kacky_id,author,event,prefix\nx1,a,KK9,p\n").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn the_same_map_twice_is_refused_naming_both_rows() {
        let twice = b"kacky_id,author,event,prefix\n17 [v2],a,KK9,p\n18,b,KK9,p\n17 [v2],c,KK9,q\n";
        assert_eq!(parse(twice), Err(CsvError("rows 2 and 4 are the same map KK9 #17 [v2]".into())));
        assert!(parse(b"kacky_id,author,event,prefix\n17,a,KK9,p\n17 [v2],b,KK9,p\n17,c,KK8,p\n").is_ok());
    }

    /// CSV-shaped text: a header from the known columns (and a stranger), rows of tricky values.
    fn csv_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let column = prop_oneof![
            Just("kacky_id"),
            Just("author"),
            Just("event"),
            Just("prefix"),
            Just("at"),
            Just("difficulty"),
            Just("tmx_id"),
            Just("tm_uid"),
            Just("colour"),
        ];
        let value =
            prop_oneof!["-?[0-9]{1,20}( \\[v[0-9]\\])?", "–[0-9]{1,3}", "KK[0-9]", "[a-z\"$ ,\n]{0,6}", ".{0,6}",];
        let usual = ["kacky_id", "author", "event", "prefix", "at", "difficulty"];
        let header = prop_oneof![2 => Just(usual.to_vec()), 1 => proptest::collection::vec(column, 0..7)];
        let row = prop_oneof![
            2 => ("-?[0-9]{1,4}( \\[v[0-9]\\])?", "[a-z]{1,4}", "KK[89]", "[$a-z#]{1,4}", "[0-9]{0,6}", "[0-9]{0,3}")
                .prop_map(|(k, a, e, p, at, d)| vec![k, a, e, p, at, d]),
            1 => proptest::collection::vec(value, 0..8),
        ];
        (header, proptest::collection::vec(row, 0..5)).prop_map(|(header, rows)| {
            let mut text = header.join(",");
            for row in rows {
                text.push('\n');
                text.push_str(&row.join(","));
            }
            text
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Any upload gives rows or a refusal, never a panic; accepted rows keep the rules.
        #[test]
        fn arbitrary_uploads_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256), text in csv_like()) {
            let _ = parse(&bytes);
            if let Ok(rows) = parse(text.as_bytes()) {
                let mut maps = std::collections::HashSet::new();
                for row in &rows {
                    proptest::prop_assert!((0..=100).contains(&row.difficulty));
                    proptest::prop_assert!(!row.author.is_empty() && !row.event.is_empty());
                    proptest::prop_assert!(maps.insert((row.event.clone(), row.kacky_id_int, row.version.clone())));
                }
            }
        }
    }
}

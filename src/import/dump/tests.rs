//! Examples for the dump reader: escapes, numbers, comments, statement forms, real dump
//! fragments, errors and their lines, buffer boundaries, I/O errors.

use super::*;
use std::io::{BufReader, Read};

fn all(sql: &str) -> Vec<Result<Statement, DumpError>> {
    DumpReader::new(sql.as_bytes()).collect()
}

fn stmts(sql: &str) -> Vec<Statement> {
    all(sql).into_iter().map(|r| r.unwrap()).collect()
}

fn insert(sql: &str) -> Insert {
    match stmts(sql).as_slice() {
        [Statement::Insert(ins)] => ins.clone(),
        other => panic!("expected one INSERT, got {other:?}"),
    }
}

/// The single value of `INSERT INTO t VALUES (<literal>);`.
fn value(literal: &str) -> SqlValue {
    let ins = insert(&format!("INSERT INTO t VALUES ({literal});"));
    ins.rows[0][0].clone()
}

fn error(sql: &str) -> DumpError {
    all(sql).into_iter().find_map(Result::err).expect("an error")
}

fn s(text: &str) -> SqlValue {
    SqlValue::Str(text.to_string())
}

fn num(text: &str) -> SqlValue {
    SqlValue::Num(text.to_string())
}

fn other(line: usize, head: &str) -> Statement {
    Statement::Other { line, head: head.to_string() }
}

#[test]
fn escapes_each() {
    assert_eq!(value(r"'a\'b'"), s("a'b"));
    assert_eq!(value(r"'a\\b'"), s("a\\b"));
    assert_eq!(value(r"'a\nb'"), s("a\nb"));
    assert_eq!(value(r"'a\0b'"), s("a\0b"));
    assert_eq!(value("'a''b'"), s("a'b"));
    assert_eq!(value(r#"'a\"b'"#), s("a\"b"));
    assert_eq!(value(r"'a\tb'"), s("a\tb"));
    assert_eq!(value(r"'a\rb'"), s("a\rb"));
    assert_eq!(value(r"'a\Zb'"), s("a\u{1a}b"));
    assert_eq!(value(r"'a\bb'"), s("a\u{8}b"));
    assert_eq!(value(r"'a\qb'"), s("aqb"));
    assert_eq!(value(r"'a\%b\_c'"), s("a\\%b\\_c"));
    assert_eq!(value(r#""a""b\"c'd""#), s("a\"b\"c'd"));
    assert_eq!(value(r"'\é'"), s("é"));
    assert_eq!(value("''"), s(""));
    assert_eq!(value("''''"), s("'"));
}

#[test]
fn numbers_null_and_hex() {
    assert_eq!(value("NULL"), SqlValue::Null);
    assert_eq!(value("null"), SqlValue::Null);
    assert_eq!(value("-42"), SqlValue::Int(-42));
    assert_eq!(value("+7"), SqlValue::Int(7));
    assert_eq!(value("0"), SqlValue::Int(0));
    assert_eq!(value("-3.50"), num("-3.50"));
    assert_eq!(value(".5"), num(".5"));
    assert_eq!(value("1e10"), num("1e10"));
    assert_eq!(value("-1.5E-3"), num("-1.5E-3"));
    assert_eq!(value("18446744073709551615"), num("18446744073709551615"));
    assert_eq!(value("-9223372036854775808"), SqlValue::Int(i64::MIN));
    assert_eq!(value("0x4869"), s("Hi"));
    assert_eq!(value("0x169"), s("\u{1}i"));
    assert_eq!(value("X'4869'"), s("Hi"));
    assert_eq!(value("x''"), s(""));
    assert_eq!(value("_binary 'ab'"), s("ab"));
    assert_eq!(value("_utf8mb4'ab'"), s("ab"));
    assert_eq!(value("_binary 0x41"), s("A"));
    assert_eq!(value("N'ab'"), s("ab"));
    assert_eq!(value("b'101'"), SqlValue::Int(5));
    assert_eq!(value("0b11"), SqlValue::Int(3));
    assert_eq!(value("TRUE"), SqlValue::Int(1));
    assert_eq!(value("false"), SqlValue::Int(0));
}

#[test]
fn value_accessors() {
    assert_eq!(SqlValue::Int(5).as_i64(), Some(5));
    assert_eq!(num(" 12 ").as_i64(), Some(12));
    assert_eq!(s("13").as_i64(), Some(13));
    assert_eq!(num("1.5").as_i64(), None);
    assert_eq!(SqlValue::Null.as_i64(), None);
    assert_eq!(s("x").as_str(), Some("x"));
    assert_eq!(SqlValue::Int(1).as_str(), None);
    assert_eq!(SqlValue::Int(-1).to_text().as_deref(), Some("-1"));
    assert_eq!(num("2.50").to_text().as_deref(), Some("2.50"));
    assert_eq!(s("a").to_text().as_deref(), Some("a"));
    assert_eq!(SqlValue::Null.to_text(), None);
}

#[test]
fn comments_and_semicolons() {
    let sql = "-- a comment; with semicolon\n\
               # hash comment; too\n\
               /* block; comment\n over lines; */\n\
               INSERT INTO t VALUES ('x;y', \"-- not; a comment\", '/* nor; this */', '#');\n\
               /*!40101 SET NAMES utf8mb4 */;\n\
               SELECT 1 /* inline; */ + 2 -- trailing; comment\n;\n\
               SELECT 5--1;";
    let out = stmts(sql);
    assert_eq!(out.len(), 4, "{out:#?}");
    let Statement::Insert(ins) = &out[0] else { panic!("{out:?}") };
    assert_eq!(ins.line, 5);
    assert_eq!(ins.rows, vec![vec![s("x;y"), s("-- not; a comment"), s("/* nor; this */"), s("#")]]);
    assert_eq!(out[1], other(6, "/*!40101 SET NAMES utf8mb4 */"));
    assert_eq!(out[2], other(7, "SELECT 1 + 2"));
    assert_eq!(out[3], other(9, "SELECT 5--1"));
}

#[test]
fn executable_comment_with_semicolons_and_insert_inside() {
    let out = stmts("/*!50003 CREATE TRIGGER x BEGIN SET a=1; END */;\nINSERT /*!IGNORE*/ INTO t VALUES (1) /*!40000 ON DUPLICATE KEY UPDATE a=1 */;");
    assert_eq!(out[0], other(1, "/*!50003 CREATE TRIGGER x BEGIN SET a=1; END */"));
    let Statement::Insert(ins) = &out[1] else { panic!("{out:?}") };
    assert_eq!(ins.rows, vec![vec![SqlValue::Int(1)]]);
}

#[test]
fn mariadb_sandbox_line_does_not_hide_data() {
    let sql = "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n\
               /*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET NOTE_VERBOSITY=0 */;\n\
               INSERT INTO t VALUES (1);\n";
    let out = stmts(sql);
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(matches!(out[0], Statement::Other { line: 1, .. }));
    assert_eq!(out[1], other(4, "/*M!100616 SET NOTE_VERBOSITY=0 */"));
    assert!(matches!(&out[2], Statement::Insert(i) if i.line == 5));
}

#[test]
fn insert_forms() {
    let cases = [
        "INSERT INTO `t` (`a`, `b`) VALUES (1, 2);",
        "insert into t(a,b) values(1,2)",
        "INSERT IGNORE INTO `db`.`t` (a, b) VALUE (1, 2);",
        "REPLACE INTO db.t (`a`,`b`) VALUES (1,2);",
        "INSERT\n  LOW_PRIORITY\tINTO\n`t`\n(\n`a`\n,\n`b`\n)\nVALUES\n(\n1\n,\n2\n)\n;",
        "INSERT t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = VALUES(a);",
        "INSERT INTO t PARTITION (p0) (t.a, b) VALUES (1, 2);",
    ];
    for sql in cases {
        let ins = insert(sql);
        assert_eq!(ins.table, "t", "{sql}");
        assert_eq!(ins.columns, Some(vec!["a".into(), "b".into()]), "{sql}");
        assert_eq!(ins.rows, vec![vec![SqlValue::Int(1), SqlValue::Int(2)]]);
    }
    let ins = insert("INSERT INTO `we``ird` VALUES (),();");
    assert_eq!(ins.table, "we`ird");
    assert_eq!(ins.columns, None);
    assert_eq!(ins.rows, vec![Vec::<SqlValue>::new(), Vec::new()]);
}

#[test]
fn phpmyadmin_fragment() {
    let sql = r#"-- phpMyAdmin SQL Dump
-- version 5.2.1

SET SQL_MODE = "NO_AUTO_VALUE_ON_ZERO";
START TRANSACTION;
SET time_zone = "+00:00";


/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;

--
-- Database: `kacky`
--
CREATE DATABASE IF NOT EXISTS `kacky` COLLATE `utf8_general_ci`;

CREATE TABLE IF NOT EXISTS `events` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` text NOT NULL,
  `visible` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=13 DEFAULT CHARSET=utf8;

--
-- Dumping data for table `events`
--

INSERT INTO `events` (`id`, `name`, `visible`) VALUES
(1, '$o$i$a00K$a60a$aa0ck', 1),
(2, 'Kacky Reloaded 2', 0),
(3, 'Bob\'s; \"event\"', NULL);
COMMIT;

/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
"#;
    let expected = vec![
        other(4, r#"SET SQL_MODE = "NO_AUTO_VALUE_ON_ZERO""#),
        other(5, "START TRANSACTION"),
        other(6, r#"SET time_zone = "+00:00""#),
        other(9, "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIEN"),
        other(10, "/*!40101 SET NAMES utf8mb4 */"),
        other(15, "CREATE DATABASE IF NOT EXISTS `kacky` COLLATE `utf8_general_"),
        other(17, "CREATE TABLE IF NOT EXISTS `events` ( `id` int(11) NOT NULL "),
        Statement::Insert(Insert {
            table: "events".into(),
            columns: Some(vec!["id".into(), "name".into(), "visible".into()]),
            rows: vec![
                vec![SqlValue::Int(1), s("$o$i$a00K$a60a$aa0ck"), SqlValue::Int(1)],
                vec![SqlValue::Int(2), s("Kacky Reloaded 2"), SqlValue::Int(0)],
                vec![SqlValue::Int(3), s("Bob's; \"event\""), SqlValue::Null],
            ],
            line: 28,
        }),
        other(32, "COMMIT"),
        other(34, "/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT "),
    ];
    assert_eq!(stmts(sql), expected);
}

#[test]
fn mysqldump_fragment() {
    let sql = "-- MySQL dump 10.13  Distrib 8.0.35, for Linux (x86_64)\n\
--\n\
-- Host: localhost    Database: kacky\n\
-- ------------------------------------------------------\n\
/*!40103 SET TIME_ZONE='+00:00' */;\n\
\n\
DROP TABLE IF EXISTS `maps`;\n\
CREATE TABLE `maps` (\n\
  `id` int NOT NULL,\n\
  PRIMARY KEY (`id`)\n\
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
\n\
LOCK TABLES `maps` WRITE;\n\
/*!40000 ALTER TABLE `maps` DISABLE KEYS */;\n\
INSERT INTO `maps` VALUES (1,'a\\'b',NULL),(2,'c',3);\n\
/*!40000 ALTER TABLE `maps` ENABLE KEYS */;\n\
UNLOCK TABLES;\n\
-- Dump completed on 2023-11-24 19:10:00\n";
    let expected = vec![
        other(5, "/*!40103 SET TIME_ZONE='+00:00' */"),
        other(7, "DROP TABLE IF EXISTS `maps`"),
        other(8, "CREATE TABLE `maps` ( `id` int NOT NULL, PRIMARY KEY (`id`) "),
        other(13, "LOCK TABLES `maps` WRITE"),
        other(14, "/*!40000 ALTER TABLE `maps` DISABLE KEYS */"),
        Statement::Insert(Insert {
            table: "maps".into(),
            columns: None,
            rows: vec![
                vec![SqlValue::Int(1), s("a'b"), SqlValue::Null],
                vec![SqlValue::Int(2), s("c"), SqlValue::Int(3)],
            ],
            line: 15,
        }),
        other(16, "/*!40000 ALTER TABLE `maps` ENABLE KEYS */"),
        other(17, "UNLOCK TABLES"),
    ];
    assert_eq!(stmts(sql), expected);
}

#[test]
fn utf8_nickname_with_codes_and_quotes() {
    let ins =
        insert(r"INSERT INTO wr (nick) VALUES ('$f08,.*+-.$fffwikos$f08\'.^\'\'- $ffogf'), ('Ünïcödé 🏁 ''ok''');");
    assert_eq!(ins.rows[0][0], s("$f08,.*+-.$fffwikos$f08'.^''- $ffogf"));
    assert_eq!(ins.rows[1][0], s("Ünïcödé 🏁 'ok'"));
}

#[test]
fn final_statement_without_semicolon() {
    let out = stmts("SET a=1;\nINSERT INTO t VALUES (1)\n-- the end");
    assert_eq!(out.len(), 2);
    assert!(matches!(&out[1], Statement::Insert(i) if i.rows == vec![vec![SqlValue::Int(1)]]));
    assert_eq!(stmts("SELECT 1-"), vec![other(1, "SELECT 1-")]);
    assert_eq!(stmts("SELECT 1/"), vec![other(1, "SELECT 1/")]);
    assert!(stmts(" \n;; -- x\n ;").is_empty());
}

#[test]
fn unterminated_string_reports_statement_line() {
    let sql = "SET a=1;\n\nINSERT INTO t VALUES\n(1, 'abc);\n";
    let results = all(sql);
    assert_eq!(results.len(), 2);
    let err = results[1].clone().unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("unterminated string"), "{err}");
    assert!(err.message.contains("line 4"), "{err}");
    assert_eq!(error("SELECT `abc").line, 1);
    assert!(error("\n/* never closed").message.contains("comment"));
    assert!(error("/*!40101 SET x=1").message.contains("/*!"));
}

#[test]
fn mismatched_rows_are_errors() {
    let err = error("INSERT INTO t VALUES (1,2),\n(3);");
    assert_eq!(err.line, 1);
    assert!(err.message.contains("row 2 has 1 values"), "{err}");
    assert!(err.message.contains("(at line 2)"), "{err}");
    let err = error("INSERT INTO t (a) VALUES (1,2);");
    assert!(err.message.contains("1 columns"), "{err}");
    assert!(err.to_string().starts_with("line 1: INSERT into `t`:"), "{err}");
}

#[test]
fn garbage_values_are_errors() {
    let err = error("INSERT INTO t VALUES (1, foo);");
    assert!(err.message.contains("`foo`"), "{err}");
    for sql in [
        "INSERT INTO t VALUES (1 2);",
        "INSERT INTO t VALUES (1,);",
        "INSERT INTO t VALUES (1",
        "INSERT INTO t VALUES 1;",
        "INSERT INTO t VALUES (12abc);",
        "INSERT INTO t VALUES (1.2.3);",
        "INSERT INTO t VALUES (-);",
        "INSERT INTO t VALUES (0x4G);",
        "INSERT INTO t VALUES (X'123');",
        "INSERT INTO t VALUES (0xFF);",
        "INSERT INTO t VALUES (_binary);",
        "INSERT INTO t VALUES (NOW());",
        "INSERT INTO t VALUES (1) garbage;",
        "INSERT INTO t SELECT * FROM u;",
        "INSERT INTO (a) VALUES (1);",
    ] {
        assert!(all(sql).iter().any(Result::is_err), "{sql}");
    }
}

#[test]
fn invalid_utf8_is_an_error_and_reading_goes_on() {
    let mut bytes = b"INSERT INTO t VALUES ('ok'), ('".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'x']);
    bytes.extend_from_slice(b"');\nINSERT INTO t VALUES (2);\n-- \xff comment\nSET x='\xc3';");
    let results: Vec<_> = DumpReader::new(bytes.as_slice()).collect();
    assert_eq!(results.len(), 3, "{results:?}");
    let err = results[0].clone().unwrap_err();
    assert!(err.message.contains("UTF-8"), "{err}");
    assert!(matches!(&results[1], Ok(Statement::Insert(i)) if i.line == 2));
    assert!(matches!(&results[2], Ok(Statement::Other { line: 4, .. })));
    let mut bad_name = b"INSERT INTO `t".to_vec();
    bad_name.extend_from_slice(b"\xc3` VALUES (1);");
    let results: Vec<_> = DumpReader::new(bad_name.as_slice()).collect();
    let err = results[0].clone().unwrap_err();
    assert!(err.message.contains("not valid UTF-8"), "{err}");
}

#[test]
fn tiny_buffer_reads_statements_across_boundaries() {
    let sql = "/* c */ INSERT INTO `maps` VALUES (1,'a\\'b;c',NULL),\n(2,'é🏁--x',3.25);\n-- x\n/*!40000 ALTER TABLE `maps` ENABLE KEYS */;INSERT INTO t VALUES (-5);";
    let expected = stmts(sql);
    for cap in 1..=9 {
        let reader = DumpReader::new(BufReader::with_capacity(cap, sql.as_bytes()));
        let got: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(got, expected, "capacity {cap}");
    }
    let Statement::Insert(ins) = &expected[0] else { panic!("{expected:?}") };
    assert_eq!(ins.rows[0][1], s("a'b;c"));
    assert_eq!(ins.rows[1][1], s("é🏁--x"));
    assert_eq!(ins.rows[1][2], num("3.25"));
    assert_eq!(expected.len(), 3);
}

#[test]
fn line_numbers() {
    let sql = "-- header\n\n/* multi\nline */\nINSERT INTO t VALUES\n(1),\n(2);\n  SET x = 1;\n";
    let out = stmts(sql);
    assert!(matches!(&out[0], Statement::Insert(i) if i.line == 5));
    assert_eq!(out[1], other(8, "SET x = 1"));
    let err = error("\n\n\n\nINSERT INTO t VALUES (1),\n/* a\ncomment */ (oops);");
    assert_eq!(err.line, 5);
    assert!(err.message.contains("(at line 7)"), "{err}");
}

#[test]
fn bytes_read_counts_consumed_input() {
    let sql = "SET a=1;\nSET b=2;\n";
    let mut reader = DumpReader::new(sql.as_bytes());
    assert_eq!(reader.bytes_read(), 0);
    reader.next();
    assert_eq!(reader.bytes_read(), 8);
    assert_eq!(reader.by_ref().count(), 1);
    assert_eq!(reader.bytes_read(), sql.len() as u64);
}

#[test]
fn oversized_statement_is_skipped_with_an_error() {
    let sql = "INSERT INTO t VALUES ('a long string');\nSET b=2;";
    let mut reader = DumpReader::new(sql.as_bytes());
    reader.split.max_statement = 10;
    let results: Vec<_> = reader.collect();
    assert!(results[0].as_ref().unwrap_err().message.contains("longer"));
    assert_eq!(results[1], Ok(other(2, "SET b=2")));
}

/// A reader that fails after its data, to check I/O errors end the iteration.
struct Failing(&'static [u8]);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn io_error_ends_iteration() {
    let mut reader = DumpReader::new(BufReader::new(Failing(b"SET a=1; SET b")));
    assert_eq!(reader.next(), Some(Ok(other(1, "SET a=1"))));
    let err = reader.next().unwrap().unwrap_err();
    assert!(err.message.contains("disk on fire"), "{err}");
    assert_eq!(reader.next(), None);
}

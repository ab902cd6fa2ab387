#!/usr/bin/env python3
"""Generate the seed CSV files from the old Kacky backend's MariaDB dump.

Usage: python3 seed/gen_seed.py <dump.sql> <outdir>

Python 3.11 standard library only. The dump is parsed with a small
tokenizer (quoted strings with MySQL escapes, NULL, numbers) -- values are
never split on commas naively, so commas, parentheses, semicolons and quotes
inside strings are handled.

Output (UTF-8, header row, csv module RFC4180 quoting, "\n" line endings):
  events.csv, maps.csv, worldrecords.csv, tmx_tmlogin_mapping.csv
In tmx_tmlogin_mapping.csv SQL NULL is written as the literal \\N.
"""

from __future__ import annotations

import csv
import os
import sys

NULL = None  # SQL NULL is represented as Python None


class Raw(str):
    """An unquoted numeric literal, kept as its exact source text."""


# MySQL string escapes (https://mariadb.com/kb/en/string-literals/).
# \% and \_ keep their backslash; any other \x is just x.
_ESCAPES = {
    "0": "\0",
    "'": "'",
    '"': '"',
    "b": "\b",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "Z": "\x1a",
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}


class ParseError(Exception):
    pass


def _err(text: str, pos: int, msg: str) -> ParseError:
    line = text.count("\n", 0, pos) + 1
    return ParseError(f"line {line}: {msg}: {text[pos:pos + 60]!r}")


def read_string(text: str, pos: int) -> tuple[str, int]:
    """Read a quoted string starting at text[pos] (the quote char).

    Returns (unescaped value, position after the closing quote)."""
    quote = text[pos]
    assert quote in "'\""
    out: list[str] = []
    i = pos + 1
    n = len(text)
    while True:
        if i >= n:
            raise _err(text, pos, "unterminated string")
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                raise _err(text, pos, "unterminated escape")
            e = text[i + 1]
            out.append(_ESCAPES.get(e, e))
            i += 2
        elif c == quote:
            if i + 1 < n and text[i + 1] == quote:  # doubled quote: '' -> '
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(c)
            i += 1


def split_statements(text: str) -> list[str]:
    """Split SQL text into statements on ';' outside strings/comments.

    Comments (-- ..., # ..., /* ... */ including /*! ... */) are dropped."""
    stmts: list[str] = []
    buf: list[str] = []
    i, n = 0, len(text)
    start = 0  # start of current plain-text chunk

    def flush_chunk(end: int) -> None:
        if end > start:
            buf.append(text[start:end])

    while i < n:
        c = text[i]
        if c in "'\"`":
            # copy quoted region verbatim (backtick identifiers have no escapes)
            if c == "`":
                j = text.find("`", i + 1)
                while j != -1 and j + 1 < n and text[j + 1] == "`":
                    j = text.find("`", j + 2)
                if j == -1:
                    raise _err(text, i, "unterminated identifier")
                i = j + 1
            else:
                _, i = read_string(text, i)
        elif c == "#" or (text.startswith("--", i) and (i + 2 >= n or text[i + 2] in " \t\r\n")):
            flush_chunk(i)
            j = text.find("\n", i)
            i = n if j == -1 else j
            start = i
        elif c == "/" and text.startswith("/*", i):
            flush_chunk(i)
            j = text.find("*/", i + 2)
            if j == -1:
                raise _err(text, i, "unterminated comment")
            i = j + 2
            buf.append(" ")
            start = i
        elif c == ";":
            flush_chunk(i)
            stmt = "".join(buf).strip()
            if stmt:
                stmts.append(stmt)
            buf = []
            i += 1
            start = i
        else:
            i += 1
    flush_chunk(n)
    stmt = "".join(buf).strip()
    if stmt:
        stmts.append(stmt)
    return stmts


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i].isspace():
        i += 1
    return i


def _read_ident(s: str, i: int) -> tuple[str, int]:
    if s[i] == "`":
        out = []
        i += 1
        while True:
            j = s.index("`", i)
            out.append(s[i:j])
            if j + 1 < len(s) and s[j + 1] == "`":
                out.append("`")
                i = j + 2
            else:
                return "".join(out), j + 1
    j = i
    while j < len(s) and (s[j].isalnum() or s[j] in "_$"):
        j += 1
    if j == i:
        raise _err(s, i, "expected identifier")
    return s[i:j], j


def _expect(s: str, i: int, ch: str) -> int:
    i = _skip_ws(s, i)
    if i >= len(s) or s[i] != ch:
        raise _err(s, i, f"expected {ch!r}")
    return i + 1


def read_value(s: str, i: int):
    """Read one SQL literal at s[i]: string, NULL, or number."""
    c = s[i]
    if c in "'\"":
        return read_string(s, i)
    if s[i:i + 4].upper() == "NULL" and not (i + 4 < len(s) and (s[i + 4].isalnum() or s[i + 4] == "_")):
        return NULL, i + 4
    j = i
    if j < len(s) and s[j] in "+-":
        j += 1
    k = j
    while k < len(s) and (s[k].isdigit() or s[k] in ".eE" or (s[k] in "+-" and s[k - 1] in "eE")):
        k += 1
    if k == j or not any(ch.isdigit() for ch in s[j:k]):
        raise _err(s, i, "unsupported literal")
    lit = s[i:k]
    float(lit)  # validates
    return Raw(lit), k


def parse_insert(stmt: str) -> tuple[str, list[str], list[tuple]]:
    """Parse `INSERT INTO `t` (`c1`, ...) VALUES (...),(...)`."""
    head = stmt[:6].upper()
    if head != "INSERT":
        raise _err(stmt, 0, "not an INSERT")
    i = _skip_ws(stmt, 6)
    word, i = _read_ident(stmt, i)
    if word.upper() == "IGNORE":
        i = _skip_ws(stmt, i)
        word, i = _read_ident(stmt, i)
    if word.upper() != "INTO":
        raise _err(stmt, i, "expected INTO")
    i = _skip_ws(stmt, i)
    table, i = _read_ident(stmt, i)
    i = _expect(stmt, i, "(")
    cols: list[str] = []
    while True:
        i = _skip_ws(stmt, i)
        col, i = _read_ident(stmt, i)
        cols.append(col)
        i = _skip_ws(stmt, i)
        if stmt[i] == ",":
            i += 1
            continue
        i = _expect(stmt, i, ")")
        break
    i = _skip_ws(stmt, i)
    kw, i = _read_ident(stmt, i)
    if kw.upper() not in ("VALUES", "VALUE"):
        raise _err(stmt, i, "expected VALUES")
    rows: list[tuple] = []
    while True:
        i = _expect(stmt, i, "(")
        row = []
        while True:
            i = _skip_ws(stmt, i)
            v, i = read_value(stmt, i)
            row.append(v)
            i = _skip_ws(stmt, i)
            if i < len(stmt) and stmt[i] == ",":
                i += 1
                continue
            i = _expect(stmt, i, ")")
            break
        if len(row) != len(cols):
            raise _err(stmt, i, f"row has {len(row)} values, expected {len(cols)}")
        rows.append(tuple(row))
        i = _skip_ws(stmt, i)
        if i >= len(stmt):
            break
        if stmt[i] == ",":
            i += 1
            continue
        raise _err(stmt, i, "trailing garbage after VALUES")
    return table, cols, rows


def parse_dump(path: str) -> dict[str, list[dict]]:
    """Return {table: [ {col: value}, ... ]} in dump order.

    Values: str for quoted strings, Raw (str subclass) for numbers,
    None for NULL."""
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")  # strict: fail on invalid UTF-8
    if text.startswith("\ufeff"):
        text = text[1:]
    tables: dict[str, list[dict]] = {}
    for stmt in split_statements(text):
        if stmt[:6].upper() != "INSERT":
            continue
        table, cols, rows = parse_insert(stmt)
        lst = tables.setdefault(table, [])
        for r in rows:
            lst.append(dict(zip(cols, r)))
    return tables


# ---------------------------------------------------------------------------
# conversion to CSV rows

EVENTS_COLS = ["id", "name", "shortname", "type", "edition", "startdate", "enddate", "visible"]
MAPS_COLS = ["id", "event_id", "name", "kacky_id", "kacky_id_int", "map_version",
             "author", "tmx_id", "tm_uid", "difficulty"]
WR_COLS = ["id", "map_id", "nickname", "login", "score", "date", "source"]
MAPPING_COLS = ["tmx_login", "tmf_login", "tm20_login"]
NULL_MARK = "\\N"


def _int(v, what: str) -> str:
    if v is None or not isinstance(v, Raw):
        raise ValueError(f"{what}: expected integer, got {v!r}")
    return str(int(v))


def _str(v, what: str) -> str:
    if v is None:
        raise ValueError(f"{what}: unexpected NULL")
    return str(v)


def _nullable_str(v) -> str:
    return "" if v is None else str(v)


def events_rows(tables) -> list[list[str]]:
    out = []
    for r in tables["events"]:
        out.append([
            _int(r["id"], "events.id"),
            _str(r["name"], "events.name"),
            _str(r["shortname"], "events.shortname"),
            _str(r["type"], "events.type"),
            _int(r["edition"], "events.edition"),
            _str(r["startdate"], "events.startdate"),
            _str(r["enddate"], "events.enddate"),
            _int(r["visible"], "events.visible"),
        ])
    out.sort(key=lambda row: int(row[0]))
    return out


def maps_rows(tables) -> list[list[str]]:
    out = []
    for r in tables["maps"]:
        out.append([
            _int(r["id"], "maps.id"),
            _int(r["kackyevent"], "maps.kackyevent"),
            _str(r["name"], "maps.name"),
            _str(r["kacky_id"], "maps.kacky_id"),
            _int(r["kacky_id_int"], "maps.kacky_id_int"),
            _nullable_str(r["map_version"]),
            _str(r["author"], "maps.author"),
            _nullable_str(r["tmx_id"]),
            _nullable_str(r["tm_uid"]),
            "0" if r["difficulty"] is None else _int(r["difficulty"], "maps.difficulty"),
        ])
    out.sort(key=lambda row: int(row[0]))
    return out


def wr_rows(tables) -> list[list[str]]:
    out = []
    for r in tables["worldrecords"]:
        out.append([
            _int(r["id"], "worldrecords.id"),
            _int(r["map_id"], "worldrecords.map_id"),
            _str(r["nickname"], "worldrecords.nickname"),
            _str(r["login"], "worldrecords.login"),
            _int(r["score"], "worldrecords.score"),
            _str(r["date"], "worldrecords.date"),
            _str(r["source"], "worldrecords.source"),
        ])
    out.sort(key=lambda row: int(row[0]))
    return out


def mapping_rows(tables) -> list[list[str]]:
    out = []
    for r in tables["tmx_tmlogin_mapping"]:
        row = []
        for c in MAPPING_COLS:
            v = r[c]
            if v is None:
                row.append(NULL_MARK)
            else:
                if str(v) == NULL_MARK:
                    raise ValueError(f"tmx_tmlogin_mapping.{c}: real value equals NULL marker \\N")
                row.append(str(v))
        out.append(row)
    return out  # no id column: dump order


FILES = [
    ("events.csv", EVENTS_COLS, events_rows),
    ("maps.csv", MAPS_COLS, maps_rows),
    ("worldrecords.csv", WR_COLS, wr_rows),
    ("tmx_tmlogin_mapping.csv", MAPPING_COLS, mapping_rows),
]


def build_all(tables) -> dict[str, tuple[list[str], list[list[str]]]]:
    return {name: (cols, fn(tables)) for name, cols, fn in FILES}


def write_csv(path: str, header: list[str], rows: list[list[str]]) -> None:
    for row in rows:
        for v in row:
            # Python 3.11's csv does not quote a lone "\r" when lineterminator
            # is "\n"; refuse rather than write an unreadable file.
            if "\r" in v:
                raise ValueError(f"{path}: value contains CR: {v!r}")
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    dump, outdir = argv[1], argv[2]
    tables = parse_dump(dump)
    os.makedirs(outdir, exist_ok=True)
    for name, (cols, rows) in build_all(tables).items():
        path = os.path.join(outdir, name)
        write_csv(path, cols, rows)
        print(f"wrote {path}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

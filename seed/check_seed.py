#!/usr/bin/env python3
"""Verify the seed CSVs against the MariaDB dump.

Usage: python3 seed/check_seed.py <dump.sql> <seeddir>

1. Tokenizer self-test on synthetic SQL (all MySQL escapes, commas,
   parentheses and semicolons inside strings, NULL, negative numbers).
2. Parser cross-check: every parsed dump row is re-serialised in
   phpMyAdmin style and compared with the dump's source line byte-for-byte.
3. Round trip: each CSV is re-read with the csv module and every field is
   compared with the value parsed from the dump (conversion rules are
   re-implemented here, not imported from gen_seed.py).
4. Content checks (row counts, known records).
Exit status 0 if everything passes.
"""

from __future__ import annotations

import collections
import csv
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_seed as g  # noqa: E402  (parser only)

failures: list[str] = []


def check(cond: bool, msg: str) -> None:
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


# ---------------------------------------------------------------------------
# 1. tokenizer self-test

def selftest() -> None:
    sql = (
        "/*!40101 SET NAMES utf8mb4 */;\n-- a comment; with 'quote\n"
        "INSERT INTO `t` (`a`, `b`, `c`) VALUES\n"
        "(1, 'x,y', NULL),\n"
        "(-2, 'it\\'s ''q'' \\\\ \\\" \\n\\r\\t\\0 \\Z \\b \\% \\_ \\q', 'a(b),c);d'),\n"
        "(3.5, \"dq\"\"x\\\"\", '$o$i$f00ünï€ 😀'),\n"
        "(4, '', 'NULL');\n"
    )
    stmts = g.split_statements(sql)
    check(len(stmts) == 1, "selftest: one INSERT statement, comments dropped")
    table, cols, rows = g.parse_insert(stmts[0])
    check(table == "t" and cols == ["a", "b", "c"], "selftest: table/columns")
    expect = [
        ("1", "x,y", None),
        ("-2", "it's 'q' \\ \" \n\r\t\0 \x1a \b \\% \\_ q", "a(b),c);d"),
        ("3.5", 'dq"x"', "$o$i$f00ünï€ 😀"),
        ("4", "", "NULL"),
    ]
    check(rows == expect, "selftest: values/escapes/NULL/numbers")
    check(isinstance(rows[0][0], g.Raw) and not isinstance(rows[3][2], g.Raw)
          and rows[0][2] is None, "selftest: literal kinds (number / string / NULL)")


# ---------------------------------------------------------------------------
# 2. parser cross-check against the dump text

def sql_lit(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, g.Raw):
        return str(v)
    s = (v.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
         .replace("\n", "\\n").replace("\r", "\\r").replace("\x1a", "\\Z"))
    return "'" + s + "'"


def crosscheck(dump: str, tables) -> None:
    with open(dump, encoding="utf-8") as f:
        lines = f.read().split("\n")
    tuple_lines = [ln for ln in lines if ln.startswith("(")]
    serialised = []
    for name in ("events", "maps", "tmx_tmlogin_mapping", "worldrecords"):
        for r in tables[name]:
            serialised.append("(" + ", ".join(sql_lit(v) for v in r.values()) + ")")
    # tables appear in the dump in this order; compare line by line
    ok = len(tuple_lines) == len(serialised) and all(
        ln[:-1] == s for ln, s in zip(tuple_lines, serialised))
    if not ok:
        for ln, s in zip(tuple_lines, serialised):
            if ln[:-1] != s:
                print("   dump:", ln, "\n   ours:", s)
                break
    check(ok, f"parser cross-check: {len(serialised)} parsed rows re-serialise to the "
              f"dump's {len(tuple_lines)} tuple lines byte-for-byte")


# ---------------------------------------------------------------------------
# 3. round trip

def read_csv(path: str) -> tuple[list[str], list[list[str]]]:
    with open(path, "rb") as f:
        raw = f.read()
    raw.decode("utf-8")  # strict
    check(b"\r" not in raw and raw.endswith(b"\n"),
          f"{os.path.basename(path)}: UTF-8, LF line endings")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def expected(tables):
    def s(v):  # NOT NULL text
        assert v is not None and not isinstance(v, g.Raw)
        return v

    def i(v):  # integer
        assert isinstance(v, g.Raw)
        return str(int(v))

    def by_id(rows):
        return sorted(rows, key=lambda r: int(r[0]))

    ev = by_id([[i(r["id"]), s(r["name"]), s(r["shortname"]), s(r["type"]), i(r["edition"]),
                 s(r["startdate"]), s(r["enddate"]), i(r["visible"])] for r in tables["events"]])
    mp = by_id([[i(r["id"]), i(r["kackyevent"]), s(r["name"]), s(r["kacky_id"]),
                 i(r["kacky_id_int"]), r["map_version"] or "", s(r["author"]),
                 r["tmx_id"] or "", r["tm_uid"] or "",
                 "0" if r["difficulty"] is None else i(r["difficulty"])] for r in tables["maps"]])
    wr = by_id([[i(r["id"]), i(r["map_id"]), s(r["nickname"]), s(r["login"]), i(r["score"]),
                 s(r["date"]), s(r["source"])] for r in tables["worldrecords"]])
    mm = [["\\N" if r[c] is None else r[c] for c in ("tmx_login", "tmf_login", "tm20_login")]
          for r in tables["tmx_tmlogin_mapping"]]
    return {
        "events.csv": ("id,name,shortname,type,edition,startdate,enddate,visible", ev),
        "maps.csv": ("id,event_id,name,kacky_id,kacky_id_int,map_version,author,tmx_id,tm_uid,difficulty", mp),
        "worldrecords.csv": ("id,map_id,nickname,login,score,date,source", wr),
        "tmx_tmlogin_mapping.csv": ("tmx_login,tmf_login,tm20_login", mm),
    }


def roundtrip(seeddir: str, tables) -> dict[str, list[list[str]]]:
    out = {}
    for name, (header, rows) in expected(tables).items():
        h, got = read_csv(os.path.join(seeddir, name))
        check(",".join(h) == header, f"{name}: header {header}")
        nfields = sum(len(r) for r in rows)
        same = got == rows
        if not same:
            for k, (a, b) in enumerate(zip(got, rows)):
                if a != b:
                    print(f"   row {k}: csv={a!r}\n          dump={b!r}")
                    break
        check(same, f"{name}: {len(got)} rows / {nfields} fields identical to dump values")
        out[name] = got
    return out


# ---------------------------------------------------------------------------
# 4. content checks (on the CSV contents)

def content(csvs) -> None:
    events = csvs["events.csv"]
    maps = csvs["maps.csv"]
    wrs = csvs["worldrecords.csv"]
    mapping = csvs["tmx_tmlogin_mapping.csv"]
    ev = {r[0]: r for r in events}
    check(len(events) == 12, f"events: {len(events)} rows (expect 12)")
    check(all(r[7] in ("0", "1") for r in events), "events: visible is 0/1")
    check(len(maps) == 776, f"maps: {len(maps)} rows (expect 776)")
    check(all(m[1] in ev for m in maps), "maps: every event_id exists in events")
    per_type = collections.Counter(ev[m[1]][3] for m in maps)
    check(per_type == {"KK": 476, "KR": 300}, f"maps per type: {dict(per_type)} (expect KK 476, KR 300)")
    check(len({m[0] for m in maps}) == len(maps), "maps: ids unique")
    check(len(wrs) == 776, f"worldrecords: {len(wrs)} rows (expect 776)")
    mids = {m[0] for m in maps}
    check(all(w[1] in mids for w in wrs), "worldrecords: every map_id exists in maps")
    per_map = collections.Counter(w[1] for w in wrs)
    check(set(per_map) == mids and set(per_map.values()) == {1}, "worldrecords: exactly one per map")
    check(len(mapping) == 24, f"tmx_tmlogin_mapping: {len(mapping)} rows (expect 24)")
    trailing = sorted(r[1] for r in mapping if r[1] != r[1].rstrip())
    check(trailing == sorted(["nexos26 ", "juloos ", "dawidnh6 ", "xyphrs "]),
          f"tmx_tmlogin_mapping: tmf_login with trailing space = {trailing!r}")
    check(all(r[2] == "\\N" for r in mapping), "tmx_tmlogin_mapping: tm20_login all NULL (\\N)")

    wr_of = {w[1]: w for w in wrs}

    def find(short, kid):
        eid = next(e[0] for e in events if e[2] == short)
        ms = [m for m in maps if m[1] == eid and m[4] == str(kid)]
        assert len(ms) == 1, (short, kid, ms)
        return ms[0]

    m = find("KR1", 17)
    check(m[5] == "[v2]" and m[3] == "17 [v2]", f"KR1 #17: map_version={m[5]!r} kacky_id={m[3]!r}")
    m = find("KR4", 290)
    w = wr_of[m[0]]
    check(w[4] == "9999999" and w[2] == "" and w[3] == "" and w[6] == "",
          f"KR4 #290: WR score={w[4]} nickname={w[2]!r} login={w[3]!r} source={w[6]!r} date={w[5]}")
    kk7 = sorted(int(m[4]) for m in maps if m[1] == "7")
    check(ev["7"][2] == "KK7" and len(kk7) == 75 and kk7 == list(range(201, 276)),
          f"KK7 (event 7): {len(kk7)} maps, kacky_id_int {kk7[0]}..{kk7[-1]}")
    m = find("KK7", 201)
    w = wr_of[m[0]]
    check(m[6] == "nixion4" and w[4] == "17580" and "nixion4" in (w[2], w[3]),
          f"KK7 #201: author={m[6]} WR {w[4]} by nick={w[2]!r} login={w[3]!r}")
    m = find("KK1", 1)
    w = wr_of[m[0]]
    check(m[6] == "nixion4" and w[4] == "2760" and "nellike" in (w[2], w[3]),
          f"KK1 #1: author={m[6]} WR {w[4]} by nick={w[2]!r} login={w[3]!r}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python3 seed/check_seed.py <dump.sql> <seeddir>", file=sys.stderr)
        return 2
    dump, seeddir = argv[1], argv[2]
    selftest()
    tables = g.parse_dump(dump)
    crosscheck(dump, tables)
    csvs = roundtrip(seeddir, tables)
    content(csvs)
    print(f"\n{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

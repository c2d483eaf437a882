"""An analyst's DuckDB reading an air-demand database, offline, as
docs/database.md says: the sqlite extension loaded from its pip package (no
INSTALL, no autoload), the file attached read-only, or read by sqlite_scan.
Prints JSON on stdout for tests/analyst.rs.

    duckdb_reader.py read DB          role_versions, roles and changes, with
                                      their column types, both ways; the
                                      column types of the other tables
    duckdb_reader.py queries DB FILE  each statement of FILE (a JSON list)
                                      run after `USE`: rows or the error
"""

import json
import pathlib
import sys

import duckdb
import duckdb_extension_sqlite_scanner as sqlite_ext

# What the test compares, per relation: every column, in id order, and what
# DuckDB's own JSON functions make of the JSON column.
# A job's id is `$.id`, but a Workable job's is `$.shortcode` and a careers
# posting's `$.identifier`.
JOB_ID = "coalesce(json_extract_string(raw, '$.id'), json_extract_string(raw, '$.shortcode'), json_extract_string(raw, '$.identifier'))"
RELATIONS = {
    "role_versions": JOB_ID,
    "roles": JOB_ID,
    "changes": "NULL",
}


# The other contract tables with JSON columns: their column types only.
TYPES_ONLY = ["runs", "digests", "llm_cache"]


def connect(db):
    extension = (pathlib.Path(sqlite_ext.__file__).parent / "extensions"
                 / f"v{duckdb.__version__}" / "sqlite_scanner.duckdb_extension")
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute(f"LOAD '{quote(str(extension))}'")
    con.execute(f"ATTACH '{quote(db)}' AS demand (TYPE sqlite, READ_ONLY)")
    return con


def quote(text):
    return text.replace("'", "''")


def read(con, name, source):
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    names = [row[0] for row in described] + ["json_id"]
    rows = con.execute(
        f"SELECT *, {RELATIONS[name]} AS json_id FROM {source} ORDER BY id").fetchall()
    return {"types": {row[0]: row[1] for row in described},
            "rows": [dict(zip(names, row)) for row in rows]}


def types(con, source):
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def value(v):
    # A BLOB is what this test exists to catch: say so, do not fail here.
    return f"<{type(v).__name__}>"


def main():
    command, db = sys.argv[1], sys.argv[2]
    con = connect(db)
    if command == "read":
        out = {
            "attach": {name: read(con, name, f"demand.{name}") for name in RELATIONS},
            "scan": {name: read(con, name, f"sqlite_scan('{quote(db)}', '{name}')")
                     for name in RELATIONS},
            "attach_types": {name: types(con, f"demand.{name}") for name in TYPES_ONLY},
            "scan_types": {name: types(con, f"sqlite_scan('{quote(db)}', '{name}')")
                           for name in TYPES_ONLY},
        }
    elif command == "queries":
        con.execute("USE demand")
        out = []
        for statement in json.loads(pathlib.Path(sys.argv[3]).read_text()):
            try:
                out.append({"rows": len(con.execute(statement).fetchall())})
            except duckdb.Error as error:
                out.append({"error": str(error)})
    else:
        sys.exit(f"unknown command {command}")
    json.dump(out, sys.stdout, default=value)


main()

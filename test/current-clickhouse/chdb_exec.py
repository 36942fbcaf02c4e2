"""Runs ClickHouse statements on chDB (an embedded current ClickHouse) for test/current-clickhouse.

Protocol: one JSON request per stdin line, one JSON answer per stdout line, in order.
  request: {"db": str, "sql": str, "data"?: str, "externals"?: [{"name", "structure", "format", "data"}],
            "settings"?: {name: value}, "format"?: str}
  answer:  {"ok": true, "out": str} or {"ok": false, "error": str}
The first answer (before any request) is {"version": "<server version>"}.
Mutations run synchronously (mutations_sync = 1): the replay has no poll loop to wait for them.
"""
import json
import sys

from chdb import session

SKIP_SETTINGS = ("_structure", "_format")


def main() -> None:
    path = sys.argv[1]
    s = session.Session(path)
    s.query("SET mutations_sync = 1")
    out = sys.stdout
    version = s.query("SELECT version()", "TabSeparated").bytes().decode().strip()
    out.write(json.dumps({"version": version}) + "\n")
    out.flush()
    current = None
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            db = req.get("db") or "default"
            if db != current:
                s.query(f"USE `{db}`")
                current = db
            for name, value in (req.get("settings") or {}).items():
                if not name.endswith(SKIP_SETTINGS):
                    s.query(f"SET {name} = {json.dumps(value) if isinstance(value, (int, float)) else repr(str(value))}")
            for ext in req.get("externals") or []:
                s.query(f"DROP TEMPORARY TABLE IF EXISTS `{ext['name']}`")
                s.query(f"CREATE TEMPORARY TABLE `{ext['name']}` ({ext['structure']})")
                s.query(f"INSERT INTO `{ext['name']}` FORMAT {ext['format']}\n{ext['data']}")
            sql = req["sql"]
            if req.get("data") is not None:
                sql = sql + "\n" + req["data"]
            res = s.query(sql, req.get("format") or "JSONEachRow")
            for ext in req.get("externals") or []:
                s.query(f"DROP TEMPORARY TABLE IF EXISTS `{ext['name']}`")
            answer = {"ok": True, "out": res.bytes().decode("utf-8", "replace") if res is not None else ""}
        except Exception as err:  # chdb raises ChdbError (and RuntimeError in older releases)
            current = None  # a failed USE leaves the session where it was
            answer = {"ok": False, "error": str(err)}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()

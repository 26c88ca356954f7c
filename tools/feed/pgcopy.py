"""Bulk loading into PostgreSQL with COPY (psycopg 3), for the benchmark seeding. No Django.

Two encoders: text COPY for tables with variable-length text (built column by column), and
binary COPY for the big fixed-width tables (the event log, embeddings, follows), encoded
with numpy structured arrays so Python never touches a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import psycopg

PG_EPOCH_S = 946_684_800  # 2000-01-01T00:00:00Z, the zero of binary timestamps
HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)

_WIDTH = {"int2": 2, "int4": 4, "int8": 8, "float4": 4, "float8": 8, "bool": 1, "ts": 8, "uuid": 16}
_DTYPE = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8", "bool": "u1", "ts": ">i8"}


@dataclass
class BinCol:
    kind: str  # int2 int4 int8 float4 float8 bool ts (epoch seconds) uuid (n,16 u1) bytes (n,w u1)
    values: np.ndarray

    @property
    def width(self) -> int:
        return self.values.shape[1] if self.kind == "bytes" else _WIDTH[self.kind]


def encode_rows(cols: list[BinCol | None]) -> bytes:
    """Binary COPY tuples (without header/trailer). A None column is NULL in every row."""
    n = next(len(c.values) for c in cols if c is not None)
    fields: list[tuple] = [("count", ">i2")]
    for i, c in enumerate(cols):
        fields.append((f"l{i}", ">i4"))
        if c is not None:
            fields.append((f"d{i}", "u1", (c.width,)) if c.kind in ("uuid", "bytes") else (f"d{i}", _DTYPE[c.kind]))
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(cols)
    for i, c in enumerate(cols):
        if c is None:
            rows[f"l{i}"] = -1
            continue
        rows[f"l{i}"] = c.width
        if c.kind == "ts":
            rows[f"d{i}"] = np.round((np.asarray(c.values, dtype=np.float64) - PG_EPOCH_S) * 1e6).astype(np.int64)
        else:
            rows[f"d{i}"] = c.values
    return rows.tobytes()


def copy_binary(conn: psycopg.Connection, table: str, columns: list[str], chunks: Iterable[bytes]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(HEADER)
        for chunk in chunks:
            cp.write(chunk)
        cp.write(TRAILER)


def _text(values) -> list[str]:
    if isinstance(values, np.ndarray) and values.dtype.kind == "b":
        return np.where(values, "t", "f").tolist()
    return [r"\N" if v is None else str(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]


def copy_text(conn: psycopg.Connection, table: str, data: dict[str, object], n: int, chunk: int = 200_000) -> None:
    """Text COPY of `data` (column → array, list, or one scalar for every row). Values must
    not contain tabs, newlines or backslashes (the seeding writes none)."""
    columns = list(data)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            parts = []
            for col in columns:
                v = data[col]
                if isinstance(v, np.ndarray | list):
                    parts.append(_text(v[start:stop]))
                else:
                    parts.append([r"\N" if v is None else str(v)] * (stop - start))
            cp.write(("\n".join("\t".join(row) for row in zip(*parts, strict=True)) + "\n").encode())


def iso(ts: np.ndarray) -> np.ndarray:
    """Epoch seconds → ISO 8601 strings in UTC, for text COPY."""
    whole = np.asarray(ts, dtype=np.float64)
    micro = np.round(whole * 1e6).astype("int64").astype("datetime64[us]")
    return np.char.add(np.datetime_as_string(micro, unit="us").astype(str), "+00:00")


@dataclass
class SavedSchema:
    table: str
    constraints: list[tuple[str, str, str]]  # (name, definition, type p/u/c/f)
    indexes: list[tuple[str, str]]  # (name, CREATE INDEX ...)


def strip_table(conn: psycopg.Connection, table: str, *, keep_primary: bool = True) -> SavedSchema:
    """Drop a table's constraints and indexes (COPY into a bare heap is several times faster);
    `restore` puts the same definitions back. The primary key stays by default: other tables'
    foreign keys depend on it, and appending ascending ids to it is cheap."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid), contype::text FROM pg_constraint WHERE conrelid = %s::regclass",
            [table],
        )
        constraints = [tuple(r) for r in cur.fetchall() if not (keep_primary and r[2] == "p")]
        cur.execute(
            """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = %s::regclass
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid AND c.conrelid = x.indrelid)""",
            [table],
        )
        indexes = [tuple(r) for r in cur.fetchall()]
        for name, _, _kind in sorted(constraints, key=lambda c: c[2] != "f"):
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"')
        for name, _ in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    return SavedSchema(table, constraints, indexes)


def restore(conn: psycopg.Connection, saved: list[SavedSchema], say=print) -> None:
    """Put back keys and indexes first, then checks, then foreign keys (which need the keys)."""
    with conn.cursor() as cur:
        for kinds in (("p", "u"), ("idx",), ("c",), ("f",)):
            for s in saved:
                if kinds == ("idx",):
                    for name, definition in s.indexes:
                        say(f"  index {name}")
                        cur.execute(definition)
                    continue
                for name, definition, kind in s.constraints:
                    if kind in kinds:
                        say(f"  {s.table}: {name}")
                        cur.execute(f'ALTER TABLE {s.table} ADD CONSTRAINT "{name}" {definition}')


def reset_sequence(conn: psycopg.Connection, table: str, column: str = "id") -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST((SELECT max({column}) FROM {table}), 1))",
            [table, column],
        )

"""An on-disk cache of oracle values, so that a rerun does not pay twice.

Keyed by the case (its exact inputs, params, reduction, dtype), the semantics' switches, the working
precision asked for, and a digest of the oracle's own source and the specs: a change to any formula,
switch or spec invalidates every entry at once. Values are pickled ``Exact`` objects (mpf pickles
exactly). Set LOSSCONF_ORACLE_CACHE=off to disable, or to a directory to move it (default .oracle-cache/).

A *scoped* entry (``scoped``, ``get_scoped``/``put_scoped``) is keyed by the switches its computation actually read, with their
values, instead of the whole semantics: a formula reads the semantics only through ``Semantics[switch]``, so a
convention that agrees on every switch read computes the very same numbers, and implementations declaring
different conventions (``keras+ftz`` on TensorFlow, ``keras`` on torch) share the work wherever their differences go
unread (no subnormal input to flush, no clip reached).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=None)
def _digest() -> str:
    h = hashlib.sha256()
    # everything the exact value depends on: the formulas, the specs and the core (formats, semantics, Case)
    for path in sorted([*(ROOT / "oracle").rglob("*.py"), *(ROOT / "specs").glob("*"), *(ROOT / "core").glob("*.py")]):
        if path.is_dir():
            continue
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def _connection():
    where = os.environ.get("LOSSCONF_ORACLE_CACHE", str(ROOT / ".oracle-cache"))
    if where.lower() == "off":
        return None
    Path(where).mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(Path(where) / f"oracle-{_digest()}.sqlite", check_same_thread=False)
    # a cache needs no durability: an entry lost in a crash is recomputed, so no fsync per commit
    db.execute("pragma synchronous = off")
    db.execute("create table if not exists exact (key text primary key, value blob)")
    db.execute("create table if not exists scoped (base text, reads text, value blob, primary key (base, reads))")
    return db


def key(case, semantics, kind: str) -> str:
    switches = sorted((k, repr(v)) for k, v in semantics.switches.items())
    return hashlib.sha256(repr((kind, case.key(), case.reduction, semantics.name, switches)).encode()).hexdigest()


def get(k: str):
    db = _connection()
    if db is None:
        return None
    try:
        row = db.execute("select value from exact where key = ?", (k,)).fetchone()
    except sqlite3.Error:  # the file removed or locked by another process: a miss, not a failure
        return None
    return pickle.loads(row[0]) if row else None


def put(k: str, value) -> None:
    db = _connection()
    if db is None:
        return
    try:
        db.execute("insert or replace into exact values (?, ?)", (k, pickle.dumps(value)))
        db.commit()
    except sqlite3.Error:  # a cache that cannot be written is only a slower run
        pass


def scoped_base(kind: str, case, *extra) -> str:
    """The part of a scoped key that is not the semantics: the case's inputs, params, reduction and dtype."""
    return hashlib.sha256(repr((kind, case.key(), case.reduction, extra)).encode()).hexdigest()


def get_scoped(base: str, semantics):
    """The value stored under ``base`` by a computation whose every switch read has, in ``semantics``, the value it
    had then; None if none has. A hit reads those switches again (``Semantics[switch]``), so that a
    ``switches_read`` block around the lookup sees what the computation it stands for would have read."""
    db = _connection()
    if db is None:
        return None
    try:
        rows = db.execute("select reads, value from scoped where base = ?", (base,)).fetchall()
    except sqlite3.Error:
        return None
    for reads, value in rows:
        wanted = dict(json.loads(reads))
        if all(repr(semantics[k]) == v for k, v in wanted.items()):
            return pickle.loads(value)
    return None


def put_scoped(base: str, semantics, read: set, value) -> None:
    """Stores ``value`` under ``base`` and the switches ``read`` (with their values in ``semantics``)."""
    db = _connection()
    if db is None:
        return
    reads = json.dumps(sorted((k, repr(semantics[k])) for k in read))
    try:
        db.execute("insert or replace into scoped values (?, ?, ?)", (base, reads, pickle.dumps(value)))
        db.commit()
    except sqlite3.Error:
        pass


def scoped(base: str, semantics, compute):
    """``compute()``, or what it gave under a convention agreeing with ``semantics`` on every switch it read."""
    from core.semantics import switches_read

    hit = get_scoped(base, semantics)
    if hit is None:
        with switches_read() as read:
            hit = compute()
        put_scoped(base, semantics, read, hit)
    return hit

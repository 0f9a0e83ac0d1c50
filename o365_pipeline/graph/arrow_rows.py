"""The Arrow fast path: rows of the big entities become one pyarrow Table per page, with a fixed schema.

dlt loads an Arrow table as is (no relational normalizer, parquet written at extract), about 15 times
cheaper than the same rows as dicts. The layout matches what dlt's normalizer made of these entities, so
the raw tables keep their columns: nested objects are flattened (``flag.flagStatus`` -> ``flag__flag_status``),
deeper objects are JSON (``from__email_address``). Lists are JSON columns (``to_recipients``) instead of
child tables; the dbt staging models unnest them.

Which properties each entity keeps is its ``columns`` and ``layout`` in the entity table (:mod:`.entities`),
from its ``$select`` and what Graph returns; a property not declared is not stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.data_types.type_helpers import coerce_value, py_type_to_sc_type
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCaseNaming

from .entities import ENTITIES, DataType
from .readers import DELETED_COLUMN

SEQUENCE_COLUMN = "sync_seq"

_NAMING = SnakeCaseNaming()


# The entities on the Arrow path and their stored properties: ``id``, the declared ``columns`` and the
# ``layout`` of the entity table.
ARROW_FIELDS: dict[str, dict[str, DataType]] = {
    name: {"id": "text", **entity.columns, **entity.layout} for name, entity in ENTITIES.items() if entity.layout
}

_ARROW_TYPES: dict[DataType, pa.DataType] = {
    "text": pa.string(),
    "json": pa.string(),
    "bool": pa.bool_(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Column:
    """One stored column: its dlt name, the path into an item, and its type."""

    name: str
    path: tuple[str, ...]
    data_type: DataType


def column_name(path: str) -> str:
    """dlt's name for a dotted path: ``from.emailAddress`` -> ``from__email_address``."""
    return "__".join(_NAMING.normalize_identifier(part) for part in path.split("."))


class ArrowLayout:
    """The fixed schema of one entity's raw table and the conversion of rows (dicts) to Arrow tables."""

    def __init__(self, name: str, fields: Mapping[str, DataType]) -> None:
        self.name = name
        self.columns = [Column(column_name(path), tuple(path.split(".")), kind) for path, kind in fields.items()]
        for extra, kind in ((DELETED_COLUMN, "bool"), (SEQUENCE_COLUMN, "bigint")):
            self.columns.append(Column(extra, (extra,), kind))  # type: ignore[arg-type]
        self.schema = pa.schema(
            [pa.field(c.name, _ARROW_TYPES[c.data_type], nullable=c.name != "id") for c in self.columns]
        )

    def hints(self) -> dict[str, dict[str, Any]]:
        """dlt column hints of the entity's declared columns and the JSON ones (which arrive as their text); the
        other columns' types come from the Arrow schema, so a full refresh can retype them (:meth:`widened`)."""
        declared = {column_name(name) for name in ENTITIES[self.name].columns}
        return {
            c.name: {"data_type": c.data_type, "nullable": c.name != "id"}
            for c in self.columns
            if c.name in declared or c.data_type == "json"
        }

    def declares(self, column: str) -> bool:
        """Whether ``column``'s type is declared (``Entity.columns``, JSON): never retyped."""
        return column in self.hints()

    def widened(self, column: str) -> ArrowLayout:
        """This layout with ``column`` stored as text (Graph changed its type and nothing stored holds it)."""
        fields = {".".join(c.path): ("text" if c.name == column else c.data_type) for c in self.columns[:-2]}
        return ArrowLayout(self.name, fields)

    def table(self, rows: Sequence[Mapping[str, Any]], first_seq: int, *, stored: bool = False) -> pa.Table:
        """An Arrow table of ``rows`` (Graph items shaped by the reader, or with ``stored`` rows keyed by column
        name, as read back from the raw table), ``sync_seq`` numbered from ``first_seq``."""
        arrays = []
        for column in self.columns:
            if column.name == SEQUENCE_COLUMN:
                arrays.append(pa.array(range(first_seq, first_seq + len(rows)), pa.int64()))
                continue
            if stored or len(column.path) == 1:
                key = column.name if stored else column.path[0]
                values = [row.get(key) for row in rows]
            else:
                values = [_dig(row, column.path) for row in rows]
            try:
                arrays.append(_array(values, column.data_type))
            except TypeMismatch as exc:
                exc.column = column.name
                raise
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _dig(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = row
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class TypeMismatch(Exception):
    """A value that does not convert to its column's type without loss, by dlt's own rules (Graph changed a
    property's type): what dlt's normalizer would store in a variant column."""

    def __init__(self, stored: DataType, sent: str) -> None:
        super().__init__(f"{sent} where the column holds {stored}")
        self.column = ""
        self.stored, self.sent = stored, sent


# Arrow converts these silently where dlt would not (2.5 into bigint as 2, True into double as 1.0): their values
# are checked first. Text and bool columns take the values as they are and refuse any other type themselves.
_CHECKED: dict[DataType, frozenset[type]] = {"bigint": frozenset({int}), "double": frozenset({float, int})}


def _only(values: list[Any], kinds: frozenset[type]) -> bool:
    found = set(map(type, values))
    found.discard(type(None))
    return found <= kinds


def coerce(value: Any, data_type: DataType) -> Any:
    """``value`` as dlt's normalizer stores it in a ``data_type`` column (its ``coerce_value``: ``"true"`` into
    a bool, ``"42"`` into a bigint, ISO text into a timestamp, ...).

    Raises:
        TypeMismatch: the value does not convert (dlt would add a variant column).
    """
    if value is None:
        return None
    sent = py_type_to_sc_type(type(value))
    try:
        return coerce_value(data_type, sent, value)
    except (ValueError, TypeError, OverflowError, SyntaxError):
        raise TypeMismatch(data_type, sent) from None


def _array(values: list[Any], data_type: DataType) -> pa.Array:
    if data_type == "json":
        return pa.array([None if v is None else orjson.dumps(v) for v in values], pa.string())
    if data_type == "timestamp":
        return _timestamps(values)
    arrow_type = _ARROW_TYPES[data_type]
    if data_type not in _CHECKED or _only(values, _CHECKED[data_type]):
        try:
            return pa.array(values, arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # a value of another type: each one as dlt coerces it, below
        except OverflowError:  # an integer beyond 64 bits: no column type of ours holds it
            raise TypeMismatch(data_type, "bigint") from None
    try:
        return pa.array([coerce(v, data_type) for v in values], arrow_type)
    except OverflowError:
        raise TypeMismatch(data_type, "bigint") from None


_UTC_US = pa.timestamp("us", tz="UTC")


def _timestamps(values: list[Any]) -> pa.Array:
    """ISO 8601 strings as UTC microseconds; Graph writes zone-less local times (``start.dateTime``, 7 digits)
    next to ``...Z`` ones, and ``0001-01-01`` for "never". Other values as dlt coerces them (epoch seconds)."""
    try:
        strings = pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        strings = None  # not all text: each value on its own, below
    for target in (_UTC_US, pa.timestamp("us")) if strings is not None else ():
        try:
            return pc.cast(strings, target).cast(_UTC_US)
        except pa.ArrowInvalid:
            continue
    return pa.array([_timestamp(v) for v in values], _UTC_US)


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    parsed = _parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:  # not ISO text Python reads: dlt's rules decide (text it parses, epoch numbers)
        parsed = coerce(value, "timestamp")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _parse_timestamp(value: str) -> dt.datetime | None:
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 fractional digits
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


LAYOUTS: dict[str, ArrowLayout] = {name: ArrowLayout(name, fields) for name, fields in ARROW_FIELDS.items()}

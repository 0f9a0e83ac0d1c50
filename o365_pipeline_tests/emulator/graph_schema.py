"""Check JSON answers against Graph's v1.0 schema as Microsoft's Python SDK (msgraph-sdk) declares it.

Each model class's ``get_field_deserializers()`` maps every property v1.0 declares to a kiota parse call
(``get_str_value``, ``get_enum_value(Importance)``, ``get_collection_of_object_values(Recipient)``, ...). A JSON
object is checked property by property: an undeclared name, a value the declared kind cannot parse (kiota's own
primitive parsers, fed the value) or an enum member the enum does not have is a violation. Nested objects are
checked with their declared class; ``@odata.type`` picks a derived class through the SDK's own
``create_from_discriminator_value``. OData annotations (names with ``@``) are not properties.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode

PRIMITIVES = {"str": str, "int": int, "float": float, "bool": bool}
# Open types of v1.0 (OpenType="true" in its CSDL; "an open type" in the docs): any property name, every value of
# one kind. The SDK models them as classes without properties (all in additional_data) and has no class for their
# values (plannerAssignment, plannerChecklistItem, ...): those are checked to be objects only.
OPEN_TYPES: dict[str, type] = {
    "PlannerAppliedCategories": bool,  # category1..category25: true
    "PlannerAssignments": dict,  # user id -> plannerAssignment
    "PlannerChecklistItems": dict,  # item id -> plannerChecklistItem
    "PlannerExternalReferences": dict,  # encoded URL -> plannerExternalReference
    "PlannerOrderHintsByAssignee": str,  # user id -> order hint
    # a list item's column values by internal column name (Graph's may be numbers or lookups too; ours are text)
    "FieldValueSet": str,
}


@dataclass(frozen=True)
class Declared:
    """How v1.0 declares one property: the kiota getter and its argument (a model class, an enum or a type)."""

    getter: str
    arg: Any = None


@functools.cache
def declared(cls: type[Parsable]) -> dict[str, Declared]:
    """JSON property name -> its declaration, read from the model's field deserializers."""
    out: dict[str, Declared] = {}
    for name, fn in cls().get_field_deserializers().items():  # type: ignore[call-arg]
        code = fn.__code__
        getter = next(n for n in code.co_names if n.startswith("get_"))
        cells = [c.cell_contents for c in fn.__closure__ or ()]
        arg = next((c for c in cells if isinstance(c, type)), None)
        if arg is None and cls.__name__ in code.co_names:  # a property of the class's own type (chatMessage.replies)
            arg = cls
        if arg is None:  # a collection of primitives names its element type: get_collection_of_primitive_values(str)
            arg = next((PRIMITIVES[n] for n in code.co_names if n in PRIMITIVES), None)
        out[name] = Declared(getter, arg)
    return out


@dataclass
class Report:
    """What a check saw: violations, and every (class, property) and value it checked."""

    violations: dict[str, str] = field(default_factory=dict)  # what is wrong -> the first place it was seen
    properties: set[tuple[str, str]] = field(default_factory=set)
    values: int = 0

    def violation(self, what: str, where: str) -> None:
        """Note a violation (once per kind, with the first place it was seen)."""
        self.violations.setdefault(what, where)


def _resolve(cls: type[Parsable], obj: dict[str, Any], report: Report, where: str) -> type[Parsable]:
    """The class of ``obj``: a derived class named by ``@odata.type`` (through the SDK's discriminator)."""
    odata_type = obj.get("@odata.type")
    if not isinstance(odata_type, str):
        return cls
    factory: Callable[[Any], Parsable] = cls.create_from_discriminator_value  # type: ignore[attr-defined]
    instance = factory(JsonParseNode(obj))
    if str(getattr(instance, "odata_type", "")).casefold() != odata_type.casefold():
        report.violation(f"@odata.type {odata_type!r} is not {cls.__name__} or a type derived from it", where)
    return type(instance)


def check_object(cls: type[Parsable], obj: Any, report: Report, where: str) -> None:
    """Check one JSON object against a v1.0 model class (recursively)."""
    if not isinstance(obj, dict):
        report.violation(f"expected a {cls.__name__} object, got {type(obj).__name__}", where)
        return
    cls = _resolve(cls, obj, report, where)
    if cls.__name__ in OPEN_TYPES:
        _check_open(OPEN_TYPES[cls.__name__], obj, report, f"{cls.__name__}")
        return
    fields_ = declared(cls)
    for name, value in obj.items():
        if "@" in name:  # @odata.type, @removed, members@delta: annotations, not properties
            continue
        spec = fields_.get(name)
        if spec is None:
            report.violation(f"{cls.__name__}.{name}: not a v1.0 property", where)
            continue
        report.properties.add((cls.__name__, name))
        report.values += 1
        if value is not None:
            _check_value(spec, value, report, f"{cls.__name__}.{name}")


def _check_open(kind: type, obj: dict[str, Any], report: Report, where: str) -> None:
    """An open type: any property name (not counted as a declared property), every value of its one kind."""
    for name, value in obj.items():
        if "@" not in name and value is not None:
            report.values += 1
            _check_primitive(kind, value, report, where)


def _check_value(spec: Declared, value: Any, report: Report, where: str) -> None:
    getter, arg = spec.getter, spec.arg
    if getter == "get_object_value":
        check_object(arg, value, report, where)
    elif getter == "get_collection_of_object_values":
        for item in _as_list(value, report, where):
            check_object(arg, item, report, where)
    elif getter == "get_enum_value":
        _check_enum(arg, value, report, where)
    elif getter == "get_collection_of_enum_values":
        for item in _as_list(value, report, where):
            _check_enum(arg, item, report, where)
    elif getter == "get_collection_of_primitive_values":
        for item in _as_list(value, report, where):
            _check_primitive(arg, item, report, where)
    elif isinstance(value, bool) and getter != "get_bool_value" or _parsed(getter, value) is None:
        report.violation(f"{where}: {value!r} is not what v1.0 declares ({getter.removeprefix('get_')})", where)


SIMPLE = {"get_str_value": str, "get_int_value": int, "get_bool_value": bool}  # what kiota's getters accept


def _parsed(getter: str, value: Any) -> Any:
    """kiota's own parse of a primitive (None when the value does not fit)."""
    if getter in SIMPLE:  # kiota's check, without building a parse node for each of ~50k values
        return value if isinstance(value, SIMPLE[getter]) else None
    if getter == "get_float_value" and isinstance(value, int):
        return float(value)  # a Double written without a fraction is still a Double
    try:
        return getattr(JsonParseNode(value), getter)()
    except (ValueError, TypeError, OverflowError):
        return None


def _as_list(value: Any, report: Report, where: str) -> list[Any]:
    if isinstance(value, list):
        return value
    report.violation(f"{where}: v1.0 declares a collection, got {type(value).__name__}", where)
    return []


def _check_enum(enum_cls: type[enum.Enum], value: Any, report: Report, where: str) -> None:
    members = {str(m.value) for m in enum_cls}
    parts = value.split(",") if isinstance(value, str) else [value]  # flags enums: "a,b"
    for part in parts:
        if not isinstance(part, str) or part.strip() not in members:
            report.violation(f"{where}: {part!r} is not a member of {enum_cls.__name__}", where)


def _check_primitive(kind: Any, value: Any, report: Report, where: str) -> None:
    if value is None or kind is None:
        return
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        report.violation(f"{where}: {value!r} is not a {kind.__name__} as v1.0 declares", where)

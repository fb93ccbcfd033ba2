"""One vocabulary (issue 12 item 4): every enumeration the edge and the center validate against
is core_ext/vocab.py. Walks every module of the product, finds each Literal of strings (module
aliases, pydantic and msgspec model fields, FastAPI parameters) and each module-level tuple named
like a vocabulary tuple, and fails on any that shares values with a vocabulary enumeration without
being exactly one: a copy that missed an appended value (or kept a removed one) is named here,
not found as a 422 retried for ever."""
from __future__ import annotations

import importlib
import pkgutil
import typing
from collections.abc import Iterator

import pytest

from core_ext import vocab

PACKAGES = ("core_ext", "drivers", "gateway", "server")
# Modules not imported here: the demo and scenario need nothing from the wire vocabulary's
# validators, and the compiled core has no Python-level Literals.
SKIP_PREFIXES = ("core_ext._",)

VOCABULARY: dict[str, frozenset[str]] = {
    name: frozenset(value) for name, value in vars(vocab).items()
    if name.isupper() and isinstance(value, (tuple, frozenset)) and value and all(isinstance(v, str) for v in value)
}
VOCABULARY["SEVERITIES"] = frozenset(vocab.SEVERITY.values())
# The pages' lists of words to translate hold more than the vocabulary (user roles, "unknown"):
# test_the_pages_translate_every_value checks them instead.
NOT_VALIDATORS = ("server.web.labels",)


def product_modules() -> Iterator[str]:
    for top in PACKAGES:
        package = importlib.import_module(top)
        yield top
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{top}."):
            if not info.name.startswith(SKIP_PREFIXES) and ".migrations" not in info.name:
                yield info.name


def literals_in(obj, seen: set[int]) -> Iterator[frozenset[str]]:
    """Every Literal of strings reachable from a type annotation."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if typing.get_origin(obj) is typing.Literal:
        args = typing.get_args(obj)
        if args and all(isinstance(a, str) for a in args):
            yield frozenset(args)
        return
    for arg in typing.get_args(obj):
        yield from literals_in(arg, seen)


def annotations_of(module) -> Iterator[tuple[str, object]]:
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__ and typing.get_origin(value) is None:
            continue
        yield name, value
        if isinstance(value, type):
            fields = getattr(value, "model_fields", None)
            if fields:  # pydantic
                for field_name, info in fields.items():
                    yield f"{name}.{field_name}", info.annotation
            for field_name, hint in getattr(value, "__annotations__", {}).items():
                if not isinstance(hint, str):
                    yield f"{name}.{field_name}", hint
            if hasattr(value, "__struct_fields__"):  # msgspec
                try:
                    hints = typing.get_type_hints(value, include_extras=True)
                except (NameError, TypeError):
                    hints = {}
                for field_name, hint in hints.items():
                    yield f"{name}.{field_name}", hint


def copies() -> Iterator[tuple[str, str, frozenset[str]]]:
    for module_name in product_modules():
        module = importlib.import_module(module_name)
        for where, obj in annotations_of(module):
            for values in literals_in(obj, set()):
                yield module_name, where, values
        for name, value in vars(module).items():
            if name in VOCABULARY and module is not vocab and isinstance(value, (tuple, frozenset, list)):
                yield module_name, name, frozenset(value)


def test_every_enumeration_is_one_of_the_vocabulary():
    faults = []
    checked = 0
    for module_name, where, values in copies():
        overlapping = {name for name, words in VOCABULARY.items() if len(values & words) >= 2}
        if not overlapping or module_name in NOT_VALIDATORS:
            continue
        checked += 1
        if any(values == VOCABULARY[name] for name in overlapping):
            continue
        nearest = max(overlapping, key=lambda n: (len(values & VOCABULARY[n]), -len(VOCABULARY[n])))
        # A deliberate subset (a reader emits tag_seen or badge, of all event types) is no copy;
        # a near copy (most values, some missing) or a value outside the vocabulary is.
        if values < VOCABULARY[nearest] and len(values) * 2 < len(VOCABULARY[nearest]):
            continue
        faults.append(f"{module_name}: {where}: {sorted(values)} is not vocab.{nearest} "
                          f"(missing {sorted(VOCABULARY[nearest] - values)}, extra {sorted(values - VOCABULARY[nearest])})")
    assert not faults, "copies of the vocabulary that diverge:\n" + "\n".join(faults)
    assert checked >= 10  # the walk does reach the desk API, the site models, the uplink schemas


def test_a_diverging_copy_is_found():
    from pydantic import BaseModel

    class Checkin(BaseModel):
        role: typing.Literal["suspect", "witness", "victim"]  # "other" missed

    values = next(literals_in(Checkin.model_fields["role"].annotation, set()))
    assert values & VOCABULARY["SUBJECT_ROLES"] and values != VOCABULARY["SUBJECT_ROLES"]


# labels.RULES is RULE_TITLES itself; tests/i18n checks every vocab rule has a title there.
@pytest.mark.parametrize("words", ["ROLES", "ZONE_TYPES", "BASES", "SEXES", "SITE_KINDS"])
def test_the_pages_translate_every_value(words):
    from server.web import labels

    assert set(getattr(vocab, words)) <= set(getattr(labels, words, labels.ALL)), words

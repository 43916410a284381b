"""The datastore catalog: what each datastore claims and what counts as it.

Loaded from YAML, checked against a JSON Schema and then for consistency
(versions name declared OSes, strategies belong to claimed capabilities,
engine modules exist). Any problem is one ConfigError naming file, entry
and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

from verify.catalog.capabilities import CAPABILITIES, STRATEGY_CAPABILITIES
from verify.errors import ConfigError

CATALOG_FILE = Path(__file__).with_name("datastores.yaml")

TIERS = ("experimental", "technical-preview", "stable")

_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$"}

SCHEMA = {
    "type": "object",
    "required": ["datastores"],
    "additionalProperties": False,
    "properties": {
        "datastores": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": _NAME,
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["manager", "claimed_tier", "engines", "engine_module",
                             "supported_os", "versions", "capabilities", "strategies"],
                "properties": {
                    "manager": {"type": "string", "pattern": r"^[a-z_][\w.]*\.[A-Z]\w*$"},
                    "claimed_tier": {"enum": list(TIERS)},
                    "engines": {"type": "array", "minItems": 1, "items": _NAME,
                                "uniqueItems": True},
                    "engine_module": {"oneOf": [{"type": "null"}, _NAME]},
                    "supported_os": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name", "family", "release", "elements"],
                            "properties": {
                                "name": _NAME,
                                "family": {"enum": ["debian", "ubuntu"]},
                                "release": _NAME,
                                "elements": {"type": "array", "items": _NAME},
                            },
                        },
                    },
                    "versions": {
                        "type": "array", "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name", "os"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "os": {"type": "array", "items": _NAME},
                                "packages": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                    "capabilities": {"type": "array", "minItems": 1, "uniqueItems": True,
                                     "items": {"enum": list(CAPABILITIES)}},
                    "strategies": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name", "capability", "trove_name"],
                            "properties": {
                                "name": _NAME,
                                "capability": {"enum": list(STRATEGY_CAPABILITIES)},
                                "trove_name": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        }
    },
}


@dataclass(frozen=True)
class OperatingSystem:
    name: str
    family: str
    release: str
    elements: tuple[str, ...]


@dataclass(frozen=True)
class Version:
    name: str
    os: tuple[str, ...]
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Strategy:
    name: str
    capability: str
    trove_name: str


@dataclass(frozen=True)
class Datastore:
    name: str
    manager: str
    claimed_tier: str
    engines: tuple[str, ...]
    engine_module: str | None
    supported_os: tuple[OperatingSystem, ...]
    versions: tuple[Version, ...]
    capabilities: tuple[str, ...]
    strategies: tuple[Strategy, ...] = field(default=())

    def claims(self, capability: str) -> bool:
        return capability in self.capabilities

    def strategies_for(self, capability: str) -> tuple[Strategy, ...]:
        return tuple(s for s in self.strategies if s.capability == capability)

    def version(self, name: str) -> Version:
        for version in self.versions:
            if version.name == name:
                return version
        known = ", ".join(v.name for v in self.versions)
        raise ConfigError(f"datastore {self.name} has no version {name!r}",
                          fix=f"known versions: {known}")

    def os(self, name: str) -> OperatingSystem:
        return next(o for o in self.supported_os if o.name == name)

    def accepts_engine(self, engine_name: str) -> bool:
        return engine_name in self.engines

    @property
    def elements(self) -> tuple[str, ...]:
        seen: list[str] = []
        for os_ in self.supported_os:
            seen.extend(e for e in os_.elements if e not in seen)
        return tuple(seen)


@dataclass(frozen=True)
class Catalog:
    datastores: dict[str, Datastore]
    source: str

    def get(self, name: str) -> Datastore:
        try:
            return self.datastores[name]
        except KeyError:
            known = ", ".join(sorted(self.datastores))
            raise ConfigError(f"unknown datastore {name!r}", where=self.source,
                              fix=f"one of: {known}") from None

    def __iter__(self):
        return iter(self.datastores.values())


def _path_of(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if len(parts) >= 2 and parts[0] == "datastores":
        entry, rest = parts[1], parts[2:]
        return f"entry {entry}" + (f", field {'.'.join(rest)}" if rest else "")
    return "field " + ".".join(parts) if parts else "top level"


def _check_consistency(data: dict, source: str) -> None:
    engines_dir = Path(__file__).resolve().parent.parent / "engines"
    for name, entry in data["datastores"].items():
        def fail(field_: str, what: str, fix: str | None = None, name: str = name) -> None:
            raise ConfigError(what, where=f"{source}: entry {name}, field {field_}", fix=fix)

        os_names = [o["name"] for o in entry["supported_os"]]
        if len(os_names) != len(set(os_names)):
            fail("supported_os", "an operating system is listed twice")
        version_names = [v["name"] for v in entry["versions"]]
        if len(version_names) != len(set(version_names)):
            fail("versions", "a version is listed twice")
        for i, version in enumerate(entry["versions"]):
            for os_name in version["os"]:
                if os_name not in os_names:
                    fail(f"versions.{i}.os", f"names OS {os_name!r} not in supported_os",
                         fix=f"declare it under supported_os or use one of {os_names}")
        strategy_names = [s["name"] for s in entry["strategies"]]
        if len(strategy_names) != len(set(strategy_names)):
            fail("strategies", "a strategy is listed twice")
        for i, strategy in enumerate(entry["strategies"]):
            if strategy["capability"] not in entry["capabilities"]:
                fail(f"strategies.{i}.capability",
                     f"strategy {strategy['name']} is for {strategy['capability']}, "
                     "which the datastore does not claim",
                     fix="add the capability or remove the strategy")
        module = entry["engine_module"]
        if module is not None and not (engines_dir / module / "__init__.py").is_file():
            fail("engine_module", f"no engine package verify/engines/{module}/")


def load(path: Path | str | None = None) -> Catalog:
    """Load and validate a catalog file; raise ConfigError on any problem."""
    path = Path(path) if path else CATALOG_FILE
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read catalog: {exc.strerror}", where=source) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", where=source) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"not valid YAML: {problem}", where=where) from None
    if not isinstance(data, dict):
        raise ConfigError("the catalog must be a mapping with a 'datastores' key",
                          where=source)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        raise ConfigError(error.message, where=f"{source}: {_path_of(error)}")
    _check_consistency(data, source)
    return Catalog(datastores={name: _datastore(name, e)
                               for name, e in data["datastores"].items()},
                   source=source)


def _datastore(name: str, entry: dict) -> Datastore:
    return Datastore(
        name=name,
        manager=entry["manager"],
        claimed_tier=entry["claimed_tier"],
        engines=tuple(entry["engines"]),
        engine_module=entry["engine_module"],
        supported_os=tuple(OperatingSystem(o["name"], o["family"], o["release"],
                                           tuple(o["elements"]))
                           for o in entry["supported_os"]),
        versions=tuple(Version(v["name"], tuple(v["os"]), tuple(v.get("packages", ())))
                       for v in entry["versions"]),
        capabilities=tuple(entry["capabilities"]),
        strategies=tuple(Strategy(s["name"], s["capability"], s["trove_name"])
                         for s in entry["strategies"]),
    )


@lru_cache(maxsize=1)
def default() -> Catalog:
    return load()

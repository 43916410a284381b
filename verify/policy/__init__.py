"""Tier requirements as data (verify/policy/tiers.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

from verify.errors import ConfigError

POLICY_FILE = Path(__file__).with_name("tiers.yaml")
EVIDENCE_KINDS = ("scenario", "static", "image", "gate")
# where a run came from (run.json provenance.kind); the policy says which count
PROVENANCE_KINDS = ("engine", "trove", "gate", "stand-in", "trove-fake-compute", "sample")
_COUNTING = ["engine", "trove", "gate"]
TIER_ORDER = ("experimental", "technical-preview", "stable")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["datastore_tiers", "strategy_tiers", "provenance", "stability",
                 "requirements"],
    "properties": {
        "datastore_tiers": {"const": list(TIER_ORDER)},
        "strategy_tiers": {"const": ["experimental", "stable"]},
        "provenance": {
            "type": "object",
            "additionalProperties": False,
            "required": ["kinds"],
            "properties": {
                "kinds": {
                    "type": "object",
                    "propertyNames": {"enum": list(PROVENANCE_KINDS)},
                    "required": list(PROVENANCE_KINDS),
                    "additionalProperties": {
                        "type": "object", "additionalProperties": False,
                        "required": ["counts", "says"],
                        "properties": {"counts": {"type": "boolean"},
                                       "says": {"type": "string", "minLength": 1}}},
                },
                "aliases": {"type": "object",
                            "additionalProperties": {"enum": list(PROVENANCE_KINDS)}},
                "sample_dirs": {"type": "array", "items": {"type": "string"}},
            },
        },
        "stability": {
            "type": "object",
            "additionalProperties": False,
            "required": ["window", "min_runs", "wilson_lower_bound", "confidence_z"],
            "properties": {
                "window": {"type": "integer", "minimum": 1},
                "min_runs": {"type": "integer", "minimum": 1},
                "wilson_lower_bound": {"type": "number", "minimum": 0, "maximum": 1},
                "confidence_z": {"type": "number", "exclusiveMinimum": 0},
                "max_flaky_scenarios": {"type": "integer", "minimum": 0},
                "nonvoting_cycles_before_voting": {"type": "integer", "minimum": 0},
                "infra_failures": {"enum": ["exclude", "count"]},
                "nonvoting_cycle_min_runs": {"type": "integer", "minimum": 1},
                "nonvoting_cycle_min_days": {"type": "integer", "minimum": 0},
                "unfinished_runs": {"enum": ["fail", "ignore"]},
            },
        },
        "requirements": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "applies_to", "tier", "evidence", "check", "text"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                    "applies_to": {"enum": ["datastore", "strategy"]},
                    "tier": {"enum": list(TIER_ORDER)},
                    "evidence": {"enum": list(EVIDENCE_KINDS)},
                    "check": {"type": "string", "pattern": "^[a-z_]+$"},
                    "met_by": {"type": "array", "minItems": 1, "uniqueItems": True,
                               "items": {"enum": _COUNTING}},
                    "eligible_by": {"type": "array", "uniqueItems": True,
                                    "items": {"enum": _COUNTING}},
                    "text": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Requirement:
    id: str
    applies_to: str
    tier: str
    evidence: str
    check: str
    text: str
    # provenances whose runs can meet it (none: static, read from the Trove tree)
    met_by: tuple[str, ...] = ()
    # provenances whose runs make its tier only "eligible" (the gate makes it official)
    eligible_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stability:
    window: int
    min_runs: int
    wilson_lower_bound: float
    confidence_z: float
    # scenarios that passed and failed on the same inputs within the window
    max_flaky_scenarios: int = 0
    # promotion: full non-voting gate cycles a suite needs before it may vote
    nonvoting_cycles_before_voting: int = 1
    # runs whose bundle attributes the failure to infrastructure
    infra_failures: str = "exclude"
    nonvoting_cycle_min_runs: int = 25
    nonvoting_cycle_min_days: int = 14
    unfinished_runs: str = "fail"


@dataclass(frozen=True)
class Provenance:
    counts: dict[str, bool]          # kind -> may it meet any requirement
    says: dict[str, str]             # kind -> one sentence for people
    aliases: dict[str, str]
    sample_dirs: tuple[str, ...]

    def kind_of(self, run: dict) -> str:
        """A run's provenance kind as the policy names it (aliases resolved;
        a bundle under a sample folder is a sample whatever it says)."""
        bundle = str(run.get("_bundle") or "")
        if bundle.split("/")[0] in self.sample_dirs:
            return "sample"
        kind = (run.get("provenance") or {}).get("kind") or "unknown"
        return self.aliases.get(kind, kind)


@dataclass(frozen=True)
class Policy:
    requirements: tuple[Requirement, ...]
    stability: Stability
    source: str
    provenance: Provenance

    def tiers_for(self, applies_to: str) -> tuple[str, ...]:
        if applies_to == "strategy":
            return ("experimental", "stable")
        return TIER_ORDER

    def requirements_for(self, applies_to: str, tier: str) -> tuple[Requirement, ...]:
        """Requirements of exactly this tier (callers walk tiers in order)."""
        return tuple(r for r in self.requirements
                     if r.applies_to == applies_to and r.tier == tier)


def tier_rank(tier: str) -> int:
    return TIER_ORDER.index(tier)


def load(path: Path | str | None = None) -> Policy:
    path = Path(path) if path else POLICY_FILE
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read policy: {exc.strerror}", where=source) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", where=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError("not valid YAML", where=where) from None
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        field = ".".join(str(p) for p in error.absolute_path) or "top level"
        raise ConfigError(error.message, where=f"{source}: field {field}")
    ids = [r["id"] for r in data["requirements"]]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"requirement id {dupes[0]} is used twice",
                          where=f"{source}: field requirements")
    for i, req in enumerate(data["requirements"]):
        if req["applies_to"] == "strategy" and req["tier"] == "technical-preview":
            raise ConfigError("strategies are only experimental or stable",
                              where=f"{source}: field requirements.{i}.tier")
    for i, req in enumerate(data["requirements"]):
        if req["evidence"] != "static" and not req.get("met_by"):
            raise ConfigError("a requirement read from runs must say which provenances "
                              "meet it", where=f"{source}: field requirements.{i}.met_by")
    prov = data["provenance"]
    provenance = Provenance(
        counts={k: v["counts"] for k, v in prov["kinds"].items()},
        says={k: v["says"] for k, v in prov["kinds"].items()},
        aliases=dict(prov.get("aliases", {})),
        sample_dirs=tuple(prov.get("sample_dirs", ())))
    requirements = tuple(Requirement(**{**r, "met_by": tuple(r.get("met_by", ())),
                                        "eligible_by": tuple(r.get("eligible_by", ()))})
                         for r in data["requirements"])
    return Policy(requirements=requirements, stability=Stability(**data["stability"]),
                  source=source, provenance=provenance)


@lru_cache(maxsize=1)
def default() -> Policy:
    return load()

"""Configuration-group values checked against an engine's rules, the way
Trove checks them against validation-rules.json: known name, type, bounds."""

from __future__ import annotations

from verify.engines.capabilities import ConfigRule
from verify.errors import UsageError

_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"0", "off", "false", "no"}


def check(rule: ConfigRule, value: object) -> str | None:
    """Why value is not acceptable for rule, or None when it is."""
    if rule.type == "boolean":
        if isinstance(value, bool) or str(value).lower() in _TRUE | _FALSE:
            return None
        return f"{rule.name} takes a boolean, not {value!r}"
    if rule.type in ("integer", "float"):
        if isinstance(value, bool):
            return f"{rule.name} takes an {rule.type}, not a boolean"
        try:
            number = int(str(value)) if rule.type == "integer" else float(str(value))
        except ValueError:
            return f"{rule.name} takes an {rule.type}, not {value!r}"
        if rule.min is not None and number < rule.min:
            return f"{rule.name} = {value} is below the minimum {_num(rule.min)}"
        if rule.max is not None and number > rule.max:
            return f"{rule.name} = {value} is above the maximum {_num(rule.max)}"
        return None
    if not isinstance(value, str) or not value:
        return f"{rule.name} takes a non-empty string, not {value!r}"
    return None


def validate(rules: dict[str, ConfigRule], values: dict[str, object], *, engine: str) -> None:
    """Raise one UsageError naming every refused value; accept nothing partially."""
    problems = []
    for name, value in values.items():
        rule = rules.get(name)
        if rule is None:
            problems.append(f"{name} is not a configurable {engine} parameter")
            continue
        why = check(rule, value)
        if why:
            problems.append(why)
    if problems:
        raise UsageError("configuration refused: " + "; ".join(problems),
                         fix=f"see the {engine} rules: trove-verify catalog")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)

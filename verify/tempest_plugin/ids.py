"""Permanent tempest idempotent ids for trove-verify's scenarios.

Each scenario id maps to uuid5(NAMESPACE, scenario id): the same id on every
machine and every run, and two scenario ids never share one. A scenario that
is removed goes into RETIRED with its id, so the id is never given again to a
different test (tempest's rule for idempotent ids).
"""

from __future__ import annotations

import uuid

# fixed once for trove-verify; changing it would change every test's id
NAMESPACE = uuid.UUID("be2ecaa4-9e77-422f-8055-857f912a2260")
# scenario id -> the idempotent id it had, for scenarios that no longer exist
RETIRED: dict[str, str] = {}


def idempotent_id(scenario_id: str) -> str:
    if scenario_id in RETIRED:
        raise ValueError(f"scenario id {scenario_id!r} is retired: its idempotent id "
                         f"{RETIRED[scenario_id]} may not be reused; pick a new scenario id")
    return str(uuid.uuid5(NAMESPACE, scenario_id))


def method_name(scenario_id: str) -> str:
    return "test_" + scenario_id.replace(".", "_")

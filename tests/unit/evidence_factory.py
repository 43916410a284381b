"""Builds realistic run records through the real Bundle writer."""

from __future__ import annotations

import datetime as dt
import itertools

from verify.evidence import Bundle

_counter = itertools.count()
IMAGE = {"name": "debian-bookworm-guest", "sha256": "ab" * 32}
# what `run --backend trove` records for Trove in a box (real control plane + agent)
BOX = {"kind": "trove", "deployment": "box", "job": None, "voting": None,
       "trove": {"version": "26.0.0", "dirty": False}}
ENGINE = {"kind": "engine", "job": None, "voting": None}


def gate(voting: bool, cycle: str = "2026.1", job: str = "trove-verify-mariadb") -> dict:
    return {"kind": "gate", "job": job, "voting": voting, "cycle": cycle}


def preview_scenarios(datastore: str = "mariadb", engine: str | None = None,
                      status: str = "pass") -> list[dict]:
    """create/delete plus one scenario per claimed capability (and per strategy)."""
    from verify import catalog

    ds = catalog.default().get(datastore)
    engine = engine or datastore
    out = [scenario("instance.create_delete", "instance", engine=engine)]
    for cap in ds.capabilities:
        if cap != "instance":
            out.append(scenario(f"{cap}.basic", cap, status=status, engine=engine))
    for s in ds.strategies:
        out.append(scenario(f"{s.capability}.{s.name}", s.capability, status=status,
                            strategy=s.name, engine=engine))
    return out


def scenario(id_, capability, status="pass", strategy=None, engine="mariadb",
             version="10.11"):
    return {"id": id_, "test_id": f"t.{id_}", "capability": capability,
            "strategy": strategy, "version": version, "status": status,
            "duration_s": 1.0, "reason": None if status == "pass" else "boom", "logs": [],
            "engine": {"name": engine, "version": "10.11.6", "distribution": "Debian 12"}}


def _all_elements(datastore: str) -> dict:
    """What a real run records: every element the catalog names for datastore."""
    from verify import catalog

    try:
        return {e: True for e in catalog.load().get(datastore).elements}
    except Exception:
        return {"debian-guest": True, "debian-mariadb": True}


def write_run(results, datastore="mariadb", scenarios=None, status=None, engine="mariadb",
              provenance=None, image=None, finish=True, elements=None, when=None,
              failure_kind=None):
    n = next(_counter)
    started = when or (dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
                       + dt.timedelta(minutes=n))
    scenarios = scenarios if scenarios is not None else [
        scenario("instance.create_delete", "instance", engine=engine)]
    bundle = Bundle.start(results, {
        "run_id": f"run-{n:05d}-{datastore}", "harness_version": "test", "backend": "local",
        "guest": "process", "datastore": datastore, "version": "10.11",
        "provenance": provenance or {"kind": "local", "job": None, "voting": None},
        "static": {"elements": {"debian-bookworm": elements or _all_elements(datastore)}},
    })
    bundle.record["started"] = started.isoformat()
    if failure_kind:
        bundle.record["failure_kind"] = failure_kind
    if finish:
        if status is None:
            status = "fail" if any(s["status"] == "fail" for s in scenarios) else "pass"
        bundle.finish(status, scenarios=scenarios, image=image,
                      engine={"name": engine, "version": "10.11.6", "distribution": "x"}
                      if engine else None)
    else:
        bundle.save()
    return bundle

"""JSON Schema of run.json."""

STATUSES = ("pass", "fail", "unknown", "incomplete")
SCENARIO_STATUSES = ("pass", "fail", "skipped")
FAILURE_KINDS = ("infra", "test")

_ENGINE = {
    "type": "object",
    "required": ["name", "version"],
    "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                   "distribution": {"type": "string"}},
}

RUN_SCHEMA = {
    "type": "object",
    "required": ["run_id", "started", "finished", "status", "harness_version", "backend",
                 "guest", "datastore", "version", "engine", "image", "provenance",
                 "scenarios", "digest"],
    "properties": {
        "run_id": {"type": "string", "minLength": 1},
        "started": {"type": "string"},
        "finished": {"type": ["string", "null"]},
        "status": {"enum": list(STATUSES)},
        "harness_version": {"type": "string"},
        "backend": {"type": "string"},
        "guest": {"type": "string"},
        "datastore": {"type": "string"},
        "version": {"type": "string"},
        "versions": {"type": "array", "items": {"type": "string"}},
        "tier": {"type": "string"},
        "engine": {"oneOf": [{"type": "null"}, _ENGINE]},
        "image": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["name", "sha256"],
            "properties": {"name": {"type": "string"}, "sha256": {"type": "string"}}}]},
        "provenance": {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"type": "string"},
                           "job": {"type": ["string", "null"]},
                           "voting": {"type": ["boolean", "null"]},
                           # the release cycle a gate run belongs to (e.g. "2026.1")
                           "cycle": {"type": ["string", "null"]}},
        },
        "scenarios": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "capability", "strategy", "status", "duration_s",
                             "reason", "logs"],
                "properties": {
                    "id": {"type": "string"},
                    "capability": {"type": "string"},
                    "strategy": {"type": ["string", "null"]},
                    "status": {"enum": list(SCENARIO_STATUSES)},
                    "duration_s": {"type": "number", "minimum": 0},
                    "reason": {"type": ["string", "null"]},
                    "logs": {"type": "array", "items": {"type": "string"}},
                    "version": {"type": "string"},
                    "engine": {"oneOf": [{"type": "null"}, _ENGINE]},
                    # optional: a failure the bundle attributes to the gate's
                    # infrastructure (node, mirror, timeout) rather than the test
                    "failure_kind": {"enum": list(FAILURE_KINDS)},
                },
            },
        },
        "failure_kind": {"enum": list(FAILURE_KINDS)},
        "not_claimed": {"type": "array", "items": {"type": "string"}},
        "static": {"type": "object"},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        # by the producer's key (verify/evidence/signing.py); optional, but an
        # unsigned bundle never counts
        "signature": {
            "type": "object",
            "required": ["alg", "public_key", "fingerprint", "value"],
            "properties": {k: {"type": "string"} for k in
                           ("alg", "public_key", "fingerprint", "value")},
        },
    },
}

"""Evidence bundles: results/<run-id>/ with run.json, junit.xml,
subunit.stream and logs/. Written atomically and redacted; read back
with schema and digest checks so a torn or edited bundle never counts."""

from verify.evidence.bundle import Bundle, BundleRejected, load_bundle, new_run_id, scan

__all__ = ["Bundle", "BundleRejected", "load_bundle", "new_run_id", "scan"]

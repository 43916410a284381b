"""The playbooks under ansible-runner on localhost, for the steps that can
run without a cloud (the Trove-side register step runs against the real
Trove in tests/integration/test_trove_box.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from verify import playbooks, redact
from verify.errors import EngineError

pytest.importorskip("ansible_runner")


def _no_private_dirs_left() -> bool:
    return not list(Path(tempfile.gettempdir()).glob("tv-ansible-*"))


def test_collect_logs_copies_logs_and_redacts(tmp_path):
    logs = tmp_path / "var-log-trove"
    logs.mkdir()
    secret = redact.register("s3cr3t-value-for-test")
    (logs / "trove-api.log").write_text(f"started; password {secret}\n")
    (logs / "other.txt").write_text("not a log\n")
    dest = tmp_path / "bundle-logs"
    result = playbooks.run("collect_logs", {"dest": str(dest),
                                            "log_globs": [f"{logs}/*.log"]})
    assert result.status == "successful"
    copied = dest / "localhost" / "trove-api.log"
    assert copied.read_text().startswith("started")
    assert not (dest / "localhost" / "other.txt").exists()
    assert secret not in result.stdout
    assert _no_private_dirs_left()


def test_upload_image_refuses_a_missing_image_before_any_cloud_call(tmp_path):
    # the upload itself needs Glance, which does not run here; the checks do
    with pytest.raises(EngineError, match=r'upload_image failed.*"exists": false'):
        playbooks.run("upload_image", {"cloud": "nowhere", "datastore": "mariadb",
                                       "image_name": "trove-mariadb-10.11",
                                       "image_file": str(tmp_path / "missing.qcow2")})
    assert _no_private_dirs_left()


def test_register_requires_an_image(tmp_path):
    with pytest.raises(EngineError, match="image_id or image_tags are required"):
        playbooks.run("register_datastore", {"datastore": "mariadb",
                                             "datastore_version": "10.11"})

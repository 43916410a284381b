"""Run the playbooks in playbooks/ through ansible-runner.

ansible-runner keeps everything it ran with in its private data directory:
`env/envvars`, `env/extravars` and `artifacts/<ident>/command` (the whole
environment). That directory is a temporary one here, deleted after the run;
only the redacted stdout and the playbook's stats leave it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from verify import redact
from verify.errors import ConfigError, EngineError, UsageError
from verify.settings import repo_root

PLAYBOOKS = {"upload_image": "upload_image.yml",
             "register_datastore": "register_datastore.yml",
             "collect_logs": "collect_logs.yml"}


@dataclass
class PlaybookResult:
    name: str
    status: str          # successful | failed | timeout | canceled
    rc: int
    stdout: str          # redacted
    stats: dict          # set_stats data the playbook reported


def playbook_dir() -> Path:
    return repo_root() / "playbooks"


def run(name: str, extravars: dict, *, inventory: str | None = None,
        timeout: float = 1800, log_to: Path | None = None) -> PlaybookResult:
    """Run playbooks/<name>.yml; raise EngineError when it fails."""
    try:
        import ansible_runner
    except ImportError:
        raise ConfigError("ansible-runner is not installed", fix="run tools/setup.sh") from None
    if name not in PLAYBOOKS:
        raise UsageError(f"unknown playbook {name!r}", fix=f"one of {sorted(PLAYBOOKS)}")
    for value in extravars.values():
        if isinstance(value, str) and "password" in value.lower():
            redact.register(value)
    private = Path(tempfile.mkdtemp(prefix="tv-ansible-"))
    try:
        project = private / "project"
        shutil.copytree(playbook_dir(), project)
        # the ansible-playbook next to this interpreter, even when the
        # virtualenv is not activated
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        result = ansible_runner.run(
            private_data_dir=str(private), playbook=PLAYBOOKS[name],
            inventory=inventory or (f"localhost ansible_connection=local "
                                    f"ansible_python_interpreter={sys.executable}"),
            extravars=extravars, quiet=True, timeout=int(timeout),
            envvars={"PATH": path, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                     "ANSIBLE_LOCALHOST_WARNING": "0"})
        stdout = redact.redact(result.stdout.read() if result.stdout else "")
        stats = {}
        for event in result.events:
            if event.get("event") == "playbook_on_stats":
                stats = (event.get("event_data") or {}).get("artifact_data") or {}
        outcome = PlaybookResult(name, result.status, result.rc, stdout, stats)
    finally:
        # the only copy of the environment ansible-runner wrote goes here
        shutil.rmtree(private, ignore_errors=True)
    if log_to is not None:
        log_to.parent.mkdir(parents=True, exist_ok=True)
        log_to.write_text(outcome.stdout)
    if outcome.status != "successful":
        tail = " | ".join(line for line in outcome.stdout.splitlines()[-6:] if line.strip())
        raise EngineError(f"playbook {name} {outcome.status} (rc {outcome.rc}): {tail}")
    return outcome

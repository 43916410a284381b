"""Property 5, bad input -> one clear message and a distinct exit code,
never a traceback. Hypothesis mutates the real catalog, policy and a real
bundle, and throws arbitrary argument lists at the CLI."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import cli
from tests.unit.evidence_factory import write_run
from verify import catalog, policy
from verify.errors import EXIT_CONFIG, EXIT_SOFTWARE, EXIT_USAGE, ConfigError
from verify.evidence import BundleRejected, load_bundle, scan

SETTINGS = settings(max_examples=int(os.environ.get("TROVE_VERIFY_HYPOTHESIS_EXAMPLES", 150)),
                    deadline=None, suppress_health_check=list(HealthCheck))
CATALOG = yaml.safe_load(catalog.CATALOG_FILE.read_text())
POLICY = yaml.safe_load(policy.POLICY_FILE.read_text())

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=3),
    max_leaves=6)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, original):
    """The original document with 1-3 random edits: drop, replace or retype a node."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(junk)
    return data


def _one_clear_line(exc: Exception, where: str) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text
    assert where in text, f"the message must say where: {text}"


def _write(tmp: Path, name: str, data) -> Path:
    path = tmp / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@SETTINGS
@given(data=mutated(CATALOG))
def test_malformed_catalogs_give_one_config_error(tmp_path_factory, data):
    path = _write(tmp_path_factory.mktemp("cat"), "datastores.yaml", data)
    try:
        catalog.load(path)
    except ConfigError as exc:
        _one_clear_line(exc, str(path))


@SETTINGS
@given(data=mutated(POLICY))
def test_malformed_policies_give_one_config_error(tmp_path_factory, data):
    path = _write(tmp_path_factory.mktemp("pol"), "tiers.yaml", data)
    try:
        policy.load(path)
    except ConfigError as exc:
        _one_clear_line(exc, str(path))


@SETTINGS
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_as_catalog_or_policy(tmp_path_factory, raw):
    tmp = tmp_path_factory.mktemp("raw")
    for loader, name in ((catalog.load, "datastores.yaml"), (policy.load, "tiers.yaml")):
        path = _write(tmp, name, raw)
        with pytest.raises(ConfigError) as err:
            loader(path)
        _one_clear_line(err.value, str(path))


@pytest.fixture(scope="module")
def good_bundle(tmp_path_factory):
    results = tmp_path_factory.mktemp("good")
    bundle = write_run(results)
    return json.loads((bundle.root / "run.json").read_text())


@SETTINGS
@given(data=st.data())
def test_tampered_bundles_are_rejected_never_counted(tmp_path_factory, good_bundle, data):
    record = data.draw(mutated(good_bundle))
    raw = data.draw(st.sampled_from(["json", "bytes", "truncated"]))
    root = tmp_path_factory.mktemp("results")
    bundle = root / "run-x"
    bundle.mkdir()
    text = json.dumps(record).encode()
    if raw == "bytes":
        text = data.draw(st.binary(max_size=100))
    elif raw == "truncated":
        good = json.dumps(good_bundle).encode()
        text = good[:data.draw(st.integers(0, len(good) - 1))]
    (bundle / "run.json").write_bytes(text)
    try:
        loaded = load_bundle(bundle)
    except BundleRejected as exc:
        _one_clear_line(exc, str(bundle))
        valid, rejected = scan(root)
        assert valid == [] and len(rejected) == 1
    else:  # only an untouched record may load (the digest covers everything)
        assert loaded == good_bundle


VERBS = ["run", "classify", "catalog", "cleanup", "frobnicate", ""]
OPTIONS = ["--tier", "--backend", "--guest", "--version", "--workers", "--format", "--file",
           "--results", "-h", "--help", "--nope", "stable", "experimental", "local",
           "process", "json", "table", "markdown", "0", "-1", "abc", "10.11", "\x00", "é",
           "/nonexistent", "BAD.yaml"]


def _cannot_launch() -> list[str]:
    # datastores this harness cannot launch: a run of them ends at once
    return [ds.name for ds in catalog.default() if ds.engine_module is None][:4]


@SETTINGS
@given(argv=st.tuples(st.sampled_from(VERBS), st.lists(
    st.sampled_from(OPTIONS + _cannot_launch() + ["no-such-ds"]) | st.text(max_size=6),
    max_size=5)).map(lambda t: [t[0], *t[1]]))
def test_any_cli_arguments_give_a_message_and_an_exit_code(tmp_path_factory, argv):
    from verify.cli import main

    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "BAD.yaml").write_text("datastores: [")
    argv = [str(tmp / a) if a == "BAD.yaml" else a for a in argv]
    env = {"TROVE_VERIFY_WORKDIR": str(tmp / "work"), "TROVE_VERIFY_RESULTS": str(tmp / "r")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert "Traceback" not in err.getvalue() + out.getvalue()
    assert code != EXIT_SOFTWARE, err.getvalue()  # 70 = a bug in the harness
    assert isinstance(code, int) and 0 <= code < 256
    if code not in (0, 1, 2):
        assert err.getvalue().strip(), "an error exit must say why"


@pytest.mark.parametrize("argv, env, code, says", [
    (["catalog", "--file", "{tmp}/bad.yaml"], {}, EXIT_CONFIG, "not valid YAML"),
    (["catalog", "--file", "{tmp}/missing.yaml"], {}, EXIT_CONFIG, "cannot read catalog"),
    (["run", "no-such-datastore"], {}, EXIT_CONFIG, "unknown datastore"),
    (["run", "mariadb", "--workers", "many"], {}, EXIT_USAGE, "invalid int value"),
    (["run", "mariadb", "--scenario", "replication.nope"], {}, EXIT_USAGE,
     "--scenario: no scenario 'replication.nope'"),
    (["run", "mariadb"], {"TROVE_VERIFY_TIMEOUT_COMMAND": "soon"}, EXIT_CONFIG,
     "TROVE_VERIFY_TIMEOUT_COMMAND"),
    (["classify", "--results", "{tmp}/results"], {}, 0, "ignored bundle"),
])
def test_cli_bad_input_in_a_real_process(tmp_path, argv, env, code, says):
    (tmp_path / "bad.yaml").write_text("datastores:\n  x: [\n")
    bundle = tmp_path / "results" / "torn"
    bundle.mkdir(parents=True)
    (bundle / "run.json").write_text('{"status": "pass"')
    argv = [a.format(tmp=tmp_path) for a in argv]
    proc = cli(*argv, env={"TROVE_VERIFY_WORKDIR": str(tmp_path / "w"), **env}, timeout=120)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert says in proc.stdout + proc.stderr
    if code not in (0, 1, 2):
        # one message (argparse may print its usage block before it)
        said = [ln for ln in proc.stderr.splitlines() if ln.startswith("trove-verify:")]
        assert len(said) == 1 and proc.stderr.strip().endswith(said[0]), proc.stderr

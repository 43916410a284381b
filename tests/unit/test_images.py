"""Image builder logic that needs no build: the cache key, the mirror, failure
kinds, the manifest's package list, progress phases."""

import os

import pytest

from verify import catalog
from verify.errors import CannotRunHere
from verify.images import content_hash, element_closure, installed_packages, spec_for
from verify.images.build import ArchiveChanged, ImageBuildFailed, Progress, classify_failure
from verify.images.mirror import mirrors


def _element(root, name, deps=(), files=None):
    (root / name).mkdir(parents=True)
    (root / name / "element-deps").write_text("".join(f"{d}\n" for d in deps))
    for rel, text in (files or {}).items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / name


def test_closure_follows_element_deps_within_the_repo(tmp_path):
    _element(tmp_path, "a", deps=["b", "debian-minimal"])
    _element(tmp_path, "b", deps=["package-installs"])
    _element(tmp_path, "c")
    assert element_closure(["a"], tmp_path) == ["a", "b"]


def test_cache_key_moves_with_elements_env_and_dib_only(tmp_path):
    _element(tmp_path, "a", deps=["b"])
    b = _element(tmp_path, "b", files={"install.d/10-x": "echo 1\n"})
    env = {"DIB_RELEASE": "bookworm"}
    key = content_hash(["a"], env, "3.43.0", tmp_path)
    assert key == content_hash(["a"], dict(env), "3.43.0", tmp_path)
    assert key != content_hash(["a"], {"DIB_RELEASE": "trixie"}, "3.43.0", tmp_path)
    assert key != content_hash(["a"], env, "3.44.0", tmp_path)
    os.chmod(b / "install.d/10-x", 0o755)
    chmod_key = content_hash(["a"], env, "3.43.0", tmp_path)
    assert chmod_key != key, "an executable bit changes what DIB runs"
    (b / "install.d/10-x").write_text("echo 2\n")
    edited = content_hash(["a"], env, "3.43.0", tmp_path)
    assert edited != chmod_key
    _element(tmp_path, "unrelated", files={"x": "y"})
    assert content_hash(["a"], env, "3.43.0", tmp_path) == edited


def _apt(tmp_path, deb822=None, oneline=None):
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    if deb822:
        (apt / "sources.list.d" / "debian.sources").write_text(deb822)
    if oneline:
        (apt / "sources.list").write_text(oneline)
    return apt


def test_mirror_comes_from_the_hosts_apt_sources(tmp_path):
    apt = _apt(tmp_path, deb822="Types: deb\nURIs: http://mirror.example/debian\n"
                                "Suites: bookworm\n\nTypes: deb\n"
                                "URIs: http://mirror.example/debian-security\n")
    env = mirrors("debian", apt, environ={})
    assert env == {"DIB_DISTRIBUTION_MIRROR": "http://mirror.example/debian",
                   "DIB_DEBIAN_SECURITY_MIRROR": "http://mirror.example/debian-security"}
    apt2 = _apt(tmp_path / "2", oneline="deb [arch=amd64] http://m.example/debian/ bookworm main\n")
    assert mirrors("debian", apt2, environ={})["DIB_DISTRIBUTION_MIRROR"] == \
        "http://m.example/debian"


def test_mirror_override_and_no_ubuntu_mirror_is_cannot_build_here(tmp_path):
    apt = _apt(tmp_path, oneline="deb http://m.example/debian bookworm main\n")
    with pytest.raises(CannotRunHere, match="cannot build here: .* no ubuntu mirror"):
        mirrors("ubuntu", apt, environ={})
    env = mirrors("ubuntu", apt, environ={"DIB_DISTRIBUTION_MIRROR": "http://u.example/ubuntu"})
    assert env["DIB_DISTRIBUTION_MIRROR"] == "http://u.example/ubuntu"


def test_no_host_name_is_written_into_the_repository():
    # the spec for every catalog OS takes its mirror from the environment
    ds = catalog.load().get("mariadb")
    spec = spec_for(ds, "debian-bookworm",
                    environ={"DIB_DISTRIBUTION_MIRROR": "http://only.example/debian"})
    assert spec.env["DIB_DISTRIBUTION_MIRROR"] == "http://only.example/debian"
    assert spec.elements[:2] == ("debian-minimal", "guest-no-kernel")
    assert spec.env["DIB_RELEASE"] == "bookworm"


@pytest.mark.parametrize("line", [
    "E: Unable to locate package mysql-server",
    "E: Package 'galera-4' has no installation candidate",
    "E: Failed to fetch http://x/pool/main/m/m.deb  Hash Sum mismatch",
    "E: Version '11.8.3-1' for 'mariadb-server' was not found",
    " mysql-server : Depends: mysql-server-core but it is not installable",
])
def test_archive_changes_are_told_apart_from_harness_failures(line, tmp_path):
    lines = ["2026 | building\n", f"2026 | {line}\n", "2026 | exit 100\n"]
    err = classify_failure(lines, "debian-sid-mysql", tmp_path / "build.log")
    assert isinstance(err, ArchiveChanged)
    assert "archive changed" in str(err) and "not a harness failure" in str(err)


def test_a_package_earlier_builds_had_is_an_archive_change(tmp_path):
    lines = ["2026 | E: Unable to locate package mysql-server\n"]
    err = classify_failure(lines, "debian-sid-mysql", tmp_path / "log",
                           previous={"mysql-server": "9.7.4-2"})
    assert isinstance(err, ArchiveChanged) and "earlier builds installed mysql-server 9.7.4-2" \
        in str(err)


def test_a_package_no_build_ever_had_is_the_elements_mistake(tmp_path):
    lines = ["2026 | E: Package 'mysql-sever' has no installation candidate\n"]
    err = classify_failure(lines, "debian-sid-mysql", tmp_path / "log",
                           previous={"mysql-server": "9.7.4-2"})
    assert isinstance(err, ImageBuildFailed)
    assert "'mysql-sever'" in str(err) and "element problem" in str(err)


def test_an_element_bug_is_a_harness_failure(tmp_path):
    lines = ["2026 | + install.d/10-x\n", "2026 | /tmp/in_target.d/install.d/10-x: line 3: "
             "nosuch: command not found\n", "2026 | ERROR: 10-x failed\n"]
    err = classify_failure(lines, "img", tmp_path / "build.log")
    assert isinstance(err, ImageBuildFailed)
    assert "not the archive" in str(err) and "build.log" in str(err)


def test_manifest_lists_installed_packages_only(tmp_path):
    status = tmp_path / "status"
    status.write_text("Package: mariadb-server\nStatus: install ok installed\n"
                      "Version: 1:10.11.14-0+deb12u2\n\n"
                      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
                      "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b9\n"
                      "Description: x\n continued: line\n")
    assert installed_packages(status) == {"bash": "5.2.15-2+b9",
                                          "mariadb-server": "1:10.11.14-0+deb12u2"}


def test_progress_names_dib_phases():
    said = []
    p = Progress("img", said.append, tty=False)
    p.line("2026 | Running hooks from /tmp/dib_build.x/hooks/root.d\n")
    p.line("2026 | dib-run-parts Target: install.d\n")
    p.line("2026 | dib-run-parts Target: install.d\n")
    assert [s.split(" (")[0] for s in said] == ["img: root.d", "img: install.d"]
    assert all(s.endswith("s)") for s in said)

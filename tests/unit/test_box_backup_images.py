"""Trove's backup container archive without a build: Trove's own backup/
at the working directory the agent's `python3 main.py` needs, the
requirements' packages on PYTHONPATH, layers docker load verifies, the cache
key following every input, and one line for what cannot be built."""

import hashlib
import io
import json
import tarfile

import pytest

from verify.box import backup_images
from verify.errors import CannotRunHere, UsageError
from verify.images import Image


def _fake_base(tmp_path, tools=("mariadb-backup", "mbstream")) -> Image:
    root = tmp_path / "base"
    (root / "rootfs" / "usr" / "bin").mkdir(parents=True)
    for tool in ("python3.11", *tools):
        (root / "rootfs" / "usr" / "bin" / tool).write_text("")
    (root / ".unpacked").touch()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("./etc/os-release")
        info.size = 10
        tar.addfile(info, io.BytesIO(b"ID=debian\n"))
    (root / "image.tar").write_bytes(buf.getvalue())
    return Image("debian-bookworm-mariadb", root,
                 {"sha256": hashlib.sha256(buf.getvalue()).hexdigest()})


def _backup_dir(tmp_path):
    src = tmp_path / "backup"
    (src / "drivers").mkdir(parents=True)
    (src / "tests").mkdir()
    (src / "main.py").write_text("print('main')\n")
    (src / "__init__.py").write_text("")
    (src / "drivers" / "mariabackup.py").write_text("X = 1\n")
    (src / "tests" / "test_x.py").write_text("")
    (src / "requirements.txt").write_text("oslo.config\n")
    return src


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_CACHE", str(tmp_path / "cache"))
    site = tmp_path / "site"
    (site / "oslo_config").mkdir(parents=True)
    (site / "oslo_config" / "__init__.py").write_text("")
    calls = []

    def fake_site(requirements, python, say):
        calls.append(python)
        return site
    monkeypatch.setattr(backup_images, "site_packages", fake_site)
    return calls


def test_backup_archive_holds_troves_backup_dir_and_its_packages(tmp_path, env):
    base, src = _fake_base(tmp_path), _backup_dir(tmp_path)
    image, hit = backup_images.build("mariadb", "10.11", base=base, backup_dir=src,
                                     say=lambda _: None)
    assert not hit and image.name == "trove-backup-mariadb:10.11" and env == ["3.11"]
    with tarfile.open(image.tar) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["trove-backup-mariadb:10.11"]
        config = json.loads(tar.extractfile(manifest[0]["Config"]).read())
        layers = [tar.extractfile(name).read() for name in manifest[0]["Layers"]]
    assert [f"sha256:{hashlib.sha256(x).hexdigest()}" for x in layers] == \
        config["rootfs"]["diff_ids"]
    assert config["rootfs"]["diff_ids"][0] == f"sha256:{base.sha256}"
    with tarfile.open(fileobj=io.BytesIO(layers[1])) as top:
        names = top.getnames()
    assert "opt/trove/backup/main.py" in names
    assert "opt/trove/backup/drivers/mariabackup.py" in names
    assert not any("/tests" in n for n in names)          # upstream's tests stay out
    assert f"{backup_images.SITE.lstrip('/')}/oslo_config/__init__.py" in names
    cfg = config["config"]
    assert cfg["WorkingDir"] == "/opt/trove/backup"       # `python3 main.py` runs there
    assert f"PYTHONPATH={backup_images.SITE}" in cfg["Env"]
    assert image.manifest["inputs"]["trove"] == "26.0.0"
    again, hit = backup_images.build("mariadb", "10.11", base=base, backup_dir=src,
                                     say=lambda _: None)
    assert hit and again.sha256 == image.sha256
    (src / "main.py").write_text("print('changed')\n")     # a changed input: a new image
    changed, hit = backup_images.build("mariadb", "10.11", base=base, backup_dir=src,
                                       say=lambda _: None)
    assert not hit and changed.dir != image.dir


def test_a_base_without_the_drivers_tools_is_one_line(tmp_path, env):
    base = _fake_base(tmp_path, tools=("mbstream",))
    with pytest.raises(UsageError) as err:
        backup_images.build("mariadb", "10.11", base=base, backup_dir=_backup_dir(tmp_path),
                            say=lambda _: None)
    assert "lacks mariadb-backup" in str(err.value) and "\n" not in str(err.value)


def test_mysql_has_no_backup_image_and_says_why():
    with pytest.raises(CannotRunHere, match="percona-xtrabackup"):
        backup_images.build("mysql", "8.4", say=lambda _: None)
    with pytest.raises(UsageError, match="no backup container for 'redis'"):
        backup_images.build("redis", "7", say=lambda _: None)

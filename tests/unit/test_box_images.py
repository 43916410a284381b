"""The box's images without a build: the Trove guest image's cache key (the
guest agent's release, or a developer checkout's tree hash, dirty files
included) and the datastore container archive (what `docker load` reads:
layers whose sha256 are the config's diff_ids, Trove's name:tag, the
entry point and health check of the contract)."""

import hashlib
import io
import json
import subprocess
import tarfile

import pytest

from verify.box import containers
from verify.errors import ConfigError, UsageError
from verify.images import Image, trove_guest

ENV = {"DIB_DISTRIBUTION_MIRROR": "http://only.example/debian"}


def _checkout(path):
    (path / "trove").mkdir(parents=True)
    (path / "setup.cfg").write_text("[metadata]\nname = trove\n")
    (path / "trove" / "__init__.py").write_text("")
    for argv in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(path), *argv], check=True, capture_output=True)
    return path


def test_trove_guest_key_follows_release_and_checkout_tree(tmp_path):
    release = trove_guest.spec(dict(ENV))
    assert release.env["TROVE_GUESTAGENT_VERSION"] == "26.0.0"
    assert release.elements[-1] == "debian-trove-guest"
    assert "guest-no-kernel" in release.elements
    other = trove_guest.spec(dict(ENV, TROVE_VERIFY_TROVE_VERSION="25.0.0"))
    assert other.key != release.key

    src = _checkout(tmp_path / "trove")
    clean = trove_guest.spec(dict(ENV, TROVE_VERIFY_TROVE_SRC=str(src)))
    assert clean.env["TROVE_VERIFY_TROVE_TREE"] == subprocess.run(
        ["git", "-C", str(src), "rev-parse", "HEAD^{tree}"], capture_output=True,
        text=True).stdout.strip()
    assert clean.key not in (release.key, other.key)
    (src / "trove" / "__init__.py").write_text("# a change not yet committed\n")
    dirty = trove_guest.spec(dict(ENV, TROVE_VERIFY_TROVE_SRC=str(src)))
    assert dirty.key != clean.key
    # the checkout's own index is left alone
    status = subprocess.run(["git", "-C", str(src), "status", "--porcelain"],
                            capture_output=True, text=True).stdout
    assert status.strip() == "M trove/__init__.py"


def test_trove_guest_rejects_what_is_not_a_checkout(tmp_path):
    with pytest.raises(ConfigError, match="TROVE_VERIFY_TROVE_SRC.*not a Trove checkout"):
        trove_guest.spec(dict(ENV, TROVE_VERIFY_TROVE_SRC=str(tmp_path)))


def _fake_base(tmp_path) -> Image:
    root = tmp_path / "base"
    (root / "rootfs" / "usr/lib/postgresql/15/bin").mkdir(parents=True)
    (root / ".unpacked").touch()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("./etc/os-release")
        data = b"ID=debian\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (root / "image.tar").write_bytes(buf.getvalue())
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    return Image("debian-bookworm-postgresql", root, {"sha256": sha, "os": "debian-bookworm",
                                                      "cache_key": "k"})


def test_container_archive_is_what_docker_load_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_CACHE", str(tmp_path / "cache"))
    base = _fake_base(tmp_path)
    image, hit = containers.build("postgresql", "15", base=base, say=lambda _: None)
    assert not hit and image.name == "postgres:15"
    with tarfile.open(image.tar) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["postgres:15"]
        config_bytes = tar.extractfile(manifest[0]["Config"]).read()
        config = json.loads(config_bytes)
        layers = [tar.extractfile(name).read() for name in manifest[0]["Layers"]]
        assert [f"sha256:{hashlib.sha256(layer).hexdigest()}" for layer in layers] == \
            config["rootfs"]["diff_ids"]
        assert manifest[0]["Config"] == hashlib.sha256(config_bytes).hexdigest() + ".json"
        with tarfile.open(fileobj=io.BytesIO(layers[1])) as top:
            names = top.getnames()
            assert "usr/local/bin/docker-entrypoint.sh" in names
            assert top.getmember("usr/local/bin/docker-entrypoint.sh").mode & 0o111
            passwd = top.extractfile("etc/passwd").read().decode()
            assert "database:x:1001:1001:" in passwd   # Trove's database_service_uid
    cfg = config["config"]
    assert cfg["Entrypoint"] == ["/usr/local/bin/docker-entrypoint.sh"]
    assert cfg["Cmd"] == ["postgres"]
    assert cfg["Healthcheck"]["Test"] == ["CMD", "pg_isready", "-U", "postgres"]
    assert cfg["Env"][0].startswith("PATH=/usr/lib/postgresql/15/bin:")
    assert image.sha256 == hashlib.sha256(image.tar.read_bytes()).hexdigest()
    assert image.ref()["base"] == {"name": base.name, "sha256": base.sha256}
    again, hit = containers.build("postgresql", "15", base=base, say=lambda _: None)
    assert hit and again.sha256 == image.sha256


def test_no_container_for_a_datastore_trove_runs_none_of(tmp_path):
    with pytest.raises(UsageError, match="runs no container for 'redis'"):
        containers.build("redis", "7", base=_fake_base(tmp_path), say=lambda _: None)


def test_guest_maps_troves_image_names_to_the_box_archives():
    from verify.box import guest

    # Trove 26's docker_image defaults, as servers.create passes them on
    assert guest.REPOS == {"mariadb": "mariadb", "mysql": "mysql", "postgres": "postgresql"}
    for bad in ("redis:7", "mariadb", "quay.io/x/mariadb:10.11"):
        with pytest.raises(UsageError, match="no container image"):
            guest.archive_for(bad, say=lambda _: None)

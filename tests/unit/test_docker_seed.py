"""The box's docker seed: the next Trove guest of an image starts from the
first one's loaded data root, with the layers linked and Docker's metadata
its own."""

from __future__ import annotations

from types import SimpleNamespace

from verify.box.docker_seed import DockerSeed


def _loaded_root(root):
    (root / "overlay2" / "abc" / "diff" / "usr").mkdir(parents=True)
    (root / "overlay2" / "abc" / "diff" / "usr" / "mariadbd").write_bytes(b"\x7fELF")
    (root / "overlay2" / "l").mkdir()
    (root / "overlay2" / "l" / "SHORT").symlink_to("../abc/diff")
    (root / "image" / "overlay2").mkdir(parents=True)
    (root / "image" / "overlay2" / "repositories.json").write_text('{"mariadb": {}}')
    (root / "network").mkdir()      # dockerd's own databases are never seeded
    (root / "network" / "local-kv.db").write_bytes(b"bolt")
    return root


def test_a_kept_seed_is_planted_with_linked_layers_and_copied_metadata(tmp_path):
    archive = SimpleNamespace(name="mariadb:10.11", sha256="f" * 64)
    seed = DockerSeed(tmp_path / "seeds", [archive])
    first = _loaded_root(tmp_path / "first")
    second = tmp_path / "second"
    second.mkdir()
    assert not seed.plant(second)            # nothing kept yet: the guest loads
    seed.keep(first)
    assert seed.dir.is_dir() and not list(seed.dir.parent.glob("*.partial"))
    assert seed.plant(second)
    layer = "overlay2/abc/diff/usr/mariadbd"
    assert (second / layer).stat().st_ino == (first / layer).stat().st_ino
    meta = "image/overlay2/repositories.json"
    assert (second / meta).read_text() == (first / meta).read_text()
    assert (second / meta).stat().st_ino != (first / meta).stat().st_ino
    assert (second / "overlay2" / "l" / "SHORT").is_symlink()
    assert not (second / "network").exists()
    # the seed keeps its layers when a guest that used them is removed
    (second / layer).unlink()
    assert (seed.dir / layer).read_bytes() == b"\x7fELF"


def test_the_first_seed_wins_and_another_image_has_its_own(tmp_path):
    a = SimpleNamespace(name="mariadb:10.11", sha256="a" * 64)
    b = SimpleNamespace(name="postgres:15", sha256="b" * 64)
    first = _loaded_root(tmp_path / "first")
    DockerSeed(tmp_path / "seeds", [a]).keep(first)
    other = tmp_path / "other"
    other.mkdir()
    (other / "overlay2").mkdir()
    (other / "image").mkdir()
    DockerSeed(tmp_path / "seeds", [a]).keep(other)      # already kept: unchanged
    seed = DockerSeed(tmp_path / "seeds", [a])
    assert (seed.dir / "overlay2" / "abc").is_dir()
    assert not DockerSeed(tmp_path / "seeds", [b]).dir.exists()


def test_the_seed_lock_is_shared_between_threads_and_bounded(tmp_path):
    import threading
    seed = DockerSeed(tmp_path / "seeds", [SimpleNamespace(name="x:1", sha256="c" * 64)])
    with seed.lock(5) as held:
        assert held
        got = []
        t = threading.Thread(target=lambda: got.append(seed.lock(0.5).__enter__()))
        t.start()
        t.join(5)
        assert got == [False]         # the other guest loads instead of waiting forever

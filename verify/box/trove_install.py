"""Which Trove the box runs: the pinned release in the Trove virtualenv, or a
developer's checkout (--trove-src / TROVE_VERIFY_TROVE_SRC) installed
editable into the box's own virtualenv. Also reads what that Trove offers
(its guest-agent managers) from its own code, without importing it here
(Trove's pins clash with the harness's)."""

from __future__ import annotations

import ast
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from verify.errors import ConfigError
from verify.settings import cache_dir, repo_root

PINNED = "26.0.0"


def default_venv() -> Path:
    return Path(os.environ.get("TROVE_VERIFY_TROVE_VENV", repo_root() / ".venv-trove"))


@dataclass
class TroveInstall:
    venv: Path
    version: str                 # release version, or "git" for a checkout
    source: Path | None = None   # the checkout
    commit: str | None = None
    dirty: bool | None = None

    def tool(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def package_dir(self) -> Path:
        if self.source is not None:
            return self.source / "trove"
        found = sorted((self.venv / "lib").glob("python3*/site-packages/trove"))
        if not found:
            raise ConfigError(f"no trove package in {self.venv}", where="Trove virtualenv",
                              fix="run tools/setup.sh (tools/setup.d/trove.sh builds it)")
        return found[0]

    def provenance(self) -> dict:
        out: dict = {"version": self.version}
        if self.source is not None:
            out.update(source=str(self.source), commit=self.commit, dirty=self.dirty)
        return out

    def missing(self) -> str | None:
        for tool in ("python", "keystone-manage", "trove-manage", "trove-api",
                     "trove-taskmanager", "trove-conductor"):
            if not (self.venv / "bin" / tool).exists():
                return (f"{self.venv}/bin/{tool} missing: run tools/setup.sh "
                        "(tools/setup.d/trove.sh builds the Trove virtualenv)")
        return None


def guest_managers(package_dir: Path) -> dict[str, str]:
    """Trove's registry of guest-agent managers (datastore manager -> class),
    read from trove/common/constants.py (REGISTRY_EXT_DEFAULTS)."""
    path = package_dir / "common" / "constants.py"
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "REGISTRY_EXT_DEFAULTS" for t in node.targets):
            try:
                return dict(ast.literal_eval(node.value))
            except ValueError:
                return {}
    return {}


def _git(source: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()


def resolve(trove_src: str | None = None) -> TroveInstall:
    """The pinned release, or the checkout named by --trove-src /
    TROVE_VERIFY_TROVE_SRC (installed editable into a venv of its own)."""
    src = trove_src or os.environ.get("TROVE_VERIFY_TROVE_SRC")
    base = default_venv()
    if not src:
        install = TroveInstall(venv=base, version=PINNED)
        problem = install.missing()
        if problem:
            raise ConfigError(problem, where="Trove 26.0.0")
        return install
    source = Path(src).resolve()
    if not (source / "trove" / "__init__.py").exists() or not (source / "setup.cfg").exists():
        raise ConfigError(f"{source} is not a Trove checkout (no trove/ and setup.cfg)",
                          where="--trove-src", fix="pass the root of a clone of openstack/trove")
    try:
        commit = _git(source, "rev-parse", "HEAD")
        dirty = bool(_git(source, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        raise ConfigError(f"{source} is not a git work tree", where="--trove-src") from None
    venv = cache_dir() / "box-venvs" / commit[:12]
    install = TroveInstall(venv=venv, version="git", source=source, commit=commit, dirty=dirty)
    if install.missing():
        _build_venv(base, venv, source)
    return install


def _build_venv(base: Path, venv: Path, source: Path) -> None:
    """A venv that sees the pinned Trove venv's packages, with the checkout
    installed editable over them (no dependency resolution: 26's pins)."""
    log = venv.with_suffix(".log")
    venv.parent.mkdir(parents=True, exist_ok=True)
    python = base / "bin" / "python"
    with open(log, "w") as out:
        steps = [[str(python), "-m", "venv", "--system-site-packages", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "--no-deps", "-e", str(source)]]
        for argv in steps:
            # --system-site-packages of a venv python reaches the base venv's packages
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=900,
                              env=dict(os.environ, PBR_VERSION="0.0.0")).returncode:
                raise ConfigError(f"cannot install {source} editable (log: {log})",
                                  where="--trove-src")
    for tool in ("keystone-manage",):
        target = venv / "bin" / tool
        if not target.exists():
            target.symlink_to(base / "bin" / tool)

"""What every guest kind provides, and the optional features some have.

A guest kind (process, namespace, a VM one day) is one class: it says
whether it can run a datastore version on this machine, readies images
before a run, and creates one guest per instance. The instance it creates is
the engines' ``Runtime`` (verify.engines.base).

Optional features (faults, a volume of its own, a memory limit, image
switching, an address of its own) are small runtime-checkable Protocols, as
Jepsen's nemeses test what a DB supports: backends ask
``isinstance(guest, LinkFaults)``, never a guest's kind by name.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from verify.catalog import Datastore
    from verify.guests import Images
    from verify.state import Ledger


class Guest(abc.ABC):
    """One guest kind. Register it in verify.guests.GUESTS."""

    kind: ClassVar[str]
    # runs this host's installed binaries (no image): engines then pick the
    # host's binary paths, and one pristine data-dir template serves all
    host_binaries: ClassVar[bool]
    image: dict | None = None        # {name, sha256, ...} of the image it boots, if any

    @classmethod
    @abc.abstractmethod
    def unavailable(cls, ds: Datastore, version: str) -> str | None:
        """Why a guest of this kind cannot run ds version here (None when it can)."""

    @classmethod
    def prepare_images(cls, images: Images, ds: Datastore, versions: list[str],
                       say: Callable[[str], None] = print) -> None:
        """Build or fetch from the cache what the versions need, before any
        scenario starts (nothing for kinds without images)."""

    @classmethod
    @abc.abstractmethod
    def create(cls, instance_id: str, ledger: Ledger, *, images: Images, version: str,
               memory_mb: int, volume_gb: int) -> Guest:
        """One guest for an instance of version."""

    @abc.abstractmethod
    def leftovers(self, port: int) -> list[str]:
        """What of this guest (and of the engine it ran on port) still exists
        after destroy(); empty when nothing."""

    @abc.abstractmethod
    def destroy(self, timeout: float = 30.0) -> None: ...


# optional features ------------------------------------------------------------
@runtime_checkable
class EngineSignals(Protocol):
    """Signals to the engine's own processes (kill, pause, resume)."""

    def engine_pids(self, proc) -> list[int]: ...
    def signal_engine(self, proc, sig: int) -> None: ...


@runtime_checkable
class LinkFaults(Protocol):
    """A network link of its own to cut and heal."""

    def link_down(self) -> None: ...
    def link_up(self) -> None: ...


@runtime_checkable
class VolumeFaults(Protocol):
    """A data volume of its own to fill and free."""

    def fill_volume(self) -> None: ...
    def free_volume(self) -> None: ...


@runtime_checkable
class OwnVolume(Protocol):
    """A data volume of its own, sized and grown as Trove's guest agent does."""

    def volume_size_gb(self) -> float: ...
    def resize_volume(self, new_gb: int) -> None: ...


@runtime_checkable
class MemoryLimit(Protocol):
    """A memory limit that follows the flavor (a cgroup)."""

    def resize_memory(self, memory_mb: int) -> None: ...


@runtime_checkable
class SwitchesImage(Protocol):
    """Boots another image over the same data volume (datastore upgrade)."""

    def switch_image(self, rootfs: Path, image: dict, *,
                     keep_previous: bool = False) -> None: ...

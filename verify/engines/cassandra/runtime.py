"""Where Cassandra's JVM comes from and how it is launched.

Cassandra 5.0 is not packaged by Debian: tools/setup.d/cassandra.sh fetches
``org.apache.cassandra:cassandra-all`` and its dependencies from Maven Central
into a cache (or the debian-cassandra element installs them into a guest),
and the engine runs ``CassandraDaemon`` from those jars on JDK 17.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from verify.engines._staging import stage, world_traversable
from verify.errors import EngineError
from verify.settings import cache_dir

# Where the debian-cassandra element installs the jars inside a guest.
GUEST_LIB = "/opt/trove-verify/cassandra/lib"
JAVA_17_GLOB = "/usr/lib/jvm/java-17-openjdk-*"
SETUP_FIX = "run tools/setup.sh (its cassandra hook installs JDK 17 and fetches the jars)"

# From Cassandra 5.0's conf/jvm17-server.options: the JDK internals it reaches.
JVM17_MODULE_FLAGS = [
    *(f"--add-exports={m}=ALL-UNNAMED" for m in (
        "java.base/jdk.internal.misc", "java.base/jdk.internal.ref", "java.base/sun.nio.ch",
        "java.management.rmi/com.sun.jmx.remote.internal.rmi", "java.rmi/sun.rmi.registry",
        "java.rmi/sun.rmi.server", "java.sql/java.sql", "java.base/java.lang.ref",
        "jdk.unsupported/sun.misc")),
    *(f"--add-opens={m}=ALL-UNNAMED" for m in (
        "java.base/java.lang.module", "java.base/jdk.internal.loader",
        "java.base/jdk.internal.ref", "java.base/jdk.internal.reflect",
        "java.base/jdk.internal.math", "java.base/jdk.internal.module",
        "java.base/jdk.internal.util.jar", "jdk.management/com.sun.management.internal",
        "java.base/sun.nio.ch", "java.base/java.io", "java.base/java.nio",
        "java.base/java.util.concurrent", "java.base/java.util",
        "java.base/java.util.concurrent.atomic", "java.base/java.lang",
        "java.base/java.math", "java.base/java.lang.reflect", "java.base/java.net")),
]

# Start-up tuning for small test clusters: no gossip settling, the default
# superuser created at once (and replaced by ours), no memtable overhead
# measurement loop (4 s on C1-compiled code; 181 is what it measures here).
FAST_START_PROPERTIES = {
    "cassandra.skip_wait_for_gossip_to_settle": "0",
    "cassandra.superuser_setup_delay_ms": "0",
    "cassandra.shutdown_announce_in_ms": "500",
    "cassandra.memtable.row_overhead_size": "181",
    "cassandra.skip_paxos_state_rebuild": "true",
    "cassandra.test.ignore_sigar": "true",
    # Trove's users change passwords back to back
    "cassandra.role_password_update_min_interval_in_ms": "0",
    # Schema changes stay durable through the commit log (replayed at start)
    # instead of a flush of every schema table per change.
    "cassandra.test.flush_local_schema_changes": "false",
    # Every login checks a bcrypt hash (credential caching is off so that
    # password changes and drops bite at once); the harness's passwords are
    # random 24-character strings, so the cheapest work factor loses nothing.
    "cassandra.auth_bcrypt_gensalt_log2_rounds": "4",
}
# A node that bootstraps waits ring_delay to learn the ring by gossip (one
# round a second, slower on a loaded host); a seed or single node has
# nobody to hear from.
RING_DELAY_MS = {"joining": 4000, "alone": 300}


def host_lib_dir() -> Path:
    """Where setup put the jars on this host."""
    override = os.environ.get("TROVE_VERIFY_CASSANDRA_LIB")
    return Path(override) if override else cache_dir() / "cassandra" / "lib"


def cassandra_jar(lib: Path) -> Path | None:
    jars = sorted(lib.glob("cassandra-all-*.jar"))
    return jars[-1] if jars else None


def jar_version(jar: Path) -> str:
    return jar.name.removeprefix("cassandra-all-").removesuffix(".jar")


def stage_for_service_user(lib: Path) -> Path:
    """The host cache may sit under a private home (root's); the service user
    then reads a staged copy of it under the work dir."""
    if world_traversable(lib):
        return lib
    jar = cassandra_jar(lib)
    return stage(f"cassandra-lib-{jar_version(jar)}",
                 ((src, src.name) for src in lib.glob("*.jar")))


@dataclass(frozen=True)
class JavaEnv:
    """Paths as the guest sees them."""

    java: str
    lib: str
    jamm: str          # the javaagent jar Cassandra needs for memory metering
    version: str       # cassandra-all's version, as fetched


def locate(guest_path) -> JavaEnv:
    """JDK 17 and the jars. guest_path maps a guest path to the host
    (Runtime.path); for process guests it is the identity."""
    lib = _locate_lib(guest_path)
    host_lib = guest_path(lib)
    jamm = sorted(host_lib.glob("jamm-*.jar"))
    if not jamm:
        raise EngineError(f"{lib} lacks the jamm javaagent jar", fix=SETUP_FIX)
    return JavaEnv(_locate_java(guest_path), lib, f"{lib}/{jamm[-1].name}",
                   jar_version(cassandra_jar(host_lib)))


def check_host() -> None:
    """EngineError naming what this host lacks (jars, JDK 17), without staging."""
    lib = host_lib_dir()
    if not (cassandra_jar(Path(GUEST_LIB)) or cassandra_jar(lib)):
        raise EngineError(f"no Cassandra jars found (looked in {GUEST_LIB} and {lib})",
                          fix=SETUP_FIX)
    _locate_java(Path)


def _locate_lib(guest_path) -> str:
    if cassandra_jar(guest_path(GUEST_LIB)):
        return GUEST_LIB
    lib = host_lib_dir()
    if guest_path(str(lib)) == lib and cassandra_jar(lib):
        return str(stage_for_service_user(lib))
    raise EngineError(f"no Cassandra jars found (looked in {GUEST_LIB} and {lib})",
                      fix=SETUP_FIX)


def _locate_java(guest_path) -> str:
    """JDK 17 explicitly: Cassandra 5.0 calls System.setSecurityManager, which
    newer JDKs refuse, and a newer JDK may be the default java here."""
    override = os.environ.get("TROVE_VERIFY_CASSANDRA_JAVA_HOME")
    if override:
        return f"{override}/bin/java"
    root = guest_path("/")
    for home in sorted(glob.glob(str(root / JAVA_17_GLOB.lstrip("/")))):
        if (Path(home) / "bin" / "java").exists():
            return "/" + str(Path(home).relative_to(root)) + "/bin/java"
    raise EngineError("no JDK 17 found (Cassandra 5.0 runs on JDK 17 only)", fix=SETUP_FIX)


def jvm_argv(env: JavaEnv, heap_mb: int, props: dict[str, str], main: str,
             server: bool = True) -> list[str]:
    """A bounded JVM: never Cassandra's default heap formula."""
    argv = [env.java, f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-Xss256k",
            "-XX:TieredStopAtLevel=1",           # start-up speed over peak throughput
            *(["-XX:+UseG1GC", "-XX:ParallelGCThreads=2", "-XX:ConcGCThreads=1"] if server
              else ["-XX:+UseSerialGC"]),
            *JVM17_MODULE_FLAGS, "-Djava.net.preferIPv4Stack=true"]
    if server:
        argv += [f"-javaagent:{env.jamm}", "-Djdk.attach.allowAttachSelf=true",
                 "-XX:MaxDirectMemorySize=256m", "-XX:ReservedCodeCacheSize=64m",
                 "-XX:+ExitOnOutOfMemoryError", "-Dcassandra-foreground=yes"]
    argv += [f"-D{k}={v}" for k, v in props.items()]
    return [*argv, "-cp", f"{env.lib}/*", main]

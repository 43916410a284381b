"""The layer below Trove, emulated: the Nova, Neutron, Glance and Cinder
calls Trove 26's API and task manager make, and nothing else.

One WSGI app on 127.0.0.1. Each service lives under its own path prefix
(/compute, /network, /image, /volume), which is what the Keystone catalog
and trove.conf point at. Every call not in ROUTES answers 501 naming its
method and path and is logged, so a new Trove call is discovered, never
silently passed. README.md here lists ROUTES; a unit test keeps the two
in step.

servers.create decodes the cloud-init user data Trove sends (#cloud-config
write_files: guest_info.conf, trove-guestagent.conf) and hands the files to
a boot function (verify.box.guest.boot); the guest's address is reported
through a Neutron port bound to the server, which is where Trove 26 reads
instance addresses from.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from verify.box.emulator_cinder import CINDER_ROUTES, CinderCalls
from verify.box.emulator_glance import GlanceCalls
from verify.box.emulator_model import (  # noqa: F401  (re-exported for users and tests)
    DEFAULT_FLAVORS,
    MGMT_NETWORK_ID,
    MGMT_SUBNET_ID,
    NETWORK_ID,
    SUBNET_ID,
    SUBNETS,
    ZONE,
    FlavorSpec,
    HTTPError,
    ImageSpec,
    Port,
    Server,
    Volume,
    guest_info,
    parse_user_data,
)

LOG = logging.getLogger("verify.box.emulator")
# a guest boot is bounded by its own steps (dockerd, docker load, agent); this
# only keeps stop_all from waiting forever on a hung one
BOOT_JOIN_S = 600.0

Route = tuple[str, str, str, str]   # service, method, path regex, handler name
ROUTES: list[Route] = [
    ("compute", "GET", r"/v2\.1/?", "compute_version"),
    ("compute", "GET", r"/v2\.1/flavors(?:/detail)?", "flavors_list"),
    ("compute", "GET", r"/v2\.1/flavors/(?P<id>[^/]+)", "flavors_get"),
    ("compute", "POST", r"/v2\.1/servers", "servers_create"),
    ("compute", "GET", r"/v2\.1/servers/detail", "servers_list"),
    ("compute", "GET", r"/v2\.1/servers/(?P<id>[^/]+)", "servers_get"),
    ("compute", "DELETE", r"/v2\.1/servers/(?P<id>[^/]+)", "servers_delete"),
    ("compute", "POST", r"/v2\.1/servers/(?P<id>[^/]+)/action", "servers_action"),
    ("compute", "GET", r"/v2\.1/os-server-groups", "server_groups_list"),
    ("network", "GET", r"/v2\.0/ports", "ports_list"),
    ("network", "POST", r"/v2\.0/ports", "ports_create"),
    ("network", "GET", r"/v2\.0/ports/(?P<id>[^/]+)", "ports_get"),
    ("network", "DELETE", r"/v2\.0/ports/(?P<id>[^/]+)", "ports_delete"),
    ("network", "GET", r"/v2\.0/floatingips", "floatingips_list"),
    ("network", "GET", r"/v2\.0/networks/(?P<id>[^/]+)", "networks_get"),
    ("network", "GET", r"/v2\.0/security-groups", "security_groups_list"),
    *CINDER_ROUTES,
    ("image", "GET", r"/v2/images", "images_list"),
    ("image", "GET", r"/v2/images/(?P<id>[^/]+)", "images_get"),
    ("image", "GET", r"/v2/schemas/(?P<name>image|images)", "image_schema"),
]
_COMPILED = [(s, m, re.compile(f"^{p}$"), h) for s, m, p, h in ROUTES]
SERVICES = ("compute", "network", "image", "volume")


class Emulator(GlanceCalls, CinderCalls):
    """The WSGI app. boot(server, files, info) returns a guest object with
    .address, .stop(), .alive() (verify.box.guest.TroveGuest). volumes_dir:
    where Cinder volumes live (None: the box runs without volumes)."""

    def __init__(self, boot: Callable[[Server, dict[str, str], dict[str, str]], Any],
                 images: list[ImageSpec], flavors: list[FlavorSpec] | None = None,
                 boot_timeout: float = 300.0, volumes_dir=None):
        self.boot = boot
        self.volumes_dir = volumes_dir
        self.volumes: dict[str, Volume] = {}
        self.images = {i.id: i for i in images}
        self.flavors = {f.id: f for f in (flavors or DEFAULT_FLAVORS)}
        self.servers: dict[str, Server] = {}
        self.ports: dict[str, Port] = {}
        self.unknown: list[str] = []       # the 501s, for tests and the log
        self.boot_timeout = boot_timeout
        self._lock = threading.Lock()
        self._boots: list[threading.Thread] = []

    # WSGI -------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            status, body = self.dispatch(method, path, query, raw, environ)
        except HTTPError as exc:
            status, body = exc.status, {"error": {"code": exc.status, "message": exc.message}}
            if exc.status == 501:
                LOG.warning("501 %s", exc.message)
            else:
                LOG.info("%s %s %s -> %s %s", method, path, environ.get("QUERY_STRING", ""),
                         exc.status, exc.message)
        except Exception as exc:   # a bug here: Trove sees a 500 naming it
            LOG.exception("%s %s failed", method, path)
            status, body = 500, {"error": {"code": 500, "message": f"box emulator: {exc}"}}
        else:
            LOG.info("%s %s %s -> %s", method, path, environ.get("QUERY_STRING", ""), status)
        data = b"" if body is None else json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        if path.startswith("/compute"):
            headers.append(("OpenStack-API-Version", "compute 2.57"))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [data]

    def dispatch(self, method: str, path: str, query: dict, raw: bytes,
                 environ: dict | None = None) -> tuple[int, Any]:
        service, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        if service == "faults":    # the harness's nemesis, not a Trove call (faults.py)
            from verify.box import faults
            return faults.serve(self.servers, rest, method, json.loads(raw) if raw else {})
        if service == "compute":   # Trove's nova URL carries the project: /v2.1/<project>/...
            rest = re.sub(r"^/v2\.1/[0-9a-f]{32}(?=/|$)", "/v2.1", rest)
        for svc, m, pattern, handler in _COMPILED:
            if svc == service and m == method:
                match = pattern.match(rest)
                if match:
                    body = json.loads(raw) if raw else {}
                    return getattr(self, handler)(query=query, body=body, **match.groupdict())
        call = f"{method} {path}"
        with self._lock:
            self.unknown.append(call)
        raise HTTPError(501, f"box emulator does not implement {call} "
                             "(see verify/box/README.md for the calls it serves)")

    # compute ------------------------------------------------------------------
    def compute_version(self, **_) -> tuple[int, Any]:
        return 200, {"version": {"id": "v2.1", "status": "CURRENT", "version": "2.57",
                                 "min_version": "2.1", "links": []}}

    def _flavor(self, f: FlavorSpec) -> dict:
        return {"id": f.id, "name": f.name, "ram": f.ram, "vcpus": f.vcpus, "disk": f.disk,
                "OS-FLV-EXT-DATA:ephemeral": f.ephemeral, "swap": "", "rxtx_factor": 1.0,
                "os-flavor-access:is_public": True, "links": []}

    def flavors_list(self, **_) -> tuple[int, Any]:
        return 200, {"flavors": [self._flavor(f) for f in self.flavors.values()]}

    def flavors_get(self, id: str, **_) -> tuple[int, Any]:
        if id not in self.flavors:
            raise HTTPError(404, f"flavor {id} not found")
        return 200, {"flavor": self._flavor(self.flavors[id])}

    def servers_create(self, body: dict, **_) -> tuple[int, Any]:
        spec = body.get("server") or {}
        flavor_id = str(spec.get("flavorRef", "")).rsplit("/", 1)[-1]
        image_id = str(spec.get("imageRef", "")).rsplit("/", 1)[-1]
        if flavor_id not in self.flavors:
            raise HTTPError(400, f"flavor {flavor_id!r} does not exist in the box")
        if image_id not in self.images:
            raise HTTPError(400, f"image {image_id!r} is not the box's Trove guest image")
        networks = spec.get("networks")
        if not isinstance(networks, list) or any("port" not in n for n in networks):
            raise HTTPError(501, "box emulator does not implement servers.create without "
                                 f"ports (networks={networks!r}); Trove creates them")
        bound = [self.ports.get(n["port"]) for n in networks]
        if None in bound:
            raise HTTPError(400, f"a port of {networks!r} does not exist")
        files = parse_user_data(spec.get("user_data"))
        info = guest_info(files)
        metadata = spec.get("metadata") or {}
        server = Server(id=str(uuid.uuid4()), name=spec.get("name", ""), flavor_id=flavor_id,
                        image_id=image_id, metadata=metadata,
                        tenant_id=metadata.get("trove_project_id", info.get("tenant_id", "")),
                        user_id=metadata.get("trove_user_id", ""),
                        tags=[str(t) for t in spec.get("tags") or []])
        self.boot_volume(server, spec.get("block_device_mapping_v2") or [])
        with self._lock:
            if not any(p.network_id == NETWORK_ID for p in bound):
                user = self._new_port(f"trove-{info.get('guest_id', server.id)}", NETWORK_ID,
                                      server.tenant_id)
                bound.append(user)
                server.own_ports.append(user.id)
            for port in bound:
                port.device_id = server.id
            self.servers[server.id] = server
        boot = threading.Thread(target=self._boot, args=(server, bound, files, info),
                                name=f"boot-{server.id[:8]}", daemon=True)
        with self._lock:
            self._boots = [t for t in self._boots if t.is_alive()] + [boot]
        boot.start()
        return 202, {"server": {"id": server.id, "links": [], "adminPass": "",
                                "OS-DCF:diskConfig": "MANUAL", "security_groups": []}}

    def _new_port(self, name: str, network_id: str, tenant_id: str) -> Port:
        port = Port(id=str(uuid.uuid4()), name=name, network_id=network_id, device_id="",
                    tenant_id=tenant_id,
                    mac_address="fa:16:3e:" + uuid.uuid4().bytes[:3].hex(":"))
        self.ports[port.id] = port
        return port

    def _boot(self, server: Server, ports: list[Port], files: dict, info: dict) -> None:
        try:
            guest = self.boot(server, files, info)
        except Exception as exc:
            LOG.error("server %s (%s) failed to boot: %s", server.id, server.name, exc)
            server.status, server.fault = "ERROR", str(exc)
            return
        with self._lock:
            if server.id not in self.servers:   # deleted while booting
                guest.stop()
                return
            server.guest, server.address = guest, guest.address
            for port in ports:
                port.ip_address = guest.address
            server.status = "ACTIVE"
        LOG.info("server %s (%s) is ACTIVE at %s", server.id, server.name, guest.address)

    def _server(self, s: Server) -> dict:
        if s.status == "ACTIVE" and s.guest is not None and not s.guest.alive():
            s.status, s.fault = "SHUTOFF", "the namespace guest is no longer running"
        addresses = {"box": [{"addr": s.address, "version": 4, "OS-EXT-IPS:type": "fixed"}]} \
            if s.address else {}
        out = {"id": s.id, "name": s.name, "status": s.status, "tenant_id": s.tenant_id,
               "user_id": s.user_id, "metadata": s.metadata, "addresses": addresses,
               "flavor": {"id": s.flavor_id, "links": []},
               "image": {"id": s.image_id, "links": []}, "created": s.created,
               "updated": s.created, "hostId": "box", "links": [],
               "OS-EXT-AZ:availability_zone": ZONE, "OS-EXT-STS:vm_state":
                   s.status.lower(), "OS-EXT-STS:task_state": None,
               "os-extended-volumes:volumes_attached":
                   [{"id": s.volume_id, "delete_on_termination": s.delete_volume}]
                   if s.volume_id else [], "accessIPv4": "",
               "accessIPv6": "", "config_drive": "", "key_name": None, "tags": list(s.tags)}
        if s.fault:
            out["fault"] = {"code": 500, "message": s.fault, "created": s.created}
        return out

    def _get_server(self, id: str) -> Server:
        server = self.servers.get(id)
        if server is None:
            raise HTTPError(404, f"server {id} not found")
        return server

    def servers_get(self, id: str, **_) -> tuple[int, Any]:
        return 200, {"server": self._server(self._get_server(id))}

    def servers_list(self, query: dict, **_) -> tuple[int, Any]:
        """name, tags-any, marker and limit as Nova does them (novaclient
        pages with marker until a page comes back empty)."""
        servers = list(self.servers.values())     # creation order, stable for markers
        if "name" in query:
            servers = [s for s in servers if re.search(query["name"][0], s.name)]
        if "tags-any" in query:
            wanted = set(",".join(query["tags-any"]).split(","))
            servers = [s for s in servers if wanted & set(s.tags)]
        if "marker" in query:
            ids = [s.id for s in servers]
            marker = query["marker"][0]
            if marker not in ids and marker not in self.servers:
                raise HTTPError(400, f"marker {marker} not found")
            servers = servers[ids.index(marker) + 1:] if marker in ids else []
        if "limit" in query:
            try:
                servers = servers[:max(0, int(query["limit"][0]))]
            except ValueError:
                raise HTTPError(400, f"limit {query['limit'][0]!r} is not a number") from None
        return 200, {"servers": [self._server(s) for s in servers]}

    def servers_delete(self, id: str, **_) -> tuple[int, Any]:
        with self._lock:
            server = self._get_server(id)
            del self.servers[id]
            guest = server.guest
            for port_id in server.own_ports:
                self.ports.pop(port_id, None)
            for port in self.ports.values():   # Nova unbinds; Trove deletes its ports
                if port.device_id == id:
                    port.device_id, port.ip_address = "", None
        if guest is not None:
            guest.stop()
        self.release_volume(server)
        return 204, None

    def servers_action(self, id: str, body: dict, **_) -> tuple[int, Any]:
        server = self._get_server(id)
        action = next(iter(body), "")
        if action == "resize":
            flavor_id = str(body["resize"].get("flavorRef", "")).rsplit("/", 1)[-1]
            if flavor_id not in self.flavors:
                raise HTTPError(400, f"flavor {flavor_id!r} does not exist in the box")
            # the namespace guest keeps running; only the flavor on record changes
            server.old_flavor_id, server.flavor_id = server.flavor_id, flavor_id
            server.status = "VERIFY_RESIZE"
            return 202, None
        if action == "confirmResize":
            server.status, server.old_flavor_id = "ACTIVE", None
            return 204, None
        if action == "revertResize":
            server.flavor_id = server.old_flavor_id or server.flavor_id
            server.status = "ACTIVE"
            return 202, None
        raise HTTPError(501, f"box emulator does not implement server action {action!r} "
                             f"(POST /compute/v2.1/servers/{id}/action)")

    def server_groups_list(self, **_) -> tuple[int, Any]:
        return 200, {"server_groups": []}   # the box makes none (no locality)

    # network ------------------------------------------------------------------
    def _port(self, p: Port) -> dict:
        fixed = [{"subnet_id": SUBNETS[p.network_id], "ip_address": p.ip_address}] \
            if p.ip_address else []
        return {"id": p.id, "name": p.name, "network_id": p.network_id,
                "device_id": p.device_id, "device_owner": "compute:nova",
                "tenant_id": p.tenant_id, "project_id": p.tenant_id,
                "mac_address": p.mac_address, "fixed_ips": fixed, "status": "ACTIVE",
                "admin_state_up": True, "security_groups": []}

    def ports_list(self, query: dict, **_) -> tuple[int, Any]:
        ports = list(self.ports.values())
        for key in ("device_id", "name", "network_id", "id", "device_owner"):
            if key in query:
                wanted = set(query[key])
                ports = [p for p in ports if self._port(p).get(key) in wanted]
        return 200, {"ports": [self._port(p) for p in ports]}

    def ports_create(self, body: dict, **_) -> tuple[int, Any]:
        spec = body.get("port") or {}
        network_id = spec.get("network_id")
        if network_id not in SUBNETS:
            raise HTTPError(404, f"network {network_id!r} is not a box network")
        if spec.get("fixed_ips"):
            raise HTTPError(501, "box emulator does not implement ports with fixed_ips "
                                 "(the guest's address is the one it boots with)")
        with self._lock:
            port = self._new_port(spec.get("name", ""), network_id,
                                  spec.get("project_id") or spec.get("tenant_id") or "")
        return 201, {"port": self._port(port)}

    def ports_get(self, id: str, **_) -> tuple[int, Any]:
        if id not in self.ports:
            raise HTTPError(404, f"port {id} not found")
        return 200, {"port": self._port(self.ports[id])}

    def ports_delete(self, id: str, **_) -> tuple[int, Any]:
        with self._lock:
            if self.ports.pop(id, None) is None:
                raise HTTPError(404, f"port {id} not found")
        return 204, None

    def floatingips_list(self, **_) -> tuple[int, Any]:
        return 200, {"floatingips": []}   # the box has no floating IPs

    def networks_get(self, id: str, **_) -> tuple[int, Any]:
        if id not in SUBNETS:
            raise HTTPError(404, f"network {id} not found")
        name = "box" if id == NETWORK_ID else "box-management"
        return 200, {"network": {"id": id, "name": name, "subnets": [SUBNETS[id]],
                                 "status": "ACTIVE", "admin_state_up": True}}

    def security_groups_list(self, **_) -> tuple[int, Any]:
        return 200, {"security_groups": []}   # trove_security_groups_support is off

    # lifecycle ----------------------------------------------------------------
    def stop_all(self) -> None:
        with self._lock:
            servers = list(self.servers.values())
            self.servers.clear()
            boots, self._boots = self._boots, []
        # a guest still booting stops itself once it sees its server gone
        # (_boot); wait for it, or its loop device and processes would be
        # made after the ledger is torn down
        for boot in boots:
            boot.join(BOOT_JOIN_S)
            if boot.is_alive():
                LOG.error("%s still booting after %.0f s; its guest is left to the ledger",
                          boot.name, BOOT_JOIN_S)
        for s in servers:
            if s.guest is not None:
                try:
                    s.guest.stop()
                except Exception as exc:   # keep stopping the others
                    LOG.error("stopping guest of server %s: %s", s.id, exc)


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
            404: "Not Found", 500: "Internal Server Error", 501: "Not Implemented"}


def serve(app: Emulator, port: int, host: str = "127.0.0.1"):
    """A threaded wsgiref server; the caller runs .serve_forever() in a thread."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class _Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        allow_reuse_address = True

    class _Quiet(WSGIRequestHandler):
        def log_message(self, *args):   # the app logs each call itself
            pass

    return make_server(host, port, app, server_class=_Server, handler_class=_Quiet)

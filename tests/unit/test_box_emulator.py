"""The box's Nova/Neutron/Glance emulator: the calls it serves, 501 for the
rest, cloud-init write_files parsing, and config generation."""

import base64
import configparser
import io
import json
import re
import threading
import time
from pathlib import Path

import pytest
import yaml

from verify.box import emulator as emu
from verify.box.control import DatastoreSpec, guestagent_conf, trove_conf
from verify.box.trove_install import guest_managers

IMAGE = emu.ImageSpec(id="11111111-2222-4333-8444-555555555555", name="trove-guest",
                      tags=["trove"])


class FakeGuest:
    address = "10.99.0.2"

    def __init__(self):
        self.stopped = False

    def stop(self):
        self.stopped = True

    def alive(self):
        return not self.stopped


def user_data(files: dict[str, str]) -> str:
    """What Trove 26 sends (instance/models.py prepare_cloud_config)."""
    doc = {"write_files": [{"encoding": "b64", "owner": "trove:trove", "path": path,
                            "content": base64.b64encode(text.encode()).decode()}
                           for path, text in files.items()]}
    return base64.b64encode(("#cloud-config\n" + yaml.dump(doc)).encode()).decode()


def call(app, method, path, body=None, query=""):
    raw = json.dumps(body).encode() if body is not None else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    got = {}

    def start_response(status, headers):
        got["status"] = int(status.split()[0])
    data = b"".join(app(environ, start_response))
    return got["status"], (json.loads(data) if data else None)


@pytest.fixture
def booted():
    return []


@pytest.fixture
def app(booted):
    def boot(server, files, info):
        guest = FakeGuest()
        booted.append((server, files, info, guest))
        return guest
    return emu.Emulator(boot=boot, images=[IMAGE])


GUEST_INFO = "[DEFAULT]\nguest_id=abc\ndatastore_manager=mariadb\ndatastore_version=10.11\n"


def mgmt_port(app):
    status, body = call(app, "POST", "/network/v2.0/ports",
                        {"port": {"name": "trove-abc", "network_id": emu.MGMT_NETWORK_ID,
                                  "security_groups": []}})
    assert status == 201
    return body["port"]["id"]


def create(app, **extra):
    extra.setdefault("networks", [{"port": mgmt_port(app)}])
    server = {"name": "db1", "imageRef": IMAGE.id, "flavorRef": "2",
              "user_data": user_data({"/etc/trove/conf.d/guest_info.conf": GUEST_INFO,
                                      "/etc/trove/conf.d/trove-guestagent.conf": "[DEFAULT]\n"}),
              "metadata": {"trove_project_id": "p1"}, **extra}
    return call(app, "POST", "/compute/v2.1/servers", {"server": server})


def wait_active(app, server_id):
    for _ in range(100):
        status, body = call(app, "GET", f"/compute/v2.1/servers/{server_id}")
        if body["server"]["status"] != "BUILD":
            return body["server"]
        time.sleep(0.02)
    raise AssertionError("server never left BUILD")


def test_unknown_calls_answer_501_naming_themselves(app):
    status, body = call(app, "GET", "/compute/v2.1/os-keypairs")
    assert status == 501
    assert "GET /compute/v2.1/os-keypairs" in body["error"]["message"]
    status, body = call(app, "POST", "/volume/v3/p1/snapshots", {"snapshot": {}})
    assert status == 501 and "POST /volume/v3/p1/snapshots" in body["error"]["message"]
    status, body = call(app, "POST", "/compute/v2.1/servers/x", {})   # method not served
    assert status == 501
    assert app.unknown == ["GET /compute/v2.1/os-keypairs", "POST /volume/v3/p1/snapshots",
                           "POST /compute/v2.1/servers/x"]


def test_create_boots_with_write_files_and_port_reports_address(app, booted):
    status, body = create(app)
    assert status == 202
    server = wait_active(app, body["server"]["id"])
    assert server["status"] == "ACTIVE"
    (srv, files, info, guest), = booted
    assert files["/etc/trove/conf.d/guest_info.conf"] == GUEST_INFO
    assert info["datastore_manager"] == "mariadb" and info["guest_id"] == "abc"
    status, ports = call(app, "GET", "/network/v2.0/ports", query=f"device_id={srv.id}")
    assert status == 200
    # Trove's management port, and the port the address is reported on
    by_net = {p["network_id"]: p for p in ports["ports"]}
    assert set(by_net) == {emu.MGMT_NETWORK_ID, emu.NETWORK_ID}
    assert by_net[emu.NETWORK_ID]["fixed_ips"][0]["ip_address"] == "10.99.0.2"
    assert {p["name"] for p in ports["ports"]} == {"trove-abc"}
    status, _ = call(app, "DELETE", f"/compute/v2.1/servers/{srv.id}")
    assert status == 204 and guest.stopped
    assert call(app, "GET", f"/compute/v2.1/servers/{srv.id}")[0] == 404
    # the port it allocated goes with it; Trove's own port is Trove's to delete
    left = call(app, "GET", "/network/v2.0/ports")[1]["ports"]
    assert [p["network_id"] for p in left] == [emu.MGMT_NETWORK_ID]
    assert left[0]["device_id"] == "" and left[0]["fixed_ips"] == []


def test_a_failed_boot_is_a_server_in_error(booted):
    def boot(server, files, info):
        raise RuntimeError("dockerd did not start (log: /x/dockerd.log)")
    app = emu.Emulator(boot=boot, images=[IMAGE])
    _, body = create(app)
    server = wait_active(app, body["server"]["id"])
    assert server["status"] == "ERROR"
    assert "dockerd did not start" in server["fault"]["message"]


def test_bad_requests_are_refused_with_the_reason(app):
    status, body = create(app, flavorRef="99")
    assert status == 400 and "flavor '99'" in body["error"]["message"]
    status, body = create(app, imageRef="nope")
    assert status == 400 and "image 'nope'" in body["error"]["message"]
    status, body = create(app, user_data=base64.b64encode(b"#!/bin/sh\necho").decode())
    assert status == 400 and "#cloud-config" in body["error"]["message"]
    status, body = create(app, block_device_mapping_v2=[{"source_type": "volume",
                                                         "boot_index": 0}])
    assert status == 501 and "block device mapping" in body["error"]["message"]
    status, body = create(app, networks="auto")
    assert status == 501 and "without ports" in body["error"]["message"]
    status, body = call(app, "POST", "/network/v2.0/ports",
                        {"port": {"network_id": emu.MGMT_NETWORK_ID,
                                  "fixed_ips": [{"ip_address": "1.2.3.4"}]}})
    assert status == 501 and "fixed_ips" in body["error"]["message"]


def test_parse_user_data_plain_and_b64():
    text = "#cloud-config\nwrite_files:\n- path: /a\n  content: hello\n- path: /b\n" \
           "  encoding: b64\n  content: " + base64.b64encode(b"world").decode() + "\n"
    files = emu.parse_user_data(base64.b64encode(text.encode()).decode())
    assert files == {"/a": "hello", "/b": "world"}
    assert emu.parse_user_data(None) == {}
    with pytest.raises(emu.HTTPError, match="not base64"):
        emu.parse_user_data("***")
    with pytest.raises(emu.HTTPError, match="gzip"):
        emu.parse_user_data(base64.b64encode(
            b"#cloud-config\nwrite_files:\n- {path: /a, encoding: gzip, content: x}\n").decode())


def test_resize_changes_the_flavor_and_confirms(app, booted):
    _, body = create(app)
    sid = body["server"]["id"]
    wait_active(app, sid)
    assert call(app, "POST", f"/compute/v2.1/servers/{sid}/action",
                {"resize": {"flavorRef": "3"}})[0] == 202
    server = call(app, "GET", f"/compute/v2.1/servers/{sid}")[1]["server"]
    assert server["status"] == "VERIFY_RESIZE" and server["flavor"]["id"] == "3"
    assert call(app, "POST", f"/compute/v2.1/servers/{sid}/action",
                {"confirmResize": None})[0] == 204
    status, body = call(app, "POST", f"/compute/v2.1/servers/{sid}/action", {"pause": None})
    assert status == 501 and "pause" in body["error"]["message"]


def test_flavors_images_and_the_project_in_the_nova_url(app):
    status, body = call(app, "GET", "/compute/v2.1/0123456789abcdef0123456789abcdef/flavors/2")
    assert status == 200 and body["flavor"]["ram"] == 512
    _, body = call(app, "GET", "/image/v2/images", query="tag=trove")
    assert [i["id"] for i in body["images"]] == [IMAGE.id]
    _, body = call(app, "GET", "/image/v2/images", query="tag=other")
    assert body["images"] == []
    assert call(app, "GET", f"/image/v2/images/{IMAGE.id}")[1]["status"] == "active"


def test_readme_lists_every_route():
    readme = (Path(emu.__file__).parent / "README.md").read_text()
    readme = readme.replace("\\|", "|")   # a | inside a table cell is escaped
    listed = set(re.findall(r"^\| (\w+) \| (GET|POST|DELETE|PUT) \| `([^`]+)` \|", readme,
                            re.MULTILINE))
    served = {(s, m, p) for s, m, p, _ in emu.ROUTES}
    assert listed == served


def test_served_over_http_on_loopback(app):
    server = emu.serve(app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        import urllib.error
        import urllib.request
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/compute/v2.1/flavors") as r:
            assert len(json.loads(r.read())["flavors"]) == len(emu.DEFAULT_FLAVORS)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/network/v2.0/routers")
        assert err.value.code == 501
    finally:
        server.shutdown()


SPECS = [DatastoreSpec("mariadb", "mariadb", ["10.11"], "mariadb"),
         DatastoreSpec("postgresql", "postgresql", ["15"], "postgres")]


def test_trove_conf_is_valid_ini_with_the_box_settings():
    text = trove_conf(port=1234, paste=Path("/p.ini"), log_dir=Path("/logs"), db_url="mysql://x",
                      auth_url="http://127.0.0.1:5/v3", service_password="pw",
                      transport_url="rabbit://u:p@127.0.0.1:1/v", guest_config=Path("/g.conf"),
                      rpc_key="k1", inst_key="k2", datastores=SPECS)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(text)
    d = conf["DEFAULT"]
    assert d["bind_host"] == "127.0.0.1" and d["bind_port"] == "1234"
    assert d["trove_volume_support"] == "True" and conf["mariadb"]["volume_support"] == "True"
    assert d["trove_security_groups_support"] == "False"
    assert d["guest_config"] == "/g.conf" and d["taskmanager_rpc_encr_key"] == "k1"
    assert conf["network"]["network_isolation"] == "False"
    assert conf["service_credentials"]["username"] == "trove"
    assert conf["keystone_authtoken"]["password"] == "pw"
    assert conf["postgresql"]["docker_image"] == "postgres"


def test_guestagent_conf_uses_the_guest_transport():
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(guestagent_conf("rabbit://u:p@10.9.0.1:5/v", SPECS))
    assert conf["DEFAULT"]["transport_url"] == "rabbit://u:p@10.9.0.1:5/v"
    assert conf["mariadb"]["docker_image"] == "mariadb"


def test_guest_managers_read_from_troves_code(tmp_path):
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "constants.py").write_text(
        "X = 1\nREGISTRY_EXT_DEFAULTS = {'mysql': 'a.M', 'postgresql': 'b.P'}\n")
    assert guest_managers(tmp_path) == {"mysql": "a.M", "postgresql": "b.P"}
    assert guest_managers(tmp_path / "missing") == {}


def test_trove_refusals_that_mean_not_implemented():
    from verify.backends.trove_answers import refused_as_not_implemented
    assert refused_as_not_implemented(501, "anything")
    assert refused_as_not_implemented(400, "Volume support is not supported for this datastore")
    assert refused_as_not_implemented(422, "Operation not implemented for mariadb")
    assert not refused_as_not_implemented(400, "Invalid flavor")
    assert not refused_as_not_implemented(500, "not implemented")
    assert not refused_as_not_implemented(None, "not implemented")


def test_trove_refusal_for_lack_of_volumes_is_the_deployments_gap():
    """Clusters and resize volume through the box: Trove 26 raises
    VolumeNotSupported where a deployment runs with trove_volume_support off.
    That is the deployment's configuration, never 'not implemented by Trove'."""
    from verify.backends.trove_answers import (
        refused_as_not_implemented,
        refused_for_lack_of_volumes,
    )
    message = "Volume support is not enabled."
    assert refused_for_lack_of_volumes(400, message)
    assert not refused_as_not_implemented(400, message)
    assert not refused_for_lack_of_volumes(500, message)
    assert refused_for_lack_of_volumes(501, message)    # Trove's answer to a galera create
    assert not refused_for_lack_of_volumes(400, "Volume support is not supported for mysql")


def test_trove_refusal_for_lack_of_object_storage_is_the_deployments_gap():
    """Replica seeding, backups and log publishing need Swift; the box runs
    none yet, and Trove says so with a 404 that is neither Trove's nor the
    datastore's failure."""
    from verify.backends.trove_answers import (
        refused_as_not_implemented,
        refused_for_lack_of_object_storage,
    )
    message = "Swift is disabled for tenant 3efc8a5ec0b84dee8e2f3e5f351cc179."
    assert refused_for_lack_of_object_storage(404, message)
    assert not refused_as_not_implemented(404, message)
    assert not refused_for_lack_of_object_storage(500, message)
    assert not refused_for_lack_of_object_storage(404, "Instance not found")


def test_server_list_pages_with_marker_and_filters_by_tag(app):
    ids = [create(app, tags=["trove_instance", f"trove_instance_id_{i}"])[1]["server"]["id"]
           for i in range(3)]
    _, page = call(app, "GET", "/compute/v2.1/servers/detail", query="tags-any=trove_instance")
    assert [s["id"] for s in page["servers"]] == ids
    _, page = call(app, "GET", "/compute/v2.1/servers/detail",
                   query=f"tags-any=trove_instance_id_1&marker={ids[2]}")
    assert page["servers"] == []        # novaclient stops paging on an empty page
    _, page = call(app, "GET", "/compute/v2.1/servers/detail", query=f"marker={ids[0]}&limit=1")
    assert [s["id"] for s in page["servers"]] == [ids[1]]
    _, page = call(app, "GET", "/compute/v2.1/servers/detail", query="tags-any=trove_instance_id_2")
    assert [s["id"] for s in page["servers"]] == [ids[2]]


def test_a_deployment_without_object_storage_skips_backup_and_replication_up_front():
    """Checked before a scenario creates anything (a replication scenario used
    to spend ~75 s creating its primary before Trove refused the replica)."""
    import threading
    from types import SimpleNamespace

    from verify.backends.trove import TroveBackend

    def fake(endpoints: dict, volume_support: bool = True):
        session = SimpleNamespace(get_endpoint=lambda service_type, interface:
                                  endpoints.get(service_type))
        return SimpleNamespace(_lock=threading.Lock(), NEEDS_OBJECT_STORE=("backup", "replication"),
                               cloud=SimpleNamespace(name="trove-box", session=session),
                               volume_support=volume_support)

    bare = fake({"database": "http://127.0.0.1:1/v1.0"})
    why = TroveBackend.capability_unavailable(bare, "replication")
    assert why and "needs object storage" in why and "'trove-box'" in why
    assert TroveBackend.capability_unavailable(bare, "databases") is None
    with_swift = fake({"object-store": "http://127.0.0.1:2/v1/AUTH_x"})
    assert TroveBackend.capability_unavailable(with_swift, "backup") is None
    # instance.resize_volume needs volumes: asked before its instance is made
    assert TroveBackend.capability_unavailable(with_swift, "volumes") is None
    no_volumes = fake({}, volume_support=False)
    assert "trove_volume_support off" in TroveBackend.capability_unavailable(no_volumes, "volumes")
    from verify.scenarios.instance import InstanceTest
    assert "volumes" in InstanceTest.test_resize_volume.scenario_info.needs


def test_trove_refusing_a_configuration_value_is_a_rejection_not_a_missing_capability():
    """Trove's 422 'The configuration parameter X is not supported for this
    datastore' is its validation rules at work: configuration.validation
    expects exactly that refusal."""
    from types import SimpleNamespace

    import pytest
    from troveclient import exceptions as tc_exc

    from verify.backends.trove_ops import TroveOps
    from verify.engines.capabilities import ConfigurationRejected

    def refuse(*_a, **_k):
        raise tc_exc.UnprocessableEntity(http_status=422, message="The configuration parameter "
                                         "verify_no_such_parameter is not supported for "
                                         "this datastore: mariadb 10.11.")

    ops = TroveOps()
    ops.trove = SimpleNamespace(configurations=SimpleNamespace(create=refuse))
    with pytest.raises(ConfigurationRejected) as err:
        ops.create_configuration("mariadb", "10.11", {"verify_no_such_parameter": 1})
    assert "verify_no_such_parameter" in str(err.value) and "422" in str(err.value)


def test_volume_refusal_skips_with_the_deployments_reason():
    """A cluster create refused for volumes becomes a skip naming the
    deployment's setting, not a verdict about Trove."""
    from troveclient import exceptions as tc_exc

    from verify.backends.trove_ops import TroveOps
    from verify.errors import NotSupported
    with pytest.raises(NotSupported) as err:
        with TroveOps()._trove_errors("create mariadb cluster"):
            raise tc_exc.BadRequest(message="Volume support is not enabled.", http_status=400)
    assert "needs volumes, which this deployment runs without" in str(err.value)
    assert "not implemented by Trove" not in str(err.value)


def test_trove_refusals_that_are_by_design_are_told_apart_by_troves_own_messages():
    """Trove 26 instance/models.py: eject refuses a source with a live
    heartbeat (BadRequest), delete refuses a source with replicas
    (ReplicaSourceDeleteForbidden, 403). Any other 403 is not the latter."""
    from verify.backends.trove_answers import (
        refused_to_eject_a_live_source,
        refused_while_replicas_attached,
    )
    eject = ("Replica Source 5c1a cannot be ejected as it has a current heartbeat")
    assert refused_to_eject_a_live_source(400, eject)
    assert not refused_to_eject_a_live_source(500, eject)
    assert not refused_to_eject_a_live_source(400, "Instance is not a replica source")
    detach = "Detach replicas before deleting replica source."
    assert refused_while_replicas_attached(403, detach)
    assert not refused_while_replicas_attached(403, "Policy doesn't allow instance:delete")
    assert not refused_while_replicas_attached(400, detach)


def test_cinder_volumes_boot_resize_and_go_with_their_server(tmp_path, booted):
    """Trove's volume calls: create, boot with it (block_device_mapping_v2),
    the offline resize's detach/extend/attach, delete_on_termination."""
    def boot(server, files, info):
        guest = FakeGuest()
        booted.append((server, files, info, guest))
        return guest
    app = emu.Emulator(boot=boot, images=[IMAGE], volumes_dir=tmp_path)
    # with volumes on, Trove refuses a flavor with an ephemeral disk (501 on resize)
    flavors = call(app, "GET", "/compute/v2.1/flavors/detail")[1]["flavors"]
    assert {f["OS-FLV-EXT-DATA:ephemeral"] for f in flavors} == {0}
    status, body = call(app, "POST", "/volume/v3/p1/volumes",
                        {"volume": {"size": 1, "name": "trove-abc", "volume_type": None}})
    assert status == 202 and body["volume"]["status"] == "available"
    vol = body["volume"]["id"]
    assert (tmp_path / f"{vol}.img").stat().st_size == 1 << 30
    status, body = create(app, block_device_mapping_v2=[{
        "uuid": vol, "source_type": "volume", "destination_type": "volume",
        "device_name": "vdb", "volume_size": 1, "delete_on_termination": True}])
    assert status == 202
    server = wait_active(app, body["server"]["id"])
    assert server["os-extended-volumes:volumes_attached"][0]["id"] == vol
    (srv, _, _, _), = booted
    assert srv.volume_id == vol
    got = call(app, "GET", f"/volume/v3/p1/volumes/{vol}")[1]["volume"]
    assert got["status"] == "in-use" and got["attachments"][0]["server_id"] == srv.id
    assert [v["id"] for v in call(app, "GET", "/volume/v3/p1/volumes/detail",
                                  query="name=trove-abc")[1]["volumes"]] == [vol]
    # Trove's offline resize: detach, extend, attach the same volume back
    assert call(app, "DELETE", f"/compute/v2.1/servers/{srv.id}/os-volume_attachments/{vol}"
                )[0] == 202
    assert call(app, "GET", f"/volume/v3/p1/volumes/{vol}")[1]["volume"]["status"] == \
        "available"
    status, _ = call(app, "POST", f"/volume/v3/p1/volumes/{vol}/action",
                     {"os-extend": {"new_size": 2}})
    assert status == 202 and (tmp_path / f"{vol}.img").stat().st_size == 2 << 30
    assert call(app, "GET", f"/volume/v3/p1/volumes/{vol}")[1]["volume"]["size"] == 2
    status, body = call(app, "POST", f"/compute/v2.1/servers/{srv.id}/os-volume_attachments",
                        {"volumeAttachment": {"volumeId": vol, "device": "/dev/vdb"}})
    assert status == 200 and body["volumeAttachment"]["device"] == "/dev/vdb"
    # an in-use volume is not deleted; a smaller size is no extend
    assert call(app, "DELETE", f"/volume/v3/p1/volumes/{vol}")[0] == 400
    assert call(app, "POST", f"/volume/v3/p1/volumes/{vol}/action",
                {"os-extend": {"new_size": 1}})[0] == 400
    # a second disk cannot be hot-plugged into a box guest
    other = call(app, "POST", "/volume/v3/p1/volumes", {"volume": {"size": 1}})[1]["volume"]
    status, body = call(app, "POST", f"/compute/v2.1/servers/{srv.id}/os-volume_attachments",
                        {"volumeAttachment": {"volumeId": other["id"]}})
    assert status == 501 and "another disk" in body["error"]["message"]
    # deleting the server deletes its volume (delete_on_termination)
    assert call(app, "DELETE", f"/compute/v2.1/servers/{srv.id}")[0] == 204
    assert call(app, "GET", f"/volume/v3/p1/volumes/{vol}")[0] == 404
    assert not (tmp_path / f"{vol}.img").exists()
    assert call(app, "DELETE", f"/volume/v3/p1/volumes/{other['id']}")[0] == 202
    assert list(tmp_path.iterdir()) == []


def test_a_box_without_volumes_refuses_them_saying_so(app):
    status, body = call(app, "POST", "/volume/v3/p1/volumes", {"volume": {"size": 1}})
    assert status == 501 and "trove_volume_support off" in body["error"]["message"]


def test_online_volume_resize_only_where_root_may_grow_a_mounted_filesystem():
    from verify.box.control import online_resize_possible
    assert online_resize_possible("Name:\tx\nCapEff:\t000001ffffffffff\n")
    # CAP_SYS_RESOURCE (bit 24) withheld, as on this project's CI machine
    assert not online_resize_possible("CapEff:\t000001fffeffffff\n")
    text = trove_conf(port=1, paste=Path("/p"), log_dir=Path("/l"), db_url="sqlite://",
                      auth_url="http://x/v3", service_password="p", transport_url="rabbit://",
                      guest_config=Path("/g"), rpc_key="k", inst_key="k", datastores=SPECS)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(text)
    assert conf["DEFAULT"]["online_volume_resize"] == str(online_resize_possible())

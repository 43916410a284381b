"""Ports are found by binding, never assumed, and taken below the kernel's
ephemeral range so no outgoing connection can be handed the same port
before a slow server binds it."""

import socket

from verify.engines import base


def test_free_ports_avoid_the_ephemeral_range_and_repeats():
    low = base._ephemeral_low()
    ports = [base.free_port("127.0.0.1") for _ in range(200)]
    assert len(set(ports)) == len(ports)
    if low > 21000:
        assert all(20000 <= p < low for p in ports)
    for p in ports[:20]:
        assert base.port_bindable("127.0.0.1", p)


def test_a_listening_port_is_not_bindable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not base.port_bindable("127.0.0.1", port)

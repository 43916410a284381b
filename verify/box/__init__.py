"""Trove in a box: the real Trove control plane and guest agent on this
machine. Pieces: a private RabbitMQ (rabbitmq.py), the box-private address
guests reach it at (network.py), and Trove guests booted as namespace guests
(guest.py)."""

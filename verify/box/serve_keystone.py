"""Serve a real Keystone on 127.0.0.1 (run with the Trove virtualenv's python).

usage: serve_keystone.py CONFIG_FILE PORT

Keystone's WSGI app parses sys.argv through oslo.config, so it is served
here with the standard library instead of gunicorn (whose flags it rejects).
"""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # keystone logs each request itself
        pass


def main() -> None:
    config, port = sys.argv[1], int(sys.argv[2])
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = config
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi
    app = wsgi.initialize_public_application()
    make_server("127.0.0.1", port, app, server_class=_Server,
                handler_class=_QuietHandler).serve_forever()


if __name__ == "__main__":
    main()

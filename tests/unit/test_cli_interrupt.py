"""An interrupted run leaves even when a scenario worker is stuck inside one
request (verify/cli/__init__.py)."""

import subprocess
import sys
import textwrap
import time


def test_an_interrupted_run_leaves_a_worker_blocked_in_a_request_behind():
    # a worker that no deadline can reach (a request in flight), and an
    # interrupt in the main thread: the CLI's handler returns the signal's
    # code after its grace period instead of waiting for the worker
    code = textwrap.dedent("""
        import sys, threading, time
        import verify.cli as cli
        from verify.runner import Interrupted
        import signal
        cli.WORKER_GRACE_S = 1.0
        threading.Thread(target=time.sleep, args=(600,), name="worker-0").start()
        from types import SimpleNamespace
        def interrupted(args):
            raise Interrupted(signal.SIGTERM)
        # a verb that the signal stops while a worker is inside a request
        command = SimpleNamespace(func=interrupted)
        cli.build_parser = lambda: SimpleNamespace(parse_args=lambda argv: command)
        sys.exit(cli.main([]))
    """)
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert time.monotonic() - t0 < 30
    assert done.returncode == 2, done.stderr
    assert "interrupted by SIGTERM" in done.stderr
    assert "1 scenario worker(s) still in a request or its cleanup after 1s" in done.stderr

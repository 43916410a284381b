"""keystone-manage db_sync, fernet_setup, credential_setup and bootstrap in
one process (run with the Trove virtualenv's python): each keystone-manage
start imports all of Keystone, which costs tens of seconds on a busy small
machine. The bootstrap password comes in the environment
(OS_BOOTSTRAP_PASSWORD, as keystone-manage reads it), never on a command line.

usage: keystone_setup.py KEYSTONE_CONF URL REGION
"""

import sys


def main() -> None:
    conf, url, region = sys.argv[1:4]
    from keystone.cmd import cli
    from keystone.conf import CONF

    owner = ["--keystone-user", "root", "--keystone-group", "root"]
    steps = [["db_sync"], ["fernet_setup", *owner], ["credential_setup", *owner],
             ["bootstrap", "--bootstrap-public-url", url, "--bootstrap-internal-url", url,
              "--bootstrap-admin-url", url, "--bootstrap-region-id", region]]
    for i, step in enumerate(steps):
        if i:
            CONF.clear()    # parse again: keystone-manage's main parses once per start
        print(f"keystone-manage {step[0]}", flush=True)
        cli.main(argv=["keystone-manage", "--config-file", conf, *step])


if __name__ == "__main__":
    main()

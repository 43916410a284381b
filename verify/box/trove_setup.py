"""trove-manage's set-up steps in one process (run with the Trove
virtualenv's python): db_sync, then each step of a JSON plan as trove-manage
would run it. One interpreter instead of one per step saves minutes on a
small machine (each trove-manage start imports all of Trove).

usage: trove_setup.py TROVE_CONF PLAN_JSON
PLAN_JSON: [[command, arg, ...], ...] with trove-manage's command names,
e.g. ["datastore_version_update", "mariadb", "10.11", "mariadb", IMAGE, "", 1,
      null, null, null, "10.11"].
"""

import json
import sys


def main() -> None:
    conf, plan_file = sys.argv[1], sys.argv[2]
    with open(plan_file) as fh:
        plan = json.load(fh)
    sys.argv = ["trove-manage", "--config-file", conf, "db_sync"]
    from trove.cmd import manage

    def execute(self) -> None:
        # the schema only: trove-manage db_sync's upgrade tasks retag existing
        # Nova servers, and a new box has none (nor Keystone yet: this runs
        # alongside it)
        self.db_api.db_sync(manage.CONF)
        for command, *args in plan:
            print(f"trove-manage {command} {' '.join(map(str, args))}", flush=True)
            getattr(self, command)(*args)

    manage.Commands.execute = execute
    manage.main()   # Trove's own option parsing, logging and database set-up


if __name__ == "__main__":
    main()

"""A tempest plugin: one test per scenario id, each with a permanent
idempotent id (verify/tempest_plugin/ids.py), selected in a gate job with
`tempest run --regex trove_verify` (the tests live in test_trove_verify.py).

It registers only its own group, [trove_verify]. `[service_available] trove`
belongs to trove-tempest-plugin; registering it again raises
DuplicateOptError and breaks tempest's plugin discovery for every plugin.
"""

from __future__ import annotations

import os

from oslo_config import cfg
from tempest.test_discover import plugins

group = cfg.OptGroup(name="trove_verify", title="trove-verify scenario sets")

opts = [
    cfg.ListOpt("datastores", default=[],
                help="Datastores whose scenario sets run (catalog names)."),
    cfg.StrOpt("tier", default=None,
               help="Size the sets to this tier (default: each datastore's claimed tier)."),
    cfg.StrOpt("backend", default="trove", choices=["trove", "local"],
               help="trove: the deployment in `cloud`; local: the harness's own guests."),
    cfg.StrOpt("cloud", default="devstack-admin",
               help="clouds.yaml entry of the Trove deployment."),
    cfg.StrOpt("results_dir", default=None,
               help="Where evidence bundles go (default: trove-verify's results/)."),
]


class TroveVerifyTempestPlugin(plugins.TempestPlugin):
    def load_tests(self):
        base_path = os.path.split(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))[0]
        test_dir = "verify/tempest_plugin/tests"
        return os.path.join(base_path, test_dir), base_path

    def register_opts(self, conf):
        conf.register_group(group)
        conf.register_opts(opts, group=group)

    def get_opt_lists(self):
        return [(group.name, opts)]

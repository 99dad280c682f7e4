"""The out-of-process builder: `kolla_builder.py` run from a venv PEX with the docker SDK."""

from __future__ import annotations

import importlib.resources

from pants.backend.python.subsystems.python_tool_base import LockfileRules, PythonToolBase
from pants.backend.python.target_types import EntryPoint
from pants.engine.fs import CreateDigest, FileContent
from pants.engine.rules import collect_rules

BUILDER_MODULE = "kolla_builder"
# The builder's modules, shipped as resources of this package and run outside Pants.
EXIT_CODES_FILE = "builder_exit_codes.py"
BUILDER_FILES = ("kolla_builder.py", "kolla_archive.py", "kolla_layers.py", "kolla_docker.py",
                 "kolla_buildah.py", "kolla_push.py", "kolla_probe.py")


class KollaBuilder(PythonToolBase):
    options_scope = "kolla-builder"
    name = "kolla-builder"
    help = "The Python environment (docker SDK) of the process that builds images."

    default_version = "docker>=7,<8"
    default_main = EntryPoint(BUILDER_MODULE)
    default_requirements = ["docker>=7,<8"]
    register_interpreter_constraints = True
    default_interpreter_constraints = ["CPython>=3.9,<3.12"]
    default_lockfile_resource = ("pants_kolla.subsystems", "kolla_builder.lock")
    lockfile_rules_type = LockfileRules.SIMPLE

    @staticmethod
    def script_digest_request() -> CreateDigest:
        return CreateDigest(
            [*(FileContent(name, importlib.resources.read_binary("pants_kolla.builder", name))
               for name in BUILDER_FILES),
             # Shared with the rules: one definition of what each exit code means.
             FileContent(EXIT_CODES_FILE, importlib.resources.read_binary("pants_kolla", EXIT_CODES_FILE))]
        )


def rules():
    return [*collect_rules(), *KollaBuilder.rules()]

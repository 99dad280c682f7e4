"""The out-of-process builder: the `pants_kolla.builder` package run from a venv PEX with the docker SDK."""

from __future__ import annotations

import importlib.resources

from pants.backend.python.subsystems.python_tool_base import LockfileRules, PythonToolBase
from pants.backend.python.target_types import EntryPoint
from pants.engine.fs import CreateDigest, FileContent
from pants.engine.rules import collect_rules

# The builder drives root-equivalent tools; it gets a fixed PATH, never the user's.
FIXED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where a builder process finds the engine: a named cache linked to the engine's socket (or to its TLS
# files), so that no host path enters a cache key (util_rules/engine_endpoint.py).
ENGINE_NAMED_CACHE = "kolla_engine"
ENGINE_SANDBOX_DIR = ".kolla_engine"
ENGINE_SANDBOX_SOCKET = f"{ENGINE_SANDBOX_DIR}/docker.sock"

BUILDER_PACKAGE = "pants_kolla.builder"
BUILDER_MODULE = f"{BUILDER_PACKAGE}.cli"


def builder_files() -> list[str]:
    """The builder package's modules, shipped as resources and run outside Pants, in the builder's own
    venv: every module of the package, so a new one cannot be left out."""
    return sorted(name for name in importlib.resources.contents(BUILDER_PACKAGE) if name.endswith(".py"))


class KollaBuilder(PythonToolBase):
    options_scope = "kolla-builder"
    name = "kolla-builder"
    help = "The Python environment (docker SDK) of the process that builds images."

    default_version = "docker>=7,<8"
    default_main = EntryPoint(BUILDER_MODULE)
    default_requirements = ["docker>=7,<8"]
    register_interpreter_constraints = True
    # The Python Pants itself runs on, so every machine that runs Pants can run the builder; explicit, so
    # that a repository without Python code need not set `[python].interpreter_constraints`.
    default_interpreter_constraints = ["CPython==3.9.*"]
    default_lockfile_resource = ("pants_kolla.subsystems", "kolla_builder.lock")
    lockfile_rules_type = LockfileRules.SIMPLE

    @staticmethod
    def script_digest_request() -> CreateDigest:
        folder = BUILDER_PACKAGE.replace(".", "/")
        return CreateDigest(
            [
                FileContent("pants_kolla/__init__.py", b""),
                *(
                    FileContent(f"{folder}/{name}", importlib.resources.read_binary(BUILDER_PACKAGE, name))
                    for name in builder_files()
                ),
            ]
        )


def rules():
    return [*collect_rules(), *KollaBuilder.rules()]

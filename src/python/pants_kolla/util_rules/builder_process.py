"""Rules: the builder's code and interpreter, and the one rule that turns a builder invocation into its
`Process`.

The builder (`pants_kolla.builder`) uses the standard library only, so it runs on the machine's own
`python3` straight from its modules: no PEX to build and no interpreter search (2.5-3 s at every Pants
start without pantsd). Every process of the builder (build, rootfs, pull, load, push, probe) is made here,
so PATH, the engine's env and named caches, immutable inputs and the remote-cache head start are set in
one place (as Pants' helm backend does with `HelmProcess`).
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass

from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaError
from pants_kolla.util_rules.remote_execution import RemoteExecution

# The builder drives root-equivalent tools; it gets a fixed PATH, never the user's.
FIXED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where a builder process finds the engine: a named cache linked to the engine's socket (or to its TLS
# files), so that no host path enters a cache key (util_rules/engine_endpoint.py).
ENGINE_NAMED_CACHE = "kolla_engine"
ENGINE_SANDBOX_DIR = ".kolla_engine"
ENGINE_SANDBOX_SOCKET = f"{ENGINE_SANDBOX_DIR}/docker.sock"

BUILDER_PACKAGE = "pants_kolla.builder"
BUILDER_MODULE = f"{BUILDER_PACKAGE}.cli"
# `python3` found on FIXED_PATH where the process runs (this machine or the remote worker), so the cache
# key names no interpreter path; its version is in the key instead.
BUILDER_PYTHON = ("/usr/bin/env", "python3", "-S", "-E")
MINIMUM_PYTHON = (3, 9)
# The builder's modules, linked into each sandbox as the package folder `-m` imports from the working
# directory.
BUILDER_SANDBOX_DIR = BUILDER_PACKAGE.split(".")[0]

# With remote cache reads, Pants starts each action while it looks the action cache up and cancels it on a
# hit; a remote worker has by then begun the build (Bazel's runs it to the end). Under remote execution
# cacheable builds wait this long for the lookup first (not in the cache key): a lookup takes
# milliseconds with `--cache-content-behavior=validate`; `fetch` (the default) waits for the outputs.
REMOTE_LOOKUP_HEAD_START_MS = 1000


class BuilderPythonMissing(KollaError):
    pass


def builder_files() -> list[str]:
    """The builder package's modules, shipped as resources and run outside Pants: every module of the
    package, so a new one cannot be left out."""
    return sorted(name for name in importlib.resources.contents(BUILDER_PACKAGE) if name.endswith(".py"))


def builder_sources_request() -> CreateDigest:
    package = BUILDER_PACKAGE.split(".")[1]
    return CreateDigest(
        [
            FileContent("__init__.py", b""),
            *(
                FileContent(f"{package}/{name}", importlib.resources.read_binary(BUILDER_PACKAGE, name))
                for name in builder_files()
            ),
        ]
    )


@dataclass(frozen=True)
class UncheckedBuilder:
    """The builder before the prerequisites check: for the remote worker's probe, which that check
    waits for (util_rules/worker_probe.py). Everything else takes `Builder` (util_rules/prerequisites.py).
    """

    sources: Digest
    python_version: str  # "3.11"


@dataclass(frozen=True)
class BuilderProcess:
    """One run of the builder: its arguments, its inputs and outputs, and the engine it talks to."""

    builder: UncheckedBuilder
    argv: tuple[str, ...]
    description: str
    input_digest: Digest = EMPTY_DIGEST
    # Big inputs (image archives) by name: materialized once and linked into the sandbox, not copied.
    # They stay in the cache key.
    immutable_inputs: FrozenDict[str, Digest] = FrozenDict()
    output_files: tuple[str, ...] = ()
    output_directories: tuple[str, ...] = ()
    # The engine's env and named caches (util_rules/engine_endpoint.py), or none (buildah, rootfs, pull).
    engine_env: FrozenDict[str, str] = FrozenDict()
    extra_env: FrozenDict[str, str] = FrozenDict()
    append_only_caches: FrozenDict[str, str] = FrozenDict()
    cache_scope: ProcessCacheScope = ProcessCacheScope.SUCCESSFUL
    level: LogLevel = LogLevel.INFO


def checked_python_version(exit_code: int, stdout: bytes, where: str) -> str:
    """The version the builder's `python3` printed, or the error naming what `where` lacks."""
    version = stdout.decode(errors="replace").strip()
    found = tuple(int(part) for part in version.split(".")) if exit_code == 0 else ()
    if found >= MINIMUM_PYTHON:
        return version
    wanted = ".".join(map(str, MINIMUM_PYTHON))
    has = f"Python {version}" if found else "none"
    raise BuilderPythonMissing(
        f"The image builder runs on `python3` {wanted} or newer from PATH={FIXED_PATH}, and {where} has "
        f"{has}: apt-get install -y python3"
    )


@rule(desc="Prepare the kolla image builder", level=LogLevel.DEBUG)
async def unchecked_builder() -> UncheckedBuilder:
    remote = await Get(RemoteExecution)
    # Under remote execution: the executor answers (one clear error, not Pants' ~50 s of retries).
    remote.raise_failure()
    check = "import sys; print('%d.%d' % sys.version_info[:2])"
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(*BUILDER_PYTHON, "-c", check),
            env={"PATH": FIXED_PATH},
            description="Find the Python that runs the kolla image builder",
            cache_scope=ProcessCacheScope.PER_RESTART_SUCCESSFUL,
            level=LogLevel.DEBUG,
        ),
    )
    where = "the remote worker" if remote.remote else "this machine"
    version = checked_python_version(result.exit_code, result.stdout, where)
    sources = await Get(Digest, CreateDigest, builder_sources_request())
    return UncheckedBuilder(sources, version)


@rule(level=LogLevel.DEBUG)
async def builder_process(request: BuilderProcess) -> Process:
    remote = await Get(RemoteExecution)
    cacheable = request.cache_scope == ProcessCacheScope.SUCCESSFUL
    return Process(
        argv=(*BUILDER_PYTHON, "-m", BUILDER_MODULE, *request.argv),
        description=request.description,
        level=request.level,
        input_digest=request.input_digest,
        immutable_input_digests=FrozenDict(
            {BUILDER_SANDBOX_DIR: request.builder.sources, **request.immutable_inputs}
        ),
        env=FrozenDict(
            {
                "PATH": FIXED_PATH,
                "KOLLA_BUILDER_PYTHON": request.builder.python_version,
                **request.engine_env,
                **request.extra_env,
            }
        ),
        append_only_caches=request.append_only_caches,
        output_files=request.output_files,
        output_directories=request.output_directories,
        cache_scope=request.cache_scope,
        remote_cache_speculation_delay_millis=REMOTE_LOOKUP_HEAD_START_MS
        if cacheable and remote.remote
        else 0,
    )


def rules():
    return collect_rules()

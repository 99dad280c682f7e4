"""Rule: whether this run's processes execute remotely, and whether the executor answers now.

Under `--remote-execution` (or a `remote_environment`) every build runs on a worker whose tools this
machine cannot see (util_rules/worker_probe.py asks it); a down executor is one clear line here instead
of Pants' ~50 s of retries.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlparse

from pants.core.util_rules.environments import EnvironmentsSubsystem, EnvironmentTarget, RemotePlatformField
from pants.engine.rules import collect_rules, rule
from pants.option.global_options import GlobalOptions
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaError
from pants_kolla.util_rules.per_session import PerSessionCheck


class ExecutorUnreachable(KollaError):
    pass


@dataclass(frozen=True)
class RemoteExecution(PerSessionCheck):
    """Whether this run's processes execute remotely (`--remote-execution`, or a `remote_environment`),
    and whether the executor answers now (it may have gone away since the last run)."""

    remote: bool
    address: str
    failure: str = ""  # the executor does not answer
    raises: ClassVar = ExecutorUnreachable


def unreachable(address: str, option: str) -> str:
    """One TCP connect, so that a down executor is one clear line (Pants alone retries for ~50 s, then
    says `Unavailable: tcp connect error` without naming the address). "" when it answers."""
    url = urlparse(address)
    default_port = 443 if url.scheme in ("grpcs", "https") else 80
    try:
        socket.create_connection((url.hostname or "localhost", url.port or default_port), timeout=10).close()
    except OSError as e:
        return (
            f"The remote executor at {address} does not answer ({option}): {e.strerror or e}. Start it "
            "or fix the address, or run without --remote-execution."
        )
    return ""


@rule(desc="Check the remote executor", level=LogLevel.DEBUG)
async def remote_execution(
    global_options: GlobalOptions, environments: EnvironmentsSubsystem, env_tgt: EnvironmentTarget
) -> RemoteExecution:
    remote = environments.remote_execution_used_globally(global_options) or bool(
        env_tgt.val is not None and env_tgt.val.has_field(RemotePlatformField)
    )
    if not remote:
        return RemoteExecution(remote=False, address="")
    address = global_options.remote_execution_address or ""
    store = global_options.remote_store_address or ""
    problem = unreachable(address, "--remote-execution-address")
    if not problem and store and store != address:
        problem = unreachable(store, "--remote-store-address")
    return RemoteExecution(remote=True, address=address, failure=problem)


def rules():
    return collect_rules()

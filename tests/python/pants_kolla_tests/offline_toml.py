"""The pants.toml of a generated scratch repo (tests' nested Pants runs, the benchmark's repos).

Every generated repo needs what the real repo's pants.toml gives offline Pants: the pex CLI built
locally (Pants would fetch it from GitHub) and pip without the machine's constraints file. pantsd is off
(callers ask for it explicitly) and the UI is plain (parseable stderr).
"""

from __future__ import annotations

import hashlib

# The pex CLI ./pants builds from PyPI (Pants would fetch it from GitHub), as pants.toml declares it.
PEX_CLI_VERSION = "v2.1.137"
PEX_CLI_KNOWN_VERSION = (
    f"{PEX_CLI_VERSION}|linux_x86_64|02252fec0a0fc8475f4ebc09edd65d81ae502b609549e059d45c4bc48cae944f|3563515"
)


def source_date_epoch_for(tag: str) -> int:
    """A scratch repo's `[kolla].source_date_epoch`, derived from its fresh tag. Names are in no cache key
    (re-tagging builds nothing); the epoch is (it sets every mtime), so a fresh one makes the repo's builds
    miss every earlier cache entry, rootfs included, and repos given the same tag share cache entries.
    In the past (≤ 2025-06): builds clamp only mtimes newer than the epoch, and the plugin rejects a future
    one (a future epoch, drawn by one tag in 30 of an older range, made two builds of one input differ).
    """
    return 1_700_000_000 + int(hashlib.sha256(tag.encode()).hexdigest(), 16) % 50_000_000


def offline_pants_toml(pex_cli: str, backends: list[str], extra: str = "") -> str:
    return f"""[GLOBAL]
pants_version = "2.17.1"
pythonpath = ["%(buildroot)s/src/python"]
backend_packages = {backends!r}
pantsd = false
dynamic_ui = false
[anonymous-telemetry]
enabled = false
[python]
interpreter_constraints = ["==3.9.*"]
[python-bootstrap]
search_path = ["<PATH>", "<PYENV>"]
[pex-cli]
version = "{PEX_CLI_VERSION}"
known_versions = ["{PEX_CLI_KNOWN_VERSION}"]
url_template = "file://{pex_cli}"
[subprocess-environment]
env_vars = ["PIP_CONFIG_FILE=/dev/null"]
{extra}"""

"""The pants.toml of a generated scratch repo (tests' nested Pants runs, the benchmark's repos).

Every generated repo needs what the real repo's pants.toml gives offline Pants: the pex CLI built
locally (Pants would fetch it from GitHub) and pip without the machine's constraints file. pantsd is off
(callers ask for it explicitly) and the UI is plain (parseable stderr).
"""

from __future__ import annotations


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
version = "v2.1.137"
known_versions = ["v2.1.137|linux_x86_64|02252fec0a0fc8475f4ebc09edd65d81ae502b609549e059d45c4bc48cae944f|3563515"]
url_template = "file://{pex_cli}"
[subprocess-environment]
env_vars = ["PIP_CONFIG_FILE=/dev/null"]
{extra}"""

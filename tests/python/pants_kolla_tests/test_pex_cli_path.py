"""Every test's cache key holds PANTS_KOLLA_PEX_CLI (pants.toml's `[test].extra_env_vars`): `./pants` points
it at a copy of the pex CLI named by its sha256 in the machine's cache, never at the clone's own
`3rdparty/pex/pex`, so a clone at another path reuses the test results of an earlier one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pants_kolla_tests.offline_toml import PEX_CLI_KNOWN_VERSION


def test_the_tests_reach_the_pex_cli_by_a_path_named_by_its_content() -> None:
    path = Path(os.environ["PANTS_KOLLA_PEX_CLI"])
    pinned_sha256 = PEX_CLI_KNOWN_VERSION.split("|")[2]
    assert path.name == f"pex-cli-{pinned_sha256}"
    assert "3rdparty" not in path.parts
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pinned_sha256

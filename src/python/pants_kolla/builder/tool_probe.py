"""`probe`: which image builders the machine running this process has, and their versions.

Under remote execution this runs on the worker, like every build, so what it reports (and what enters
the builds' cache keys) is the worker's tools, not the machine Pants runs on.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys

from pants_kolla.builder import engine_build
from pants_kolla.builder.engine_http import EngineError, EngineUnreachable


def buildah_version() -> str | None:
    """The same string the rule gets locally (util_rules/engine_endpoint.py), so local and remote keys agree."""
    if shutil.which("buildah") is None:
        return None
    proc = subprocess.run(["buildah", "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "unknown"


def docker_version() -> tuple[str | None, str]:
    """The engine's version (as its `/_ping` Server header names it) and where it was looked for."""
    relative_socket = os.environ.get("KOLLA_ENGINE_SOCKET")
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if relative_socket:
        where = f"the named cache link {relative_socket}"
        if not os.path.exists(relative_socket):
            return None, f"{where} (missing)"
    try:
        client = engine_build.client_from_env(timeout=60)  # a busy engine answers slowly
        return str(client.version()["Version"]), where
    except (OSError, EngineError, EngineUnreachable, http.client.HTTPException) as e:
        return None, f"{where} ({e})"


def cmd_probe(args: argparse.Namespace) -> int:
    docker, docker_where = docker_version()
    report = {
        "host": socket.gethostname(),
        "buildah": buildah_version(),
        "docker": docker,
        "docker_where": docker_where,
        "mmdebstrap": shutil.which("mmdebstrap") is not None,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, sort_keys=True)
    print(json.dumps(report), file=sys.stderr)
    return 0

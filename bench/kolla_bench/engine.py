"""The few Docker CLI calls the harness makes itself (tagging peers' roots, cleaning up by tag)."""

from __future__ import annotations

import subprocess


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def retag(ref: str, tag: str) -> str:
    """Give `ref` a second name under `tag` (how a peer gets the plugin-built rootfs as its root)."""
    new_ref = f"{ref.rsplit(':', 1)[0]}:{tag}"
    docker("tag", ref, new_ref)
    return new_ref


def refs_with_tag(tag: str) -> list[str]:
    lines = docker("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    return sorted(ref for ref in lines if ref.rsplit(":", 1)[-1] == tag)


def untag_all(tag: str) -> list[str]:
    """Remove every name carrying `tag` (the benchmark's own, unique tags). Without --force, an image
    also named by someone else only loses our name; our own images are deleted."""
    refs = refs_with_tag(tag)
    if refs:
        subprocess.run(["docker", "rmi", *refs], capture_output=True, text=True)
    return refs


def describe() -> str:
    return docker("version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}").strip()

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


def image_ids() -> set[str]:
    """Every image the engine holds, intermediate and unnamed ones too."""
    return set(docker("images", "--all", "--quiet", "--no-trunc").split())


def remove_unnamed_since(before: set[str]) -> list[str]:
    """Remove the unnamed images that were not in `before`: what a run leaves once its names are gone
    (the step images the plugin keeps for the engine's layer cache, the images a later sample took a
    name from, the peers' intermediate images). Newest first, so children go before their parents;
    without --force, an image still named, used by a container or under someone else's image stays."""
    listed = docker("images", "--all", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")
    unnamed = [line.split()[0] for line in listed.splitlines() if line.endswith(" <none>:<none>")]
    # `docker images` lists the newest first; an image listed twice is one image.
    doomed = [image for image in dict.fromkeys(unnamed) if image not in before]
    if doomed:
        subprocess.run(["docker", "rmi", *doomed], capture_output=True, text=True)
    return doomed


def describe() -> str:
    return docker("version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}").strip()

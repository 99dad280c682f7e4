"""The two peers, fed with the plugin's own rendered Dockerfiles (`kolla-render`) and image graph
(`kolla-graph --format=json`), so all three tools build exactly the same Dockerfiles.

Peer A: Pants' own `docker_image` backend, one target per image with its parent as a dependency (Pants
builds upstream images first; the rendered FROM names the parent's tag, which that build creates).
Peer B: a plain sequential `docker build` loop in dependency order.
Roots of the tree (the debian_rootfs, made by mmdebstrap, not by a Dockerfile) are inputs for both:
the caller tags the plugin-built rootfs under the peer's tag first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kolla_bench.pants_repo import PantsRepo, Timed, pants_toml

# The engine is 20.10 and buildx is absent: the classic builder, as the plugin uses.
DOCKER_ENV = {"DOCKER_BUILDKIT": "0"}


@dataclass(frozen=True)
class Image:
    ref: str  # kolla/<name>:<tag>
    parent_ref: str
    folder: str  # the kolla_image's folder, e.g. images/keystone (context files come from there)

    @property
    def name(self) -> str:
        """The prefixed image name: kolla-render's folder name and a unique target name."""
        return self.ref.split("/", 1)[1].rsplit(":", 1)[0]

    @property
    def repository(self) -> str:
        return self.ref.rsplit(":", 1)[0]

    @property
    def tag(self) -> str:
        return self.ref.rsplit(":", 1)[1]


def images_from_graph(graph_json: str) -> list[Image]:
    """The buildable images of a kolla-graph JSON in dependency order (parents first); rootfs rows,
    which have no Dockerfile, are left out: they are the roots every peer takes as given."""
    rows = [r for r in json.loads(graph_json)["images"] if r["parent"]]
    images = {
        r["name"]: Image(r["name"], r["parent"], r["address"].split("@")[0].split(":")[0]) for r in rows
    }
    ordered: list[Image] = []
    placed: set[str] = set()

    def place(image: Image) -> None:
        if image.ref in placed:
            return
        if image.parent_ref in images:
            place(images[image.parent_ref])
        placed.add(image.ref)
        ordered.append(image)

    for ref in sorted(images):
        place(images[ref])
    return ordered


def roots(images: list[Image]) -> list[str]:
    built = {i.ref for i in images}
    return sorted({i.parent_ref for i in images if i.parent_ref not in built})


def write_contexts(images: list[Image], render_dir: Path, source_root: Path, out: Path) -> dict[str, Path]:
    """One build context per image: the rendered Dockerfile plus the files of the image's folder that
    are neither BUILD nor templates (e.g. base's kolla_start), as the plugin's context holds."""
    contexts = {}
    for image in images:
        ctx = out / image.name
        ctx.mkdir(parents=True, exist_ok=True)
        shutil.copy(render_dir / image.name / "Dockerfile", ctx / "Dockerfile")
        for f in sorted((source_root / image.folder).iterdir()):
            if f.is_file() and f.name != "BUILD" and not f.name.endswith(".j2"):
                shutil.copy(f, ctx / f.name)
        contexts[image.ref] = ctx
    return contexts


# --- Peer A: Pants' docker backend ---------------------------------------------------------------

PEER_A_TOML_EXTRA = """[docker]
# DOCKER_HOST reaches the shared engine; no buildx here, so the classic builder.
env_vars = ["DOCKER_HOST", "DOCKER_BUILDKIT=0"]
executable_search_paths = ["<PATH>"]
"""


def docker_image_build_file(image: Image, by_ref: dict[str, Image], extra_files: list[str]) -> str:
    deps = [f"//{by_ref[image.parent_ref].name}:img"] if image.parent_ref in by_ref else []
    text = ""
    if extra_files:
        text += f"files(name='ctx', sources={extra_files!r})\n"
        deps.append(":ctx")
    return text + (
        f"docker_image(name='img', repository={image.repository!r}, image_tags=[{image.tag!r}], "
        f"context_root='./', dependencies={deps!r})\n"
    )


def peer_a_repo(root: Path, images: list[Image], contexts: dict[str, Path]) -> PantsRepo:
    repo = PantsRepo(root, pants_toml(["pants.backend.docker"], PEER_A_TOML_EXTRA))
    by_ref = {i.ref: i for i in images}
    for image in images:
        shutil.copytree(contexts[image.ref], root / image.name, dirs_exist_ok=True)
        extra = sorted(p.name for p in contexts[image.ref].iterdir() if p.name != "Dockerfile")
        repo.write(f"{image.name}/BUILD", docker_image_build_file(image, by_ref, extra))
    return repo


# --- Peer B: a docker build loop -----------------------------------------------------------------


def docker_build_loop(images: list[Image], contexts: dict[str, Path], *, nocache: bool) -> tuple[float, int]:
    """Seconds and number of `docker build` calls for the whole tree, parents first."""
    env = {**os.environ, **DOCKER_ENV}
    start = time.monotonic()
    for image in images:
        argv = ["docker", "build", "-q", "--rm", "-t", image.ref, str(contexts[image.ref])]
        if nocache:
            argv.insert(2, "--no-cache")
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"docker build of {image.ref} failed:\n{proc.stderr[-3000:]}")
    return time.monotonic() - start, len(images)


def timed_build_loop(images: list[Image], contexts: dict[str, Path], *, nocache: bool) -> Timed:
    """`docker_build_loop` as a sample of `sampling`: every image counts as built."""
    seconds, _ = docker_build_loop(images, contexts, nocache=nocache)
    return Timed(seconds=seconds, returncode=0, stdout="", stderr="", built=tuple(i.ref for i in images))

#!/usr/bin/env python3
"""Benchmark pants-kolla against Pants' docker backend (Peer A) and a docker build loop (Peer B) in one
run, and print a markdown table of times, ratios and the issue's targets (issue 7).

    export DOCKER_HOST=unix:///var/tmp/kolla-dockerd/docker.sock
    python3 bench/run.py [--sizes 10,30] [--sections render,real,scaling] [--keep]

Everything happens in scratch repos under a temporary folder (the real dist/ is never touched) with a
fresh tag and `[kolla].source_date_epoch` per run, so Pants' cache misses on the first build. Images the run creates are untagged at
the end. Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src/python")]

from kolla_bench import engine, peers, render_speed, synthetic  # noqa: E402
from kolla_bench.pants_repo import REPO, PantsRepo, Timed, pants_toml  # noqa: E402
from kolla_bench.table import Check, Row, checks_table, ratio, results_table, seconds  # noqa: E402

PLUGIN = "pants-kolla"
PEER_A = "Peer A: Pants docker_image"
PEER_B = "Peer B: docker build loop"
ROOTFS_REF = "kolla/debian-bookworm-rootfs:{tag}"
NOOP_SAMPLES = 3  # no-op runs are cheap: the median of a few tames a busy shared machine
CHANGE = "RUN echo {nonce} > /changed\n"
# The real-tree section's subset of images/: the infra fan-out under base plus openstack-base in both
# types (8 builds). The service images below it need the openstack PEX files, which the peers' plain
# build contexts do not get.
REAL_TREE = ("rootfs", "base", "cron", "memcached", "redis", "haproxy", "chrony", "openstack-base")
# images/BUILD without the PEX defaults of the service images REAL_TREE leaves out.
IMAGES_BUILD = 'kolla_template_library(name="templates")\n'


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, work: Path, tag: str) -> None:
        self.work = work
        self.tag = tag  # plugin images; peers use <tag>-a / <tag>-b so nobody overwrites anyone
        # Names are in no cache key; the epoch is (it sets every mtime): a fresh one per run makes the
        # plugin's first builds, the rootfs's too, miss Pants' cache.
        self.epoch = 1_700_000_000 + int(hashlib.sha256(tag.encode()).hexdigest(), 16) % 100_000_000
        self.rows: list[Row] = []
        self.checks: list[Check] = []
        self.repos: list[PantsRepo] = []

    # --- helpers ---------------------------------------------------------------------------------

    def row(self, section: str, scenario: str, tool: str, secs: float, builds: int | None = None,
            note: str = "") -> None:
        self.rows.append(Row(section, scenario, tool, secs, builds, note))
        log(f"{section} | {scenario} | {tool}: {seconds(secs)} s, builds={builds} {note}")

    def check(self, target: str, measured: str, met: bool) -> None:
        self.checks.append(Check(target, measured, met))

    def plugin_repo(self, name: str, files: dict[str, str] | None = None) -> PantsRepo:
        """A scratch copy of the plugin (and of REAL_TREE's images unless `files` replaces them) with its
        own tag and maintainer: the maintainer is a LABEL in every real template, right after FROM, so a
        unique one also makes every later layer miss the engine's layer cache (engine-cold builds).

        Like Peer A's repo (Pants' docker backend only), it enables only the backend it needs: the plugin
        is on the pythonpath as an installed plugin would be, without this repo's own BUILD files."""
        root = self.work / name
        shutil.copytree(REPO / "src/python/pants_kolla", root / "src/python/pants_kolla",
                        ignore=shutil.ignore_patterns("BUILD"))
        repo = self.track(PantsRepo(root, pants_toml(
            ["pants_kolla"], f'[kolla]\ntag = "{self.tag}"\nmaintainer = "bench-{self.tag}"\n'
                             f'source_date_epoch = {self.epoch}\n')))
        if files is None:
            repo.write("images/BUILD", IMAGES_BUILD)
            repo.write("images/macros.j2", (REPO / "images/macros.j2").read_text())
            for image in REAL_TREE:
                shutil.copytree(REPO / "images" / image, root / "images" / image)
        for path, content in (files or {}).items():
            repo.write(path, content)
        return repo

    def track(self, repo: PantsRepo) -> PantsRepo:
        self.repos.append(repo)
        return repo

    def noop(self, repo: PantsRepo, *args: str, pantsd: bool) -> Timed:
        """Median of a few no-op runs; with pantsd, after one untimed run that starts and warms it."""
        if pantsd:
            repo.pants(*args, pantsd=True)
        runs = sorted((repo.pants(*args, pantsd=pantsd) for _ in range(NOOP_SAMPLES)), key=lambda t: t.seconds)
        return runs[len(runs) // 2]

    def first_build(self, repo: PantsRepo, *args: str) -> tuple[Timed, str]:
        """A first build on the shared engine, retried once: a build of this plugin can fail when an
        image it holds only by name or ID disappears from the engine meanwhile (seen with other users
        on the same engine). The retry reuses every image that did build; the note says it happened."""
        first = repo.pants(*args, check=False)
        if first.returncode == 0:
            return first, ""
        log(f"first build failed, retrying once:\n{first.stderr[-1500:]}")
        second = repo.pants(*args)
        return (Timed(first.seconds + second.seconds, 0, second.stdout, second.stderr,
                      tuple(sorted(set(first.built + second.built)))),
                "failed once (engine race), time includes the retry")

    def peer_inputs(self, plugin: PantsRepo, peer_tag: str, *specs: str) -> tuple[list[peers.Image], dict]:
        """The plugin's rendered Dockerfiles and graph under the peer's tag (and the same maintainer
        suffix, so peers are engine-cold too), plus the plugin-built roots tagged for the peer."""
        opts = [f"--kolla-tag={peer_tag}", f"--kolla-maintainer=bench-{peer_tag}"]
        plugin.pants(*opts, "kolla-render", *specs)
        images = peers.images_from_graph(plugin.pants(*opts, "kolla-graph", "--format=json", *specs).stdout)
        for root in peers.roots(images):
            engine.retag(root.rsplit(":", 1)[0] + f":{self.tag}", peer_tag)
        contexts = peers.write_contexts(images, plugin.root / "dist/kolla-render", plugin.root,
                                        self.work / f"contexts-{peer_tag}-{len(images)}")
        return images, contexts

    # --- sections --------------------------------------------------------------------------------

    def real_tree(self) -> None:
        s = "real tree"
        plugin = self.plugin_repo("plugin")
        run = plugin.pants("package", "images/rootfs")
        self.row(s, "rootfs via mmdebstrap (peers get it as input)", PLUGIN, run.seconds, len(run.built))
        cold = plugin.pants("package", "images::")
        self.row(s, "cold: Pants cache miss, engine layers cold", PLUGIN, cold.seconds, len(cold.built),
                 "--no-pantsd (Pants starts: see floor rows); rootfs cached; unique LABEL ⇒ no engine layer hits")
        # The same, with pantsd already up (as after any earlier command): another maintainer changes
        # every template (not the rootfs), so Pants' cache and the engine's layer cache miss again.
        warm = [f"--kolla-maintainer=bench-{self.tag}-pantsd"]
        plugin.pants(*warm, "list", "images::", pantsd=True)
        cold_pantsd = plugin.pants(*warm, "package", "images::", pantsd=True)
        self.row(s, "cold, pantsd up", PLUGIN, cold_pantsd.seconds, len(cold_pantsd.built),
                 "pantsd started by an earlier command; caches miss as above")
        floor = self.noop(plugin, "list", "images::", pantsd=True)
        self.row(s, "Pants' floor: `list images::`, pantsd warm", PLUGIN, floor.seconds, 0,
                 "what any Pants command costs on these targets")
        noop_cold_start = self.noop(plugin, "package", "images::", pantsd=False)
        self.row(s, "no-op, --no-pantsd", PLUGIN, noop_cold_start.seconds, len(noop_cold_start.built))
        noop = self.noop(plugin, "package", "images::", pantsd=True)
        self.row(s, "no-op, pantsd warm", PLUGIN, noop.seconds, len(noop.built))

        nonce = uuid.uuid4().hex[:8]
        for image, scenario in (("cron", "leaf template changed (cron)"), ("base", "base template changed")):
            path = f"images/{image}/Dockerfile.j2"
            plugin.write(path, plugin.read(path) + CHANGE.format(nonce=nonce))
            run = plugin.pants("package", "images::", pantsd=True)
            self.row(s, scenario, PLUGIN, run.seconds, len(run.built), "pantsd warm")
            if image == "cron":
                leaf_builds = len(run.built)
        self.check("one-leaf change builds exactly one image (real tree, cron)", f"{leaf_builds} built",
                   leaf_builds == 1)

        removed = engine.untag_all(self.tag)
        run = plugin.pants("package", "images::", pantsd=True)
        self.row(s, "repair: engine images deleted, then package", PLUGIN, run.seconds, len(run.built),
                 f"{len(removed)} names removed (rootfs is shared: only its name goes)")

        # Another maintainer: every template changes, the rootfs (no template) stays a cache hit.
        other = [f"--kolla-maintainer=bench-{self.tag}-bs"]
        graph = peers.images_from_graph(plugin.pants(*other, "kolla-graph", "--format=json", "images::").stdout)
        infra = {i.ref for i in graph if "-binary-" not in i.ref and "-source-" not in i.ref}
        binary = plugin.pants(*other, "--tag=binary", "package", "images::", pantsd=True)
        self.row(s, "--tag=binary run", PLUGIN, binary.seconds, len(binary.built), "pantsd warm")
        source = plugin.pants(*other, "--tag=source", "package", "images::", pantsd=True)
        infra_rebuilt = sorted(set(source.built) & infra)
        self.row(s, "then --tag=source run", PLUGIN, source.seconds, len(source.built),
                 f"infra builds: {len(infra_rebuilt)}")
        self.check("--tag=source after --tag=binary builds no infra image", f"{len(infra_rebuilt)} infra builds",
                   not infra_rebuilt)
        plugin.stop_pantsd()

        # Peer A: the same Dockerfiles through Pants' docker backend.
        tag_a = f"{self.tag}-a"
        images, contexts = self.peer_inputs(plugin, tag_a, "images::")
        peer_a = self.track(peers.peer_a_repo(self.work / "peer-a", images, contexts))
        run = peer_a.pants("package", "::")
        self.row(s, "cold: Pants cache miss, engine layers cold", PEER_A, run.seconds, len(run.built))
        noop_a_cold = self.noop(peer_a, "package", "::", pantsd=False)
        self.row(s, "no-op, --no-pantsd", PEER_A, noop_a_cold.seconds, len(noop_a_cold.built),
                 "docker build reruns every session (layer cache hits)")
        noop_a = self.noop(peer_a, "package", "::", pantsd=True)
        self.row(s, "no-op, pantsd warm", PEER_A, noop_a.seconds, len(noop_a.built))
        peer_a.stop_pantsd()

        # Peer B: a docker build loop.
        tag_b = f"{self.tag}-b"
        images_b, contexts_b = self.peer_inputs(plugin, tag_b, "images::")
        cold_b, n = peers.docker_build_loop(images_b, contexts_b, nocache=True)
        self.row(s, "cold: Pants cache miss, engine layers cold", PEER_B, cold_b, n, "--no-cache")
        # In both recorded runs the first cached loop after the --no-cache one rebuilt everything (as long
        # as cold; cause not established, a tiny probe does reuse --no-cache layers), so one untimed
        # pass warms the layer cache and the next one is timed.
        peers.docker_build_loop(images_b, contexts_b, nocache=False)
        cached_b, n = peers.docker_build_loop(images_b, contexts_b, nocache=False)
        self.row(s, "no-op, --no-pantsd", PEER_B, cached_b, n, "fully layer-cached docker builds")

        r = ratio(noop.seconds, noop_a.seconds)
        self.check("no-op ≤ 0.25 × Peer A (real tree, pantsd warm)",
                   f"{seconds(noop.seconds)} s vs {seconds(noop_a.seconds)} s = {r:.2f}×", r <= 0.25)
        for label, secs in (("pantsd up", cold_pantsd.seconds), ("--no-pantsd", cold.seconds)):
            r = ratio(secs, cold_b)
            self.check(f"cold ≤ 0.8 × Peer B (real tree, engine layers cold, {label})",
                       f"{seconds(secs)} s vs {seconds(cold_b)} s = {r:.2f}×", r <= 0.8)

    def scaling(self, sizes: list[int]) -> None:
        noops: dict[int, float] = {}
        floors: dict[int, float] = {}
        for n in sizes:
            s = f"scaling N={n}"
            shape = synthetic.tree_shape(n)
            leaf = synthetic.leaves(shape)[-1]
            nonce = uuid.uuid4().hex[:8]
            # Smaller trees are prefixes of larger ones (same tag): their images are reused, not rebuilt.
            smaller = [m for m in sizes if m < n]
            first = f"first build (reuses the N={max(smaller)} tree)" if smaller else "first build"

            plugin = self.plugin_repo(f"synth-{n}", synthetic.plugin_files(shape))
            run, note = self.first_build(plugin, "package", "images::")
            self.row(s, first, PLUGIN, run.seconds, len(run.built), note)
            noop = self.noop(plugin, "package", "images::", pantsd=True)
            noops[n] = noop.seconds
            self.row(s, "no-op, pantsd warm", PLUGIN, noop.seconds, len(noop.built))
            floor = self.noop(plugin, "list", "images::", pantsd=True)
            floors[n] = floor.seconds
            self.row(s, "Pants' floor: `list images::`, pantsd warm", PLUGIN, floor.seconds, 0)
            path = f"images/{leaf}/Dockerfile.j2"
            plugin.write(path, plugin.read(path) + CHANGE.format(nonce=nonce))
            change = plugin.pants("package", "images::", pantsd=True)
            self.row(s, f"one leaf changed ({leaf}, depth {synthetic.depth(shape, leaf)})", PLUGIN,
                     change.seconds, len(change.built), "pantsd warm")
            self.check(f"one-leaf change builds exactly one image (N={n})", f"{len(change.built)} built",
                       len(change.built) == 1)
            plugin.stop_pantsd()

            images, contexts = self.peer_inputs(plugin, f"{self.tag}-a", "images::")
            peer_a = self.track(peers.peer_a_repo(self.work / f"peer-a-{n}", images, contexts))
            run = peer_a.pants("package", "::")
            self.row(s, first, PEER_A, run.seconds, len(run.built))
            noop_a = self.noop(peer_a, "package", "::", pantsd=True)
            self.row(s, "no-op, pantsd warm", PEER_A, noop_a.seconds, len(noop_a.built))
            peer_a.write(f"{leaf}/Dockerfile", peer_a.read(f"{leaf}/Dockerfile") + CHANGE.format(nonce=nonce))
            change_a = peer_a.pants("package", "::", pantsd=True)
            self.row(s, f"one leaf changed ({leaf}, depth {synthetic.depth(shape, leaf)})", PEER_A,
                     change_a.seconds, len(change_a.built), "pantsd warm")
            peer_a.stop_pantsd()

            r = ratio(noop.seconds, noop_a.seconds)
            self.check(f"no-op ≤ 0.25 × Peer A (N={n}, pantsd warm)",
                       f"{seconds(noop.seconds)} s vs {seconds(noop_a.seconds)} s = {r:.2f}×", r <= 0.25)
        near_30 = min(noops, key=lambda k: abs(k - 30))
        self.check(f"no-op ≤ 1.0 s at ~30 images, pantsd warm (N={near_30})", f"{seconds(noops[near_30])} s",
                   noops[near_30] <= 1.0)
        lo, hi = min(noops), max(noops)
        growth = ratio(noops[hi], noops[lo])
        # "Flat" is not quantified by the issue; ≤ 1.25× over the measured range is this harness' reading.
        # Pants' own `list` of the same targets is the floor no plugin goes below; it grows with N too.
        self.check(f"no-op flat in N (N={lo}→{hi}: ≤ 1.25×)",
                   f"{growth:.2f}× (Pants' `list` floor: {ratio(floors[hi], floors[lo]):.2f}×)", growth <= 1.25)

    def render(self, n: int = 100) -> None:
        s = "render"
        secs, _ = render_speed.in_process(n)
        self.row(s, f"{n} templates", "in-process render_template", secs)
        secs, _ = render_speed.one_process_each(n)
        self.row(s, f"{n} templates", f"{n} × python3 -c (jinja2)", secs)

    def cleanup(self, keep: bool) -> None:
        for repo in self.repos:
            repo.stop_pantsd()
        for tag in (self.tag, f"{self.tag}-a", f"{self.tag}-b"):
            engine.untag_all(tag)
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


def machine() -> str:
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split("\n")[1].split()[1]
    return f"{os.cpu_count()} CPUs (nproc), {mem} GiB RAM (free -g), Docker {engine.describe()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,30", help="synthetic tree sizes (100 takes long on 2 cores)")
    parser.add_argument("--sections", default="render,real,scaling")
    parser.add_argument("--keep", action="store_true", help="keep the scratch repos (with each Pants run's stderr in .bench-logs/)")
    args = parser.parse_args()
    if not os.environ.get("DOCKER_HOST"):
        parser.error("export DOCKER_HOST (e.g. unix:///var/tmp/kolla-dockerd/docker.sock)")
    sections = args.sections.split(",")
    bench = Bench(Path(tempfile.mkdtemp(prefix="kolla-bench-")), f"bench-{uuid.uuid4().hex[:8]}")
    log(f"work folder {bench.work}, tag {bench.tag}")
    try:
        if "render" in sections:
            bench.render()
        if "real" in sections:
            bench.real_tree()
        if "scaling" in sections:
            bench.scaling([int(n) for n in args.sizes.split(",")])
    finally:
        print(f"Machine: {machine()}\n")
        print(results_table(bench.rows) + "\n")
        print(checks_table(bench.checks))
        bench.cleanup(args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())

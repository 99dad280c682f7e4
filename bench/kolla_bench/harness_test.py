"""Smoke test of the benchmark's pure parts, so bench/run.py cannot silently rot. No timings."""

from __future__ import annotations

import json
from collections import Counter

from kolla_bench import monorepo, peers, sampling, synthetic
from kolla_bench.pants_repo import Timed
from kolla_bench.table import Check, Row, Samples, checks_table, results_table, spread


def test_tree_shape_mixes_chains_and_fan_outs_with_parents_first() -> None:
    for n in (1, 10, 30, 100):
        shape = synthetic.tree_shape(n)
        names = list(shape)
        assert len(shape) == n and shape[names[0]] == synthetic.ROOT
        for i, (name, parent) in enumerate(shape.items()):
            assert parent == synthetic.ROOT or names.index(parent) < i
        assert synthetic.leaves(shape)
    shape = synthetic.tree_shape(30)
    assert max(Counter(shape.values()).values()) >= 3  # a fan-out
    assert max(synthetic.depth(shape, name) for name in shape) >= 5  # a chain
    # Smaller trees are prefixes of larger ones, which is why the scaling rows reuse cache entries.
    assert list(synthetic.tree_shape(10).items()) == list(shape.items())[:10]


def test_plugin_files_declare_every_image_from_its_parent() -> None:
    files = synthetic.plugin_files(synthetic.tree_shape(4))
    assert files["images/rootfs/BUILD"] == synthetic.ROOTFS_BUILD
    assert 'parent="images/rootfs"' in files["images/s000/BUILD"]
    assert (
        'parent="images/s002"' in files["images/s003/BUILD"]
        or 'parent="images/s000"' in files["images/s003/BUILD"]
    )
    assert files["images/s003/Dockerfile.j2"].startswith("FROM {{ parent_image }}\n")


GRAPH = {
    "images": [
        {
            "name": "kolla/debian-binary-keystone:t",
            "address": "images/keystone@install_type=binary",
            "install_type": "binary",
            "parent": "kolla/debian-binary-openstack-base:t",
        },
        {
            "name": "kolla/base:t",
            "address": "images/base",
            "install_type": "infra",
            "parent": "kolla/debian-bookworm-rootfs:t",
        },
        {
            "name": "kolla/debian-binary-openstack-base:t",
            "address": "images/openstack-base@install_type=binary",
            "install_type": "binary",
            "parent": "kolla/base:t",
        },
        {
            "name": "kolla/debian-bookworm-rootfs:t",
            "address": "images/rootfs",
            "install_type": "rootfs",
            "parent": None,
        },
    ]
}


def test_peer_images_come_parents_first_without_the_rootfs() -> None:
    images = peers.images_from_graph(json.dumps(GRAPH))
    assert [i.name for i in images] == ["base", "debian-binary-openstack-base", "debian-binary-keystone"]
    assert images[2].folder == "images/keystone" and images[2].tag == "t"
    assert peers.roots(images) == ["kolla/debian-bookworm-rootfs:t"]


def test_peer_a_targets_depend_on_their_parent_image() -> None:
    images = peers.images_from_graph(json.dumps(GRAPH))
    by_ref = {i.ref: i for i in images}
    build = peers.docker_image_build_file(images[1], by_ref, [])
    assert "repository='kolla/debian-binary-openstack-base'" in build and "image_tags=['t']" in build
    assert "'//base:img'" in build
    base = peers.docker_image_build_file(images[0], by_ref, ["kolla_start"])
    assert "files(name='ctx', sources=['kolla_start'])" in base and "dependencies=[':ctx']" in base


def test_tables_show_ratios_to_the_first_row_and_flag_missed_targets() -> None:
    table = results_table(
        [
            Row(section="s", scenario="no-op", tool="plugin", seconds=2.0, builds=0),
            Row(section="s", scenario="no-op", tool="peer", seconds=8.0, builds=6, note="x"),
        ]
    )
    lines = table.splitlines()
    assert lines[0].startswith("| Section") and set(lines[1]) <= {"|", "-"}
    assert "1.00×" in lines[2] and "4.00×" in lines[3] and "| 6 " in lines[3]
    checks = checks_table([Check("a", "1", True), Check("b", "2", False)])
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in checks.splitlines()[2:]]
    assert rows == [["a", "1", "yes"], ["b", "2", "**no**"]]


def test_other_targets_are_ten_files_targets_per_folder() -> None:
    files = monorepo.other_targets(23)
    builds = {path: text for path, text in files.items() if path.endswith("/BUILD")}
    assert len(builds) == 3 and sum(text.count("files(") for text in builds.values()) == 23
    assert 'files(name="f0", sources=["f0.txt"])' in builds["src/lib0000/BUILD"]
    assert "src/lib0002/f2.txt" in files and "src/lib0002/f3.txt" not in files


def test_samples_report_the_median_and_the_range() -> None:
    samples = Samples((3.0, 1.0, 30.0), (2, 1, 9))
    assert samples.median == 3.0 and samples.median_builds == 2
    row = Row.of("s", "cold", "plugin", samples)
    assert (row.seconds, row.low, row.high, row.count, row.builds) == (3.0, 1.0, 30.0, 3, 2)
    line = results_table([row]).splitlines()[2]
    assert "| 3.00 " in line and "1.00–30.0 (n=3)" in line


def test_a_spread_is_the_median_then_the_fastest_and_slowest() -> None:
    assert spread([0.41, 0.25, 0.28]) == "0.28 (0.25–0.41)"


def test_each_change_replaces_the_last_so_every_sample_builds_the_same_steps() -> None:
    once = synthetic.one_change("FROM x\nRUN true\n")
    twice = synthetic.one_change(once)
    assert once.startswith("FROM x\nRUN true\nRUN echo ") and once.endswith(" > /changed\n")
    assert twice.count("\n") == once.count("\n") == 3 and twice != once


def recording_run(calls: list, name: str, seconds: float, built: tuple[str, ...]) -> sampling.Run:
    def sample(i: int) -> Timed:
        calls.append((name, i))
        return Timed(seconds=seconds + i, returncode=0, stdout="", stderr="", built=built)

    return sample


def test_compared_rows_are_sampled_in_turn_after_an_untimed_round() -> None:
    calls: list[tuple[str, int]] = []
    run = lambda *args: recording_run(calls, *args)  # noqa: E731
    build, floor = sampling.sampled_in_turn([run("build", 1.0, ("kolla/x:t",)), run("floor", 0.5, ())], 3)
    assert calls == [
        ("build", -1),
        ("floor", -1),
        ("build", 0),
        ("floor", 0),
        ("build", 1),
        ("floor", 1),
        ("build", 2),
        ("floor", 2),
    ]
    assert build == Samples((1.0, 2.0, 3.0), (1, 1, 1)) and floor == Samples((0.5, 1.5, 2.5), (0, 0, 0))


def test_cold_rows_are_sampled_in_turn_without_an_untimed_round() -> None:
    calls: list[tuple[str, int]] = []
    mine, peer = sampling.sampled_in_turn(
        [
            recording_run(calls, "mine", 2.0, ("kolla/x:t",)),
            recording_run(calls, "peer", 3.0, ("kolla/x:b",)),
        ],
        2,
        warm_up=False,
    )
    assert calls == [("mine", 0), ("peer", 0), ("mine", 1), ("peer", 1)]
    assert mine == Samples((2.0, 3.0), (1, 1)) and peer == Samples((3.0, 4.0), (1, 1))

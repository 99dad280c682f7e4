"""The per-process record of runs (run_registry.py): pure state, no engine."""

from __future__ import annotations

import uuid

from pants_kolla.package_run import run_registry


def new_run() -> str:
    return uuid.uuid4().hex


def test_a_run_holds_the_images_recorded_for_it_only() -> None:
    one, two = new_run(), new_run()
    run_registry.record(one, "images/a")
    run_registry.record(one, "images/b")
    run_registry.record(one, "images/a")
    run_registry.record(two, "images/c")
    assert run_registry.images(one) == {"images/a", "images/b"}
    assert run_registry.images(two) == {"images/c"}
    assert run_registry.images(new_run()) == frozenset()


def test_only_the_last_image_recorded_so_far_to_finish_gets_the_whole_run() -> None:
    run = new_run()
    for image in ("images/a", "images/b", "images/c"):
        run_registry.record(run, image)
    assert run_registry.finish(run, "images/b", "B") is None
    assert run_registry.finish(run, "images/a", "A") is None
    assert run_registry.finish(run, "images/c", "C") == ("A", "B", "C")  # in the order they were recorded
    run_registry.record(run, "images/d")  # a rule that started late: the run is whole again when it is done
    assert run_registry.finish(run, "images/d", "D") == ("A", "B", "C", "D")


def test_the_first_claimant_of_a_name_keeps_it_for_its_run_only() -> None:
    run, other = new_run(), new_run()
    assert run_registry.claim(run, "kolla/cron", "images/cron") == "images/cron"
    assert run_registry.claim(run, "kolla/cron", "images/cron2") == "images/cron"
    assert run_registry.claim(run, "kolla/cron", "images/cron") == "images/cron"
    assert run_registry.claim(other, "kolla/cron", "images/cron2") == "images/cron2"


def test_a_smaller_summary_never_reports_over_a_larger_one() -> None:
    run = new_run()
    assert run_registry.claim_report(run, 2)
    assert run_registry.claim_report(run, 3)
    assert not run_registry.claim_report(run, 2)
    assert run_registry.claim_report(run, 3)  # the same run's whole summary, made again
    assert run_registry.claim_report(new_run(), 1)


def test_a_build_counts_as_built_in_the_run_that_first_saw_it_only() -> None:
    first, later = new_run(), new_run()
    build = ("images/a", 12345)
    assert run_registry.first_seen_in(first, build)
    assert run_registry.first_seen_in(first, build)  # asked again within the run
    assert not run_registry.first_seen_in(later, build)  # pantsd memoized it: cached for that run


def test_old_runs_are_forgotten() -> None:
    runs = [new_run() for _ in range(40)]
    for run in runs:
        run_registry.record(run, "images/a")
        run_registry.claim(run, "kolla/a", "images/a")
        run_registry.finish(run, "images/a", "A")
    assert run_registry.images(runs[0]) == frozenset()
    assert run_registry.claim(runs[0], "kolla/a", "images/b") == "images/b"  # its claims went too
    assert run_registry.images(runs[-1]) == {"images/a"}

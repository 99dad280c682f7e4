"""The per-process record of runs (kolla_runs.py): pure state, no engine."""

from __future__ import annotations

import uuid

from pants_kolla import kolla_runs


def new_run() -> str:
    return uuid.uuid4().hex


def test_a_run_holds_the_images_recorded_for_it_only() -> None:
    one, two = new_run(), new_run()
    kolla_runs.record(one, "images/a")
    kolla_runs.record(one, "images/b")
    kolla_runs.record(one, "images/a")
    kolla_runs.record(two, "images/c")
    assert kolla_runs.images(one) == {"images/a", "images/b"}
    assert kolla_runs.images(two) == {"images/c"}
    assert kolla_runs.images(new_run()) == frozenset()


def test_a_smaller_summary_never_reports_over_a_larger_one() -> None:
    run = new_run()
    assert kolla_runs.claim_report(run, 2)
    assert kolla_runs.claim_report(run, 3)
    assert not kolla_runs.claim_report(run, 2)
    assert kolla_runs.claim_report(run, 3)  # the same run's whole summary, made again
    assert kolla_runs.claim_report(new_run(), 1)


def test_a_build_counts_as_built_in_the_run_that_first_saw_it_only() -> None:
    first, later = new_run(), new_run()
    build = ("images/a", 12345)
    assert kolla_runs.first_seen_in(first, build)
    assert kolla_runs.first_seen_in(first, build)  # asked again within the run
    assert not kolla_runs.first_seen_in(later, build)  # pantsd memoized it: cached for that run


def test_old_runs_are_forgotten() -> None:
    runs = [new_run() for _ in range(40)]
    for run in runs:
        kolla_runs.record(run, "images/a")
    assert kolla_runs.images(runs[0]) == frozenset()
    assert kolla_runs.images(runs[-1]) == {"images/a"}

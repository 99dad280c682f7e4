"""The step-image record: one set per target and engine, a target being a repository's address."""

from __future__ import annotations

from pants_kolla.docker_api import engine_client, engine_step_images

ENGINE = engine_client.Endpoint("unix:///run/docker.sock")


def test_each_target_replaces_only_its_own_previous_set(tmp_path, monkeypatch) -> None:
    removed: list[list[str]] = []
    monkeypatch.setattr(engine_client, "remove_unused_images", lambda endpoint, ids: removed.append(ids))
    leaf_a, leaf_b = "/checkout-a//images/leaf:leaf", "/checkout-b//images/leaf:leaf"

    engine_step_images.replace_step_images(str(tmp_path), ENGINE, leaf_a, ("label", "run-1"))
    engine_step_images.replace_step_images(str(tmp_path), ENGINE, leaf_b, ("other-label",))
    # The same address in another checkout is another target: it removes nothing of the first's.
    assert removed == [[], []]
    # The next build of the first reuses its LABEL step (the engine's cache): only the old RUN step goes.
    engine_step_images.replace_step_images(str(tmp_path), ENGINE, leaf_a, ("label", "run-2"))
    assert removed[-1] == ["run-1"]

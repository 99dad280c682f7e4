from __future__ import annotations

import os

import pytest

from pants_kolla_tests.repo_fixture import ScratchRepo


@pytest.fixture
def scratch_repo(tmp_path) -> ScratchRepo:
    return ScratchRepo(tmp_path)


@pytest.fixture(scope="session")
def docker_client():
    import docker

    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        pytest.fail("No Docker engine: run `.ci/dockerd.sh start` and export DOCKER_HOST (see README)")
    # Generous: on a loaded 2-core machine the engine may take minutes to list or inspect (the SDK
    # default, 60 s, once failed a CI run while the suite built images in parallel).
    client = docker.from_env(timeout=900)
    client.ping()
    return client

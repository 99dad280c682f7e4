from __future__ import annotations

import os
import shutil

import pytest

from pants_kolla_tests import private_engine
from pants_kolla_tests.imported_image import import_tiny_image
from pants_kolla_tests.repo_fixture import ScratchRepo


def pytest_configure(config) -> None:
    """Every test and the Pants runs it starts see one engine: the one named or found, else a private
    one this starts (a machine where no engine runs needs no set-up step)."""
    if not os.environ.get("DOCKER_HOST") and shutil.which("dockerd"):
        os.environ["DOCKER_HOST"] = private_engine.docker_host()


@pytest.fixture
def scratch_repo(tmp_path) -> ScratchRepo:
    return ScratchRepo(tmp_path)


@pytest.fixture(scope="session")
def docker_client():
    import docker

    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        pytest.fail("No Docker engine and no dockerd to start one: apt-get install -y docker.io (see README)")
    # Generous: on a loaded 2-core machine the engine may take minutes to list or inspect (the SDK
    # default, 60 s, once failed a CI run while the suite built images in parallel).
    client = docker.from_env(timeout=900)
    client.ping()
    return client


@pytest.fixture
def imported(docker_client):
    """A one-file image, removed afterwards."""
    ref, image_id = import_tiny_image(docker_client)
    yield ref, image_id
    docker_client.api.remove_image(image_id, force=True)

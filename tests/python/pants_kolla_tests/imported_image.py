"""Images made in the engine from a tarball: nothing to pull, nothing to build."""

from __future__ import annotations

import io
import tarfile
import uuid


def import_tiny_image(docker_client) -> tuple[str, str]:
    """A one-file image made from a tarball (nothing to pull, nothing to build): its name and ID."""
    payload = uuid.uuid4().hex.encode()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    repository, tag = "kolla/imported-test", uuid.uuid4().hex[:10]
    docker_client.api.import_image_from_data(data.getvalue(), repository=repository, tag=tag)
    return f"{repository}:{tag}", docker_client.images.get(f"{repository}:{tag}").id

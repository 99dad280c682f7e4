"""An HTTP proxy on loopback that serves a build's locked .debs and nothing else.

A locked install's RUN step fetches `http://<DEBS_HOST>/<file>` with the proxy in `http_proxy` (a Docker
build arg that stays out of the image's history and of the layer cache, so the port is in no image and
no key). Any other URL gets 404: apt in the build reaches no mirror through it.
"""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import unquote, urlparse

# The host locked installs name (core/apt_installs.py renders it into Dockerfiles).
DEBS_HOST = "debs.pants-kolla.invalid"


def _handler(folder: str) -> type[BaseHTTPRequestHandler]:
    files = {name for name in os.listdir(folder) if name.endswith(".deb")}

    class DebsHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            # As the URL has it (%2b for +), or as a downloader may have named the file.
            name = next(
                (n for n in (url.path.rsplit("/", 1)[-1],) for n in (n, unquote(n)) if n in files), ""
            )
            if url.hostname != DEBS_HOST or not name:
                self.send_error(404, "not a locked .deb of this build")
                return
            path = os.path.join(folder, name)
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.debian.binary-package")
            self.send_header("Content-Length", str(os.path.getsize(path)))
            self.end_headers()
            with open(path, "rb") as f:
                shutil.copyfileobj(f, self.wfile)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's signature
            pass  # the build log shows apt's own lines

    return DebsHandler


def is_loopback(engine_url: str) -> bool:
    return urlparse(engine_url).hostname in ("localhost", "127.0.0.1", "::1")


@contextmanager
def serving(folder: str) -> Iterator[str]:
    """Serve the .debs in `folder` while the block runs; yields the proxy's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(os.path.abspath(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

"""`[kolla].debian_mirror` with credentials: the rootfs is built through a mirror that demands them (a
local proxy of the Debian mirror asking for HTTP basic auth), and the password reaches no build log, no
image (layer or history), no command line or environment Pants stores with its cache entries.
Real mmdebstrap and a nested, real Pants."""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import tempfile
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest
from pants.option.global_options import GlobalOptions
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import run_rule_with_mocks

from pants_kolla.core.errors import KollaError
from pants_kolla.core.mirror_credentials import split_credentials
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.util_rules.rootfs_mirror_auth import (
    NAMED_CACHE,
    AptAuthWritten,
    auth_file_name,
    write_apt_auth,
)
from pants_kolla_tests.repo_fixture import ScratchRepo, files_containing

UPSTREAM = "http://deb.debian.org"


class AuthProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, login: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.expected = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
        self.authorized = 0
        self.refused = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: AuthProxy

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.headers.get("Authorization") != self.server.expected:
            self.server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.authorized += 1
        try:
            upstream = urllib.request.urlopen(UPSTREAM + self.path, timeout=600)
        except urllib.error.HTTPError as e:
            self.send_response(e.code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with upstream:
            self.send_response(upstream.status)
            for name in ("Content-Type", "Content-Length", "Last-Modified"):
                if upstream.headers.get(name):
                    self.send_header(name, upstream.headers[name])
            self.end_headers()
            shutil.copyfileobj(upstream, self.wfile)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy():
    password = f"pw-{uuid.uuid4().hex}"
    server = AuthProxy("kolla-user", password)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, password
    server.shutdown()


def test_split_credentials_keeps_them_out_of_the_url() -> None:
    mirror = split_credentials("http://us%40er:p%3Ass@mirror.example:8080/debian/")
    assert mirror.url == "http://mirror.example:8080/debian/"
    assert mirror.auth_conf == "machine http://mirror.example:8080/debian\nlogin us@er\npassword p:ss\n"
    assert split_credentials("http://deb.debian.org/debian").auth_conf == ""


def write_apt_auth_for(named_caches: Path, mirror: str) -> AptAuthWritten:
    """Run the rule as a Pants run with `[kolla].debian_mirror = mirror` would."""
    kolla = create_subsystem(KollaSubsystem, debian_mirror=mirror)
    global_options = create_subsystem(GlobalOptions, named_caches_dir=str(named_caches))
    return run_rule_with_mocks(write_apt_auth, rule_args=[kolla, global_options])


def test_an_auth_file_that_cannot_be_written_is_a_plugin_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "named_caches"
    not_a_folder.write_text("")
    written = write_apt_auth_for(not_a_folder, "http://user:secret@mirror.example/debian")
    assert written.url == "http://mirror.example/debian"
    assert "Cannot write the apt auth file" in written.failure and "secret" not in written.failure
    with pytest.raises(KollaError, match="named_caches_dir"):
        written.raise_failure()


def written_auth(named_caches: Path, mirror: str) -> str:
    """The content of `mirror`'s auth file after a run with it."""
    written = write_apt_auth_for(named_caches, mirror)
    return (named_caches / NAMED_CACHE / auth_file_name(written.url)).read_text()


def test_a_run_on_another_mirror_leaves_this_mirrors_login(tmp_path: Path) -> None:
    """Runs at once share the named caches: a run without credentials on another mirror (any other test's
    or checkout's build) must not empty the file a credentialed run's build is about to read."""
    authed = "http://user:secret@mirror.example/debian"
    assert "password secret" in written_auth(tmp_path, authed)
    assert written_auth(tmp_path, "http://deb.debian.org/debian") == ""
    assert "password secret" in written_auth(tmp_path, authed)
    # The same mirror without credentials: they are gone from the disk too.
    assert written_auth(tmp_path, "http://mirror.example/debian") == ""


def test_mirror_credentials_reach_apt_only(tmp_path, proxy, request) -> None:
    server, password = proxy
    port = server.server_address[1]
    repo = ScratchRepo(tmp_path / "repo")
    # A suite/package set no other test uses, so this build cannot be a cache hit of theirs.
    repo.write(
        "images/BUILD",
        f'debian_rootfs(name="authed", packages=["ca-certificates"], ' f'image_name="authed-{repo.tag}")\n',
    )
    # Short: the engine socket is reached through a link inside each sandbox (AF_UNIX paths are short).
    sandboxes = Path(tempfile.mkdtemp(prefix="k16-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(sandboxes, ignore_errors=True))
    run = repo.pants(
        f"--kolla-debian-mirror=http://kolla-user:{password}@127.0.0.1:{port}/debian",
        "--kolla-export-archives",
        "--keep-sandboxes=always",
        f"--local-execution-root-dir={sandboxes}",
        "-ldebug",
        "package",
        "images:authed",
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert server.authorized > 0  # apt did log in: the build went through the credentials
    secret = password.encode()
    assert secret not in run.stderr.encode() and secret not in run.stdout.encode()
    name = f"authed-{repo.tag}"
    log = repo.read(f"dist/images/{name}/build.log")
    assert f"http://127.0.0.1:{port}/debian" in log and password not in log
    # The image: its history and config, and every layer (no auth.conf left behind).
    assert files_containing(repo.root / "dist", secret) == []
    manifest = json.loads(repo.read(f"dist/images/{name}/image/manifest.json"))[0]
    config = json.loads(repo.read(f"dist/images/{name}/image/{manifest['Config']}"))
    assert "kolla-user" not in json.dumps(config["history"])
    # What Pants ran, as it stores it (argv, env, inputs: the kept sandboxes' __run.sh and files).
    kept = [p for p in sandboxes.iterdir() if p.is_dir()]
    assert kept, "no sandbox kept"
    assert files_containing(sandboxes, secret) == []

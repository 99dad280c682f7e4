"""The Docker engine reached as the docker CLI reaches it: `DOCKER_HOST=tcp://...` with TLS
(`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`) and a docker context, through a real TLS endpoint (a proxy that
terminates TLS and asks for a client certificate, as `dockerd --tlsverify` does, in front of the real
engine's socket; certificates made by the openssl CLI), in-process and by a nested, real Pants."""

from __future__ import annotations

import json
import os
import selectors
import socket
import ssl
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from pants_kolla.docker_api import engine_client
from pants_kolla_tests.repo_fixture import ScratchRepo, files_containing
from pants_kolla_tests.tiny_tree import image

# Shared by this test's runs (names are in no key; the epoch is): the rootfs is built once per machine.
EPOCH = 1_700_016_016


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> None:
    folder.mkdir(parents=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        cwd=folder,
    )


def signed_cert(ca: Path, folder: Path, name: str, extensions: str) -> None:
    """`folder`/cert.pem and key.pem, signed by the CA in `ca`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ext.cnf").write_text(extensions)
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        f"/CN={name}",
        cwd=folder,
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        str(ca / "ca.pem"),
        "-CAkey",
        str(ca / "ca-key.pem"),
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        cwd=folder,
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    """`client`: a DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) for the proxy's CA; `wrong_ca`: the same
    client certificate with another CA's ca.pem; `server`: the proxy's own certificate."""
    root = tmp_path_factory.mktemp("certs")
    make_ca(root / "ca", "kolla-test-ca")
    make_ca(root / "other-ca", "kolla-other-ca")
    signed_cert(
        root / "ca",
        root / "server",
        "127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    signed_cert(root / "ca", root / "client", "kolla-client", "extendedKeyUsage=clientAuth\n")
    (root / "client/ca.pem").write_bytes((root / "ca/ca.pem").read_bytes())
    (root / "wrong_ca").mkdir()
    for name in ("cert.pem", "key.pem"):
        (root / "wrong_ca" / name).write_bytes((root / "client" / name).read_bytes())
    (root / "wrong_ca/ca.pem").write_bytes((root / "other-ca/ca.pem").read_bytes())
    return {
        "ca": root / "ca",
        "server": root / "server",
        "client": root / "client",
        "wrong_ca": root / "wrong_ca",
    }


class TlsEngineProxy:
    """TLS on 127.0.0.1 (client certificate required), forwarding each connection to the engine's unix
    socket. One thread per connection, which alone reads and writes its TLS socket."""

    def __init__(self, certs: dict[str, Path], engine_socket: str) -> None:
        self.engine_socket = engine_socket
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certs["server"] / "cert.pem", certs["server"] / "key.pem")
        self.context.load_verify_locations(certs["ca"] / "ca.pem")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded = 0  # connections that passed the handshake
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def docker_host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()  # a refused handshake: the client sees why
            return
        self.forwarded += 1
        engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            engine.connect(self.engine_socket)
            self._pump(tls, engine)
        except OSError:
            pass
        finally:
            engine.close()
            tls.close()

    @staticmethod
    def _pump(tls: ssl.SSLSocket, engine: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(tls, selectors.EVENT_READ)
            selector.register(engine, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is tls:
                        data = tls.recv(1 << 16)
                        while data and tls.pending():  # decrypted bytes select() cannot see
                            data += tls.recv(tls.pending())
                        target = engine
                    else:
                        data, target = engine.recv(1 << 16), tls
                    if not data:
                        return
                    target.sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def proxy(certs, docker_client):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert host.startswith("unix://"), "the proxy forwards to the engine's unix socket"
    proxy = TlsEngineProxy(certs, host[len("unix://") :])
    yield proxy
    proxy.close()


def tls_env(proxy: TlsEngineProxy, cert_path: Path) -> dict[str, str]:
    return {"DOCKER_HOST": proxy.docker_host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_path)}


@pytest.fixture(scope="module")
def docker_config(tmp_path_factory, proxy, certs) -> tuple[Path, str]:
    """A docker config folder whose current context (made by the docker CLI) is the TLS proxy."""
    folder = tmp_path_factory.mktemp("docker-config")
    name = f"kolla-tls-{uuid.uuid4().hex[:8]}"
    client = certs["client"]
    endpoint = f"host={proxy.docker_host},ca={client}/ca.pem,cert={client}/cert.pem,key={client}/key.pem"
    for argv in (["context", "create", name, "--docker", endpoint], ["context", "use", name]):
        subprocess.run(["docker", "--config", str(folder), *argv], check=True, capture_output=True)
    assert json.loads((folder / "config.json").read_text())["currentContext"] == name
    return folder, name


def test_the_engine_api_follows_docker_host_tls_and_contexts(
    proxy, certs, docker_config, docker_client, imported, monkeypatch
) -> None:
    version = docker_client.version()["Version"]
    endpoint = engine_client.resolve(tls_env(proxy, certs["client"]))
    assert endpoint.tls and endpoint.tls_verify
    assert engine_client.ping(endpoint) == version
    ref, image_id = imported
    assert engine_client.image_id(endpoint, ref) == image_id

    wrong = engine_client.resolve(tls_env(proxy, certs["wrong_ca"]))
    with pytest.raises(engine_client.EngineConfigError, match="CERTIFICATE_VERIFY_FAILED"):
        engine_client.ping(wrong)

    # The SDK finds contexts through this process's DOCKER_CONFIG.
    folder, name = docker_config
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    envs: tuple[dict[str, str], ...] = (
        {},
        {"DOCKER_CONTEXT": name},
    )  # config.json's currentContext, or named
    for env in envs:
        from_context = engine_client.resolve(env)
        assert (from_context.host, from_context.context, from_context.tls_verify) == (
            proxy.docker_host,
            name,
            True,
        )
        assert engine_client.ping(from_context) == version
    # DOCKER_HOST wins over any context, as with the docker CLI.
    assert (
        engine_client.resolve({"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": name}).host
        == "unix:///x.sock"
    )
    with pytest.raises(engine_client.EngineConfigError, match="`nope`, which does not exist"):
        engine_client.resolve({"DOCKER_CONTEXT": "nope"})
    with pytest.raises(
        engine_client.EngineConfigError, match="over ssh://, which pants-kolla does not support"
    ):
        engine_client.resolve({"DOCKER_HOST": "ssh://me@engine.example"})


@pytest.fixture(scope="module")
def repo(tmp_path_factory, docker_client) -> Iterator[ScratchRepo]:
    repo = ScratchRepo(tmp_path_factory.mktemp("tls"))
    toml = repo.read("pants.toml")
    repo.write(
        "pants.toml",
        "\n".join(
            f"source_date_epoch = {EPOCH}" if line.startswith("source_date_epoch") else line
            for line in toml.splitlines()
        )
        + "\n",
    )
    repo.write("images/BUILD", 'kolla_template_library(name="templates")\n')
    repo.write("images/macros.j2", "")
    repo.write("images/tls-rootfs/BUILD", 'debian_rootfs(name="tls-rootfs")\n')
    yield repo
    for ref in docker_client.images.list(name="kolla/*"):
        for name in ref.tags:
            if name.endswith(f":{repo.tag}"):
                docker_client.images.remove(name)


def package_leaf(repo: ScratchRepo, env: dict[str, str], *args: str):
    """Package a leaf no cache holds (a fresh marker), so its build process must reach the engine."""
    marker = uuid.uuid4().hex
    image(repo, "leaf", "infra", "images/tls-rootfs", f'LABEL marker="{marker}"\nRUN echo leaf > /leaf.txt\n')
    return repo.pants(*args, "--kolla-builder=docker", "package", "images/::", env=env), marker


def test_package_over_tls_builds_and_loads(repo, proxy, certs, docker_client, tmp_path) -> None:
    sandboxes = tmp_path / "sandboxes"
    before = proxy.forwarded
    run, marker = package_leaf(
        repo,
        tls_env(proxy, certs["client"]),
        "--keep-sandboxes=always",
        f"--local-execution-root-dir={sandboxes}",
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert repo.ref("leaf") in run.built
    assert docker_client.images.get(repo.ref("leaf")).labels["marker"] == marker
    assert docker_client.images.get(repo.ref("tls-rootfs")).id == repo.dist_image_id("tls-rootfs")
    assert proxy.forwarded > before  # through the TLS endpoint, not around it
    # What Pants keys and stores the builds by (argv, env: the kept sandboxes' __run.sh) names no host
    # path of the certificates: they are reached through the named cache.
    assert any(sandboxes.glob("*/__run.sh")), "no sandbox kept"
    assert files_containing(sandboxes, str(certs["client"]).encode()) == []


def test_package_through_the_current_docker_context(repo, proxy, docker_config, docker_client) -> None:
    folder, _ = docker_config
    before = proxy.forwarded
    run, marker = package_leaf(repo, {"DOCKER_HOST": "", "DOCKER_CONFIG": str(folder)})
    assert run.returncode == 0, run.stderr[-4000:]
    assert repo.ref("leaf") in run.built
    assert docker_client.images.get(repo.ref("leaf")).labels["marker"] == marker
    assert proxy.forwarded > before


def test_a_wrong_ca_is_one_clear_line_naming_the_endpoint(repo, proxy, certs) -> None:
    # The default builder choice: a TLS failure is not "no engine", so no silent fallback to buildah.
    run = repo.pants("package", "images/::", env=tls_env(proxy, certs["wrong_ca"]))
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "CERTIFICATE_VERIFY_FAILED" in line]
    assert len(lines) == 1, run.stderr[-4000:]
    assert f"TLS to the Docker engine at {proxy.docker_host} (TLS, verified)" in lines[0]
    assert "Traceback" not in run.stderr
    assert run.built == []

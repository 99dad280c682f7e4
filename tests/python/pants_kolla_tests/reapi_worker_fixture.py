"""A real REAPI executor for remote-execution tests: Bazel 4.2.3's own remote worker (CAS, ActionCache,
ByteStream, Capabilities and Execution in one JVM, running each action itself), on 127.0.0.1.

Compiled once from Debian's `bazel-bootstrap-source` (the worker's Java sources) against the server jar of
`bazel-bootstrap-data` (`apt-get download`: only their files are used, nothing is installed) with the
JDK of `default-jdk-headless`, into the pants-kolla cache (~11 s), so reruns start in seconds. Two patches
to the sources: bind loopback only (upstream listens on every interface), and log each action's argv,
so the log names what ran.

The worker does no sandboxing: actions run as this user with this host's tools, which is what a
co-located test needs. `hide` makes a worker that lacks a tool: it runs in its own mount namespace where
that program is the empty, non-executable /dev/null.
"""

from __future__ import annotations

import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pants_kolla_tests.registry_fixture import free_port
from pants_kolla_tests.server_process import stop_group, wait_listening

BAZEL_VERSION = "4.2.3"
CACHE_ROOT = Path(os.environ.get("PANTS_KOLLA_CACHE") or Path.home() / ".cache/pants-kolla")
BUILD_DIR = CACHE_ROOT / f"bazel-remote-worker-{BAZEL_VERSION}"
DEBS = ("bazel-bootstrap-data", "bazel-bootstrap-source")
SOURCES = "usr/src/bazel-bootstrap/src/tools/remote/src/main/java"
WORKER = "com/google/devtools/build/remote/worker"
SERVER_JAR = "usr/share/bazel/A-server.jar"
# The system PATH of a Debian worker: what every search path must name remotely (`<PATH>` expands to
# nothing on a remote worker).
SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
# Bazel's worker refuses calls without REAPI request metadata, which Pants 2.17 does not send: this is a
# serialized RequestMetadata{tool_details{tool_name: "pants"}}.
HEADERS = "{'user-agent':'pants/2.17.1','build.bazel.remote.execution.v2.requestmetadata-bin':'CgcKBXBhbnRz'}"
LOGGING = f"""handlers=java.util.logging.ConsoleHandler
.level=INFO
java.util.logging.ConsoleHandler.level=FINE
{WORKER.replace('/', '.')}.level=FINE
"""
PATCHES = {
    f"{WORKER}/RemoteWorker.java": [
        (
            "NettyServerBuilder.forPort(workerOptions.listenPort)",
            'NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", workerOptions.listenPort))',
        )
    ],
    f"{WORKER}/ExecutionServer.java": [
        (
            "    Path workingDirectory = execRoot.getRelative(command.getWorkingDirectory());",
            '    logger.atInfo().log("Executing action %s: %s", actionDigest.getHash(),'
            ' String.join(" ", command.getArgumentsList()));\n'
            "    Path workingDirectory = execRoot.getRelative(command.getWorkingDirectory());",
        )
    ],
}


def _run(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")


def ensure_worker() -> Path:
    """The compiled worker's classes folder (built once, under a lock: tests may start in parallel)."""
    classes = BUILD_DIR / "classes"
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (BUILD_DIR / ".complete").exists():
            return classes
        for missing in ("javac", "apt-get", "dpkg-deb"):
            if shutil.which(missing) is None:
                raise RuntimeError(f"{missing} is not installed (apt-get install -y default-jdk-headless)")
        work = BUILD_DIR / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(classes, ignore_errors=True)
        work.mkdir()
        try:
            _run(["apt-get", "download", *DEBS], work)
        except RuntimeError:  # a fresh machine may have no package lists yet
            _run(["apt-get", "update", "-qq"], work)
            _run(["apt-get", "download", *DEBS], work)
        for deb in sorted(work.glob("*.deb")):
            _run(["dpkg-deb", "-x", str(deb), "x"], work)
        sources = work / "x" / SOURCES
        for rel, replacements in PATCHES.items():
            path = sources / rel
            text = path.read_text()
            for old, new in replacements:
                assert old in text, f"{path}: patch anchor not found: {old}"
                text = text.replace(old, new, 1)
            path.write_text(text)
        jar = BUILD_DIR / "A-server.jar"
        shutil.copy(work / "x" / SERVER_JAR, jar)
        java_files = sorted(glob.glob(f"{sources}/**/*.java", recursive=True))
        _run(["javac", "-nowarn", "-proc:none", "-d", str(classes), "-cp", str(jar), *java_files], work)
        shutil.rmtree(work)
        (BUILD_DIR / ".complete").touch()
    return classes


class RemoteWorker:
    """Start with `with RemoteWorker(path) as worker:`; `worker.pants_options(...)` runs Pants against it."""

    def __init__(self, root: Path, hide: tuple[str, ...] = ()) -> None:
        self.root = root
        self.port = free_port()
        self.address = f"grpc://127.0.0.1:{self.port}"
        self.hide = hide
        self.log = root / "worker.log"
        self.proc: subprocess.Popen | None = None

    def pants_options(
        self, caches_base: Path, python_dir: str = os.path.dirname(sys.executable)
    ) -> list[str]:
        """Pants' options for running every process on this worker. `caches_base` is where the worker
        host keeps named caches (`--remote-execution-append-only-caches-base-path`); `python_dir` holds
        the interpreter PEXes run with (a folder: `<PATH>` and `<PYENV>` mean nothing remotely)."""
        paths = repr(SYSTEM_PATH)
        return [
            "--remote-execution",
            f"--remote-execution-address={self.address}",
            f"--remote-store-address={self.address}",
            "--remote-instance-name=main",
            f"--remote-store-headers={HEADERS}",
            f"--remote-execution-headers={HEADERS}",
            "--remote-cache-read",
            "--remote-cache-write",
            "--cache-content-behavior=validate",
            f"--remote-execution-append-only-caches-base-path={caches_base}",
            # The interpreter the tests run on exists on this (co-located) worker too.
            f"--python-bootstrap-search-path=['{python_dir}']",
            f"--pex-executable-search-paths={paths}",
        ]

    def executed(self) -> list[str]:
        """The argv of every action the worker ran, in order."""
        return re.findall(r"Executing action \w+: (.*)$", self.log.read_text(), re.MULTILINE)

    def received(self) -> int:
        return len(re.findall(r"Received work for:", self.log.read_text()))

    def __enter__(self) -> "RemoteWorker":
        classes = ensure_worker()
        for sub in ("work", "cas"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        logging = self.root / "logging.properties"
        logging.write_text(LOGGING)
        argv = [
            "java",
            f"-Djava.util.logging.config.file={logging}",
            "-cp",
            f"{classes}:{BUILD_DIR / 'A-server.jar'}",
            f"{WORKER.replace('/', '.')}.RemoteWorker",
            f"--listen_port={self.port}",
            f"--work_path={self.root / 'work'}",
            f"--cas_path={self.root / 'cas'}",
            "--jobs=2",
        ]
        if self.hide:
            mounts = " && ".join(f"mount --bind /dev/null {shutil.which(t) or t}" for t in self.hide)
            argv = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                f'{mounts} && exec "$@"',
                "worker",
                *argv,
            ]
        self.proc = subprocess.Popen(
            argv, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True
        )  # its own group: __exit__ ends its actions
        wait_listening(self.proc, "127.0.0.1", self.port, self.log)
        return self

    def __exit__(self, *exc) -> None:
        stop_group(self.proc)

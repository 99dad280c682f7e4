"""Publishing with skopeo from OCI layouts (builder/oci_layout.py), no engine involved.

Two phases over every image of the run: (1) each image's blobs and manifest go up *by digest*,
`jobs` images at a time, each after the earlier image it shares most leading layers with (its parent when
selected), whose blobs it then mounts or finds instead of racing to upload them too, the layers it shares
with its parent (selected or not) mounted from the parent's repository first (builder/registry_mount.py);
(2) only when every image of phase 1 succeeded are the tags moved (manifest-only copies: every blob is
there by then). A failure in phase 1 moves no tag; `partial` moves the tags of the images that succeeded.

`kolla-publish` runs this once for every selected image; Pants' `publish` once per target. The result is
recorded under the run's token (a process of the same run reads it instead of pushing again), for the
goal's report. skopeo's debug output says, per blob, whether it was already in the repository, mounted
from another one, or uploaded; it stays in this process (it names local paths), only counts come out.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Optional
from urllib.parse import unquote

from pants_kolla.builder import exit_codes, registry_mount

# Errors meaning "the registry did not answer" (worth retrying).
REGISTRY_UNREACHABLE = re.compile(
    r"(connection refused|no such host|i/o timeout|connection reset|broken pipe|"
    r"dial tcp|EOF|TLS handshake timeout|503 Service Unavailable)",
    re.I,
)
SKIPPED = re.compile(r"Skipping blob (sha256:[0-9a-f]{64}) \(already present\)")
MOUNT_TRIED = re.compile(r"mount=(sha256%3A[0-9a-f]{64})")
FATAL = re.compile(r'level=fatal msg="(.*)"\s*$', re.M)


@dataclass
class ImagePush:
    repository: str  # registry/namespace/name
    digest: str = ""  # the manifest's
    image_id: str = ""
    uploaded: int = 0
    mounted: int = 0
    present: int = 0
    bytes_sent: int = 0
    tags: list[str] = field(default_factory=list)  # the tags moved
    error: str = ""


def skopeo_argv(source: str, dest: str, insecure: bool) -> list[str]:
    argv = ["skopeo", "--debug", "copy", "--preserve-digests"]
    if insecure:
        argv += ["--src-tls-verify=false", "--dest-tls-verify=false"]
    config = os.environ.get("DOCKER_CONFIG")
    if config and os.path.exists(os.path.join(config, "config.json")):
        # `docker login` with DOCKER_CONFIG set: skopeo reads that file's `auths` and `credHelpers`.
        argv += ["--authfile", os.path.join(config, "config.json")]
    return [*argv, source, dest]


def failure_line(output: str) -> str:
    fatal = FATAL.findall(output)
    if fatal:
        return fatal[-1].replace('\\"', '"')
    lines = [line for line in output.splitlines() if line.strip() and "level=debug" not in line]
    return lines[-1] if lines else "skopeo failed without a message"


def run_skopeo(argv: list[str], what: str, retries: int) -> str:
    """Run skopeo until it succeeds or fails for a reason other than an unreachable registry; returns
    its output. Raises RuntimeError with skopeo's own error line."""
    for attempt in range(1, retries + 2):
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode == 0:
            return proc.stdout
        error = failure_line(proc.stdout)
        if not REGISTRY_UNREACHABLE.search(error):
            raise RuntimeError(error)
        if attempt > retries:
            raise RuntimeError(f"the registry did not answer after {attempt} attempts (last error: {error})")
        delay = 2 ** (attempt - 1)
        print(
            f"{what}: registry unreachable ({error}); retry {attempt} of {retries} in {delay} s", flush=True
        )
        time.sleep(delay)
    raise AssertionError("unreachable")


def count_blobs(push: ImagePush, output: str, layers: list[dict], mounted_first: set[str]) -> None:
    skipped = set(SKIPPED.findall(output))
    mount_tried = {unquote(d) for d in MOUNT_TRIED.findall(output)} | mounted_first
    for layer in layers:
        if layer["digest"] not in skipped:
            push.uploaded += 1
            push.bytes_sent += layer["size"]
        elif layer["digest"] in mount_tried:
            push.mounted += 1
        else:
            push.present += 1


def read_layers(plan: dict, image: dict) -> list[dict]:
    with open(os.path.join(plan["layout"], "blobs", "sha256", image["digest"].split(":", 1)[1])) as f:
        return json.load(f)["layers"]


def predecessors(images: list[dict], layers: dict[str, list[dict]]) -> dict[str, str]:
    """Which earlier image each image waits for: the one sharing the longest run of leading layers (its
    parent when that is selected too, else a sibling or cousin over the same base), so shared blobs are
    uploaded once and then mounted or found, never uploaded by two pushes at once."""
    waits: dict[str, str] = {}
    for i, image in enumerate(images):
        best, best_shared = "", 0
        for earlier in images[:i]:
            shared = 0
            for mine, theirs in zip(layers[image["repository"]], layers[earlier["repository"]]):
                if mine["digest"] != theirs["digest"]:
                    break
                shared += 1
            if shared > best_shared:  # ties: the earliest, so siblings wait for one image, not each other
                best, best_shared = earlier["repository"], shared
        if best:
            waits[image["repository"]] = best
    return waits


def mount_parent_layers(plan: dict, image: dict, layers: list[dict]) -> set[str]:
    """The layers of `image` mounted from its parent's repository (the parent pushed by this run or
    by an earlier one)."""
    if not image.get("parent"):
        return set()
    own = {layer["digest"] for layer in layers}
    shared = [layer["digest"] for layer in read_layers(plan, image["parent"]) if layer["digest"] in own]
    return registry_mount.mount_from_parent(image, shared, plan["insecure"])


def upload(image: dict, plan: dict, layers: list[dict], waits_for: Optional[Future]) -> ImagePush:
    push = ImagePush(image["repository"], image["digest"], image["image_id"])
    if waits_for is not None:
        waits_for.result()  # its blobs are in the registry (or failed to go up: then ours go up now)
    mounted = mount_parent_layers(plan, image, layers)
    source = f"oci:{plan['layout']}:{image['ref_name']}"
    argv = skopeo_argv(source, f"docker://{image['repository']}@{image['digest']}", plan["insecure"])
    try:
        count_blobs(push, run_skopeo(argv, image["repository"], plan["retries"]), layers, mounted)
    except RuntimeError as e:
        push.error = str(e)
    return push


def upload_all(plan: dict) -> dict[str, ImagePush]:
    """Phase 1. Images come parents first in the plan and wait only for earlier ones, which were
    submitted before them, so the pool cannot deadlock."""
    layers = {i["repository"]: read_layers(plan, i) for i in plan["images"]}
    waits = predecessors(plan["images"], layers)
    futures: dict[str, Future] = {}
    with ThreadPoolExecutor(max_workers=max(1, plan["jobs"])) as pool:
        for image in plan["images"]:
            repository = image["repository"]
            earlier = futures.get(waits.get(repository, ""))
            futures[repository] = pool.submit(upload, image, plan, layers[repository], earlier)
    return {repository: f.result() for repository, f in futures.items()}


def move_tags(plan: dict, pushes: dict[str, ImagePush]) -> None:
    """Phase 2: the tags of every image whose phase 1 succeeded."""

    def move(image: dict) -> None:
        push = pushes[image["repository"]]
        source = f"docker://{image['repository']}@{image['digest']}"
        for tag in image["tags"]:
            argv = skopeo_argv(source, f"docker://{image['repository']}:{tag}", plan["insecure"])
            try:
                run_skopeo(argv, f"{image['repository']}:{tag}", plan["retries"])
            except RuntimeError as e:
                push.error = f"tag {tag}: {e}"
                return
            push.tags.append(tag)

    ready = [i for i in plan["images"] if not pushes[i["repository"]].error]
    with ThreadPoolExecutor(max_workers=max(1, plan["jobs"])) as pool:
        list(pool.map(move, ready))


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def summary(push: ImagePush) -> str:
    """One line per image; tests and scripts parse it (`published <repository>@<digest> image <id> as
    <tags>: layers ...`)."""
    blobs = (
        f"layers {push.uploaded} uploaded ({megabytes(push.bytes_sent)}), {push.mounted} mounted, "
        f"{push.present} present"
    )
    if push.error:
        return f"FAILED {push.repository}@{push.digest}: {push.error} ({blobs})"
    tags = ",".join(push.tags) or "(no tag moved)"
    return f"published {push.repository}@{push.digest} image {push.image_id} as {tags}: {blobs}"


def publish_all(plan: dict) -> dict:
    pushes = upload_all(plan)
    failed = [p.repository for p in pushes.values() if p.error]
    if not failed or plan["partial"]:
        move_tags(plan, pushes)
    values = list(pushes.values())
    return {
        "registry": plan["registry"],
        "tags_moved": not failed or plan["partial"],
        "failed": sorted(p.repository for p in values if p.error),
        "images": {p.repository: asdict(p) for p in values},
        "totals": {
            k: sum(getattr(p, k) for p in values) for k in ("uploaded", "mounted", "present", "bytes_sent")
        },
    }


def print_report(report: dict) -> None:
    for push in report["images"].values():
        print(summary(ImagePush(**push)), flush=True)
    totals = report["totals"]
    print(
        f"{len(report['images'])} image(s): layers {totals['uploaded']} uploaded "
        f"({megabytes(totals['bytes_sent'])}), {totals['mounted']} mounted, {totals['present']} present",
        flush=True,
    )
    if report["failed"] and not report["tags_moved"]:
        print(f"No tag moved: {', '.join(report['failed'])} failed.", file=sys.stderr, flush=True)


def run_report(plan: dict, state_dir: str, token: str) -> tuple[dict, bool]:
    """The run's report: made by the first process of the run (True), read by the others."""
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, f"{token}.json")
    with open(os.path.join(state_dir, f"{token}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f), False
        report = publish_all(plan)
        with open(path + ".partial", "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
        os.replace(path + ".partial", path)
        return report, True


def remove_old_state(state_dir: str, keep: str, max_age_s: float = 86400) -> None:
    for name in os.listdir(state_dir):
        path = os.path.join(state_dir, name)
        if not name.startswith(keep) and time.time() - os.path.getmtime(path) > max_age_s:
            os.remove(path)


def cmd_publish(plan_path: str, repository: str, state_dir: str, token: str) -> int:
    """Report every image (`repository` empty) or one: exit 0 when its tags (or all) moved."""
    with open(plan_path) as f:
        plan = json.load(f)
    report, first = run_report(plan, state_dir, token)
    remove_old_state(state_dir, token)
    if first:
        print_report(report)
    pushes = [ImagePush(**p) for r, p in report["images"].items() if r == repository or not repository]
    if not first:
        for push in pushes:
            print(summary(push), flush=True)
    failed = [p for p in pushes if p.error or not p.tags]
    for push in failed:
        if not push.error:
            print(
                f"{push.repository}: no tag moved, because {', '.join(report['failed'])} failed",
                file=sys.stderr,
            )
    if any("unauthorized" in p.error.lower() or "authentication required" in p.error.lower() for p in failed):
        print(
            "(credentials come from Docker's config: `docker login`, or set DOCKER_CONFIG)", file=sys.stderr
        )
    return exit_codes.PUSH_FAILED if failed else 0

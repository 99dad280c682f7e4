"""The build log's helpers shared by the builder's commands: a step's time, a failure's tail, and which
failures are worth retrying."""

from __future__ import annotations

import re
import sys
import time
from contextlib import contextmanager
from typing import IO, Iterator

LOG_TAIL_LINES = 30
# Log lines of failures worth retrying (a mirror hiccup), as opposed to a broken Dockerfile.
MIRROR_HICCUP_LINE = re.compile(
    r"(Temporary failure|Could not resolve|Connection (timed out|reset|refused)|"
    r"Hash Sum mismatch|503 Service Unavailable|Unable to fetch some archives)",
    re.I,
)


def print_log_tail(log_path: str, headline: str) -> None:
    with open(log_path, errors="replace") as f:
        tail = f.read().splitlines()[-LOG_TAIL_LINES:]
    print(headline, file=sys.stderr)
    print(f"--- last {len(tail)} lines of the build log ---", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)


@contextmanager
def timed(log: IO[str], step: str) -> Iterator[None]:
    """Log how long a step took: the build log then says where an image's time went."""
    start = time.monotonic()
    yield
    log.write(f"-- {step}: {time.monotonic() - start:.2f} s\n")

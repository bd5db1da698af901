"""Where a scenario's time goes inside the gunicorn workers: py-spy samples, grouped.

The scenario is replayed twice while ``py-spy record`` samples every worker: once with every
sample (``--idle``: wall-clock time, waiting for PostgreSQL included) and once with only the
samples that hold the GIL (``--gil``: the Python CPU the request costs, which waiting for
the database or for a CPU taken by other processes does not inflate). Each sample goes to
the group of the deepest frame that belongs to a known layer (ORM work inside a template
counts as ORM); project frames are also listed by inclusive share of the wall-clock samples.
"""

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.config import PROJECT_DIR

PY_SPY = PROJECT_DIR / ".venv" / "bin" / "py-spy"
SAMPLE_RATE = 250  # per second per worker

# (group, function name or "" for any, file path prefix), tried in order on each frame from
# the leaf up; the first frame that matches a rule decides the sample's group.
LAYERS: list[tuple[str, str, str]] = [
    ("PostgreSQL: opening a connection", "get_new_connection", "django/db/backends/"),
    ("PostgreSQL: opening a connection", "", "psycopg2/"),
    ("PostgreSQL: commit", "_commit", "django/db/backends/"),
    ("PostgreSQL: queries (round trips, reading rows)", "", "django/db/backends/"),
    ("ORM: building queries and model instances", "", "django/db/models/"),
    ("templates", "", "django/template/"),
    ("Wagtail: site, routing, view restrictions, userbar", "", "wagtail/"),
    ("sessions, auth, CSRF, messages", "", "django/contrib/"),
    ("sessions, auth, CSRF, messages", "", "django/middleware/csrf.py"),
    ("Stripe SDK (webhook signature, API client)", "", "stripe/"),
    ("HTTP client to Stripe (requests, urllib3)", "", "requests/"),
    ("HTTP client to Stripe (requests, urllib3)", "", "urllib3/"),
    ("JSON", "", "json/"),
    ("shop, accounts, site_config code", "", "shop/"),
    ("shop, accounts, site_config code", "", "accounts/"),
    ("shop, accounts, site_config code", "", "site_config/"),
    (
        "gunicorn: waiting for a connection, or for a CPU once woken",
        "wait",
        "gunicorn/workers/sync.py",
    ),
    (
        "gunicorn: waiting for a connection, or for a CPU once woken",
        "accept",
        "gunicorn/workers/sync.py",
    ),
    ("gunicorn: reading, parsing and writing HTTP", "", "gunicorn/"),
    ("Django request handling and middleware", "", "django/"),
]
OWN_CODE = ("shop/", "accounts/", "home/", "site_config/")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True)
class Profile:
    samples: int
    layers: list[tuple[str, float]]  # (group, share of samples), largest first
    own_frames: list[tuple[str, float]]  # (function (file), inclusive share), largest first


def available() -> bool:
    return PY_SPY.exists() or shutil.which("py-spy") is not None


def start(
    pids: list[int], duration: float, out_dir: Path, *, cpu: bool
) -> list[tuple[subprocess.Popen, Path]]:
    """One ``py-spy record`` per worker, in the background, writing collapsed stacks.

    ``cpu``: only samples holding the GIL; otherwise every sample, idle ones included.
    """
    spy = str(PY_SPY) if PY_SPY.exists() else "py-spy"
    recorders = []
    for pid in pids:
        out = out_dir / f"py-spy-{pid}-{'cpu' if cpu else 'wall'}.txt"
        command = [spy, "record", "--pid", str(pid), "--duration", str(max(1, round(duration)))]
        command += ["--rate", str(SAMPLE_RATE), "--nonblocking", "--format", "raw"]
        command += ["--gil"] if cpu else ["--idle"]
        command += ["--output", str(out)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        recorders.append((process, out))
    return recorders


def finish(recorders: list[tuple[subprocess.Popen, Path]]) -> Profile:
    stacks: list[tuple[list[tuple[str, str]], int]] = []
    for process, out in recorders:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0 or not out.exists():
            raise RuntimeError(f"py-spy failed: {stderr.decode(errors='replace').strip()[-500:]}")
        stacks += _read(out)
    return summarise(stacks)


def _read(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    # "\n" only: --nonblocking sampling can read a half-updated name with odd characters in
    # it, and such a sample is dropped below rather than split into a bogus line.
    for line in path.read_text(errors="replace").split("\n"):
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            if match:
                frames.append((match["function"], match["file"]))
        stacks.append((frames, int(count)))
    return stacks


def _layer(frames: list[tuple[str, str]]) -> str:
    for function, file in reversed(frames):
        for group, name, prefix in LAYERS:
            if file.startswith(prefix) and (not name or function.endswith(name)):
                return group
    return "other"


def summarise(stacks: list[tuple[list[tuple[str, str]], int]]) -> Profile:
    total = sum(count for _, count in stacks) or 1
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        layers[_layer(frames)] += count
        # Inclusive: a frame counts once per sample however deep it recurses. Middleware is
        # on every request's stack and says nothing about this one.
        for label in {
            f"{function} ({file})"
            for function, file in frames
            if file.startswith(OWN_CODE) and not function.endswith("Middleware.__call__")
        }:
            own[label] += count
    return Profile(
        samples=total,
        layers=[(group, count / total) for group, count in layers.most_common()],
        own_frames=[(label, count / total) for label, count in own.most_common(12)],
    )


def markdown(title: str, wall: Profile, cpu: Profile) -> str:
    cpu_shares = dict(cpu.layers)
    groups = [group for group, _ in wall.layers] + [
        g for g, _ in cpu.layers if g not in dict(wall.layers)
    ]
    rows = [
        f"**{title}** ({wall.samples:,} wall-clock samples, {cpu.samples:,} GIL-holding samples)",
        "",
        "| Layer | Share of wall-clock time | Share of Python CPU |",
        "|---|--:|--:|",
    ]
    wall_shares = dict(wall.layers)
    for group in groups:
        in_wall, in_cpu = wall_shares.get(group, 0.0), cpu_shares.get(group, 0.0)
        if max(in_wall, in_cpu) >= 0.005:
            rows.append(f"| {group} | {in_wall:.0%} | {in_cpu:.0%} |")
    rows += ["", "| Project code on the stack (inclusive, wall-clock) | Share |", "|---|--:|"]
    rows += [f"| `{label}` | {share:.0%} |" for label, share in wall.own_frames]
    return "\n".join(rows)

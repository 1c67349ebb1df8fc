"""What the Python benchmarks record about a run besides their numbers, and how they log."""
import subprocess
import sys
from pathlib import Path


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def git_commit():
    """The checkout's short commit id, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"

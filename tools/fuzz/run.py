"""Fuzzes the REST surface through the edge with Schemathesis, driven by the edge's own OpenAPI
document: every operation, as a member, a studio manager and an admin in turn. Nothing may
answer 5xx, leak internals, or send a body its schema does not describe.

Against `./pants up` (its demo logins): `./pants run tools/fuzz/run.py -- --max-examples 200`.
`tests/e2e/rest_fuzz_test.py` runs a bounded pass of the same on every `./pants test`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stack.seed import DEMO_PASSWORD, DEMO_STUDIO, DEMO_USERS
from stride.gateway.catalog import SERVICES

# Schemathesis' own checks that hold for any request (not those that need a valid resource or
# a stateful scenario); ours (fuzz.checks) run beside them.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
DOCUMENT_PATH = "/v1/openapi.json"
# A stream's response never ends while it is admitted: the exposure test covers its access.
STREAMS = sorted(
    f"{c.descriptor.containing_service.name}_{c.descriptor.name}"
    for service in SERVICES
    for c in service.edge_methods
    if c.descriptor.server_streaming
)
# `./pants up`'s demo logins by role: the member has none beyond it.
DEMO_CALLERS = {
    (grant[0] if grant else "member"): email
    for email, _, _, grant in DEMO_USERS
    if grant is None or grant[0] in ("manager", "admin")
}


@dataclass(frozen=True)
class Caller:
    role: str  # member, manager, admin
    access_token: str
    user_id: str  # Their own id: most fuzzed paths name the caller's resources.


def config(caller: Caller, studio: str) -> str:
    """Schemathesis' configuration: mostly the caller's own user and studio in paths, so
    requests get past authorization to where input is read, sometimes anyone's."""
    return "\n".join(
        [
            'hooks = "fuzz.checks"',
            "[dictionaries.callers]",
            f"values = [{json.dumps(caller.user_id)}]",
            "[dictionaries.studios]",
            f"values = [{json.dumps(studio)}]",
            "[parameters]",
            '"path.user" = { dictionary = "callers", probability = 0.8 }',
            '"path.studio" = { dictionary = "studios", probability = 0.8 }',
            "",
        ]
    )


def fuzz(
    base_url: str,
    caller: Caller,
    studio: str,
    report_dir: Path,
    *,
    max_examples: int,
    phases: str = "examples,coverage,fuzzing",
    workers: int = 1,
    seed: int | None = None,
) -> int:
    """One Schemathesis run as `caller`; returns its exit status (0: nothing failed). One worker
    by default: CPython 3.11.7's parser is not thread-safe (gh-106905), and Hypothesis parses
    source while describing strategies, which several worker threads did at once."""
    report_dir.mkdir(parents=True, exist_ok=True)
    config_path = report_dir / f"{caller.role}.toml"
    config_path.write_text(config(caller, studio))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_path),
        "run",
        f"{base_url}{DOCUMENT_PATH}",
        "--header",
        f"Authorization: Bearer {caller.access_token}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-junit-path",
        str(report_dir / f"{caller.role}.xml"),
        "--no-color",
        *(argument for stream in STREAMS for argument in ("--exclude-operation-id", stream)),
        *(["--seed", str(seed)] if seed is not None else []),
    ]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(command, check=False, env=environment).returncode


def sign_in(base_url: str, email: str, password: str) -> Caller:
    request = urllib.request.Request(  # noqa: S310 - the stack's own URL.
        f"{base_url}/v1/sessions:signIn",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = json.loads(response.read())
    token = body["credentials"]["accessToken"]
    return Caller("", token, body["user"]["name"].removeprefix("users/"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./pants run tools/fuzz/run.py --", description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--max-examples", type=int, default=200, help="per operation and role")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--report-dir", type=Path, default=Path("dist/fuzz"))
    parser.add_argument("--role", action="append", choices=sorted(DEMO_CALLERS))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    failed = []
    for role in args.role or sorted(DEMO_CALLERS):
        # Signed in afresh for each pass: access tokens live ten minutes.
        signed_in = sign_in(args.base_url, DEMO_CALLERS[role], DEMO_PASSWORD)
        caller = Caller(role, signed_in.access_token, signed_in.user_id)
        status = fuzz(
            args.base_url,
            caller,
            DEMO_STUDIO.removeprefix("studios/"),
            args.report_dir,
            max_examples=args.max_examples,
            phases=args.phases,
            workers=args.workers,
            seed=args.seed,
        )
        if status != 0:
            failed.append(role)
    print(f"fuzz: {'failures as ' + ', '.join(failed) if failed else 'nothing failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

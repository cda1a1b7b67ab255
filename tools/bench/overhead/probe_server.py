"""One probe server for the overhead bench's end-to-end figures, in a process of its own so its
CPU is measured apart from the client's:

    python -m bench.overhead.probe_server --chain full --loop uvloop

`full` is the platform's server (`stride.platform.grpc.server.start`: every interceptor, JSON
access logs, tracing, metrics); `bare` is grpc.aio with the same servicer and nothing else.
Prints its port and an access token it accepts (its keys are its own) on stdout, then serves
until its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import grpc
import uvloop

from stride.platform.observability.logging import configure_logging
from stride.platform.observability.tracing import configure_tracing
from stride.platform.probe.v1 import probe_service_pb2 as pb
from stride.platform.probe.v1 import probe_service_pb2_grpc as pb_grpc
from stride.platform.testing.probe_service import AnsweringProbe, access_token, start_probe


class BareProbe(AnsweringProbe):
    """Answers WhoAmI without a principal: a bare server authenticates nobody."""

    async def WhoAmI(  # noqa: N802
        self, request: pb.WhoAmIRequest, context: Any
    ) -> pb.WhoAmIResponse:
        return pb.WhoAmIResponse(user="users/user-1")


async def serve(chain: str) -> None:
    if chain == "full":
        running = await start_probe(AnsweringProbe(), grpc_host="127.0.0.1")
        port, stop = running.port, running.stop
    else:
        server = grpc.aio.server()
        pb_grpc.add_ProbeServiceServicer_to_server(BareProbe(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()

        async def stop() -> None:
            await server.stop(None)

    token = access_token(sub="user-1", exp=int(time.time()) + 3600)
    print(port, token, flush=True)
    await asyncio.to_thread(sys.stdin.read)  # Until the bench closes our stdin.
    await stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/overhead/probe_server")
    parser.add_argument("--chain", choices=("full", "bare"), required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), required=True)
    args = parser.parse_args()
    # As `run_service` configures a service process: JSON lines on stderr, tracing on.
    configure_logging("probe")
    configure_tracing("probe", None)
    if args.loop == "uvloop":
        uvloop.run(serve(args.chain))
    else:
        asyncio.run(serve(args.chain))


if __name__ == "__main__":
    main()

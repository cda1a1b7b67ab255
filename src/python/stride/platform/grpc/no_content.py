"""A REST answer with no body: an RPC returning `google.api.HttpBody` may ask the edge to send
it as 204 No Content, which some providers' webhooks require to the status (Fitbit's
subscriber endpoint). The edge turns the marker into the status (`stride.gateway`); gRPC
callers see the marker as metadata and an empty body."""

from __future__ import annotations

from google.api import httpbody_pb2

import grpc

NO_CONTENT_METADATA_KEY = "x-stride-no-content"


async def no_content(context: grpc.aio.ServicerContext) -> httpbody_pb2.HttpBody:
    await context.send_initial_metadata(((NO_CONTENT_METADATA_KEY, "1"),))
    return httpbody_pb2.HttpBody()

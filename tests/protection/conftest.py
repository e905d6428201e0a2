"""Fixtures for the protection tests: a recording stand-in for Cloud DLP.

The stand-in is a real gRPC server on 127.0.0.1 speaking
``google.privacy.dlp.v2.DlpService/DeidentifyContent``, so the real client,
its serialization and its error mapping are exercised; it masks e-mail
addresses the way a replace-with-info-type template would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import pytest
from google.cloud import dlp_v2

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SUCCESS = dlp_v2.TransformationSummary.TransformationResultCode.SUCCESS


@dataclass
class FakeDlp:
    """The server's address, what it received and the failures it will give."""

    endpoint: str
    requests: list[dlp_v2.DeidentifyContentRequest] = field(default_factory=list)
    request_bytes: list[int] = field(default_factory=list)
    # Status codes to answer with, one per call, before answering normally.
    failures: list[grpc.StatusCode] = field(default_factory=list)
    # Clients the test opened, closed before the server stops.
    clients: list[dlp_v2.DlpServiceClient] = field(default_factory=list)

    def client(self) -> dlp_v2.DlpServiceClient:
        """A real DLP client on this server, closed when the test ends."""
        from llmops.protection import DlpRedactor

        client = DlpRedactor.client(self.endpoint, insecure=True)
        self.clients.append(client)
        return client

    def deidentify(
        self, request: dlp_v2.DeidentifyContentRequest, context: grpc.ServicerContext
    ) -> dlp_v2.DeidentifyContentResponse:
        self.requests.append(request)
        self.request_bytes.append(
            len(dlp_v2.DeidentifyContentRequest.serialize(request))
        )
        if self.failures:
            code = self.failures.pop(0)
            context.abort(code, f"stand-in failure {code.name}")

        text = request.item.value
        count = len(_EMAIL.findall(text))
        summaries = []
        if count:
            summaries.append(
                dlp_v2.TransformationSummary(
                    info_type=dlp_v2.InfoType(name="EMAIL_ADDRESS"),
                    results=[
                        dlp_v2.TransformationSummary.SummaryResult(
                            count=count, code=_SUCCESS
                        )
                    ],
                )
            )
        return dlp_v2.DeidentifyContentResponse(
            item=dlp_v2.ContentItem(value=_EMAIL.sub("[EMAIL_ADDRESS]", text)),
            overview=dlp_v2.TransformationOverview(transformation_summaries=summaries),
        )


@pytest.fixture
def fake_dlp() -> Iterator[FakeDlp]:
    """A stand-in DLP server on a free 127.0.0.1 port, stopped after the test."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    fake = FakeDlp(endpoint=f"127.0.0.1:{port}")
    handler = grpc.method_handlers_generic_handler(
        "google.privacy.dlp.v2.DlpService",
        {
            "DeidentifyContent": grpc.unary_unary_rpc_method_handler(
                fake.deidentify,
                request_deserializer=dlp_v2.DeidentifyContentRequest.deserialize,
                response_serializer=dlp_v2.DeidentifyContentResponse.serialize,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    server.start()
    try:
        yield fake
    finally:
        for client in fake.clients:
            client.transport.close()
        server.stop(grace=None)

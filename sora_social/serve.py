"""`python -m sora_social.serve [daphne's own arguments]`: daphne, refusing oversized requests
from their head.

Daphne (through Twisted) receives a whole request body, into memory or a temporary file, before
the application sees the request, then queues all of it to the application at once: a 300 MB
upload took 22 s and +230 MB of server memory before Django's 413, 300 MB of JSON ended in
Django's HTML 400, and a request line over Twisted's 16 KB line limit dropped the connection
without an answer. This server is daphne with its HTTP channel and request replaced:
- a body whose Content-Length is over its route's limit (`sora_social/common/body_limits.py`)
  is answered 413 as soon as the headers are in, before a byte of it is read;
- a chunked body is counted as it arrives and refused the same way once past the limit (one
  within it reaches Django with its Content-Length, which Django's ASGI handler needs: without
  one it reads no body at all);
- a request line over 16 KB is answered 414, header lines over 16 KB in all 431;
all in the error shape, with `Connection: close`. After such an answer the connection is half
closed and what the client still sends is read and dropped (for at most LINGER_S): closing it
outright would make the kernel reset a client that is still sending, and a reset can destroy
the answer before the client reads it.
"""

from __future__ import annotations

import sys
from urllib.parse import unquote, urlsplit

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.internet import reactor
from twisted.web import http

LINGER_S = 10.0
_REASONS = {413: b"Content Too Large", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def _path_of(target: bytes) -> str:
    """The path of a request target (origin form or absolute form)."""
    text = target.decode("ascii", "replace")
    if not text.startswith("/"):
        text = urlsplit(text).path or "/"
    return unquote(text.split("?", 1)[0])


def _response(status: int, body: bytes) -> bytes:
    head = [
        b"HTTP/1.1 %d %s" % (status, _REASONS[status]),
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
        b"Connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _drop(*args) -> None:
    return None


def refuse_and_drain(channel: http.HTTPChannel, status: int, body: bytes) -> None:
    """Answer `status` on this connection at once, then drop whatever the client still sends."""
    if getattr(channel, "refused", False):
        return
    channel.refused = True
    # Every way received bytes reach the HTTP parser now leads nowhere: nothing is buffered.
    channel.clearLineBuffer()
    channel.dataReceived = channel.rawDataReceived = channel.lineReceived = _drop
    transport = channel.transport
    transport.write(_response(status, body))
    transport.loseWriteConnection()

    def give_up() -> None:
        if transport.connected:
            transport.abortConnection()

    reactor.callLater(LINGER_S, give_up)


def _too_large(path: str, limit: int) -> bytes:
    from sora_social.common.body_limits import body_too_large

    return body_too_large(path=path, limit=limit)


def _head_refusal(path: str, status: int) -> bytes:
    from sora_social.common.body_limits import refusal_body

    if status == 414:
        return refusal_body(path=path, code="uri_too_long", message="The request URL is longer than 16 KB.")
    return refusal_body(
        path=path, code="request_headers_too_large", message="The request's header fields are larger than 16 KB."
    )


class GuardedHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel, answering oversized heads and bodies instead of reading them."""

    refused = False

    def _in_request_line(self) -> bool:
        # Twisted keeps "the next line is a request line" in a name-mangled attribute.
        return bool(getattr(self, "_HTTPChannel__first_line", 0))

    def lineLengthExceeded(self, line: bytes) -> None:
        # Twisted's LineReceiver would drop the connection without a word.
        status = 414 if self._in_request_line() else 431
        target = line.split(b" ", 2)[1] if status == 414 and line.count(b" ") >= 1 else b"/"
        refuse_and_drain(self, status, _head_refusal(_path_of(target[:2048]), status))

    def lineReceived(self, line: bytes) -> None:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            status = 414 if self._in_request_line() else 431
            path = _path_of(getattr(self, "_path", b"/")) if status == 431 else "/"
            refuse_and_drain(self, status, _head_refusal(path, status))
            return
        super().lineReceived(line)

    def allHeadersReceived(self) -> None:
        from sora_social.common.body_limits import request_body_limit

        request = self.requests[-1]
        if self.length != 0:  # a Content-Length, or None for a chunked body
            path = _path_of(self._path)
            content_type = (request.requestHeaders.getRawHeaders(b"content-type") or [b""])[0]
            limit = request_body_limit(path=path, content_type=content_type.decode("latin-1"))
            if self.length is not None and self.length > limit:
                # Before gotLength (no body file) and before any "100 Continue".
                refuse_and_drain(self, 413, _too_large(path, limit))
                return
            request.body_limit = (path, limit)
        super().allHeadersReceived()


class GuardedWebRequest(WebRequest):
    """Daphne's request, counting a chunked body against its limit as it arrives."""

    body_limit: tuple[str, int] | None = None
    body_received = 0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Twisted parses a POSTed form itself (for request.args, which daphne never reads) and, on
        # a multipart body it cannot parse, answers a bare 400 with no body before Django sees
        # it. Django parses (and refuses, in the API's error shape) the body instead.
        self._parsePOSTFormSubmission = False

    def handleContentChunk(self, data: bytes) -> None:
        if self.channel is None or getattr(self.channel, "refused", False):
            return
        self.body_received += len(data)
        if self.body_limit is not None and self.body_received > self.body_limit[1]:
            path, limit = self.body_limit
            refuse_and_drain(self.channel, 413, _too_large(path, limit))
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version) -> None:
        if self.channel is not None and getattr(self.channel, "refused", False):
            return  # the end of a body already refused: there is no request to run
        if self.requestHeaders.hasHeader(b"transfer-encoding"):
            # Twisted has de-chunked the body; Django reads only as many bytes as Content-Length
            # says (none without it), so say how many there are.
            self.requestHeaders.removeHeader(b"transfer-encoding")
            self.requestHeaders.setRawHeaders(b"content-length", [b"%d" % self.body_received])
        super().requestReceived(command, path, version)


def _guarded_channel(factory: http.HTTPFactory) -> http._GenericHTTPChannelProtocol:
    # As twisted's own _genericHTTPChannelProtocolFactory, with our channel inside.
    return http._GenericHTTPChannelProtocol(GuardedHTTPChannel())


class GuardedHTTPFactory(HTTPFactory):
    protocol = _guarded_channel

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = GuardedWebRequest
        return protocol


class GuardedServer(daphne_server.Server):
    def run(self) -> None:
        # daphne's run() builds its HTTP factory from this module-level name.
        daphne_server.HTTPFactory = GuardedHTTPFactory
        super().run()


class GuardedCommandLineInterface(CommandLineInterface):
    server_class = GuardedServer


if __name__ == "__main__":
    GuardedCommandLineInterface().run(sys.argv[1:])

"""The two ways a call to another agent fails: the peer is unreachable, or the peer refused."""
from __future__ import annotations

from app.errors import ApiError


class PeerError(Exception):
    """A call to a peer agent gave no answer to use (base of the two kinds below)."""

    err_code_out = "Agent.RPC.RequestFailed"

    def __init__(self, message: str, method: str, path: str, server: str):
        super().__init__(message)
        self.method, self.path, self.server = method, path, server

    @property
    def detail(self) -> str:
        """The failure in a few words, without the request line."""
        raise NotImplementedError

    def to_api_error(self) -> ApiError:
        """The error this agent reports to its own caller."""
        return ApiError(self.err_code_out, str(self))


class PeerUnreachable(PeerError):
    """No usable answer: connection refused, DNS, timeout, TLS, or a reply that is no envelope."""

    def __init__(self, method: str, path: str, server: str, reason: str):
        super().__init__(f"Request [{method}]{path} to {server} failed: {reason}", method, path,
                         server)
        self.reason = reason

    @property
    def detail(self) -> str:
        return self.reason


class PeerRefused(PeerError):
    """The peer answered with an error envelope: its HTTP status, errCode, message and code."""

    err_code_out = "Agent.RPC.RequestError"

    def __init__(self, method: str, path: str, server: str, status: int, err_code: str,
                 message: str, code: int = 0):
        shown = f"{err_code}: {message}" if err_code else message
        super().__init__(f"Request [{method}]{path} to {server} error: {shown}", method, path,
                         server)
        self.status, self.err_code, self.message, self.code = status, err_code, message, code

    @property
    def detail(self) -> str:
        return f"{self.err_code}: {self.message}"

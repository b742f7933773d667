"""What the client commands share: HOST:PORT and key=value parsing, passwords, calls, errors.

Client commands speak the v2 hybrid-encrypted API through `AgentClient`, the code agents use
to call each other. Exit codes: 0 success, 1 a failed DAG or check, 2 usage or connection.
"""
from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import click

from app.peer.client import AgentClient
from app.peer.errors import PeerError, PeerRefused, PeerUnreachable
from app.cli.render import error_hint

DEFAULT_AGENT_PORT = 2886
EXIT_FAILED = 1
EXIT_USAGE = 2
OPEN_IDENTITIES = ("SINGLE", "UNIDENTIFIED")


class ClientError(click.ClickException):
    """A request could not be made or was refused: exit status 2."""

    exit_code = EXIT_USAGE


class HostPort(click.ParamType):
    """HOST:PORT, [IPv6]:PORT or HOST (port 2886)."""

    name = "HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_host_port(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def parse_host_port(value: str, default_port: int = DEFAULT_AGENT_PORT) -> tuple[str, int]:
    """'10.0.0.1:2886' -> ('10.0.0.1', 2886); '[::1]:2886' and a bare host work too."""
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or (":" in host and not _is_ip(host)):
        raise ValueError(f"{value!r} is not HOST:PORT")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port {port_text!r} in {value!r} is not a number in 1-65535")
    return host, int(port_text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_configs(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """-c key=value pairs -> {key: value}; a later key wins; 'key' alone or '=v' is an error."""
    configs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not key=value", param_hint="'-c'")
        configs[key.strip()] = value.strip()
    return configs


def agent_option(function: Callable) -> Callable:
    """--agent HOST:PORT (required) and --password-env VAR."""
    function = click.option("--password-env", metavar="VAR",
                            help="Read the root@sys password from this environment variable "
                                 "(default: a hidden prompt when the agent needs one).")(function)
    return click.option("--agent", "agent", required=True, type=HostPort(),
                        help="The agent to talk to (a CLUSTER AGENT for scale-out); port 2886 "
                             "if omitted.")(function)


def env_secret(env_name: str) -> str:
    """The value of an environment variable that must be set."""
    value = os.environ.get(env_name)
    if value is None:
        raise ClientError(f"environment variable {env_name} is not set")
    return value


@dataclass
class Session:
    """One agent, the password to send it, and how the user named both (for hints)."""

    client: AgentClient
    password: str
    password_env: str | None

    @property
    def agent(self) -> str:
        """The agent as HOST:PORT."""
        return self.client.server

    def call(self, method: str, path: str, body: Any = None,
             query: Mapping[str, Any] | None = None, retry_s: float = 0.0) -> Any:
        """A v2 request; refusals, and transport failures past retry_s, are ClientError."""
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return self.client.request(method, path, body, auth=self.password, query=query)
            except PeerUnreachable as exc:
                if time.monotonic() >= deadline:
                    raise ClientError(describe(exc)) from None
            except PeerRefused as exc:
                raise ClientError(describe(exc)) from None
            time.sleep(1.0)


def describe(exc: PeerError) -> str:
    """The message for a failed call, with a hint for a known errCode."""
    if isinstance(exc, PeerRefused) and exc.err_code:
        hint = error_hint(exc.err_code, exc.message, exc.server)
        return f"{exc.server}: {exc.err_code}: {exc.message}" + (f"\nhint: {hint}" if hint else "")
    return str(exc)


def _needs_password(client: AgentClient) -> bool:
    """A SINGLE agent without an agent password takes any password (the SDK sends '')."""
    try:
        info = client.info()
    except PeerError as exc:
        raise ClientError(describe(exc)) from None
    return info.get("identity") not in OPEN_IDENTITIES or bool(info.get("security"))


def open_session(agent: tuple[str, int], password_env: str | None,
                 timeout: float = 15.0) -> Session:
    """A session with the password from the environment, or from a prompt when needed."""
    client = AgentClient(agent[0], agent[1], timeout=timeout)
    if password_env:
        return Session(client, env_secret(password_env), password_env)
    password = ""
    if _needs_password(client):
        password = click.prompt(f"root@sys password for {client.server}", hide_input=True,
                                default="", show_default=False)
    return Session(client, password, None)

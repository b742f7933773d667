"""Talking to other agents: the v2 client, the calls stages make, and one error vocabulary.

Every failed call raises PeerUnreachable (no usable answer) or PeerRefused (an error envelope);
both are PeerError.
"""
from app.peer.calls import (address, call, client_for, encrypt_for, get_dag, info, post_operator,
                            scale_out_rpc, server_time)
from app.peer.errors import PeerError, PeerRefused, PeerUnreachable

__all__ = ["PeerError", "PeerRefused", "PeerUnreachable", "address", "call", "client_for",
           "encrypt_for", "get_dag", "info", "post_operator", "scale_out_rpc", "server_time"]

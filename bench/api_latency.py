"""API latency: GET /api/v1/time vs an SDK-style authenticated request vs pure decryption.

Prints one JSON object. Starts its own `obscale serve` (2 workers, loopback) unless given
--agent HOST:PORT. Loops are bounded (--requests). Goal: overhead_ratio =
auth_ms_median / (crypto_ms_median + time_ms_median) <= 1.3.
"""
from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.security import crypto, keystore  # noqa: E402

BENCH_IP, BENCH_PORT = "127.0.0.19", 2886
URI = "/api/v1/admin/ping"
# The §5.8 example body: what a scale-out request carries.
BODY = json.dumps({"agentInfo": {"ip": "10.0.0.4", "port": 2886}, "zone": "zone2",
                   "obConfigs": {"mysql_port": "2881", "rpc_port": "2882"},
                   "targetAgentPassword": ""}).encode()


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median": round(statistics.median(ordered), 3),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
            "rps": round(1000.0 / statistics.mean(ordered), 1)}


def _timed(call) -> float:
    started = time.perf_counter()
    resp = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert resp.status_code == 200, resp.text
    return elapsed


def time_request(base_url: str) -> float:
    """(a) GET /api/v1/time, a new connection each time (as the SDK's module-level calls)."""
    return _timed(lambda: requests.get(base_url + "/api/v1/time", timeout=10))


def auth_request(base_url: str, public_key, auth: str) -> tuple[float, crypto.OutgoingRequest]:
    """(b) POST with a fresh v2 header and AES body, 53-byte chunks, no Content-Type (SDK style)."""
    out = crypto.build_v2_request(public_key, auth, URI, BODY)
    headers = {"X-OCS-Header": out.header}
    return _timed(lambda: requests.request("POST", base_url + URI, headers=headers,
                                           data=out.body, timeout=10)), out


def decryption_cost(private_key, out: crypto.OutgoingRequest) -> float:
    """The pure RSA + AES decryption of one header and body, in process."""
    started = time.perf_counter()
    plain = crypto.rsa_decrypt_blocks(private_key, crypto.b64decode_strict(out.header))
    keys = crypto.b64decode_strict(json.loads(plain)["keys"])
    crypto.aes_decrypt(keys, crypto.b64decode_strict(out.body))
    return (time.perf_counter() - started) * 1000


def _remote_keys(base_url: str, key_file: str | None):
    """The agent's public key, and a private key to measure decryption with."""
    public_b64 = requests.get(base_url + "/api/v1/secret", timeout=10).json()["data"]["public_key"]
    if key_file:
        store = keystore.load_key_file(Path(key_file))
        return store.public_key, store.private_key
    # No access to the agent's key: an equal-size local key costs the same to decrypt with.
    bits = crypto.public_key_from_b64(public_b64).key_size
    local = tempfile.mkdtemp(prefix="obscale-bench-key-")
    store = keystore.open_keystore(str(Path(local) / "key.pem"), bits)
    return crypto.public_key_from_b64(public_b64), store.private_key, store.public_key


def measure(base_url: str, count: int, key_file: str | None, auth: str) -> dict:
    """Interleave (a), (b) and the in-process decryption so load changes hit all three alike."""
    keys = _remote_keys(base_url, key_file)
    samples: dict[str, list[float]] = {"time": [], "auth": [], "crypto": []}
    for index in range(count + 10):  # the first 10 rounds warm up
        took_time = time_request(base_url)
        took_auth, out = auth_request(base_url, keys[0], auth)
        if len(keys) == 3:  # local stand-in key: an equivalent request under it
            out = crypto.build_v2_request(keys[2], auth, URI, BODY)
        took_crypto = decryption_cost(keys[1], out)
        if index >= 10:
            for name, value in (("time", took_time), ("auth", took_auth), ("crypto", took_crypto)):
                samples[name].append(value)
    time_ms, auth_ms, crypto_ms = (_ms(samples[n]) for n in ("time", "auth", "crypto"))
    return {
        "requests": count, "workers": 2,
        "time_ms_median": time_ms["median"], "time_ms_p99": time_ms["p99"],
        "time_rps": time_ms["rps"],
        "auth_ms_median": auth_ms["median"], "auth_ms_p99": auth_ms["p99"],
        "auth_rps": auth_ms["rps"],
        "crypto_ms_median": crypto_ms["median"], "crypto_ms_p99": crypto_ms["p99"],
        "overhead_ratio": round(auth_ms["median"] / (crypto_ms["median"] + time_ms["median"]), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", help="HOST:PORT of a running agent (default: start one)")
    parser.add_argument("--key-file", help="the agent's private key, for the crypto figure")
    parser.add_argument("--auth", default="", help="Auth for the agent's identity")
    parser.add_argument("--requests", type=int, default=300, choices=range(20, 5001),
                        metavar="N", help="requests per measurement (20-5000, default 300)")
    args = parser.parse_args()
    if args.agent:
        report = measure(f"http://{args.agent}", args.requests, args.key_file, args.auth)
    else:
        sys.path.insert(0, str(ROOT))
        from tests.support.agents import serve_agent

        with tempfile.TemporaryDirectory(prefix="obscale-bench-") as tmp:
            with serve_agent(BENCH_IP, Path(tmp) / "home", port=BENCH_PORT) as agent:
                key_file = str(agent.state_dir / "agent_key.pem")
                report = measure(agent.base_url, args.requests, key_file, args.auth)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""API latency: GET /api/v1/time vs an SDK-style authenticated request vs pure decryption.

Prints one JSON object. Starts its own `obscale serve` (--workers, default 2, loopback) unless
given --agent HOST:PORT. Loops are bounded (--requests). Goals: overhead_ratio =
auth_ms_median / (crypto_ms_median + time_ms_median) <= 1.3; with --slow-clients (100)
connections open that each trickle a partial request (a byte every 2 s, reopened whenever the
agent closes one), GET /api/v1/info and the authenticated request both answer within 1 s:
info_ms_p99_slow_clients and auth_ms_p99_slow_clients <= 1000, beside the idle info_ms_p99.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.security import crypto, keystore  # noqa: E402
from tests.support.slow_clients import SlowClients  # noqa: E402

BENCH_IP, BENCH_PORT = "127.0.0.19", 2886
SLOW_PHASE_MIN_S = 15.0  # three times the agent's default request read timeout (5 s)
SLOW_PHASE_MAX_S = 300.0
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


def info_request(base_url: str) -> float:
    """GET /api/v1/info (what the SDK, the CLI and other agents ask first)."""
    return _timed(lambda: requests.get(base_url + "/api/v1/info", timeout=10))


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


def _public_key(base_url: str):
    """The agent's public key, from GET /api/v1/secret."""
    public_b64 = requests.get(base_url + "/api/v1/secret", timeout=10).json()["data"]["public_key"]
    return crypto.public_key_from_b64(public_b64)


def _remote_keys(base_url: str, key_file: str | None):
    """The agent's public key, and a private key to measure decryption with."""
    public_key = _public_key(base_url)
    if key_file:
        store = keystore.load_key_file(Path(key_file))
        return store.public_key, store.private_key
    # No access to the agent's key: an equal-size local key costs the same to decrypt with.
    local = tempfile.mkdtemp(prefix="obscale-bench-key-")
    store = keystore.open_keystore(str(Path(local) / "key.pem"), public_key.key_size)
    return public_key, store.private_key, store.public_key


def measure(base_url: str, count: int, key_file: str | None, auth: str) -> dict:
    """Interleave (a), (b), the in-process decryption and /info so load changes hit all alike."""
    keys = _remote_keys(base_url, key_file)
    samples: dict[str, list[float]] = {"time": [], "auth": [], "crypto": [], "info": []}
    for index in range(count + 10):  # the first 10 rounds warm up
        took_time = time_request(base_url)
        took_auth, out = auth_request(base_url, keys[0], auth)
        if len(keys) == 3:  # local stand-in key: an equivalent request under it
            out = crypto.build_v2_request(keys[2], auth, URI, BODY)
        took_crypto = decryption_cost(keys[1], out)
        took_info = info_request(base_url)
        if index >= 10:
            for name, value in (("time", took_time), ("auth", took_auth), ("crypto", took_crypto),
                                ("info", took_info)):
                samples[name].append(value)
    time_ms, auth_ms, crypto_ms, info_ms = (_ms(samples[n])
                                            for n in ("time", "auth", "crypto", "info"))
    return {
        "requests": count,
        "time_ms_median": time_ms["median"], "time_ms_p99": time_ms["p99"],
        "time_rps": time_ms["rps"],
        "auth_ms_median": auth_ms["median"], "auth_ms_p99": auth_ms["p99"],
        "auth_rps": auth_ms["rps"],
        "crypto_ms_median": crypto_ms["median"], "crypto_ms_p99": crypto_ms["p99"],
        "overhead_ratio": round(auth_ms["median"] / (crypto_ms["median"] + time_ms["median"]), 3),
        "info_ms_median": info_ms["median"], "info_ms_p99": info_ms["p99"],
    }


def measure_slow_clients(base_url: str, address: tuple[str, int], count: int, slow: int,
                         auth: str) -> dict:
    """/info and the authenticated request while `slow` connections trickle partial requests.

    At least `count` of each, over at least SLOW_PHASE_MIN_S (so the agent closes the slow
    connections, and they come back, during it). Each request may take 10 s; after 3 failures
    (the sync worker's fate) the phase stops.
    """
    public_key = _public_key(base_url)
    samples: dict[str, list[float]] = {"info": [], "auth": []}
    failures = 0
    with SlowClients(address, slow, reopen=True, duration_s=SLOW_PHASE_MAX_S) as clients:
        time.sleep(1.0)  # let every slow connection reach the agent
        started = time.monotonic()
        while (len(samples["info"]) < count or time.monotonic() - started < SLOW_PHASE_MIN_S) \
                and time.monotonic() - started < SLOW_PHASE_MAX_S:
            time.sleep(0.01)  # about 50 pairs a second: a busy agent, not a flood
            try:
                samples["info"].append(info_request(base_url))
                samples["auth"].append(auth_request(base_url, public_key, auth)[0])
            except (requests.RequestException, AssertionError):
                failures += 1
                if failures >= 3:
                    break
        elapsed = time.monotonic() - started
        closed = clients.closed
    info_ms = _ms(samples["info"]) if samples["info"] else {"p99": None, "median": None}
    auth_ms = _ms(samples["auth"]) if samples["auth"] else {"p99": None, "median": None}
    return {
        "slow_clients": slow, "slow_clients_closed_by_agent": closed,
        "slow_clients_phase_s": round(elapsed, 1), "slow_clients_failures": failures,
        "info_ms_median_slow_clients": info_ms["median"],
        "info_ms_p99_slow_clients": info_ms["p99"],
        "auth_ms_p99_slow_clients": auth_ms["p99"],
    }


def _worker_class(log_file: Path) -> str | None:
    """The worker class gunicorn reports in its log (`Using worker: ...`)."""
    for line in log_file.read_text(errors="replace").splitlines():
        if "Using worker:" in line:
            return line.split("Using worker:", 1)[1].strip()
    return None


def run(base_url: str, args: argparse.Namespace, key_file: str | None) -> dict:
    """Every figure against one agent: idle first, then with the slow clients."""
    report = measure(base_url, args.requests, key_file, args.auth)
    if args.slow_clients:
        url = urlsplit(base_url)
        report.update(measure_slow_clients(base_url, (url.hostname, url.port), args.requests,
                                           args.slow_clients, args.auth))
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", help="HOST:PORT of a running agent (default: start one)")
    parser.add_argument("--key-file", help="the agent's private key, for the crypto figure")
    parser.add_argument("--auth", default="", help="Auth for the agent's identity")
    parser.add_argument("--requests", type=int, default=300, choices=range(20, 5001),
                        metavar="N", help="requests per measurement (20-5000, default 300)")
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 17), metavar="N",
                        help="gunicorn workers of the agent this script starts (default 2)")
    parser.add_argument("--slow-clients", type=int, default=100, choices=range(0, 501),
                        metavar="N", help="slow connections for the second phase (0 = skip)")
    args = parser.parse_args()
    if args.agent:
        report = run(f"http://{args.agent}", args, args.key_file)
    else:
        sys.path.insert(0, str(ROOT))
        from tests.support.agents import serve_agent

        with tempfile.TemporaryDirectory(prefix="obscale-bench-") as tmp:
            with serve_agent(BENCH_IP, Path(tmp) / "home", port=BENCH_PORT,
                             workers=args.workers) as agent:
                key_file = str(agent.state_dir / "agent_key.pem")
                report = {"workers": args.workers,
                          "worker_class": _worker_class(agent.state_dir / "log" / "agent.log")}
                report.update(run(agent.base_url, args, key_file))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

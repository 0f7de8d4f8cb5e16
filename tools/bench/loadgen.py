"""A small closed-loop HTTP load generator, run as its own process by benchmarks.

    python -m tools.bench.loadgen --port 8123 --path '/api/v1/products/?x={n}' --seconds 5 --concurrency 4

Each of ``concurrency`` threads keeps one HTTP/1.1 connection and sends the next
request as soon as the previous answer is read, until ``seconds`` have passed
(bounded in time and to 127.0.0.1 only). ``{n}`` in the path becomes a request
counter (unique URLs defeat caches). Prints one JSON line: requests, errors,
requests per second, p50 and p99 latency in milliseconds.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import threading
import time


def run(*, port: int, path: str, seconds: float, concurrency: int) -> dict[str, float]:
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        local_errors = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path.replace("{n}", str(next(counter))), headers={"Host": "localhost"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    local_errors += 1
            except (OSError, http.client.HTTPException):
                local_errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            local.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(local)
            errors += local_errors

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 2) if latencies else 0.0

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(run(port=args.port, path=args.path, seconds=args.seconds, concurrency=args.concurrency)))


if __name__ == "__main__":
    main()

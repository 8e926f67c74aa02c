"""gRPC load client for users.v1.Auth/AuthenticateStreamKey (runs in bench/.venv with grpcio).

usage: auth_client.py HOST:PORT SERVICE_TOKEN STREAM_KEY fixed|max SECONDS RATE

fixed: open loop, one call every 1/RATE s regardless of answers (no coordinated omission: latency
       is measured from the scheduled send time); prints p50/p99.
max:   closed loop, 2 processes × 32 calls in flight for SECONDS; prints achieved req/s.
The request is hand-encoded protobuf (field 1, string), so no generated stubs are needed.
Prints one JSON line; client CPU is reported so readers can judge whether the client capped it.
"""

import asyncio
import json
import multiprocessing
import os
import sys
import time

import grpc

METHOD = "/users.v1.Auth/AuthenticateStreamKey"


def encode(key: str) -> bytes:
    raw = key.encode()
    n, varint = len(raw), bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        varint.append(b | (0x80 if n else 0))
        if not n:
            break
    return b"\x0a" + bytes(varint) + raw


def pct(xs, q):
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))]


async def fixed(target, token, key, seconds, rate):
    async with grpc.aio.insecure_channel(target) as ch:
        call = ch.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        md = (("x-service-token", token),)
        req = encode(key)
        warm_end = time.perf_counter() + 3
        for _ in range(100):  # connect + warm (sequential: never a burst; at most 3 s)
            if time.perf_counter() > warm_end:
                break
            try:
                await call(req, metadata=md, timeout=2)
            except grpc.aio.AioRpcError:
                pass
        lat, errors = [], []
        tasks = []

        async def one(scheduled):
            try:
                await call(req, metadata=md, timeout=2)
                lat.append(time.perf_counter() - scheduled)
            except grpc.aio.AioRpcError as e:
                errors.append(e.code().name)

        n = int(seconds * rate)
        start = time.perf_counter() + 0.01
        late = 0
        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late += 1  # the client itself could not keep the schedule
            tasks.append(asyncio.ensure_future(one(scheduled)))
        sent = time.perf_counter() - start
        await asyncio.gather(*tasks)
        if not lat:
            return {"n": n, "rate": n / sent, "p50_ms": None, "p99_ms": None, "max_ms": None,
                    "errors": len(errors), "error_codes": sorted(set(errors))[:3], "late_sends": late}
        return {"n": n, "rate": n / sent, "late_sends": late, "p50_ms": pct(lat, 50) * 1e3, "p99_ms": pct(lat, 99) * 1e3,
                "max_ms": max(lat) * 1e3, "errors": len(errors), "error_codes": sorted(set(errors))[:3]}


async def closed(target, token, key, seconds, concurrency):
    async with grpc.aio.insecure_channel(target) as ch:
        call = ch.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        md = (("x-service-token", token),)
        req = encode(key)
        try:
            await call(req, metadata=md, timeout=2)
        except grpc.aio.AioRpcError:
            pass
        lat, errors = [], 0
        end = time.perf_counter() + seconds

        async def worker():
            nonlocal errors
            while time.perf_counter() < end:
                t = time.perf_counter()
                try:
                    await call(req, metadata=md, timeout=2)
                    lat.append(time.perf_counter() - t)
                except grpc.aio.AioRpcError:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(lat), errors, time.perf_counter() - t0, lat


def closed_proc(args, q):
    try:
        n, errors, el, lat = asyncio.run(closed(*args))
    except Exception as e:  # noqa: BLE001 - reported to the parent
        q.put(("error", repr(e)))
        return
    t = os.times()
    q.put((n, errors, el, lat[:: max(1, len(lat) // 20000)], t.user + t.system))


def main():
    target, token, key, mode, seconds, rate = sys.argv[1:7]
    seconds, rate = float(seconds), float(rate)
    if mode == "fixed":
        t0, c0 = time.perf_counter(), os.times()
        out = asyncio.run(fixed(target, token, key, seconds, rate))
        c1 = os.times()
        out["client_cpu"] = ((c1.user + c1.system) - (c0.user + c0.system)) / (time.perf_counter() - t0)
    else:
        procs, concurrency = 2, 32
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        ps = [ctx.Process(target=closed_proc, args=((target, token, key, seconds, concurrency), q))
              for _ in range(procs)]
        t0 = time.perf_counter()
        for p in ps:
            p.start()
        parts = [q.get(timeout=seconds + 60) for _ in ps]
        for p in ps:
            p.join(timeout=10)
        errs = [p[1] for p in parts if p[0] == "error"]
        if errs:
            sys.exit(f"client process failed: {errs[0]}")
        el = max(p[2] for p in parts)
        lat = [x for p in parts for x in p[3]]
        out = {"rate": sum(p[0] for p in parts) / el, "errors": sum(p[1] for p in parts),
               "p99_ms": pct(lat, 99) * 1e3 if lat else None, "clients": procs, "concurrency": concurrency,
               "client_cpu": sum(p[4] for p in parts) / (time.perf_counter() - t0)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

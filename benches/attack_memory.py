"""Bounded local measurements of `bedrock-harness serve` under the attacks
of issue 22 (RELIABILITY.md quotes their figures). Each starts its own
server on 127.0.0.1, reports, and stops it.

    python3 benches/attack_memory.py BINARY halfclose [N=200]
        N requests, each on its own connection followed by a half-close:
        how many are answered and journaled.
    python3 benches/attack_memory.py BINARY journal [N=300]
        N unsigned 1 MiB posts, then GET /journal: the server's RSS.
    WAIT=170 SECOND_WAVE_AT=95 python3 benches/attack_memory.py BINARY readers [N=50]
        N clients ask for a streamed reply of 200,000 words and read
        nothing; every 5 s the RSS and the connections still open; at
        SECOND_WAVE_AT seconds, N more.
    python3 benches/attack_memory.py BINARY sts [RULES=1000000]
        20 unsigned AssumeRoleWithWebIdentity calls against an account of
        RULES rules: the time of each.

BINARY is a built `bedrock-harness` (target/debug or target/release).
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

STREAM = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream"
INVOKE = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke"


def rss(pid):
    """(resident, peak) in MB."""
    status = open(f"/proc/{pid}/status").read()
    get = lambda key: int(re.search(key + r":\s+(\d+) kB", status).group(1)) // 1024
    return get("VmRSS"), get("VmHWM")


def start(binary, config_text):
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    config.write(config_text)
    config.close()
    server = subprocess.Popen(
        [binary, "serve", "--port", "0", "--quiet", "--config", config.name],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", server.stdout.readline()).group(1))
    return server, port


def exchange(port, method, path, body=b"", headers="", half_close=False):
    """The status line and body of one request on its own connection."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
              f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
              f"{headers}\r\n".encode() + body)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while chunk := s.recv(1 << 20):
        out += chunk
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), rest


def count(port):
    return exchange(port, "GET", "/__bedrock_mock/journal/count", headers="connection: close\r\n")[1].decode()


def halfclose(binary, n):
    server, port = start(binary, '{"auth": "off"}')
    body = b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}'
    answered = []

    def one():
        status, _ = exchange(port, "POST", INVOKE, body, half_close=True)
        answered.append(status.startswith("HTTP/1.1 200"))

    clients = [threading.Thread(target=one) for _ in range(n)]
    [c.start() for c in clients]
    [c.join() for c in clients]
    print(f"{n} half-closed requests: {sum(answered)} answered, journal {count(port)}")
    server.terminate()
    server.wait()


def journal(binary, n):
    server, port = start(binary, '{"auth": "off"}')
    print(f"idle: rss {rss(server.pid)[0]} MB")
    for _ in range(n):
        exchange(port, "POST", "/model/x/invoke", b"x" * (1 << 20), "connection: close\r\n")
    print(f"after {n} posts of 1 MiB: rss {rss(server.pid)[0]} MB; journal {count(port)}")
    _, whole = exchange(port, "GET", "/__bedrock_mock/journal", headers="connection: close\r\n")
    print(f"GET /journal ({len(whole) >> 20} MiB): rss {rss(server.pid)[0]} MB, peak {rss(server.pid)[1]} MB")
    server.terminate()
    server.wait()


def readers(binary, n):
    server, port = start(binary, '{"auth": "off"}')
    text = " ".join(f"w{i % 1000}" for i in range(200_000))
    rule = json.dumps({"answer": {"reply": {"content": [{"type": "text", "text": text}]}}}).encode()
    exchange(port, "POST", "/__bedrock_mock/rules", rule, "connection: close\r\n")
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10_000_000,
                       "messages": [{"role": "user", "content": "."}]}).encode()
    print(f"idle: rss {rss(server.pid)[0]} MB; reply of {len(text)} bytes")
    stopped = []

    def stop_reading():
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(f"POST {STREAM} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                      f"content-length: {len(body)}\r\n\r\n".encode() + body)
            stopped.append(s)  # never read

    def open_connections():
        out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True).stdout
        return len(out.splitlines())

    stop_reading()
    for t in range(1, int(os.environ.get("WAIT", "60")) + 1):
        time.sleep(1)
        if t == int(os.environ.get("SECOND_WAVE_AT", "0")):
            print(f"{t:3d} s: {n} more stopped readers")
            stop_reading()
        if t % 5 == 0:
            now, peak = rss(server.pid)
            print(f"{t:3d} s: rss {now} MB, peak {peak} MB, {open_connections()} connections open")
    server.terminate()
    server.wait()


def sts(binary, rules):
    rule = json.dumps({"when": {"model": "no-such-model-*"}, "answer": {"error": {"code": "ThrottlingException"}}})
    server, port = start(binary, '{"rules": [' + ",".join([rule] * rules) + "]}")
    form = (b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/r"
            b"&RoleSessionName=s&WebIdentityToken=t")
    headers = "connection: close\r\n"
    exchange(port, "POST", "/", form, headers)
    began = time.perf_counter()
    for _ in range(20):
        status, _ = exchange(port, "POST", "/", form, headers)
    each = (time.perf_counter() - began) / 20 * 1000
    print(f"{rules} rules: {each:.1f} ms per unsigned AssumeRoleWithWebIdentity ({status})")
    server.terminate()
    server.wait()


if __name__ == "__main__":
    binary, what = sys.argv[1], sys.argv[2]
    defaults = {"halfclose": 200, "journal": 300, "readers": 50, "sts": 1_000_000}
    n = int(sys.argv[3]) if len(sys.argv) > 3 else defaults[what]
    {"halfclose": halfclose, "journal": journal, "readers": readers, "sts": sts}[what](binary, n)

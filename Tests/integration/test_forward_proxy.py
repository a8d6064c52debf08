"""Upstreams behind an HTTP forward proxy (a real tinyproxy on 127.0.0.1): HTTPS through a CONNECT tunnel,
plain HTTP as absolute-form requests, Basic proxy authentication, the proxy environment variables and NO_PROXY,
and a 502 naming the proxy when it refuses."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import free_port, read_records, wait_listening
from httpraw import exchange


class Tinyproxy:
    def __init__(self, *directives):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="kgb-tinyproxy-")
        self.log = os.path.join(self.dir, "tinyproxy.log")
        with open(os.path.join(self.dir, "tinyproxy.conf"), "w") as conf:
            conf.write("\n".join([f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "MaxClients 64",
                                  "Allow 127.0.0.1", "DisableViaHeader Yes", "LogLevel Connect",
                                  f"LogFile \"{self.log}\"", *directives]) + "\n")
        self.proc = subprocess.Popen([shutil.which("tinyproxy") or "/usr/bin/tinyproxy", "-d", "-c",
                                      os.path.join(self.dir, "tinyproxy.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, proc=self.proc)

    def requests(self):
        with open(self.log) as f:
            return [line.split("): ", 1)[1].strip() for line in f if "]: Request (file descriptor" in line]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def proxy():
    started = Tinyproxy()
    yield started
    started.stop()


def error_message(response):
    return json.loads(response.body)["error"]["message"]


def test_https_goes_through_a_connect_tunnel(proxy, tls_mock, certificates, kgb_factory):
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"],
                          "--upstream-proxy", f"http://127.0.0.1:{proxy.port}")
    response = exchange(gateway.port, "POST", "/v1/messages?events=5", [("Content-Type", "application/json")],
                        json.dumps({"model": "m", "stream": True, "messages": []}))
    assert response.status == 200 and b"message_stop" in response.body
    assert f"CONNECT localhost:{tls_mock.port} HTTP/1.1" in proxy.requests()


def test_plain_http_goes_as_absolute_form(proxy, mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--upstream-proxy", f"http://127.0.0.1:{proxy.port}")
    echoed = exchange(gateway.port, "GET", "/echo?x=1")
    assert echoed.status == 200
    body = json.loads(echoed.body)
    assert body["target"] == "/echo?x=1"
    assert ["Host", f"127.0.0.1:{mock.port}"] in body["headers"]
    assert f"GET http://127.0.0.1:{mock.port}/echo?x=1 HTTP/1.1" in proxy.requests()


def test_proxy_credentials_are_sent_and_checked(tls_mock, certificates, kgb_factory):
    proxy = Tinyproxy("BasicAuth agent s3cret")
    try:
        base = (f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"])
        without = kgb_factory(*base, "--upstream-proxy", f"http://127.0.0.1:{proxy.port}")
        response = exchange(without.port, "GET", "/status/200")
        assert response.status == 502
        assert f"forward proxy 127.0.0.1:{proxy.port}" in error_message(response) and "407" in error_message(response)
        assert "s3cret" not in response.body.decode()
        with_credentials = kgb_factory(*base, "--upstream-proxy", f"http://agent:s3cret@127.0.0.1:{proxy.port}")
        assert exchange(with_credentials.port, "GET", "/status/200").status == 200
    finally:
        proxy.stop()


def test_a_refused_connect_is_a_502_naming_the_proxy(tls_mock, certificates, kgb_factory):
    proxy = Tinyproxy("ConnectPort 443")
    try:
        gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"],
                              "--upstream-proxy", f"http://127.0.0.1:{proxy.port}")
        response = exchange(gateway.port, "GET", "/status/200")
        assert response.status == 502
        assert f"forward proxy 127.0.0.1:{proxy.port} refused CONNECT to localhost:{tls_mock.port}: 403" in error_message(response)
        assert read_records(gateway.log_path, 1)[0]["outcome"] == "upstream_error"
    finally:
        proxy.stop()


def test_an_unreachable_proxy_is_named(tls_mock, certificates, kgb_factory):
    dead = free_port()
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"],
                          "--upstream-proxy", f"http://127.0.0.1:{dead}")
    response = exchange(gateway.port, "GET", "/status/200")
    assert response.status == 502 and f"forward proxy 127.0.0.1:{dead}" in error_message(response)


def test_the_proxy_environment_and_no_proxy(proxy, tls_mock, certificates, kgb_factory):
    upstream = (f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"])
    via_env = kgb_factory(*upstream, env={"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"})
    assert exchange(via_env.port, "GET", "/status/200").status == 200
    assert f"CONNECT localhost:{tls_mock.port} HTTP/1.1" in proxy.requests()
    # A proxy that is not there proves each request below went direct.
    dead = f"http://127.0.0.1:{free_port()}"
    for exempt in ("localhost", ".localhost", f"localhost:{tls_mock.port}", "*", "example.com,localhost"):
        gateway = kgb_factory(*upstream, env={"https_proxy": dead, "NO_PROXY": exempt})
        assert exchange(gateway.port, "GET", "/status/200").status == 200, exempt
    not_exempt = kgb_factory(*upstream, env={"https_proxy": dead, "no_proxy": "example.com,localhost:1"})
    assert exchange(not_exempt.port, "GET", "/status/200").status == 502
    ignored = kgb_factory(*upstream, "--upstream-proxy", "none", env={"https_proxy": dead})
    assert exchange(ignored.port, "GET", "/status/200").status == 200
    # HTTP_PROXY is for http:// upstreams only.
    https_only = kgb_factory(*upstream, env={"HTTP_PROXY": dead})
    assert exchange(https_only.port, "GET", "/status/200").status == 200

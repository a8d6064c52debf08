"""Routes: the longest matching path prefix picks the upstream; a URL with a path replaces the prefix, one without
keeps it; unmatched paths get 404 when there is no default; route headers replace the client's and are never
logged."""
import json

import pytest

from conftest import read_records, start_mock
from httpraw import Conn, exchange, request


@pytest.fixture(scope="module")
def second_mock():
    process = start_mock()
    yield process
    process.stop()


def echo(gateway, target, headers=None):
    response = exchange(gateway.port, "GET", target, headers)
    assert response.status == 200, response.body
    return json.loads(response.body)


def header(echoed, name):
    return [value for key, value in echoed["headers"] if key.lower() == name.lower()]


def test_longest_prefix_wins_and_paths_follow_the_nginx_rule(mock, second_mock, kgb_factory):
    a, b = f"127.0.0.1:{mock.port}", f"127.0.0.1:{second_mock.port}"
    gateway = kgb_factory(f"http://{a}",
                          "--route", f"/openai/=http://{b}/",
                          "--route", f"/openai/special/=http://{a}/base/",
                          "--route", f"/kept/=http://{b}",
                          "--route", f"/nested=http://{b}/v2")
    default = echo(gateway, "/anything/echo")
    assert header(default, "Host") == [a] and default["target"] == "/anything/echo"
    replaced = echo(gateway, "/openai/echo?q=1")
    assert header(replaced, "Host") == [b] and replaced["target"] == "/echo?q=1"
    longest = echo(gateway, "/openai/special/echo")
    assert header(longest, "Host") == [a] and longest["target"] == "/base/echo"
    kept = echo(gateway, "/kept/echo?x=y")
    assert header(kept, "Host") == [b] and kept["target"] == "/kept/echo?x=y"
    joined = echo(gateway, "/nested/echo")
    assert header(joined, "Host") == [b] and joined["target"] == "/v2/echo"
    records = read_records(gateway.log_path, 5)
    assert [r["upstream"] for r in records] == [f"http://{a}", f"http://{b}/", f"http://{a}/base/", f"http://{b}",
                                               f"http://{b}/v2"]


def test_unmatched_paths_get_404_without_a_default(mock, kgb_factory):
    gateway = kgb_factory(None, "--route", f"/v1/=http://127.0.0.1:{mock.port}/v1/")
    answer = exchange(gateway.port, "POST", "/v1/messages", [("Content-Type", "application/json")],
                      json.dumps({"model": "m", "messages": []}))
    assert answer.status == 200
    response = exchange(gateway.port, "GET", "/elsewhere")
    assert response.status == 404
    assert json.loads(response.body)["error"]["type"] == "not_found_error"
    assert "no route" in json.loads(response.body)["error"]["message"]
    records = read_records(gateway.log_path, 2)
    assert records[-1]["outcome"] == "rejected" and records[-1]["response"] is None
    assert records[0]["upstream"] == f"http://127.0.0.1:{mock.port}/v1/"


def test_route_headers_replace_the_clients_and_are_never_logged(mock, second_mock, kgb_factory):
    secret, other = "sk-ant-route-secret-0123456789", "sk-openai-secret-9876543210"
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}",
                          "--route", f"/openai/=http://127.0.0.1:{second_mock.port}/",
                          "--route-header", "x-api-key=env:KGB_TEST_ANTHROPIC_KEY",
                          "--route-header", "/openai/:Authorization=Bearer ${KGB_TEST_OPENAI_KEY}",
                          env={"KGB_TEST_ANTHROPIC_KEY": secret, "KGB_TEST_OPENAI_KEY": other})
    anthropic = echo(gateway, "/echo", [("X-Api-Key", "placeholder-from-agent")])
    assert header(anthropic, "x-api-key") == [secret]
    assert header(anthropic, "authorization") == []
    openai = echo(gateway, "/openai/echo", [("Authorization", "Bearer placeholder")])
    assert header(openai, "authorization") == [f"Bearer {other}"]
    assert header(openai, "x-api-key") == []
    # The upstream saw the keys (its echo shows them); the records' request headers hold only the client's.
    for record in read_records(gateway.log_path, 2):
        request_text = json.dumps(record["request"])
        assert secret not in request_text and other not in request_text
    # An exchange whose answer does not echo them: the keys appear nowhere in the log.
    assert exchange(gateway.port, "GET", "/status/200").status == 200
    read_records(gateway.log_path, 3)
    with open(gateway.log_path) as log:
        last = log.read().splitlines()[-1]
    assert secret not in last and "placeholder" not in last


def test_route_header_values_from_a_file(mock, kgb_factory, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--route-header", f"x-api-key=file:{key_file}")
    assert header(echo(gateway, "/echo"), "x-api-key") == ["sk-from-file"]


def test_a_keep_alive_connection_goes_on_after_a_404(mock, kgb_factory):
    """kgb answers an unrouted path itself while the request is being parsed; the connection must then go on with
    the next request (it used to stop answering until the idle timeout), pipelined or not."""
    gateway = kgb_factory(None, "--route", f"/v1/=http://127.0.0.1:{mock.port}/v1/")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", "/elsewhere"))
        assert conn.read_response().status == 404
        conn.send(request(gateway.port, "GET", "/nowhere") + request(gateway.port, "GET", "/v1/echo"))
        assert conn.read_response().status == 404
        assert conn.read_response().status == 200
    finally:
        conn.close()

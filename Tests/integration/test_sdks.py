"""The real Anthropic and OpenAI Python SDKs, pointed at kgb with base_url, streaming through it."""
import anthropic
import openai


def test_anthropic_sdk_streams_through_kgb(gateway):
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-ant-test", max_retries=0)
    with client.messages.stream(model="claude-test", max_tokens=64,
                                messages=[{"role": "user", "content": "hello"}],
                                extra_headers={"x-mock-events": "12"}) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "".join(f"word{i} " for i in range(12))
    assert final.usage.output_tokens == 12
    assert final.stop_reason == "end_turn"


def test_anthropic_sdk_gzip_stream_through_kgb(gateway):
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-ant-test", max_retries=0)
    stream = client.messages.create(model="claude-test", max_tokens=64, stream=True,
                                    messages=[{"role": "user", "content": "hello"}],
                                    extra_headers={"x-mock-events": "5", "x-mock-gzip": "1"})
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_delta") == 5


def test_anthropic_sdk_sees_gateway_errors_in_its_error_shape(kgb_factory):
    from conftest import free_port
    gateway = kgb_factory(f"http://127.0.0.1:{free_port()}")
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-ant-test", max_retries=0)
    try:
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        raise AssertionError("expected an error")
    except anthropic.APIStatusError as error:
        assert error.status_code == 502
        assert "connect" in error.message


def test_openai_sdk_streams_through_kgb(gateway):
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key="sk-test", max_retries=0)
    stream = client.chat.completions.create(model="gpt-test", stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "hello"}],
                                            extra_headers={"x-mock-events": "7"})
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert text == "".join(f"word{i} " for i in range(7))
    assert usage.completion_tokens == 7

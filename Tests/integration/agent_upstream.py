"""An upstream that answers like a model using tools (a real HTTP server on 127.0.0.1), for the web page's tests:
Anthropic /v1/messages streams thinking, text and a tool_use block (its input sent as input_json_delta pieces)
when tools are offered and no tool result came back yet, else a text answer; a prompt containing "please fail"
gets a 529 overloaded error; OpenAI /v1/chat/completions answers JSON with a tool call."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def last_user_text(body):
    for message in reversed(body.get("messages", [])):
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, str):
                return content
            return " ".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def has_tool_result(body):
    return any(isinstance(m["content"], list) and any(b.get("type") == "tool_result" for b in m["content"])
               for m in body.get("messages", []))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if self.path.startswith("/v1/chat/completions"):
            return self.openai(body)
        if "please fail" in last_user_text(body):
            error = json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}).encode()
            self.send_response(529)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        model = body.get("model", "claude-test")
        events = [sse("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
            "usage": {"input_tokens": 120, "output_tokens": 1}}})]
        if body.get("tools") and not has_tool_result(body):
            events += [
                sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I should look at the files."}}),
                sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                sse("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me list "}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "the files."}}),
                sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
                sse("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "list_files", "input": {}}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"sr"}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "c/\"}"}}),
                sse("content_block_stop", {"type": "content_block_stop", "index": 2}),
            ]
            stop = "tool_use"
        else:
            answer = "There are two files: a.txt and b.txt." if has_tool_result(body) else "Echo: " + last_user_text(body)
            # In deltas of at most 64 KiB, as a model streams a long answer.
            pieces = [answer[at:at + 65536] for at in range(0, len(answer), 65536)]
            events += [sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
            events += [sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
                       for piece in pieces]
            events += [sse("content_block_stop", {"type": "content_block_stop", "index": 0})]
            stop = "end_turn"
        events += [sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 42}}),
                   sse("message_stop", {"type": "message_stop"})]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")

    def openai(self, body):
        answer = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                             "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                                 "role": "assistant", "content": "Checking the weather.",
                                 "tool_calls": [{"id": "call_1", "type": "function", "function": {
                                     "name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}}],
                             "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class AgentUpstream:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()

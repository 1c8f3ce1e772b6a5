package mcpauthz

import (
	"net/http"
	"strings"
	"testing"
)

const (
	listRequest   = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	listResponse  = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"},{"name":"echo"}],"nextCursor":"n"}}`
	listFiltered  = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}],"nextCursor":"n"}}`
	progressEvent = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n"
)

// streamWriter returns a ResponseWriter in event-stream mode for request.
func streamWriter(t *testing.T, request string) (*ResponseWriter, *recorder) {
	t.Helper()
	rec := newRecorder()
	rw := NewResponseWriter(rec, filterFor(t, testRules(t), request))
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Content-Length", "999")
	rw.WriteHeader(http.StatusOK)
	if rec.status != http.StatusOK || rec.header.Get("Content-Length") != "" {
		t.Fatalf("status %d, Content-Length %q", rec.status, rec.header.Get("Content-Length"))
	}
	return rw, rec
}

// streamThrough writes the chunks and finishes, and returns what the
// client received.
func streamThrough(t *testing.T, request string, chunks ...string) string {
	t.Helper()
	rw, rec := streamWriter(t, request)
	for _, c := range chunks {
		if n, err := rw.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if err := rw.Finish(); err != nil {
		t.Fatal(err)
	}
	return rec.body.String()
}

func TestSSERewrite(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"one event", "event: message\nid: 7\ndata: " + listResponse + "\n\n",
			"event: message\nid: 7\ndata: " + listFiltered + "\n\n"},
		{"CRLF line endings", "event: message\r\nid: 7\r\ndata: " + listResponse + "\r\nretry: 10\r\n\r\n",
			"event: message\r\nid: 7\r\ndata: " + listFiltered + "\nretry: 10\r\n\r\n"},
		{"CR line endings", ": hi\rid: 7\rdata: " + listResponse + "\r\r",
			": hi\rid: 7\rdata: " + listFiltered + "\n\r"},
		{"no space after the colon", "data:" + listResponse + "\n\n", "data: " + listFiltered + "\n\n"},
		{"multi-line data", "data: {\"jsonrpc\":\"2.0\",\ndata:  \"id\":1,\ndata: \"result\":{\"tools\":[\ndata: {\"name\":\"admin_a\"},{\"name\":\"echo\"}]}}\n\n",
			"data: {\"jsonrpc\":\"2.0\",\ndata:  \"id\":1,\ndata: \"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n\n"},
		{"data lines around other fields", "data: {\"id\":1,\nid: 3\ndata: \"result\":{\"tools\":[{\"name\":\"admin_a\"}]}}\n: c\n\n",
			"data: {\"id\":1,\ndata: \"result\":{\"tools\":[]}}\nid: 3\n: c\n\n"},
		{"other events and comments pass unchanged", ": open\n\n" + progressEvent + "id: 1\nevent: ping\n\ndata:\n\n",
			": open\n\n" + progressEvent + "id: 1\nevent: ping\n\ndata:\n\n"},
		{"after the list response everything passes", "data: " + listResponse + "\n\ndata: " + listResponse + "\n\n",
			"data: " + listFiltered + "\n\ndata: " + listResponse + "\n\n"},
		{"a byte order mark", "\xEF\xBB\xBFdata: " + listResponse + "\n\n", "\xEF\xBB\xBFdata: " + listFiltered + "\n\n"},
		{"not a byte order mark", "\xEF\xBBdata: x\n\n", "\xEF\xBBdata: x\n\n"},
		{"a stream of part of a byte order mark", "\xEF\xBB", "\xEF\xBB"},
		{"an unterminated last event", "id: 2\ndata: " + listResponse, "id: 2\ndata: " + listFiltered + "\n"},
		{"an unparseable event fails closed", "data: {\"id\":1,\"result\":{\"tools\":[NaN]}}\n\ndata: " + listResponse + "\n\n",
			"data: {\"jsonrpc\":\"2.0\",\"id\":1" + internalErrorTail + "\n\n"},
	} {
		if got := streamThrough(t, listRequest, tc.in); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		// The same stream split at every byte boundary.
		for i := 1; i < len(tc.in); i++ {
			if got := streamThrough(t, listRequest, tc.in[:i], tc.in[i:]); got != tc.want {
				t.Fatalf("%s split at %d:\n got %q\nwant %q", tc.name, i, got, tc.want)
			}
		}
		// And one byte at a time.
		bytewise := make([]string, len(tc.in))
		for i := range bytewise {
			bytewise[i] = tc.in[i : i+1]
		}
		if got := streamThrough(t, listRequest, bytewise...); got != tc.want {
			t.Errorf("%s byte by byte:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestSSEPassesOtherEventsAtOnce(t *testing.T) {
	rw, rec := streamWriter(t, `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}]`)
	write := func(s string) {
		t.Helper()
		if _, err := rw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write(progressEvent + ": keep-alive\n")
	if got := rec.flushed(); got != progressEvent+": keep-alive\n" {
		t.Fatalf("the first event was not flushed at once: %q", got)
	}
	// The list response arrives in pieces; only it is held.
	write("event: message\ndata: " + listResponse[:20])
	if got := rec.body.String(); got != progressEvent+": keep-alive\n" {
		t.Fatalf("bytes of the pending event went out early: %q", got)
	}
	write(listResponse[20:] + "\n")
	write("\n" + "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}\n\n")
	want := progressEvent + ": keep-alive\nevent: message\ndata: " + listFiltered + "\n\n" +
		"data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}\n\n"
	if got := rec.flushed(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Now the filter is done: bytes pass as they come, even half an event.
	write("data: " + listResponse[:10])
	if got := rec.flushed(); got != want+"data: "+listResponse[:10] {
		t.Errorf("a partial event after the list response was held: %q", got)
	}
}

func TestSSESeveralEventsInOneWrite(t *testing.T) {
	in := progressEvent + "data: " + listResponse + "\n\n" + progressEvent
	rw, rec := streamWriter(t, listRequest)
	if _, err := rw.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.flushed(), progressEvent+"data: "+listFiltered+"\n\n"+progressEvent; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSSEOversizedEventFailsClosed(t *testing.T) {
	rw, rec := streamWriter(t, `[{"id":1,"method":"tools/list"},{"id":2,"method":"tools/call","params":{"name":"echo"}}]`)
	listEvent := "data: " + listResponse + "\n\n"
	rw.stream.limit = max(len(progressEvent), len(listEvent))
	big := "data: {\"id\":2,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + strings.Repeat("x", 100) + "\"}]}}\r\n\r\n"
	for _, chunk := range []string{progressEvent, big, listEvent, ": still open\n"} {
		if _, err := rw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	// The oversized event became an internal error for the list call, the
	// late list response was dropped, and the stream goes on.
	want := progressEvent + "data: {\"jsonrpc\":\"2.0\",\"id\":1" + internalErrorTail + "\n\n\n: still open\n"
	if got := rec.flushed(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSSEWithoutPendingCallsIsUnchanged(t *testing.T) {
	rw, rec := streamWriter(t, listRequest)
	in := "data: {\"id\":1,\"error\":{\"code\":1,\"message\":\"m\"}}\n\n"
	if _, err := rw.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if !rw.filter.Done() {
		t.Fatal("the error response did not end the wait")
	}
	rest := "\xEF\xBB\xBF\r\rdata: " + listResponse + "\r\ndata: {\n\n: x"
	for i := 0; i < len(rest); i++ {
		if _, err := rw.Write([]byte(rest[i : i+1])); err != nil {
			t.Fatal(err)
		}
		if got := rec.flushed(); got != in+rest[:i+1] {
			t.Fatalf("after byte %d: got %q", i, got)
		}
	}
}

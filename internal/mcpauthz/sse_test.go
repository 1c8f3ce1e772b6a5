package mcpauthz

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const (
	listResponse  = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"},{"name":"echo"}],"nextCursor":"n"}}`
	listFiltered  = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}],"nextCursor":"n"}}`
	progressEvent = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n"
)

// filterStream runs an event stream through an sseFilter in the given
// pieces and returns what went out.
func filterStream(rs *RuleSet, pieces ...string) (string, error) {
	f := newListFilter(context.Background(), rs, userToken, 1<<20)
	defer f.dropHeld()
	s := &sseFilter{json: f}
	for _, p := range pieces {
		if err := s.write([]byte(p)); err != nil {
			return string(f.out), err
		}
	}
	s.finish()
	return string(f.out), nil
}

func TestSSEFilter(t *testing.T) {
	rs := testRules(t)
	for _, tc := range []struct{ name, in, want string }{
		{
			name: "a listing event, its other fields as they came",
			in:   "event: message\nid: 7\ndata: " + listResponse + "\n\n",
			want: "event: message\nid: 7\ndata: " + listFiltered + "\n\n",
		},
		{
			name: "data over several lines, CRLF, a field between data lines",
			in:   "data: {\"jsonrpc\":\"2.0\",\r\ndata:  \"id\":1,\r\nid: 9\r\ndata: \"result\":{\"tools\":[{\"name\":\"admin_a\"},\r\ndata: {\"name\":\"echo\"}],\"nextCursor\":\"n\"}}\r\n\r\n",
			want: "data: {\"jsonrpc\":\"2.0\",\"id\":1,\nid: 9\r\ndata: \"result\":{\"tools\":[{\"name\":\"echo\"}],\"nextCursor\":\"n\"}}\n\r\n",
		},
		{
			name: "CR line endings, a byte order mark, comments and a retry",
			in:   "\xEF\xBB\xBF: hi\rretry: 10\rdata:" + listResponse + "\r\r",
			want: "\xEF\xBB\xBF: hi\rretry: 10\rdata: " + listFiltered + "\n\r",
		},
		{
			name: "priming events without data or with empty data pass",
			in:   "id: 0\ndata:\n\nid: 1\ndata\n\nid: 2\n\n: keep-alive\n\n",
			want: "id: 0\ndata:\n\nid: 1\ndata:\n\nid: 2\n\n: keep-alive\n\n",
		},
		{
			name: "the deprecated transport's endpoint event passes as it came",
			in:   "event: endpoint\ndata: /messages?sessionId=abc\n\nevent: message\ndata: " + listResponse + "\n\n",
			want: "event: endpoint\ndata: /messages?sessionId=abc\n\nevent: message\ndata: " + listFiltered + "\n\n",
		},
		{
			name: "a batch, cacheScope and resource templates in events",
			in:   `data: [{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"file:///{u}/private/{k}"}],"cacheScope":"public","ttlMs":5}},{"jsonrpc":"2.0","id":2,"result":{}}]` + "\n\n",
			want: `data: [{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[],"cacheScope":"private","ttlMs":5}},{"jsonrpc":"2.0","id":2,"result":{}}]` + "\n\n",
		},
		{
			name: "an event cut off by the end of the stream is written as far as it is whole",
			in:   progressEvent + "data: " + listResponse,
			want: progressEvent + "data: " + listFiltered + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := filterStream(rs, tc.in); err != nil || got != tc.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tc.want)
			}
			for i := range len(tc.in) {
				if got, err := filterStream(rs, tc.in[:i], tc.in[i:]); err != nil || got != tc.want {
					t.Fatalf("cut at %d: got %q, %v", i, got, err)
				}
			}
			if got, err := filterStream(rs, strings.Split(tc.in, "")...); err != nil || got != tc.want {
				t.Fatalf("byte by byte: got %q, %v", got, err)
			}
		})
	}
}

func TestSSEFilterEndsTheStream(t *testing.T) {
	rs := testRules(t)
	for _, tc := range []struct{ name, in string }{
		{"data that is not JSON", "data: hello\n\n"},
		{"data that is not JSON-RPC", `data: {"id":1,"result":{"tools":[{"name":"admin_a"}]}}` + "\n\n"},
		{"a listing that is not an array", `data: {"jsonrpc":"2.0","id":1,"result":{"tools":{"admin_a":{}}}}` + "\n\n"},
		{"two messages in one event", "data: " + listResponse + "\ndata: " + listResponse + "\n\n"},
		{"a message cut by the blank line", "data: {\"jsonrpc\":\"2.0\",\"id\":1\n\n"},
		{"an event whose type becomes message after its data", "event: endpoint\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"admin_a\"}]}}\nevent: message\n\n"},
		{"a data field in capitals", `Data: {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"}]}}` + "\n\n"},
		{"an event field with a space before it", " event: endpoint\n\n"},
		{"a string split over data lines", "data: {\"jsonrpc\":\"2.0\",\"id\":\"a\ndata: b\"}\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := progressEvent + tc.in + progressEvent
			got, err := filterStream(rs, in)
			if !errors.Is(err, ErrUnreadableAnswer) {
				t.Fatalf("got %q, %v; want ErrUnreadableAnswer", got, err)
			}
			rest, ok := strings.CutPrefix(got, progressEvent)
			if !ok || strings.Contains(rest, "\n\n") || strings.Contains(rest, "admin_a") {
				t.Fatalf("the refused event went out or was ended: %q", got)
			}
		})
	}
}

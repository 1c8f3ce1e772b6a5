package mcpauthz

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// answer is what a next handler sends.
type answer struct {
	header http.Header
	status int
	chunks []string
}

// filterAnswer runs Filter for a request of method whose next handler
// sends a, and returns what reached the client.
func filterAnswer(t *testing.T, method string, a answer) (*recorder, error) {
	t.Helper()
	r := httptest.NewRequest(method, "/mcp", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	r.Header.Set("Upgrade", "websocket")
	rec := newRecorder()
	err := testRules(t).Filter(rec, r, userToken, 1<<20, func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Accept-Encoding") != "" || r.Header.Get("Upgrade") != "" {
			t.Error("the next handler was asked for a compressed answer or a protocol switch")
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		if a.status != 0 {
			w.WriteHeader(a.status)
		}
		for _, c := range a.chunks {
			if _, err := w.Write([]byte(c)); err != nil {
				return err
			}
		}
		return nil
	})
	return rec, err
}

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestFilterJSONAnswer(t *testing.T) {
	rec, err := filterAnswer(t, http.MethodPost, answer{
		header: jsonHeader("Content-Length", "999", "Cache-Control", "public, max-age=60"),
		status: http.StatusOK,
		chunks: []string{listResponse[:30], listResponse[30:]},
	})
	if err != nil || rec.status != http.StatusOK || rec.body.String() != listFiltered {
		t.Fatalf("%d %q %v", rec.status, rec.body.String(), err)
	}
	h := rec.header
	if h.Get("Content-Length") != strconv.Itoa(len(listFiltered)) || h.Get("Cache-Control") != "private, max-age=60" {
		t.Fatalf("headers %v", h)
	}
}

func TestFilterRefusesBeforeAnythingWasSent(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    answer
	}{
		{"JSON that is not JSON-RPC", answer{header: jsonHeader(), chunks: []string{`{"result":{"tools":[{"name":"admin_a"}]}}`}}},
		{"a compressed answer", answer{header: jsonHeader("Content-Encoding", "gzip"), chunks: []string{"\x1f\x8b"}}},
		{"a compressed event stream", answer{header: http.Header{"Content-Type": {"text/event-stream"}, "Content-Encoding": {"br"}}, status: 200}},
		{"a success of another media type with a body", answer{header: http.Header{"Content-Type": {"text/plain"}}, chunks: []string{"admin_a"}}},
		{"a success without a media type", answer{chunks: []string{listResponse}}},
		{"a media type a lenient client reads as JSON", answer{header: http.Header{"Content-Type": {"\xa0application/json"}}, status: 404, chunks: []string{listResponse}}},
		{"JSON in another charset", answer{header: http.Header{"Content-Type": {"application/json; charset=utf-7"}}, chunks: []string{listResponse}}},
		{"two media types, one JSON in capitals", answer{header: http.Header{"Content-Type": {"text/plain", "Application/JSON"}}, status: 404, chunks: []string{listResponse}}},
		{"an event stream in capitals behind another type", answer{header: http.Header{"Content-Type": {"text/plain; x=\"TEXT/EVENT-STREAM\""}}, status: 500, chunks: []string{listResponse}}},
		{"a protocol switch", answer{status: http.StatusSwitchingProtocols}},
		{"a JSON text cut short", answer{header: jsonHeader(), chunks: []string{listResponse[:40]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := filterAnswer(t, http.MethodPost, tc.a)
			if !errors.Is(err, ErrUnreadableAnswer) {
				t.Fatalf("error %v", err)
			}
			if rec.status != http.StatusBadGateway || rec.body.String() != string(badGatewayBody) ||
				rec.header.Get("Content-Encoding") != "" || rec.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%d %q %v", rec.status, rec.body.String(), rec.header)
			}
		})
	}
}

func TestFilterEndsAnAnswerAlreadyUnderWay(t *testing.T) {
	first := `{"jsonrpc":"2.0","id":1,"result":{"tools":[` + bigTool("echo", commitBytes) + `,`
	rec, err := filterAnswer(t, http.MethodPost, answer{header: jsonHeader(), chunks: []string{first, `{"name":"admin_a"},"x"]}}`}})
	if !errors.Is(err, ErrUnreadableAnswer) || rec.status != http.StatusOK {
		t.Fatalf("%d %v", rec.status, err)
	}
	if got := rec.body.String(); strings.Contains(got, "admin_a") || !strings.HasSuffix(got, bigTool("echo", commitBytes)) {
		t.Fatalf("sent %d bytes ending %q", len(got), got[max(0, len(got)-40):])
	}
}

// TestFilterJSONAnswerWhole: an answer the filter would pass as it is
// goes out byte for byte, with the same headers as any filtered answer;
// one with white space is still compacted, and one past commitBytes
// streams through the filter.
func TestFilterJSONAnswerWhole(t *testing.T) {
	result := `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"a  b"}]}}`
	spaced := "{\"jsonrpc\": \"2.0\", \"id\": 7, \"result\": {}}\n"
	long := `{"jsonrpc":"2.0","id":7,"result":{"text":"` + strings.Repeat("x", commitBytes) + `"}}`
	for _, tc := range []struct {
		name   string
		chunks []string
		want   string
	}{
		{"compact, in two writes", []string{result[:20], result[20:]}, result},
		{"with white space", []string{spaced}, `{"jsonrpc":"2.0","id":7,"result":{}}`},
		{"past commitBytes", []string{long[:commitBytes-5], long[commitBytes-5:]}, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := filterAnswer(t, http.MethodPost, answer{
				header: jsonHeader("Content-Length", "999", "Cache-Control", "public, max-age=60"),
				status: http.StatusOK,
				chunks: tc.chunks,
			})
			if err != nil || rec.status != http.StatusOK || rec.body.String() != tc.want {
				t.Fatalf("%d %.80q %v", rec.status, rec.body.String(), err)
			}
			h := rec.header
			wantLength := strconv.Itoa(len(tc.want))
			if len(tc.want) > commitBytes {
				wantLength = "" // sent before its end was known
			}
			if h.Get("Content-Length") != wantLength {
				t.Errorf("Content-Length %q, want %q", h.Get("Content-Length"), wantLength)
			}
			if h.Get("Cache-Control") != "private, max-age=60" {
				t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
			}
		})
	}
}

func TestFilterPassesWhatHasNoListing(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    answer
		want string
	}{
		{"an accepted notification without a body", answer{status: http.StatusAccepted}, ""},
		{"an empty JSON body", answer{header: jsonHeader(), status: http.StatusAccepted}, ""},
		{"no content", answer{status: http.StatusNoContent}, ""},
		{"an error of another media type", answer{header: http.Header{"Content-Type": {"text/plain"}}, status: 404, chunks: []string{"session not found"}}, "session not found"},
		{"a JSON-RPC error", answer{header: jsonHeader(), status: 400, chunks: []string{`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}`}}, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := filterAnswer(t, http.MethodGet, tc.a)
			if err != nil || rec.status != max(tc.a.status, 200) || rec.body.String() != tc.want {
				t.Fatalf("%d %q %v", rec.status, rec.body.String(), err)
			}
		})
	}
}

func TestFilterEventStream(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/mcp", nil)
	rec := newRecorder()
	var atFirstEvent string
	err := testRules(t).Filter(rec, r, userToken, 1<<20, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write([]byte(progressEvent)); err != nil {
			return err
		}
		atFirstEvent = rec.flushed()
		_, err := w.Write([]byte("data: " + listResponse + "\n\n"))
		return err
	})
	if err != nil || atFirstEvent != progressEvent || rec.body.String() != progressEvent+"data: "+listFiltered+"\n\n" {
		t.Fatalf("first %q, all %q, %v", atFirstEvent, rec.body.String(), err)
	}
	if rec.header.Get("Content-Length") != "" || rec.header.Get("Cache-Control") != "private" {
		t.Fatalf("headers %v", rec.header)
	}
}

func TestPrivateCacheControl(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "private",
		"public":                           "private",
		"public, max-age=60":               "private, max-age=60",
		"no-store":                         "no-store",
		"private=\"Set-Cookie\", no-cache": "private, no-cache",
		"max-age=5, Public":                "private, max-age=5",
	} {
		h := http.Header{}
		if in != "" {
			h.Set("Cache-Control", in)
		}
		privateCacheControl(h)
		if got := h.Get("Cache-Control"); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	// A DELETE's answer keeps its Cache-Control; a hijack is refused.
	r := httptest.NewRequest(http.MethodDelete, "/mcp", nil)
	rec := newRecorder()
	err := testRules(t).Filter(rec, r, userToken, 1<<20, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "public")
		w.WriteHeader(http.StatusNoContent)
		_, _, err := http.NewResponseController(w).Hijack()
		return err
	})
	if !errors.Is(err, errHijack) || rec.header.Get("Cache-Control") != "public" {
		t.Fatalf("%v %v", err, rec.header)
	}
}

func TestFilterStreamsOneBigWrite(t *testing.T) {
	var tools []string
	for i := range 4000 {
		name := "echo"
		if i%2 == 1 {
			name = "admin_x"
		}
		tools = append(tools, bigTool(name, 500))
	}
	big := `{"jsonrpc":"2.0","id":1,"result":{"tools":[` + strings.Join(tools, ",") + `]}}`
	rec, err := filterAnswer(t, http.MethodPost, answer{header: jsonHeader(), chunks: []string{big}})
	if err != nil || rec.status != http.StatusOK || strings.Contains(rec.body.String(), "admin_x") {
		t.Fatalf("%d %v", rec.status, err)
	}
	checkFiltered(t, testRules(t), userToken, rec.body.Bytes())
	writes := 0
	for _, entry := range rec.log {
		if data, ok := strings.CutPrefix(entry, "write "); ok {
			writes++
			if len(data) > 2*commitBytes {
				t.Fatalf("one write of %d bytes: the answer piled up", len(data))
			}
		}
	}
	if writes < len(big)/2/(2*commitBytes) {
		t.Fatalf("%d writes for %d bytes", writes, len(big))
	}
}

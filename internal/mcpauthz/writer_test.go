package mcpauthz

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJSONAnswerIsFiltered(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusInternalServerError} {
		rec := httptest.NewRecorder()
		rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
		rw.Header().Set("Content-Type", "application/json; charset=utf-8")
		rw.Header().Set("Content-Length", "97")
		rw.Header().Set("X-Backend", "kept")
		rw.WriteHeader(status)
		for _, chunk := range []string{listResponse[:30], listResponse[30:]} {
			if _, err := rw.Write([]byte(chunk)); err != nil {
				t.Fatal(err)
			}
		}
		rw.Flush()
		if rec.Body.Len() != 0 || rec.Flushed {
			t.Fatalf("the held answer went out before Finish: %q", rec.Body.String())
		}
		if err := rw.Finish(); err != nil {
			t.Fatal(err)
		}
		if rec.Code != status || rec.Body.String() != listFiltered {
			t.Errorf("got %d %s", rec.Code, rec.Body.String())
		}
		if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(listFiltered)) {
			t.Errorf("Content-Length %s for %d bytes", got, len(listFiltered))
		}
		if rec.Header().Get("X-Backend") != "kept" || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("headers changed: %v", rec.Header())
		}
		if _, err := rw.Write([]byte("x")); err == nil {
			t.Error("a write after Finish succeeded")
		}
		if err := rw.Finish(); err != nil || rec.Body.String() != listFiltered {
			t.Errorf("a second Finish: %v, %q", err, rec.Body.String())
		}
	}
}

func TestJSONAnswerFailsClosed(t *testing.T) {
	internal := `{"jsonrpc":"2.0","id":1` + internalErrorTail
	for _, tc := range []struct {
		name     string
		encoding string
		limit    int
	}{
		{"larger than the limit", "", len(listResponse) - 1},
		{"compressed", "gzip", DefaultMaxResponseBytes},
	} {
		rec := httptest.NewRecorder()
		rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
		rw.limit = tc.limit
		rw.Header().Set("Content-Type", "application/json")
		if tc.encoding != "" {
			rw.Header().Set("Content-Encoding", tc.encoding)
		}
		if _, err := rw.Write([]byte(listResponse)); err != nil {
			t.Fatal(err)
		}
		if err := rw.Finish(); err != nil {
			t.Fatal(err)
		}
		if rec.Body.String() != internal || rec.Header().Get("Content-Length") != strconv.Itoa(len(internal)) || rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: got %q with %v", tc.name, rec.Body.String(), rec.Header())
		}
	}
	// Exactly at the limit is still read.
	rec := httptest.NewRecorder()
	rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
	rw.limit = len(listResponse)
	rw.Header().Set("Content-Type", "application/json")
	if _, err := rw.Write([]byte(listResponse)); err != nil {
		t.Fatal(err)
	}
	if err := rw.Finish(); err != nil || rec.Body.String() != listFiltered {
		t.Errorf("at the limit: %v, %q", err, rec.Body.String())
	}
}

func TestCompressedStreamFailsClosed(t *testing.T) {
	rec := newRecorder()
	rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Content-Encoding", "br")
	rw.WriteHeader(http.StatusOK)
	want := "data: {\"jsonrpc\":\"2.0\",\"id\":1" + internalErrorTail + "\n\n"
	if rec.flushed() != want || rec.header.Get("Content-Encoding") != "" {
		t.Fatalf("got %q with %v", rec.flushed(), rec.header)
	}
	if n, err := rw.Write([]byte("\x1f\x8b compressed")); n != 13 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if err := rw.Finish(); err != nil || rec.body.String() != want {
		t.Errorf("got %v, %q", err, rec.body.String())
	}
}

func TestOtherAnswersPassUnchanged(t *testing.T) {
	rec := newRecorder()
	rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
	rw.Header().Set("Link", "</style.css>; rel=preload")
	rw.WriteHeader(http.StatusEarlyHints)
	rw.Header().Set("Content-Type", "text/plain")
	rw.Header().Set("Content-Length", "97")
	rw.WriteHeader(http.StatusOK)
	if _, err := rw.Write([]byte(listResponse)); err != nil {
		t.Fatal(err)
	}
	if err := rw.Finish(); err != nil {
		t.Fatal(err)
	}
	want := []string{"status 103", "status 200", "write " + listResponse}
	if strings.Join(rec.log, "|") != strings.Join(want, "|") || rec.header.Get("Content-Length") != "97" {
		t.Errorf("got %q with %v", rec.log, rec.header)
	}
	// Without a Content-Type, the first Write decides: it passes too.
	rec = newRecorder()
	rw = NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
	if _, err := rw.Write([]byte(listResponse)); err != nil || rec.body.String() != listResponse {
		t.Errorf("got %v, %q", err, rec.body.String())
	}
}

func TestResponseControllerFlushesThroughTheWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
	if rw.Unwrap() != http.ResponseWriter(rec) {
		t.Fatal("Unwrap does not return the wrapped writer")
	}
	rw.Header().Set("Content-Type", "text/event-stream")
	if err := http.NewResponseController(rw).Flush(); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed || rec.Code != http.StatusOK {
		t.Error("the flush did not reach the wrapped writer")
	}
}

// TestStreamOverHTTP runs an event stream through a real HTTP server and
// client: the client reads the first event while the list response is
// still being written, and then gets the list filtered.
func TestStreamOverHTTP(t *testing.T) {
	firstRead := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(firstRead) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, err := ParseRequestBody([]byte(listRequest))
		if err != nil {
			t.Error(err)
			return
		}
		rw := NewResponseWriter(w, testRules(t).NewListFilter(msgs, userToken))
		defer func() {
			if err := rw.Finish(); err != nil {
				t.Error(err)
			}
		}()
		rw.Header().Set("Content-Type", "text/event-stream")
		rw.WriteHeader(http.StatusOK)
		io.WriteString(rw, progressEvent+"data: "+listResponse[:25])
		select { // the client has the first event while this one is incomplete
		case <-firstRead:
		case <-r.Context().Done():
			return
		}
		io.WriteString(rw, listResponse[25:]+"\n\n")
	}))
	defer srv.Close()
	defer release() // before Close, which waits for the handler
	// The deadline only keeps a broken writer from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	var first string
	for !strings.HasSuffix(first, "\n\n") {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		first += line
	}
	release()
	if first != progressEvent {
		t.Fatalf("first event %q", first)
	}
	rest, err := io.ReadAll(lines)
	if err != nil || string(rest) != "data: "+listFiltered+"\n\n" {
		t.Errorf("got %v, %q", err, rest)
	}
}

// failingWriter refuses every body write.
type failingWriter struct{ *recorder }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("client gone") }

func TestStreamReportsWriteErrors(t *testing.T) {
	rw := NewResponseWriter(failingWriter{newRecorder()}, filterFor(t, testRules(t), listRequest))
	rw.Header().Set("Content-Type", "text/event-stream")
	if _, err := rw.Write([]byte(progressEvent)); err == nil {
		t.Error("a failed write reported no error")
	}
	if _, err := rw.Write([]byte("data: " + listResponse)); err == nil {
		t.Error("a write after a failure reported no error")
	}
	if err := rw.Finish(); err == nil {
		t.Error("Finish reported no error")
	}
}

func TestSuperfluousWriteHeader(t *testing.T) {
	for _, ct := range []string{"text/event-stream", "text/plain", "application/json"} {
		rec := newRecorder()
		rw := NewResponseWriter(rec, filterFor(t, testRules(t), listRequest))
		rw.Header().Set("Content-Type", ct)
		rw.WriteHeader(http.StatusOK)
		rw.WriteHeader(http.StatusTeapot)
		if err := rw.Finish(); err != nil {
			t.Fatal(err)
		}
		// The wrapped writer sees a second call as the backend made it,
		// except for a held JSON answer, whose status is the first.
		want := "status 200|status 418"
		if ct == "application/json" {
			want = "status 200|write "
		}
		if got := strings.Join(rec.log, "|"); got != want {
			t.Errorf("%s: got %q", ct, got)
		}
	}
}

package mcpauthz

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxResponseBytes bounds what ResponseWriter holds at a time: a
// whole application/json answer, or one event of a text/event-stream
// answer. Past it the filter cannot read the listing, so it answers every
// pending list call with an internal error instead (fail closed): an
// application/json answer becomes those errors, an oversized event is
// replaced by an event that carries them and later responses to those
// calls are dropped.
const DefaultMaxResponseBytes = 16 << 20

// answerMode is how ResponseWriter treats the answer's body.
type answerMode uint8

const (
	modeUndecided answerMode = iota // no status written yet
	modePass                        // neither JSON nor an event stream: unchanged
	modeJSON                        // application/json: held to the end, then filtered
	modeStream                      // text/event-stream: rewritten event by event
)

// ResponseWriter wraps the writer of a request that contains list calls
// and filters the listings in the answer (SPEC section 10). The content
// type at WriteHeader (or the first Write or Flush) decides: an
// application/json (or +json) answer is held, up to DefaultMaxResponseBytes,
// and written by Finish, filtered and with its own Content-Length; a
// text/event-stream answer passes at once, flushed after every Write, but
// for the event that carries a pending list response, which is held until
// it ends and rewritten; any other answer passes unchanged. A compressed
// JSON or event-stream answer (a Content-Encoding other than identity)
// cannot be read: it is replaced by internal errors for the pending list
// calls, without the Content-Encoding. Informational (1xx) statuses pass
// at once. Header returns the wrapped writer's header map.
type ResponseWriter struct {
	w      http.ResponseWriter
	filter *ListFilter
	limit  int

	mode    answerMode
	status  int    // the status of a held application/json answer
	body    []byte // the held application/json answer
	failed  bool   // the answer cannot be read: internal errors replace it
	stream  sseRewriter
	flusher *http.ResponseController
	done    bool // Finish has run
}

// NewResponseWriter wraps w to filter the answer with f, which must not be
// nil (NewListFilter returns nil when there is nothing to filter; then the
// handler does not wrap w).
func NewResponseWriter(w http.ResponseWriter, f *ListFilter) *ResponseWriter {
	return &ResponseWriter{w: w, filter: f, limit: DefaultMaxResponseBytes, flusher: http.NewResponseController(w)}
}

// Header returns the header map of the wrapped writer.
func (rw *ResponseWriter) Header() http.Header {
	return rw.w.Header()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rw *ResponseWriter) Unwrap() http.ResponseWriter {
	return rw.w
}

// WriteHeader decides how the body is treated, from the Content-Type and
// Content-Encoding set so far, and removes a Content-Length the filter
// could make wrong. An application/json status is sent by Finish.
func (rw *ResponseWriter) WriteHeader(status int) {
	if rw.mode != modeUndecided {
		if rw.mode == modePass || rw.mode == modeStream {
			rw.w.WriteHeader(status) // let the wrapped writer report a superfluous call
		}
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(status)
		return
	}
	h := rw.w.Header()
	media := baseMediaType(h.Get("Content-Type"))
	switch {
	case media == "text/event-stream":
		rw.mode = modeStream
	case IsJSONMediaType(media):
		rw.mode = modeJSON
	default:
		rw.mode = modePass
		rw.w.WriteHeader(status)
		return
	}
	h.Del("Content-Length")
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		rw.failed = true
		h.Del("Content-Encoding")
	}
	if rw.mode == modeJSON {
		rw.status = status
		return
	}
	rw.stream = sseRewriter{filter: rw.filter, w: rw.w, limit: rw.limit}
	rw.w.WriteHeader(status)
	if rw.failed {
		if errs, act := rw.filter.failOpen(); act == actReplace {
			rw.stream.out(appendDataLines(nil, errs))
			rw.stream.out([]byte("\n"))
		}
		rw.flush()
	}
}

// Write writes, holds or rewrites p as the mode of the answer requires.
func (rw *ResponseWriter) Write(p []byte) (int, error) {
	if rw.mode == modeUndecided {
		rw.WriteHeader(http.StatusOK)
	}
	switch {
	case rw.mode == modePass:
		return rw.w.Write(p)
	case rw.done:
		return 0, errors.New("write after the filtered answer was finished")
	case rw.failed:
		return len(p), nil // the answer is being replaced
	case rw.mode == modeJSON:
		if len(rw.body)+len(p) > rw.limit {
			rw.failed, rw.body = true, nil
		} else {
			rw.body = append(rw.body, p...)
		}
		return len(p), nil
	}
	rw.stream.write(p)
	if err := rw.stream.err; err != nil {
		return 0, err
	}
	rw.flush()
	return len(p), nil
}

// Flush sends what has passed so far to the client. A held application/json
// answer is not sent before Finish.
func (rw *ResponseWriter) Flush() {
	if rw.mode == modeUndecided {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.mode != modeJSON {
		rw.stream.wrote = true
		rw.flush()
	}
}

// flush flushes the wrapped writer when bytes went to it, if it can.
func (rw *ResponseWriter) flush() {
	if !rw.stream.wrote && rw.mode != modePass {
		return
	}
	rw.stream.wrote = false
	_ = rw.flusher.Flush() // a writer that cannot flush sends when it can
}

// Finish completes the answer; the handler calls it once the next handler
// has returned, whatever that returned. It writes a held application/json
// answer, filtered, with its status and Content-Length, and the end of an
// event stream whose last event had no blank line. It returns the first
// error of the wrapped writer.
func (rw *ResponseWriter) Finish() error {
	if rw.done {
		return nil
	}
	rw.done = true
	switch rw.mode {
	case modeStream:
		if !rw.failed {
			rw.stream.finish()
			rw.flush()
		}
		return rw.stream.err
	case modeJSON:
		body := rw.body
		if rw.failed {
			body, _ = rw.filter.failOpen()
		} else {
			body = rw.filter.FilterBody(body)
		}
		if rw.status != http.StatusNoContent && rw.status != http.StatusNotModified {
			rw.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		rw.w.WriteHeader(rw.status)
		_, err := rw.w.Write(body)
		return err
	}
	return nil
}

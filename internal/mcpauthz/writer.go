package mcpauthz

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
)

// commitBytes is how much of a filtered application/json answer is held
// before its status and first bytes are sent: an answer refused within it
// is answered 502 instead; past it, the answer streams, and refusing it
// ends it.
const commitBytes = 32 << 10

// badGatewayBody is the body of the 502 that replaces a refused answer.
var badGatewayBody = []byte(`{"error":"bad_gateway"}`)

// errHijack is returned to a next handler that tries to take over the
// connection: its bytes could not be filtered.
var errHijack = errors.New("an answer on a route with rules cannot take over the connection")

// answerMode is how answerWriter treats the answer's body.
type answerMode uint8

const (
	modeUndecided answerMode = iota // no status written yet
	modePass                        // a redirect or error of another media type: unchanged
	modeEmpty                       // a success of another media type: must have no body
	modeJSON                        // application/json: filtered, streamed after commitBytes
	modeStream                      // text/event-stream: filtered line by line
	modeRefused                     // refused: a 502 was sent, or the stream was ended
)

// answerWriter filters the answer of a route with rules; see Filter.
type answerWriter struct {
	w       http.ResponseWriter
	filter  *listFilter
	sse     sseFilter // used in modeStream
	private bool      // Cache-Control: private

	mode      answerMode
	status    int
	committed bool  // the status went to w
	err       error // why the answer was refused, or w's first error

	// whole holds an application/json answer as it came, until it is
	// complete (then one the filter would pass unchanged goes out as it
	// is) or outgrows commitBytes (then the filter reads it, and the rest
	// as it comes: streaming).
	whole     []byte
	streaming bool
}

// Header returns the header map of the wrapped writer.
func (aw *answerWriter) Header() http.Header {
	return aw.w.Header()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (aw *answerWriter) Unwrap() http.ResponseWriter {
	return aw.w
}

// Hijack refuses to hand over the connection.
func (aw *answerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errHijack
}

// WriteHeader decides how the body is treated, from the status, the
// Content-Type and the Content-Encoding set so far.
func (aw *answerWriter) WriteHeader(status int) {
	if aw.mode != modeUndecided {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		aw.w.WriteHeader(status)
		return
	}
	h := aw.w.Header()
	if aw.private {
		privateCacheControl(h)
	}
	aw.status = status
	media, clean := answerMedia(h)
	switch {
	case status == http.StatusSwitchingProtocols:
		aw.refuse(unreadable("a protocol switch"))
	case status == http.StatusNoContent || status == http.StatusNotModified:
		aw.mode = modeEmpty
	case media != mediaOther && isEncoded(h):
		aw.refuse(unreadable("a compressed answer"))
	case media == mediaStream:
		aw.mode = modeStream
		aw.sse = sseFilter{json: aw.filter, name: aw.sse.name[:0], eventType: aw.sse.eventType[:0]}
		delete(h, "Content-Length")
		aw.commit()
		aw.flush()
	case media == mediaJSON:
		aw.mode = modeJSON
		delete(h, "Content-Length")
	case clean && status >= 300:
		aw.mode = modePass
		aw.commit()
	default:
		aw.mode = modeEmpty
	}
}

// commit sends the status.
func (aw *answerWriter) commit() {
	aw.committed = true
	aw.w.WriteHeader(aw.status)
}

// refuse ends the answer: a 502 when nothing was sent yet, otherwise
// after what the filter let through before the refusal (whole events, or
// a JSON text without its last byte).
func (aw *answerWriter) refuse(err error) {
	mode := aw.mode
	aw.mode, aw.err = modeRefused, err
	out := aw.filter.out
	aw.filter.out = out[:0]
	if aw.committed {
		if len(out) > 0 && (mode == modeStream || mode == modeJSON) {
			_, _ = aw.w.Write(out)
			aw.flush()
		}
		return
	}
	aw.committed = true
	h := aw.w.Header()
	h.Del("Content-Encoding")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(badGatewayBody)))
	h.Set("Cache-Control", "no-store")
	aw.w.WriteHeader(http.StatusBadGateway)
	_, _ = aw.w.Write(badGatewayBody)
	aw.flush() // sent before the caller may abort the connection
}

// Write filters p as the mode of the answer requires, commitBytes at a
// time, so that what it lets through never piles up.
func (aw *answerWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > commitBytes {
		n, err := aw.write(p[:commitBytes])
		written += n
		if err != nil {
			return written, err
		}
		p = p[commitBytes:]
	}
	n, err := aw.write(p)
	return written + n, err
}

// write filters one piece of the answer.
func (aw *answerWriter) write(p []byte) (int, error) {
	if aw.mode == modeUndecided {
		aw.WriteHeader(http.StatusOK)
	}
	var err error
	switch aw.mode {
	case modePass:
		return aw.w.Write(p)
	case modeRefused:
		return 0, aw.err
	case modeEmpty:
		if len(p) == 0 {
			return 0, nil
		}
		aw.refuse(unreadable("a successful answer that is neither JSON nor an event stream"))
		return 0, aw.err
	case modeJSON:
		if !aw.streaming && len(aw.whole)+len(p) <= commitBytes {
			aw.whole = append(aw.whole, p...)
			return len(p), nil
		}
		err = aw.readJSON(p)
	case modeStream:
		err = aw.sse.write(p)
	}
	if err != nil {
		aw.refuse(err)
		return 0, err
	}
	if err := aw.push(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// readJSON has the filter read what whole holds, then p: from then on
// the answer streams through the filter.
func (aw *answerWriter) readJSON(p []byte) error {
	if !aw.streaming {
		aw.streaming = true
		err := aw.filter.write(aw.whole)
		aw.whole = aw.whole[:0]
		if err != nil {
			return err
		}
	}
	return aw.filter.write(p)
}

// push sends what the filter let through: at once for an event stream,
// and for an application/json answer once it is past commitBytes or at
// its end.
func (aw *answerWriter) push(end bool) error {
	out := aw.filter.out
	if aw.mode == modeJSON && !aw.committed {
		if !end && len(out) < commitBytes {
			return nil
		}
		if end {
			aw.w.Header()["Content-Length"] = []string{strconv.Itoa(len(out))}
		}
		aw.commit()
	}
	if len(out) > 0 {
		_, err := aw.w.Write(out)
		aw.filter.out = out[:0]
		if err != nil {
			aw.mode, aw.err = modeRefused, err
			return err
		}
	}
	if aw.mode == modeStream {
		aw.flush()
	}
	return nil
}

// Flush sends what has passed so far. A held application/json answer is
// not sent before it is past commitBytes or ends, nor the status of an
// answer that must have no body before it ends.
func (aw *answerWriter) Flush() {
	if aw.mode == modeUndecided {
		aw.WriteHeader(http.StatusOK)
	}
	switch aw.mode {
	case modePass, modeStream:
		aw.flush()
	}
}

// flush flushes the wrapped writer, if it can.
func (aw *answerWriter) flush() {
	_ = http.NewResponseController(aw.w).Flush() // a writer that cannot flush sends when it can
}

// finish completes the answer once the next handler has returned (or
// panicked): it writes the end of a held application/json answer or of an
// event stream, and gives back the budget the filter held. It returns why
// the answer was refused, or the first error of the wrapped writer.
func (aw *answerWriter) finish() error {
	defer aw.filter.dropHeld()
	switch aw.mode {
	case modeEmpty:
		if !aw.committed {
			aw.commit()
		}
	case modeJSON:
		if !aw.streaming && aw.filter.passesUnchanged(aw.whole) {
			aw.filter.out = append(aw.filter.out[:0], aw.whole...)
			return aw.push(true)
		}
		err := aw.readJSON(nil)
		if err == nil {
			err = aw.filter.end()
		}
		if err != nil {
			aw.refuse(err)
			return err
		}
		return aw.push(true)
	case modeStream:
		aw.sse.finish()
		return aw.push(true)
	}
	return aw.err
}

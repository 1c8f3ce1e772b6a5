package mcpauthz

import (
	"net/http"
	"strings"
	"sync"
)

// Filter hands the request r on to next and filters its answer; the
// handler calls it for every request it passes on a route with rules,
// after the request was authorized. allowed reports whether the token
// grants every scope of a slice; maxEntryBytes bounds one listing entry
// (the handler gives max_mcp_body_bytes x 4).
//
// Filter asks for an uncompressed answer (it removes Accept-Encoding) and
// for no protocol switch (it removes Upgrade), then reads the answer by
// content, whatever the request was:
//
//   - An application/json (or +json) answer must be one JSON-RPC message
//     (an object with jsonrpc "2.0") or a non-empty batch of them; a
//     text/event-stream answer is read event by event, and the data of
//     each event of the default type that has data must be one too (see
//     sseFilter). Both are passed on without white space outside strings.
//   - In every success response's result, the tools, prompts, resources
//     and resourceTemplates arrays of the kinds that have rules keep
//     exactly the entries whose operation allowed accepts: the route's
//     scopes, the first method rule matching tools/call (prompts/get,
//     resources/read), and the first rule of the kind matching the
//     entry's name (uri, uriTemplate; the empty string when it is missing
//     or not a string). Every other member is kept. When rules can filter
//     any listing, every result's cacheScope is answered "private": which
//     listing a result holds may only come after its cacheScope.
//   - Entries are held one at a time: up to 32 KiB each freely, beyond
//     that from a process-wide budget of 64 MiB (an entry may wait for it;
//     one larger than the budget waits for all of it). An entry larger
//     than maxEntryBytes is refused.
//   - A 2xx answer of another media type must have no body; redirects and
//     errors of another media type pass unchanged. A compressed JSON or
//     event-stream answer, and a protocol switch, are refused.
//
// A refused answer is never passed on: when nothing was sent yet the
// client gets 502 {"error":"bad_gateway"}, otherwise the answer ends there
// (a JSON body before its last byte, an event stream before the refused
// event's blank line), and Filter returns an error wrapping
// ErrUnreadableAnswer. A POST or GET answer carries Cache-Control: private
// (see privateCacheControl): what it shows depends on the token.
func (rs *RuleSet) Filter(w http.ResponseWriter, r *http.Request, allowed func(scopes []string) bool,
	maxEntryBytes int, next func(http.ResponseWriter, *http.Request) error) (err error) {
	delete(r.Header, "Accept-Encoding") // the header keys here are canonical
	delete(r.Header, "Upgrade")
	aw := answerWriters.Get().(*answerWriter)
	aw.w, aw.private = w, r.Method == http.MethodPost || r.Method == http.MethodGet
	aw.filter.init(r.Context(), rs, allowed, maxEntryBytes)
	defer func() {
		if finishErr := aw.finish(); err == nil {
			err = finishErr
		}
		aw.recycle()
	}()
	return next(aw, r)
}

// answerWriters keeps answerWriters and their filters' buffers for the
// next answer.
var answerWriters = sync.Pool{New: func() any { return &answerWriter{filter: new(listFilter)} }}

// recycle puts aw back into answerWriters, without the references of its
// answer and without buffers that grew large.
func (aw *answerWriter) recycle() {
	f := aw.filter
	f.dropHeld()
	if cap(f.out) > commitBytes*2 {
		f.out = nil
	}
	*f = listFilter{out: f.out[:0], stack: f.stack[:0], capture: f.capture[:0], held: f.held[:0]}
	whole := aw.whole[:0]
	if cap(whole) > commitBytes {
		whole = nil
	}
	*aw = answerWriter{filter: f, sse: sseFilter{name: aw.sse.name[:0], eventType: aw.sse.eventType[:0]}, whole: whole}
	answerWriters.Put(aw)
}

// privateCacheControl makes the Cache-Control of h private: a no-store
// stays as it is; otherwise public (and a private limited to some fields)
// gives way to private, and the other directives are kept.
func privateCacheControl(h http.Header) {
	if len(h["Cache-Control"]) == 0 {
		h["Cache-Control"] = []string{"private"}
		return
	}
	var kept []string
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.TrimSpace(d)
			name, _, _ := strings.Cut(d, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				return
			case "public", "private", "":
				continue
			}
			kept = append(kept, d)
		}
	}
	h["Cache-Control"] = []string{strings.Join(append([]string{"private"}, kept...), ", ")}
}

// The media types the filter tells apart.
const (
	mediaOther = iota
	mediaJSON
	mediaStream
)

// answerMedia returns the media type of an answer's Content-Type. clean
// is false when the header could still read as JSON or an event stream to
// a lenient client (several values, odd bytes, a charset other than
// UTF-8): such an answer may have no body.
func answerMedia(h http.Header) (media int, clean bool) {
	values := h["Content-Type"]
	if len(values) == 0 {
		return mediaOther, true
	}
	v := values[0]
	base, params, _ := strings.Cut(v, ";")
	base = strings.ToLower(strings.Trim(base, " \t"))
	switch {
	case base == "text/event-stream":
		media = mediaStream
	case base == "application/json" || strings.HasSuffix(base, "+json"):
		media = mediaJSON
	}
	suspect := false
	for _, v := range values {
		suspect = suspect || containsFold(v, "json") || containsFold(v, "event-stream")
	}
	clean = len(values) == 1 && utf8Charset(params)
	if media == mediaOther {
		return mediaOther, !suspect
	}
	if !clean {
		return mediaOther, false
	}
	return media, true
}

// utf8Charset reports whether the parameters of a Content-Type name no
// charset but UTF-8.
func utf8Charset(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "charset") {
			continue
		}
		if !strings.EqualFold(strings.Trim(strings.TrimSpace(value), `"`), "utf-8") {
			return false
		}
	}
	return true
}

// isEncoded reports whether h gives the answer a content coding.
func isEncoded(h http.Header) bool {
	for _, v := range h["Content-Encoding"] {
		if v = strings.TrimSpace(v); v != "" && !strings.EqualFold(v, "identity") {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains sub (lower-case ASCII) in any
// letter case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

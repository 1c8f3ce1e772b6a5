package mcpauthz

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// Request is what Authorize read of a request it passed, or of one it
// refused for its operation's scopes.
type Request struct {
	// Messages are the JSON-RPC messages of a POST, in order; none for a
	// GET or DELETE.
	Messages []Message
	// Decisions are the operations decided, in order: one for each
	// message with a method, up to the first the token may not send.
	Decisions []Decision
	// Batch reports a POST whose body is a JSON-RPC batch (an array).
	Batch bool
	// Modern reports a POST of the 2026-07-28 era.
	Modern bool

	// oneMessage and oneDecision hold the message and decision of a body
	// that is one message, so that such a request takes one allocation.
	oneMessage  [1]Message
	oneDecision [1]Decision
	// body is the request body Authorize put back.
	body bodyReader
}

// Decision is the outcome of one operation.
type Decision struct {
	// Message is the message that asks for the operation.
	Message *Message
	// Scopes are the operation's scopes: the route's, those of the
	// matching rules and, for a subscriptions/listen, those of every
	// resource it names. The caller must not modify the slice.
	Scopes []string
	// Allowed reports that the token grants every one of Scopes.
	Allowed bool
}

// Reasons of a Refusal, each a short snake_case word fit for a metric
// label.
const (
	ReasonMethodNotAllowed     = "method_not_allowed"
	ReasonUnsupportedMediaType = "unsupported_media_type"
	ReasonTooLarge             = "request_too_large"
	ReasonParseError           = "parse_error"
	ReasonInvalidRequest       = "invalid_request"
	ReasonHeaderMismatch       = "header_mismatch"
	ReasonInsufficientScope    = "insufficient_scope"
)

// Refusal is the answer to a request that Authorize refuses. It is an
// error, so that Authorize has one way to say no. Refusals may be shared
// between requests: the caller must not modify one.
type Refusal struct {
	// Reason says why, as one of the Reason constants.
	Reason string
	// Status is the HTTP status of the answer.
	Status int
	// Allow is the Allow header of a 405, empty otherwise.
	Allow string
	// Body is the JSON body of the answer; nil for ReasonInsufficientScope,
	// whose answer (a 403 with a WWW-Authenticate challenge naming Scopes)
	// the caller writes.
	Body []byte
	// Scopes are the scopes of the operation the token may not send, for
	// ReasonInsufficientScope.
	Scopes []string
}

// Error returns the reason.
func (f *Refusal) Error() string {
	return "request refused: " + f.Reason
}

// AllowedMethods is the Allow header of the answer to any other method
// on a route with rules.
const AllowedMethods = "GET, POST, DELETE, OPTIONS"

// Fixed answers of refusals.
var (
	methodNotAllowed = &Refusal{Reason: ReasonMethodNotAllowed, Status: http.StatusMethodNotAllowed,
		Allow: AllowedMethods, Body: []byte(`{"error":"method_not_allowed"}`)}
	bodyNotAllowed = &Refusal{Reason: ReasonInvalidRequest, Status: http.StatusBadRequest,
		Body: []byte(`{"error":"invalid_request","error_description":"a GET or DELETE request carries no body"}`)}
	unsupportedMediaType = &Refusal{Reason: ReasonUnsupportedMediaType, Status: http.StatusUnsupportedMediaType,
		Body: []byte(`{"error":"unsupported_media_type"}`)}
	tooLarge = &Refusal{Reason: ReasonTooLarge, Status: http.StatusRequestEntityTooLarge,
		Body: []byte(`{"error":"request_too_large"}`)}
	parseError = &Refusal{Reason: ReasonParseError, Status: http.StatusBadRequest, Body: []byte(ParseErrorBody)}
)

// Authorize reads a request on a route with rules, whose token and route
// scopes have passed, and decides it; allowed reports whether the token
// grants every scope of a slice. It returns what it read, or an error: a
// *Refusal to answer as it says (the request must not reach the backend),
// or the error of reading the body.
//
// A route with rules understands POST, GET and DELETE (the CORS preflight
// is the caller's): any other method is refused with 405. A GET or DELETE
// may not carry a body (400). A POST needs one Content-Type that reads as
// application/json with at most charset=utf-8, and no Content-Encoding
// (415); a body of at most limit bytes (413) of strict JSON (400, -32700);
// one JSON-RPC 2.0 message, or in the 2025 era a non-empty batch of them
// (400, -32600 for the shape, -32602 for params); metadata headers that
// agree with the body (400, -32020); and for each operation, the scopes
// its rules name (a *Refusal with ReasonInsufficientScope and those
// scopes; the Request is returned too, with the decisions made).
//
// The body of a POST is put back into r byte for byte, so the next
// handler reads exactly what the rules read.
func (rs *RuleSet) Authorize(r *http.Request, limit int64, allowed func(scopes []string) bool) (*Request, error) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodDelete:
		empty, err := bodyIsEmpty(r)
		if err != nil {
			return nil, err
		}
		if !empty {
			return nil, bodyNotAllowed
		}
		return &Request{}, nil
	default:
		return nil, methodNotAllowed
	}
	if len(r.Header["Content-Encoding"]) > 0 || !isJSONContentType(r.Header["Content-Type"]) {
		return nil, unsupportedMediaType
	}
	if r.Body == nil { // a server request always has one; a hand-made one may not
		r.Body = http.NoBody
	}
	body, err := ReadBody(r.Body, r.ContentLength, limit)
	var tooLong *http.MaxBytesError // a request_body limit in front
	switch {
	case errors.Is(err, ErrTooLarge) || errors.As(err, &tooLong):
		return nil, tooLarge
	case err != nil:
		return nil, err
	}
	req := new(Request)
	req.body.Reset(body)
	r.Body = &req.body
	msgs, batch, err := parseBody(body, &req.oneMessage)
	if err != nil {
		return nil, parseError
	}
	req.Messages, req.Batch, req.Modern = msgs, batch, isModern(r.Header, msgs)
	if refusal := req.checkShape(batch); refusal != nil {
		return nil, refusal
	}
	for i := range msgs {
		if !headersAgree(r.Header, &msgs[i], req.Modern) {
			return nil, jsonRPCRefusal(ReasonHeaderMismatch, codeHeaderMismatch, msgs[i].ID)
		}
	}
	return rs.decide(req, r.Header, allowed)
}

// bodyReader is the body of a request once Authorize has read it: the same
// bytes again.
type bodyReader struct {
	bytes.Reader
}

// Close does nothing: the bytes are in memory.
func (*bodyReader) Close() error { return nil }

// bodyIsEmpty reports whether a GET or DELETE has no body: none announced,
// or an empty one (a chunked body that ends at once). It reads at most one
// byte to know.
func bodyIsEmpty(r *http.Request) (bool, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return true, nil
	}
	if r.ContentLength > 0 {
		return false, nil
	}
	var one [1]byte
	n, err := io.ReadFull(r.Body, one[:])
	switch {
	case n > 0:
		return false, nil
	case err == io.EOF:
		r.Body = http.NoBody
		return true, nil
	}
	return false, err
}

// checkShape refuses a body that is not one JSON-RPC message, or (in the
// 2025 era) a non-empty batch of them, each well formed.
func (req *Request) checkShape(batch bool) *Refusal {
	if batch && (req.Modern || len(req.Messages) == 0) {
		return jsonRPCRefusal(ReasonInvalidRequest, codeInvalidRequest, nil)
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		switch {
		case m.fault != 0:
			return jsonRPCRefusal(ReasonInvalidRequest, m.fault, m.ID)
		case m.response && req.Modern: // a 2026-07-28 client posts no responses
			return jsonRPCRefusal(ReasonInvalidRequest, codeInvalidRequest, m.ID)
		}
	}
	return nil
}

// decide finds the scopes of every operation, then decides them in
// order; the first one the token may not send refuses the request.
func (rs *RuleSet) decide(req *Request, header http.Header, allowed func([]string) bool) (*Request, error) {
	req.Decisions = req.oneDecision[:0]
	if len(req.Messages) > 1 {
		req.Decisions = make([]Decision, 0, len(req.Messages))
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		if !m.HasMethod {
			continue // a response needs only the route's scopes, checked already
		}
		scopes, code := rs.operationScopes(m, header)
		if code != 0 {
			reason := ReasonInvalidRequest
			if code == codeHeaderMismatch {
				reason = ReasonHeaderMismatch
			}
			return nil, jsonRPCRefusal(reason, code, m.ID)
		}
		req.Decisions = append(req.Decisions, Decision{Message: m, Scopes: scopes})
	}
	for i := range req.Decisions {
		d := &req.Decisions[i]
		if d.Allowed = allowed(d.Scopes); !d.Allowed {
			req.Decisions = req.Decisions[:i+1]
			return req, &Refusal{Reason: ReasonInsufficientScope, Status: http.StatusForbidden, Scopes: d.Scopes}
		}
	}
	return req, nil
}

// operationScopes returns the scopes of the operation m asks for, or a
// JSON-RPC error code for an argument or header that refuses it.
func (rs *RuleSet) operationScopes(m *Message, header http.Header) ([]string, int) {
	scopes := rs.ScopesFor(m.Method, m.Target)
	switch m.Method {
	case "tools/call":
		if len(rs.arguments) > 0 {
			return rs.argumentScopes(m, header, scopes)
		}
	case "subscriptions/listen":
		if m.subscriptions != nil {
			return rs.subscriptionScopes(m.subscriptions, scopes), 0
		}
	}
	return scopes, 0
}

// subscriptionScopes adds to scopes those of the first mcp_resource rule
// that matches each URI of the array list (strings, checked by the
// parser).
func (rs *RuleSet) subscriptionScopes(list []byte, scopes []string) []string {
	eachElement(list, 0, func(start, end int) bool {
		uri, _ := stringValue(list[start:end])
		for _, r := range rs.byKind[Resource] {
			if r.pattern.match(uri) {
				scopes = merge(scopes, r.scopes)
				break
			}
		}
		return true
	})
	return scopes
}

// errorMessages are the messages of the JSON-RPC errors Authorize answers.
var errorMessages = map[int]string{
	codeInvalidRequest: "Invalid Request",
	codeInvalidParams:  "Invalid params",
	codeHeaderMismatch: "Header mismatch",
}

// jsonRPCRefusal is a 400 with a JSON-RPC error of code for the message
// whose raw id is id (null when there is none, or it is not a valid id).
func jsonRPCRefusal(reason string, code int, id []byte) *Refusal {
	if id == nil || !validID(id) {
		id = []byte("null")
	}
	body := make([]byte, 0, 96+len(id))
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = append(body, id...)
	body = append(body, `,"error":{"code":`...)
	body = strconv.AppendInt(body, int64(code), 10)
	body = append(body, `,"message":`...)
	body = strconv.AppendQuote(body, errorMessages[code])
	body = append(body, "}}"...)
	return &Refusal{Reason: reason, Status: http.StatusBadRequest, Body: body}
}

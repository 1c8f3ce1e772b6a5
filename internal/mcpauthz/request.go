package mcpauthz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

// ParseErrorBody is the JSON-RPC answer to a request body that
// ParseRequestBody refuses, sent with status 400.
const ParseErrorBody = `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`

// ErrParse is wrapped by every error of ParseRequestBody.
var ErrParse = errors.New("request body is not strict JSON")

// ErrTooLarge is returned by ReadBody for a body longer than its limit.
var ErrTooLarge = errors.New("request body too large")

// Message is what the rules need of one JSON-RPC message of a request body.
type Message struct {
	// HasMethod reports that the message has a string method, so it asks
	// for an operation. A message without one (a response, an element that
	// is not an object) needs only the route's scopes.
	HasMethod bool
	// Method is the method, when HasMethod.
	Method string
	// Target is what the rules of the method's kind match: params.name of
	// tools/call and prompts/get, params.uri of resources/read and
	// resources/subscribe. It is empty when that member is missing or not
	// a string, or params is not an object; Authorize refuses such a
	// message. Other methods have no target.
	Target string
	// ID is the raw JSON of the id member, as the client spelled it; nil
	// when there is none (a notification).
	ID []byte
	// Arguments is the raw JSON of params.arguments (of a tools/call, a
	// prompts/get or any other method), exactly as it came; nil when
	// there is none.
	Arguments []byte

	// fault is the JSON-RPC error code the message's shape earns
	// (codeInvalidRequest, codeInvalidParams), 0 when it is well formed.
	fault int
	// version is params._meta["io.modelcontextprotocol/protocolVersion"],
	// when hasVersion.
	version    string
	hasVersion bool
	// response reports a message without a method that carries a result
	// or an error.
	response bool
	// subscriptions is the raw array params.notifications
	// .resourceSubscriptions of a subscriptions/listen, nil when absent.
	subscriptions []byte
}

// JSON-RPC error codes of the answers to requests that are refused.
const (
	codeInvalidRequest = -32600
	codeInvalidParams  = -32602
	codeHeaderMismatch = -32020
)

// The _meta member that names a message's protocol version.
const metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"

// ReadBody reads all of r when it holds at most limit bytes, and returns
// ErrTooLarge without reading further when it holds more. size is the
// length the request announced (-1: unknown), so that the body is read
// into one buffer of its size.
func ReadBody(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, ErrTooLarge
	}
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	capacity := int64(512)
	if size > 0 {
		capacity = size + 1 // the extra byte sees the end
	}
	body := make([]byte, 0, capacity)
	lr := io.LimitedReader{R: r, N: n}
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		m, err := lr.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	return body, nil
}

// ParseRequestBody parses a request body strictly: it must be valid UTF-8
// and exactly one JSON value, and no object at any depth may give a member
// name twice, also not in two spellings that differ only in letter case
// (encoding/json would read either). The errors wrap ErrParse and do not
// repeat the body. A body that is an object is one message; an array is a
// batch, one message per element (an empty batch has none); any other
// value, and any element that is not an object, is a message without an
// operation. Member names are matched the way encoding/json matches them
// ("Method" is the method), since a server may read them so. Whether the
// messages are well-formed JSON-RPC is Authorize's question.
func ParseRequestBody(body []byte) ([]Message, error) {
	msgs, _, err := parseBody(body, new([1]Message))
	return msgs, err
}

// parseBody is ParseRequestBody that also reports whether the body is a
// batch; a body that is one message is read into one.
func parseBody(body []byte, one *[1]Message) ([]Message, bool, error) {
	verdict, repeated := scanStrict(body)
	if verdict == scanUnsure {
		verdict, repeated = fullCheck(body)
	}
	switch {
	case verdict == scanInvalid && !utf8.Valid(body):
		return nil, false, fmt.Errorf("%w: not valid UTF-8", ErrParse)
	case verdict == scanInvalid:
		return nil, false, fmt.Errorf("%w: not a single JSON value", ErrParse)
	case repeated:
		return nil, false, fmt.Errorf("%w: an object repeats a member name", ErrParse)
	}
	i := skipSpace(body, 0)
	switch body[i] {
	case '{':
		one[0] = parseMessage(body, i)
		return one[:], false, nil
	case '[':
		var msgs []Message
		eachElement(body, i, func(start, _ int) bool {
			if body[start] == '{' {
				msgs = append(msgs, parseMessage(body, start))
			} else {
				msgs = append(msgs, Message{fault: codeInvalidRequest})
			}
			return true
		})
		return msgs, true, nil
	}
	return []Message{{fault: codeInvalidRequest}}, false, nil
}

// fullCheck is scanStrict without its limits, for the bodies it gives up
// on: deep, wide, or with names that only Unicode case folding compares.
func fullCheck(body []byte) (verdict scanVerdict, repeated bool) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return scanInvalid, false
	}
	rep, err := jsonnames.Repeated(body)
	if err != nil {
		return scanInvalid, false
	}
	return scanValid, rep != nil
}

// parseMessage reads the message whose object starts at obj in a body
// that ParseRequestBody has checked, so each name occurs at most once,
// and notes the first fault of its shape.
func parseMessage(body []byte, obj int) Message {
	var m Message
	params, methodSeen, jsonrpcOK, result := -1, false, false, false
	eachMember(body, obj, func(name []byte, start, end int) bool {
		switch {
		case nameIs(name, "jsonrpc"):
			raw := body[start:end]
			if jsonrpcOK = string(raw) == `"2.0"`; !jsonrpcOK {
				v, ok := stringValue(raw) // an escaped spelling
				jsonrpcOK = ok && v == "2.0"
			}
		case nameIs(name, "method"):
			methodSeen = true
			m.Method, m.HasMethod = stringValue(body[start:end])
		case nameIs(name, "id"):
			m.ID = body[start:end]
		case nameIs(name, "params"):
			params = start
		case nameIs(name, "result"), nameIs(name, "error"):
			result = true
		}
		return true
	})
	paramsFault := 0
	switch {
	case !m.HasMethod:
		m.response = result && m.ID != nil
	case params >= 0 && body[params] != '{':
		paramsFault = codeInvalidParams
	default:
		paramsFault = m.readParams(body, params)
	}
	switch {
	case !jsonrpcOK, methodSeen && !m.HasMethod, m.ID != nil && !validID(m.ID), !m.HasMethod && !m.response:
		m.fault = codeInvalidRequest
	default:
		m.fault = paramsFault
	}
	return m
}

// validID reports whether an id is a string, a number or null.
func validID(raw []byte) bool {
	switch c := raw[0]; {
	case c == '"', c == 'n', c == '-', '0' <= c && c <= '9':
		return true
	}
	return false
}

// readParams reads the members of params (starting at params, or -1 when
// there is none) that the method's rules and headers need, and returns the
// fault code of params, 0 when they are well formed.
func (m *Message) readParams(body []byte, params int) int {
	want := ""
	switch m.Method {
	case "tools/call", "prompts/get":
		want = "name"
	case "resources/read", "resources/subscribe":
		want = "uri"
	}
	if params < 0 {
		if want != "" {
			return codeInvalidParams
		}
		return 0
	}
	fault, found := 0, false
	eachMember(body, params, func(name []byte, start, end int) bool {
		raw := body[start:end]
		switch {
		case want != "" && nameIs(name, want):
			m.Target, found = stringValue(raw)
		case nameIs(name, "arguments"):
			if m.Method == "tools/call" && raw[0] != '{' && raw[0] != 'n' {
				fault = codeInvalidParams
			}
			m.Arguments = raw
		case m.Method == "subscriptions/listen" && nameIs(name, "notifications"):
			fault = m.readNotifications(body, start, end)
		case nameIs(name, "_meta") && raw[0] == '{':
			fault = m.readMeta(body, start)
		}
		return fault == 0
	})
	if fault == 0 && want != "" && !found {
		fault = codeInvalidParams
	}
	return fault
}

// readMeta reads the protocol version of the _meta object at start; a
// version that is not a string is a fault.
func (m *Message) readMeta(body []byte, start int) int {
	fault := 0
	eachMember(body, start, func(name []byte, s, e int) bool {
		if !nameExactly(name, metaProtocolVersion) {
			return true
		}
		m.version, m.hasVersion = stringValue(body[s:e])
		if !m.hasVersion {
			fault = codeInvalidParams
		}
		return false
	})
	return fault
}

// nameExactly reports whether the quoted member name raw decodes to want,
// letter case included (as a map key reads it).
func nameExactly(raw []byte, want string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1:len(raw)-1]) == want
	}
	name, ok := stringValue(raw)
	return ok && name == want
}

// readNotifications reads params.notifications of a subscriptions/listen:
// an object whose resourceSubscriptions, when present, is an array of
// strings.
func (m *Message) readNotifications(body []byte, start, end int) int {
	if body[start] != '{' {
		return codeInvalidParams
	}
	fault := 0
	eachMember(body, start, func(name []byte, s, e int) bool {
		if !nameIs(name, "resourcesubscriptions") {
			return true
		}
		if body[s] != '[' {
			fault = codeInvalidParams
			return false
		}
		eachElement(body, s, func(es, ee int) bool {
			if body[es] != '"' {
				fault = codeInvalidParams
			}
			return fault == 0
		})
		m.subscriptions = body[s:e]
		return false
	})
	return fault
}

package mcpauthz

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
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
	// a string, or params is not an object, so only a pattern that matches
	// the empty string (such as "*") applies; the server refuses such a
	// call anyway. Other methods have no target.
	Target string
	// ID is the raw JSON of the id member, as the client spelled it; nil
	// when there is none (a notification).
	ID []byte
	// Arguments are the exact bytes of params.arguments as the request
	// holds them; nil when params is not an object or has no arguments.
	Arguments []byte
}

// IsJSONMediaType reports whether a Content-Type names a JSON media type:
// application/json or any type with the +json suffix, with or without
// parameters, in any letter case.
func IsJSONMediaType(contentType string) bool {
	media := baseMediaType(contentType)
	return media == "application/json" || strings.HasSuffix(media, "+json")
}

// baseMediaType returns a Content-Type's media type in lower case,
// without parameters.
func baseMediaType(contentType string) string {
	media, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(media))
}

// ReadBody reads all of r when it holds at most limit bytes, and returns
// ErrTooLarge without reading further when it holds more.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	body, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
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
// ("Method" is the method), since a server may read them so.
func ParseRequestBody(body []byte) ([]Message, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrParse)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("%w: not a single JSON value", ErrParse)
	}
	i := skipSpace(body, 0)
	repeated, decided := repeatedName(body, i, 0)
	if !decided {
		rep, err := jsonnames.Repeated(body)
		if err != nil {
			return nil, fmt.Errorf("%w: not a single JSON value", ErrParse)
		}
		repeated = rep != nil
	}
	if repeated {
		return nil, fmt.Errorf("%w: an object repeats a member name", ErrParse)
	}
	switch body[i] {
	case '{':
		return []Message{parseMessage(body, i)}, nil
	case '[':
		var msgs []Message
		eachElement(body, i, func(start, _ int) bool {
			if body[start] == '{' {
				msgs = append(msgs, parseMessage(body, start))
			} else {
				msgs = append(msgs, Message{})
			}
			return true
		})
		return msgs, nil
	}
	return []Message{{}}, nil
}

// parseMessage reads the message whose object starts at obj in a body
// that ParseRequestBody has checked, so each name occurs at most once.
func parseMessage(body []byte, obj int) Message {
	var m Message
	params := -1
	eachMember(body, obj, func(name []byte, start, end int) bool {
		switch {
		case nameIs(name, "method"):
			m.Method, m.HasMethod = stringValue(body[start:end])
		case nameIs(name, "id"):
			m.ID = body[start:end]
		case nameIs(name, "params"):
			params = start
		}
		return true
	})
	if !m.HasMethod || params < 0 || body[params] != '{' {
		return m
	}
	want := ""
	switch kind, ok := kindOf(m.Method); {
	case ok && kind == Resource:
		want = "uri"
	case ok:
		want = "name"
	}
	eachMember(body, params, func(name []byte, start, end int) bool {
		switch {
		case want != "" && nameIs(name, want):
			m.Target, _ = stringValue(body[start:end])
		case nameIs(name, "arguments"):
			m.Arguments = body[start:end]
		}
		return true
	})
	return m
}

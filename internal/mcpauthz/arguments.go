package mcpauthz

import (
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

// argumentRule is an Argument rule compiled: tools/call of a tool that
// matches tool, whose argument at path has a value that matches value,
// needs scopes.
type argumentRule struct {
	tool   pattern
	path   []string
	value  pattern
	scopes []string
	// header is the canonical name of the Mcp-Param header that mirrors
	// the argument: Mcp-Param- and the last member of path.
	header string
}

// compileArgumentRule checks and compiles an Argument rule: a path of
// non-empty member names and a value pattern.
func compileArgumentRule(r Rule) (argumentRule, error) {
	if r.Path == "" {
		return argumentRule{}, fmt.Errorf("%s rule %q: empty argument path", r.Kind, r.Pattern)
	}
	path := strings.Split(r.Path, ".")
	for _, member := range path {
		if member == "" {
			return argumentRule{}, fmt.Errorf("%s rule %q: argument path %q has an empty member", r.Kind, r.Pattern, r.Path)
		}
	}
	if r.Value == "" {
		return argumentRule{}, fmt.Errorf("%s rule %q: empty value pattern", r.Kind, r.Pattern)
	}
	return argumentRule{
		tool:   compilePattern(r.Pattern),
		path:   path,
		value:  compilePattern(r.Value),
		scopes: merge(nil, r.Scopes),
		header: textproto.CanonicalMIMEHeaderKey("Mcp-Param-" + path[len(path)-1]),
	}, nil
}

// argumentValue is the value of one argument as the rules read it.
type argumentValue struct {
	text    string // strings as they are, integers in decimal, booleans as true or false
	integer bool   // the value is an integer
}

// argumentScopes adds to scopes those of every Argument rule that matches
// the tools/call m, and checks every Mcp-Param header that mirrors an
// argument a rule reads. It returns the scopes (scopes itself when no rule
// adds any) and a JSON-RPC error code: codeInvalidParams for a value of
// another type than string, integer or boolean at a rule's path,
// codeHeaderMismatch for a header that disagrees with the body.
func (rs *RuleSet) argumentScopes(m *Message, header http.Header, scopes []string) ([]string, int) {
	for i := range rs.arguments {
		a := &rs.arguments[i]
		if !a.tool.match(m.Target) {
			continue
		}
		raw, found := lookupArgument(m.Arguments, a.path)
		mirrored, hasHeader := header[a.header]
		if !found || raw[0] == 'n' {
			if hasHeader {
				return nil, codeHeaderMismatch
			}
			if found {
				return nil, codeInvalidParams // null
			}
			continue
		}
		v, ok := readArgument(raw)
		if !ok {
			return nil, codeInvalidParams
		}
		if hasHeader && !headerMatchesArgument(mirrored, v) {
			return nil, codeHeaderMismatch
		}
		if a.value.match(v.text) {
			scopes = merge(scopes, a.scopes)
		}
	}
	return scopes, 0
}

// lookupArgument returns the raw value at path in the arguments object,
// following object members only, matched as encoding/json matches names.
func lookupArgument(args []byte, path []string) ([]byte, bool) {
	if len(args) == 0 || args[0] != '{' {
		return nil, false
	}
	start, end := 0, len(args)
	for _, member := range path {
		if args[start] != '{' {
			return nil, false
		}
		found := false
		eachMember(args, start, func(name []byte, s, e int) bool {
			if nameEquals(name, member) {
				start, end, found = s, e, true
				return false
			}
			return true
		})
		if !found {
			return nil, false
		}
	}
	return args[start:end], true
}

// nameEquals reports whether the quoted member name raw reads as want to
// encoding/json, which matches names without regard to case.
func nameEquals(raw []byte, want string) bool {
	if inner := raw[1 : len(raw)-1]; plainName(inner) && isASCII(want) {
		return equalFold(string(inner), want)
	}
	name, ok := stringValue(raw)
	return ok && jsonnames.Fold(name) == jsonnames.Fold(want)
}

// isASCII reports whether s holds ASCII bytes only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// readArgument reads a string, an integer (a number written without a
// fraction or an exponent) or a boolean; any other value is refused.
func readArgument(raw []byte) (argumentValue, bool) {
	switch c := raw[0]; {
	case c == '"':
		s, ok := stringValue(raw)
		return argumentValue{text: s}, ok
	case c == 't':
		return argumentValue{text: "true"}, true
	case c == 'f':
		return argumentValue{text: "false"}, true
	case c == '-' || ('0' <= c && c <= '9'):
		for _, d := range raw[1:] {
			if d < '0' || d > '9' {
				return argumentValue{}, false
			}
		}
		text := string(raw)
		if text == "-0" {
			text = "0"
		}
		return argumentValue{text: text, integer: true}, true
	}
	return argumentValue{}, false
}

// headerMatchesArgument reports whether the values of an Mcp-Param header
// (one value, after decoding its base64 form) mirror the argument v:
// integers compared by value, everything else as text.
func headerMatchesArgument(values []string, v argumentValue) bool {
	if len(values) != 1 {
		return false
	}
	got, ok := decodeHeaderValue(values[0])
	if !ok {
		return false
	}
	if got == v.text || !v.integer {
		return got == v.text
	}
	h, err := strconv.ParseFloat(got, 64)
	if err != nil || math.IsInf(h, 0) || math.IsNaN(h) || h != math.Trunc(h) || math.Abs(h) > maxSafeInteger {
		return false
	}
	b, err := strconv.ParseFloat(v.text, 64)
	return err == nil && math.Abs(b) <= maxSafeInteger && h == b
}

// maxSafeInteger is the largest integer that a float64 (and so every
// JSON reader) holds exactly, 2^53-1.
const maxSafeInteger = 1<<53 - 1

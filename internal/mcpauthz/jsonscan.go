package mcpauthz

import (
	"bytes"
	"encoding/json"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

// The functions in this file walk JSON that has already been checked with
// json.Valid, by byte offsets, so that values can be read and replaced
// without decoding or re-encoding anything else.

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at i:
// past the first quote after it that an even run of backslashes precedes.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			break
		}
		quote := i + j
		run := quote
		for run > i && b[run-1] == '\\' {
			run--
		}
		if (quote-run)%2 == 0 {
			return quote + 1
		}
		i = quote + 1
	}
	return len(b)
}

// valueEnd returns the index just past the JSON value that starts at i.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' &&
		b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// eachMember calls fn with the quoted name and the value's span of every
// member of the object that starts at obj, until fn returns false.
func eachMember(b []byte, obj int, fn func(name []byte, start, end int) bool) {
	i := skipSpace(b, obj+1)
	for i < len(b) && b[i] == '"' {
		nameEnd := stringEnd(b, i)
		start := skipSpace(b, skipSpace(b, nameEnd)+1) // past the ':'
		end := valueEnd(b, start)
		if !fn(b[i:nameEnd], start, end) {
			return
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// eachElement calls fn with the span of every element of the array that
// starts at arr, until fn returns false.
func eachElement(b []byte, arr int, fn func(start, end int) bool) {
	i := skipSpace(b, arr+1)
	for i < len(b) && b[i] != ']' {
		end := valueEnd(b, i)
		if !fn(i, end) {
			return
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// nameIs reports whether the quoted member name raw reads as want (plain
// lower-case ASCII) to a decoder that matches names the way encoding/json
// does: after unescaping, with Unicode case folding ("NAME", "ſcope").
func nameIs(raw []byte, want string) bool {
	if inner := raw[1 : len(raw)-1]; plainName(inner) {
		if len(inner) != len(want) {
			return false
		}
		for i, c := range inner {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != want[i] {
				return false
			}
		}
		return true
	}
	name, ok := stringValue(raw)
	return ok && jsonnames.Fold(name) == jsonnames.Fold(want)
}

// stringValue decodes raw when it is a JSON string.
func stringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}

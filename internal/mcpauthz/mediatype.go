package mcpauthz

import "strings"

// isJSONContentType reports whether the Content-Type fields of a request
// are exactly one field that reads, by the grammar of RFC 9110 section
// 8.3.1, as application/json with no parameter but charset=utf-8:
//
//	media-type = type "/" subtype parameters
//	parameters = *( OWS ";" OWS [ parameter ] )
//	parameter  = name "=" ( token / quoted-string )
//
// Type, subtype, parameter name and charset value compare without regard
// to letter case; optional white space is SP or HTAB only. Anything else,
// a +json type, another parameter, a second charset, an empty parameter,
// a byte outside the grammar (such as 0xA0 at either end) or a quoted
// string with a byte outside printable ASCII, is not accepted, so that no
// server can read another media type or character set into the same field.
func isJSONContentType(values []string) bool {
	if len(values) != 1 {
		return false
	}
	s := values[0]
	i := skipOWS(s, 0)
	i, ok := expectFold(s, i, "application/json")
	if !ok {
		return false
	}
	i = skipOWS(s, i)
	if i == len(s) {
		return true
	}
	if s[i] != ';' {
		return false
	}
	i = skipOWS(s, i+1)
	if i, ok = expectFold(s, i, "charset"); !ok || i >= len(s) || s[i] != '=' {
		return false
	}
	i++
	if i < len(s) && s[i] == '"' {
		value, end, ok := quotedString(s, i)
		if !ok || !equalFold(value, "utf-8") {
			return false
		}
		i = end
	} else if i, ok = expectFold(s, i, "utf-8"); !ok {
		return false
	}
	return skipOWS(s, i) == len(s)
}

// expectFold returns the index past want when s holds it at i, letter case
// aside, and is not followed by another token character there.
func expectFold(s string, i int, want string) (int, bool) {
	end := i + len(want)
	if end > len(s) || !equalFold(s[i:end], want) {
		return i, false
	}
	if end < len(s) && isTokenChar(s[end]) {
		return i, false
	}
	return end, true
}

// equalFold reports whether a and b are equal with ASCII letters compared
// without regard to case (and nothing else folded).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases an ASCII letter and leaves every other byte.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// skipOWS returns the index of the first byte at or after i that is not
// SP or HTAB.
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTokenChar reports whether c is a tchar of RFC 9110 §5.6.2.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// quotedString reads the quoted-string that starts at s[i] == '"' and
// returns its content with quoted pairs undone and the index past it.
// Bytes outside printable ASCII, SP and HTAB (obs-text included) are
// refused.
func quotedString(s string, i int) (string, int, bool) {
	var out []byte
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return string(out), i + 1, true
		case c == '\\':
			i++
			if i == len(s) || !isQuotable(s[i]) {
				return "", 0, false
			}
			out = append(out, s[i])
		case isQuotable(c):
			out = append(out, c)
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}

// isQuotable reports whether c may stand in a quoted string: HTAB, SP or
// printable ASCII.
func isQuotable(c byte) bool {
	return c == '\t' || (' ' <= c && c <= '~')
}

// IsJSONMediaType reports whether a Content-Type names a JSON media type:
// application/json or any type with the +json suffix, with or without
// parameters, in any letter case. It is how answers are recognized; a
// request's Content-Type is held to the stricter isJSONContentType.
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

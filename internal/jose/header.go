package jose

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Parts of the compact serialisations.
const (
	jweCompactParts = 5
	jwsCompactParts = 3
)

// strictBase64URL decodes unpadded base64url and refuses non-canonical
// encodings (non-zero trailing bits), so one token has one spelling only.
var strictBase64URL = base64.RawURLEncoding.Strict()

// splitCompact checks that token is a compact serialisation of exactly n
// canonical base64url parts and returns the decoded protected header (the
// first part). Anything else, including the JSON serialisation, fails
// before any key is touched.
func splitCompact(token string, n int) ([]byte, error) {
	if strings.Count(token, ".") != n-1 {
		return nil, fmt.Errorf("%w: want %d parts", ErrNotCompact, n)
	}
	// The base64 decoder skips CR and LF; a compact token has neither.
	if strings.ContainsAny(token, "\r\n") {
		return nil, fmt.Errorf("%w: line break in the token", ErrNotCompact)
	}
	var header []byte
	for i, part := range strings.SplitN(token, ".", n) {
		decoded, err := strictBase64URL.DecodeString(part)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d is not canonical base64url", ErrNotCompact, i+1)
		}
		if i == 0 {
			header = decoded
		}
	}
	if len(header) == 0 {
		return nil, fmt.Errorf("%w: empty protected header", ErrNotCompact)
	}
	return header, nil
}

// joseHeader is a protected header that passed the checks shared by the JWE
// and the nested JWS: strict JSON, a string alg, no zip, no crit.
type joseHeader struct {
	members map[string]json.RawMessage
	alg     string
	kid     string
	hasKID  bool
}

// parseJOSEHeader checks a decoded protected header. jku, jwk, x5u and x5c
// are never read: keys only ever come from the module's own configuration.
func parseJOSEHeader(decoded []byte) (*joseHeader, error) {
	members, err := parseStrictObject(decoded)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedHeader, err)
	}
	if _, ok := members["zip"]; ok {
		return nil, ErrCompressed
	}
	if _, ok := members["crit"]; ok {
		return nil, ErrCriticalHeader
	}
	h := &joseHeader{members: members}
	if h.alg, err = headerString(members, "alg"); err != nil || h.alg == "" {
		return nil, fmt.Errorf("%w: alg missing or not a string", ErrMalformedHeader)
	}
	if _, h.hasKID = members["kid"]; h.hasKID {
		if h.kid, err = headerString(members, "kid"); err != nil {
			return nil, fmt.Errorf("%w: kid is not a string", ErrMalformedHeader)
		}
	}
	return h, nil
}

// headerString reads a string member; a missing member reads as "".
func headerString(members map[string]json.RawMessage, name string) (string, error) {
	raw, ok := members[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// maxLoggedHeaderValue bounds how much of a client-chosen header value (an
// alg or enc name) may reach a log line.
const maxLoggedHeaderValue = 32

// headerValueForLog quotes a header value for a log line, cut short.
func headerValueForLog(value string) string {
	if len(value) > maxLoggedHeaderValue {
		return strconv.Quote(value[:maxLoggedHeaderValue]) + "..."
	}
	return strconv.Quote(value)
}

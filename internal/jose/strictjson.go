package jose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

// parseStrictObject parses data as a JSON object that is valid UTF-8 and
// repeats no member name at any level, and returns its members with their
// values as compact JSON (numbers keep their original digits). Member names
// that differ only in letter case count as repeated: decoders that match
// names case-insensitively would otherwise read a different value than we do.
func parseStrictObject(data []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrPayloadNotJSON)
	}
	if err := checkMemberNames(data); err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, ErrPayloadNotJSON
	}
	for name, value := range members {
		members[name] = compactJSON(value)
	}
	return members, nil
}

// checkMemberNames fails on a repeated member name in any object, or when
// data is not exactly one JSON object.
func checkMemberNames(data []byte) error {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return ErrPayloadNotJSON
	}
	repeated, err := jsonnames.Repeated(data)
	switch {
	case err != nil:
		return ErrPayloadNotJSON
	case repeated != nil:
		return ErrDuplicateMember
	}
	return nil
}

// compactJSON removes insignificant white space from a valid JSON value.
func compactJSON(value json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, value); err != nil {
		return value
	}
	return buf.Bytes()
}

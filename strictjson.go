package mcpjweauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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

// checkMemberNames walks data once and fails on a repeated member name in
// any object, or when data is not exactly one JSON object.
func checkMemberNames(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	first, err := dec.Token()
	if err != nil || first != json.Delim('{') {
		return ErrPayloadNotJSON
	}
	if err := walkObject(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrPayloadNotJSON
	}
	return nil
}

// walkObject consumes the members of an object whose '{' was just read.
func walkObject(dec *json.Decoder) error {
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ErrPayloadNotJSON
		}
		name, ok := tok.(string)
		if !ok {
			return ErrPayloadNotJSON
		}
		folded := foldName(name)
		if _, dup := seen[folded]; dup {
			return ErrDuplicateMember
		}
		seen[folded] = struct{}{}
		if err := walkValue(dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return ErrPayloadNotJSON
	}
	return nil
}

// foldName folds a member name the way encoding/json matches names to
// struct fields (Unicode simple case folding: "ſub" and "SUB" fold like
// "sub"), so names such a decoder would confuse count as the same.
func foldName(name string) string {
	return strings.Map(func(r rune) rune {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				return next
			}
			r = next
		}
	}, name)
}

// walkValue consumes one JSON value, descending into objects and arrays.
func walkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return ErrPayloadNotJSON
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec)
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ']'
			return ErrPayloadNotJSON
		}
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

// Limits of 64-bit Unix seconds, as float64.
const (
	minUnixSeconds = float64(math.MinInt64)
	maxUnixSeconds = float64(math.MaxInt64)
)

// numericDate reads a NumericDate claim: a JSON number (not a string, not a
// boolean), finite and within the range of 64-bit Unix seconds.
func numericDate(name string, raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, fmt.Errorf("%w: %s is not a number", ErrInvalidTimeClaim, name)
	}
	seconds, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(seconds, 0) || math.IsNaN(seconds) ||
		seconds < minUnixSeconds || seconds > maxUnixSeconds {
		return 0, fmt.Errorf("%w: %s is out of range", ErrInvalidTimeClaim, name)
	}
	return seconds, nil
}

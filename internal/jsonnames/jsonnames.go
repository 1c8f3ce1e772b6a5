// Package jsonnames finds member names that JSON decoders could read
// differently: a name given twice in one object, also when the two
// spellings differ only in letter case, as encoding/json matches names to
// struct fields.
package jsonnames

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode"
)

// ErrSyntax reports that the data is not exactly one valid JSON value.
var ErrSyntax = errors.New("not a single JSON value")

// Fold folds a member name with Unicode simple case folding, the way
// encoding/json matches names: "ſub" and "SUB" fold like "sub".
func Fold(name string) string {
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

// Repetition is a member name that one object gives twice, as spelled
// the first time and the second time.
type Repetition struct {
	First, Again string
}

// Repeated walks data, which must be exactly one JSON value, and returns
// the first member name that an object repeats at any depth, or nil.
func Repeated(data []byte) (*Repetition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if rep, err := walkValue(dec); err != nil || rep != nil {
		return rep, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrSyntax
	}
	return nil, nil
}

// walkValue consumes one JSON value, descending into objects and arrays.
func walkValue(dec *json.Decoder) (*Repetition, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, ErrSyntax
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec)
	case json.Delim('['):
		for dec.More() {
			if rep, err := walkValue(dec); err != nil || rep != nil {
				return rep, err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ']'
			return nil, ErrSyntax
		}
	}
	return nil, nil
}

// walkObject consumes the members of an object whose '{' was just read.
func walkObject(dec *json.Decoder) (*Repetition, error) {
	seen := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, ErrSyntax
		}
		name, ok := tok.(string)
		if !ok {
			return nil, ErrSyntax
		}
		folded := Fold(name)
		if earlier, dup := seen[folded]; dup {
			return &Repetition{First: earlier, Again: name}, nil
		}
		seen[folded] = name
		if rep, err := walkValue(dec); err != nil || rep != nil {
			return rep, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, ErrSyntax
	}
	return nil, nil
}

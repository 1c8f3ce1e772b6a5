package mcpauthz

import (
	"bytes"
	"math"
	"unicode/utf8"
)

// maxPlainMembers bounds the members of one object that scanStrict
// compares pair by pair; a wider object goes to the full checks.
const maxPlainMembers = 32

// maxPlainDepth bounds the nesting scanStrict descends into, so that its
// stack stays small; deeper bodies go to the full checks.
const maxPlainDepth = 32

// maxScanNames bounds the member names of the open objects that scanStrict
// keeps to compare.
const maxScanNames = 64

// scanVerdict is what scanStrict tells of a body.
type scanVerdict uint8

const (
	// scanInvalid: not exactly one JSON value in valid UTF-8.
	scanInvalid scanVerdict = iota
	// scanValid: one JSON value in valid UTF-8; repeated tells the rest.
	scanValid
	// scanUnsure: the body nests deeper than maxPlainDepth, an object has
	// more than maxPlainMembers members, or a member name is not ASCII
	// without escapes (or more than maxScanNames are open at once): only
	// the full checks can tell.
	scanUnsure
)

// nameSpan is where a member name lies in the body, without its quotes.
type nameSpan struct{ start, end int32 }

// strictScan is the state of one scanStrict call.
type strictScan struct {
	b      []byte
	depth  int
	opens  [maxPlainDepth]int32 // per open object: its first name in names
	names  [maxScanNames]nameSpan
	nNames int
	// repeated: an object gives a member name twice (ASCII case folded).
	repeated bool
	// unsure: see scanUnsure.
	unsure bool
}

// scanStrict reads b in one pass, the common case of a request body: it
// tells whether b is exactly one JSON value in valid UTF-8 (what
// utf8.Valid and json.Valid together accept) and whether an object at any
// depth gives a member name twice in letter cases that encoding/json
// reads as one. It allocates nothing, and gives up (scanUnsure) where
// the answer needs more than a small fixed state; repeated is meaningful
// for scanValid only.
func scanStrict(b []byte) (verdict scanVerdict, repeated bool) {
	if len(b) > math.MaxInt32 {
		return scanUnsure, false
	}
	s := strictScan{b: b}
	i, ok := s.value(skipSpace(b, 0))
	switch {
	case s.unsure:
		return scanUnsure, false
	case !ok || skipSpace(b, i) != len(b):
		return scanInvalid, false
	}
	return scanValid, s.repeated
}

// value reads the value at i and returns the index past it.
func (s *strictScan) value(i int) (int, bool) {
	b := s.b
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '{':
		return s.object(i)
	case c == '[':
		return s.array(i)
	case c == '"':
		end, _, ok := s.str(i)
		return end, ok
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number(i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	}
	return i, false
}

// enter counts one more level of nesting; past maxPlainDepth the scan
// gives up.
func (s *strictScan) enter() bool {
	s.depth++
	if s.depth > maxPlainDepth {
		s.unsure = true
		return false
	}
	return true
}

// object reads the object at i.
func (s *strictScan) object(i int) (int, bool) {
	b := s.b
	if !s.enter() {
		return i, false
	}
	level := s.depth
	s.opens[level-1] = int32(s.nNames)
	members := 0
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		s.depth--
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		end, plain, ok := s.str(i)
		if !ok {
			return end, false
		}
		members++
		if !s.noteName(level, i+1, end-1, plain, members) {
			return i, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = s.value(skipSpace(b, i+1)); !ok {
			return i, false
		}
		var more bool
		if i, more, ok = s.separator(i, '}'); !ok {
			return i, false
		}
		if !more {
			s.nNames = int(s.opens[level-1])
			s.depth--
			return i, true
		}
	}
}

// noteName compares the member name b[start:end] of the object at level
// with the names before it, and keeps it for the names after it. It
// returns false when the scan gives up.
func (s *strictScan) noteName(level, start, end int, plain bool, members int) bool {
	if !plain || members > maxPlainMembers || s.nNames == maxScanNames {
		s.unsure = true
		return false
	}
	name := s.b[start:end]
	for _, earlier := range s.names[s.opens[level-1]:s.nNames] {
		// Both names are plain ASCII: Unicode folding is ASCII folding.
		if bytes.EqualFold(s.b[earlier.start:earlier.end], name) {
			s.repeated = true
		}
	}
	s.names[s.nNames] = nameSpan{int32(start), int32(end)}
	s.nNames++
	return true
}

// array reads the array at i.
func (s *strictScan) array(i int) (int, bool) {
	b := s.b
	if !s.enter() {
		return i, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		s.depth--
		return i + 1, true
	}
	for {
		var ok, more bool
		if i, ok = s.value(i); !ok {
			return i, false
		}
		if i, more, ok = s.separator(i, ']'); !ok {
			return i, false
		}
		if !more {
			s.depth--
			return i, true
		}
	}
}

// separator reads what follows an element of a container that closer
// ends: a comma (more follows; i is then at the next element) or closer
// (i is then past it).
func (s *strictScan) separator(i int, closer byte) (next int, more, ok bool) {
	i = skipSpace(s.b, i)
	switch {
	case i >= len(s.b):
		return i, false, false
	case s.b[i] == ',':
		return skipSpace(s.b, i+1), true, true
	case s.b[i] == closer:
		return i + 1, false, true
	}
	return i, false, false
}

// str reads the string at i (its opening quote) and returns the index
// past its closing quote; plain reports that it holds only ASCII without
// escapes.
func (s *strictScan) str(i int) (end int, plain, ok bool) {
	b := s.b
	plain = true
	for i++; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, plain, true
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return i, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false, false
				}
				i += 6
			default:
				return i, false, false
			}
		case c < 0x20:
			return i, false, false
		case c < utf8.RuneSelf:
			i++
		default:
			plain = false
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false, false
			}
			i += size
		}
	}
	return i, false, false
}

// number reads the number at i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *strictScan) number(i int) (int, bool) {
	b := s.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// digits returns the index past the decimal digits at i.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// literal reads the literal word at i.
func literal(b []byte, i int, word string) (int, bool) {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return i, false
	}
	return i + len(word), true
}

// plainName reports whether the quoted name holds ASCII without escapes.
func plainName(quoted []byte) bool {
	for _, c := range quoted {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

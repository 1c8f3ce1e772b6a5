package mcpauthz

import (
	"bytes"
	"strings"
)

// byteOrderMark may open an event stream; it is not part of the first line.
const byteOrderMark = "\xEF\xBB\xBF"

// maxFieldName bounds the field name the filter reads; a longer name is
// no field it knows and passes.
const maxFieldName = 64

// The states of the line being read.
const (
	atLineStart uint8 = iota
	inName
	inValue
)

// What happens to a line.
const (
	linePass  uint8 = iota // passed as it comes: a comment, id, retry or another field
	lineData               // the data of a message event: read by the listing filter
	lineHeld               // the data of an event of another type: held to the event's end
	lineEvent              // an event field: passed, and its value read
)

// sseFilter reads a text/event-stream as it arrives (any line ending, an
// optional byte order mark, comments, any field) and passes it on at once,
// line by line, but for the data of events of the default message type:
// each such event's data (its data lines joined with LF) must be one
// JSON-RPC message or batch, which goes through the listing filter and is
// written as data lines of the filtered text. Events whose data is empty
// or white space, comments and fields other than data pass; so do events
// of another type (the deprecated HTTP+SSE transport's endpoint event),
// whose type is the one in effect at their first data line: their data
// lines are held (as a listing entry is) and written at the event's blank
// line, so that a type that changes afterwards ends the stream before any
// of them went out. What the filter refuses ends the stream before the
// event's blank line.
type sseFilter struct {
	json *listFilter // its out is where every byte goes

	started bool   // past the optional byte order mark
	bom     []byte // the part of a byte order mark seen so far

	state     uint8
	kind      uint8
	name      []byte // the field name being read
	skipSpace bool   // the next value byte is an optional space after ':'
	crPending bool   // the last line ended with CR; a LF next belongs to it
	crPass    bool   // and that line's ending was passed on

	eventType   []byte // the event field's value so far in this event
	typeLong    bool   // it outgrew maxFieldName: another type
	dataStarted bool   // the event has a data line
	dataMessage bool   // of the message type, read by the listing filter
	open        bool   // a data line of filtered text is being written
}

// out appends p to what may be sent.
func (s *sseFilter) out(p ...byte) {
	s.json.out = append(s.json.out, p...)
}

// write reads the next bytes of the stream.
func (s *sseFilter) write(p []byte) error {
	for len(p) > 0 {
		if !s.started {
			var err error
			if p, err = s.skipByteOrderMark(p); err != nil {
				return err
			}
			continue
		}
		if s.crPending {
			s.crPending = false
			if p[0] == '\n' {
				if s.crPass {
					s.out('\n')
				}
				p = p[1:]
				continue
			}
		}
		var err error
		switch s.state {
		case atLineStart:
			if p[0] == '\r' || p[0] == '\n' {
				if err = s.endEvent(); err != nil {
					return err
				}
				s.out(p[0])
				s.crPending, s.crPass = p[0] == '\r', true
				p = p[1:]
				break
			}
			s.state, s.name = inName, s.name[:0]
		case inName:
			p, err = s.readName(p)
		case inValue:
			p, err = s.readValue(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipByteOrderMark passes a byte order mark at the start of the stream.
// The bytes of a partial one wait for the next write; when they turn out
// to be no byte order mark, they are read as the start of the first line.
func (s *sseFilter) skipByteOrderMark(p []byte) ([]byte, error) {
	for len(p) > 0 && len(s.bom) < len(byteOrderMark) && p[0] == byteOrderMark[len(s.bom)] {
		s.bom = append(s.bom, p[0])
		p = p[1:]
	}
	if len(s.bom) == len(byteOrderMark) {
		s.started = true
		s.out(s.bom...)
		s.bom = nil
		return p, nil
	}
	if len(p) > 0 {
		s.started = true
		seen := s.bom
		s.bom = nil
		return p, s.write(seen)
	}
	return p, nil
}

// readName reads the field name up to ':' or the end of the line.
func (s *sseFilter) readName(p []byte) ([]byte, error) {
	i := bytes.IndexAny(p, ":\r\n")
	if i < 0 {
		i = len(p)
	}
	s.name = append(s.name, p[:i]...)
	if len(s.name) > maxFieldName {
		s.passLine(s.name...) // no field the filter knows
		return p[i:], nil
	}
	if i == len(p) {
		return nil, nil
	}
	colon := p[i] == ':'
	if colon {
		i++
	}
	s.state, s.skipSpace = inValue, colon
	return p[i:], s.startLine(colon)
}

// passLine makes the rest of the line pass as it comes, after prefix.
func (s *sseFilter) passLine(prefix ...byte) {
	s.closeData()
	s.out(prefix...)
	s.state, s.kind, s.skipSpace = inValue, linePass, false
}

// startLine decides what happens to the line whose field name was read.
func (s *sseFilter) startLine(colon bool) error {
	name := string(s.name)
	suffix := ""
	if colon {
		suffix = ":"
	}
	switch {
	case name == "data" && s.isMessage():
		s.kind = lineData
		if !s.dataStarted {
			s.dataStarted, s.dataMessage = true, true
			s.json.reset()
			return nil
		}
		return s.feed([]byte{'\n'})
	case name == "data":
		s.closeData()
		s.dataStarted, s.kind = true, lineHeld
		return s.hold(append(s.name, suffix...))
	case name == "event":
		s.passLine(append(s.name, suffix...)...)
		s.kind, s.eventType, s.typeLong, s.skipSpace = lineEvent, s.eventType[:0], false, colon
	case readsAs(name, "data"), readsAs(name, "event"):
		return unreadable("an event-stream field named " + strings.TrimSpace(name))
	default:
		s.passLine(append(s.name, suffix...)...)
	}
	return nil
}

// readsAs reports whether a lenient reader could take field name for
// want: the same letters in another case, or with spaces or a byte order
// mark around them.
func readsAs(name, want string) bool {
	return strings.EqualFold(strings.Trim(name, " \t"+byteOrderMark), want)
}

// isMessage reports whether the event's type so far is the default one.
func (s *sseFilter) isMessage() bool {
	return !s.typeLong && (len(s.eventType) == 0 || string(s.eventType) == "message")
}

// readValue reads the field value up to the end of the line.
func (s *sseFilter) readValue(p []byte) ([]byte, error) {
	if s.skipSpace {
		s.skipSpace = false
		if p[0] == ' ' {
			switch s.kind {
			case lineHeld:
				return p[1:], s.hold([]byte{' '})
			case lineEvent, linePass:
				s.out(' ')
			}
			return p[1:], nil
		}
	}
	i := bytes.IndexAny(p, "\r\n")
	if i < 0 {
		i = len(p)
	}
	value := p[:i]
	switch s.kind {
	case lineData:
		if err := s.feed(value); err != nil {
			return nil, err
		}
	case lineHeld:
		if err := s.hold(value); err != nil {
			return nil, err
		}
	case lineEvent:
		if len(s.eventType)+len(value) > maxFieldName {
			s.typeLong = true
		} else {
			s.eventType = append(s.eventType, value...)
		}
		s.out(value...)
	default:
		s.out(value...)
	}
	if i == len(p) {
		return nil, nil
	}
	return p[i+1:], s.endLine(p[i])
}

// endLine ends the current line at its line ending c.
func (s *sseFilter) endLine(c byte) error {
	s.state, s.skipSpace = atLineStart, false
	s.crPending, s.crPass = c == '\r', s.kind != lineData && s.kind != lineHeld
	switch s.kind {
	case lineHeld:
		return s.hold([]byte{'\n'})
	case lineData:
		if !s.open && !s.json.started {
			s.out([]byte("data:\n")...) // empty so far: kept as an empty data line
		}
		return nil
	case lineEvent:
		if s.dataStarted && s.isMessage() != s.dataMessage {
			return unreadable("an event whose type changes after its data")
		}
	}
	s.out(c)
	return nil
}

// feed gives data of a message event to the listing filter and writes
// what it lets through as data lines.
func (s *sseFilter) feed(data []byte) error {
	mark := len(s.json.out)
	if !s.open {
		s.out([]byte("data: ")...)
	}
	err := s.json.write(data)
	if !s.open {
		if len(s.json.out) == mark+len("data: ") {
			s.json.out = s.json.out[:mark]
		} else {
			s.open = true
		}
	}
	return err
}

// hold adds p to the held data of an event of another type, within the
// listing filter's bound and budget for one entry.
func (s *sseFilter) hold(p []byte) error {
	s.json.sink = sinkHold
	err := s.json.emitBytes(p)
	s.json.sink = sinkOut
	return err
}

// closeData ends the data line being written, if any.
func (s *sseFilter) closeData() {
	if s.open {
		s.out('\n')
		s.open = false
	}
}

// endEvent ends the event at its blank line: the data of a message event
// must be a whole JSON-RPC text.
func (s *sseFilter) endEvent() error {
	if s.dataStarted && s.dataMessage {
		if err := s.json.end(); err != nil {
			return err
		}
	}
	s.closeData()
	if s.dataStarted && !s.dataMessage {
		s.out(s.json.held...)
		s.json.dropHeld()
	}
	s.eventType, s.typeLong, s.dataStarted, s.dataMessage = s.eventType[:0], false, false, false
	return nil
}

// finish ends the stream. An event without its blank line is not
// dispatched by a client; a complete one is written with its last line
// ended, for clients that read it at the end of the stream.
func (s *sseFilter) finish() {
	if !s.started {
		s.out(s.bom...)
	}
	if s.open && s.json.complete() {
		s.closeData()
	}
}

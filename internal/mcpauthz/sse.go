package mcpauthz

import (
	"bytes"
	"io"
)

// byteOrderMark may open an event stream; it is not part of the first line.
const byteOrderMark = "\xEF\xBB\xBF"

// lineMode says what happens to the bytes of the current line.
type lineMode uint8

const (
	atLineStart lineMode = iota // nothing of the line seen yet
	passLine                    // written at once: a comment or blank line between events
	holdLine                    // held with the event it belongs to
)

// sseLine is one complete line of a held event, as offsets into the
// event's bytes.
type sseLine struct {
	start, end int  // the line with its line ending
	data       bool // a data field
	value      int  // where a data field's value starts
	valueEnd   int  // where it ends (before the line ending)
}

// sseRewriter reads a text/event-stream incrementally (any line ending:
// CRLF, LF or CR; comments; any field) and passes it on. An event is held
// from its first field line to the blank line that ends it, and only while
// the filter still waits for a response: then its data (the data lines
// joined with LF) is filtered, and an event that changes is written back
// with its other lines as they came and its data as new data lines.
// Comments and blank lines between events pass at once; once the filter
// is done, every byte passes at once, unparsed.
type sseRewriter struct {
	filter *ListFilter
	w      io.Writer
	limit  int // most bytes one event may hold

	started bool   // past the optional byte order mark
	bom     []byte // the part of a byte order mark seen so far

	mode      lineMode
	crPending bool // the last line ended with CR; a LF next belongs to it
	crHeld    bool // and that line was held

	event     []byte    // the bytes of the held event
	lines     []sseLine // its complete lines
	lineStart int       // where its current line starts in event
	overflow  bool      // the event outgrew limit and is being discarded

	wrote bool  // bytes went to w since the last flush
	err   error // the first error of w
}

// holding reports whether an event is being held or discarded.
func (r *sseRewriter) holding() bool {
	return len(r.event) > 0 || r.overflow
}

// write takes the next bytes of the stream.
func (r *sseRewriter) write(p []byte) {
	for len(p) > 0 && r.err == nil {
		if !r.started {
			p = r.skipByteOrderMark(p)
			continue
		}
		if r.crPending {
			r.crPending = false
			if p[0] == '\n' {
				if r.crHeld {
					r.hold(p[:1]) // the LF belongs to the held line that ended with CR
					if n := len(r.lines); n > 0 && !r.overflow {
						r.lines[n-1].end = len(r.event)
						r.lineStart = len(r.event)
					}
				} else {
					r.out(p[:1])
				}
				p = p[1:]
				continue
			}
		}
		if r.mode == atLineStart {
			if r.filter.Done() && !r.holding() {
				r.out(p)
				return
			}
			switch p[0] {
			case '\r', '\n':
				r.blankLine(p[:1])
				r.crPending, r.crHeld = p[0] == '\r', false
				p = p[1:]
				continue
			case ':':
				r.mode = passLine
				if r.holding() {
					r.mode = holdLine
				}
			default:
				r.mode = holdLine
			}
			r.lineStart = len(r.event)
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			r.lineBytes(p)
			return
		}
		r.lineBytes(p[:i+1])
		r.crPending, r.crHeld = p[i] == '\r', r.mode == holdLine
		if r.mode == holdLine {
			r.endHeldLine()
		}
		r.mode = atLineStart
		p = p[i+1:]
	}
}

// skipByteOrderMark passes a byte order mark at the start of the stream.
// The bytes of a partial one wait for the next write; when they turn out
// to be no byte order mark, they are read as the start of the first line.
func (r *sseRewriter) skipByteOrderMark(p []byte) []byte {
	for len(p) > 0 && len(r.bom) < len(byteOrderMark) && p[0] == byteOrderMark[len(r.bom)] {
		r.bom = append(r.bom, p[0])
		p = p[1:]
	}
	if len(r.bom) == len(byteOrderMark) {
		r.started = true
		r.out(r.bom)
		r.bom = nil
		return p
	}
	if len(p) > 0 {
		r.started = true
		seen := r.bom
		r.bom = nil
		r.write(seen)
	}
	return p
}

// lineBytes takes bytes of the current line.
func (r *sseRewriter) lineBytes(p []byte) {
	if r.mode == passLine {
		r.out(p)
		return
	}
	r.hold(p)
}

// hold adds bytes to the held event, or discards the event once it would
// outgrow the limit.
func (r *sseRewriter) hold(p []byte) {
	if r.overflow {
		return
	}
	if len(r.event)+len(p) > r.limit {
		r.overflow = true
		r.event, r.lines = r.event[:0], r.lines[:0]
		return
	}
	r.event = append(r.event, p...)
}

// endHeldLine records the held line from lineStart to the end of event.
func (r *sseRewriter) endHeldLine() {
	if r.overflow {
		return
	}
	line := sseLine{start: r.lineStart, end: len(r.event)}
	content := r.event[line.start:line.end]
	content = bytes.TrimRight(content, "\r\n")
	name, value, _ := bytes.Cut(content, []byte{':'})
	if string(name) == "data" {
		line.data = true
		line.valueEnd = line.start + len(content)
		line.value = line.valueEnd - len(value)
		if len(value) > 0 && value[0] == ' ' {
			line.value++
		}
	}
	r.lines = append(r.lines, line)
	r.lineStart = len(r.event)
}

// blankLine takes a line ending at the start of a line: it ends the held
// event, or passes between events.
func (r *sseRewriter) blankLine(ending []byte) {
	if !r.holding() {
		r.out(ending)
		return
	}
	r.hold(ending)
	r.lineStart = len(r.event)
	r.dispatch()
}

// dispatch writes the held event, filtered, and starts the next one. An
// event that outgrew the limit is replaced by an internal error for every
// pending list call (the filter cannot know whether it was the response).
func (r *sseRewriter) dispatch() {
	event, lines, overflow := r.event, r.lines, r.overflow
	r.event, r.lines, r.overflow, r.lineStart = r.event[:0], r.lines[:0], false, 0
	if overflow {
		if errs, act := r.filter.failOpen(); act == actReplace {
			r.out(appendDataLines([]byte(nil), errs))
			r.out([]byte("\n"))
		}
		return
	}
	var data []byte
	first := -1
	for n, l := range lines {
		if !l.data {
			continue
		}
		if first >= 0 {
			data = append(data, '\n')
		} else {
			first = n
		}
		data = append(data, event[l.value:l.valueEnd]...)
	}
	if len(bytes.TrimSpace(data)) == 0 { // no message in it
		r.out(event)
		return
	}
	out, act := r.filter.rewrite(data)
	switch act {
	case actKeep:
		r.out(event)
		return
	case actDrop:
		return
	}
	rewritten := make([]byte, 0, len(event)+len(out)-len(data))
	last := 0
	for n, l := range lines {
		if !l.data {
			continue
		}
		rewritten = append(rewritten, event[last:l.start]...)
		if n == first {
			rewritten = appendDataLines(rewritten, out)
		}
		last = l.end
	}
	r.out(append(rewritten, event[last:]...))
}

// appendDataLines appends data as data lines, one per line of data.
func appendDataLines(dst, data []byte) []byte {
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
		if !more {
			return dst
		}
		data = rest
	}
}

// finish ends the stream: an event still held (the stream ended without
// its blank line) is filtered and written as it came, without a blank line
// added, since some clients read it at the end of the stream.
func (r *sseRewriter) finish() {
	if !r.started && len(r.bom) > 0 {
		r.out(r.bom)
		r.bom = nil
	}
	if r.mode == holdLine {
		r.endHeldLine()
		r.mode = atLineStart
	}
	if r.holding() {
		r.dispatch()
	}
}

// out writes p to the client.
func (r *sseRewriter) out(p []byte) {
	if r.err != nil || len(p) == 0 {
		return
	}
	_, r.err = r.w.Write(p)
	r.wrote = true
}

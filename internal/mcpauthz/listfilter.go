package mcpauthz

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnreadableAnswer is the error of an answer the filter refused to pass
// on: it is not JSON-RPC, a listing in it has the wrong shape, an entry is
// larger than the filter may hold, or it is compressed. What was not sent
// yet is never sent.
var ErrUnreadableAnswer = errors.New("answer cannot be filtered")

// unreadable returns ErrUnreadableAnswer with the reason.
func unreadable(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnreadableAnswer, reason)
}

// listing describes one listing member of a result.
type listing struct {
	member string // the member of result that holds the entries, folded
	key    string // the member of an entry that the kind's rules match, folded
	kind   Kind   // the kind whose rules filter it
	call   string // the method that uses an entry, whose scopes decide
}

// listings are the listings the filter knows. An entry of resources/list
// or resources/templates/list is kept when the token may read it.
var listings = [...]listing{
	{member: "tools", key: "name", kind: Tool, call: "tools/call"},
	{member: "prompts", key: "name", kind: Prompt, call: "prompts/get"},
	{member: "resources", key: "uri", kind: Resource, call: "resources/read"},
	{member: "resourcetemplates", key: "uritemplate", kind: Resource, call: "resources/read"},
}

// role is what a JSON value is to the filter.
type role uint8

const (
	roleOther      role = iota // passed as it is
	roleTop                    // the whole text: a message or a batch
	roleBatch                  // a batch: an array of messages
	roleMessage                // a JSON-RPC message: an object with jsonrpc "2.0"
	roleJSONRPC                // the value of a message's jsonrpc member
	roleResult                 // the value of a message's result member
	roleListing                // a listing array of a kind with rules
	roleEntry                  // one entry of a listing, held until it ends
	roleKey                    // the member of an entry that the rules match
	roleCacheScope             // the value of a result's cacheScope member
)

// The states of a container.
const (
	wantKeyOrEnd   uint8 = iota // after '{'
	wantKey                     // after ',' in an object
	wantColon                   // after a member name
	wantValue                   // after ':' or after ',' in an array
	wantValueOrEnd              // after '['
	wantCommaOrEnd              // after a value
)

// frame is one open object or array.
type frame struct {
	role   role
	object bool
	state  uint8
	next   role // the role of the member value that comes next
	li     int8 // the listing (roleListing, roleEntry, and next == roleListing)
	nextLi int8
	ok     bool // a message: its jsonrpc is "2.0"; an entry: its key was seen
	count  int  // a batch: its messages; a listing: the entries kept
}

// Lexical states inside a scalar.
const (
	lexNone uint8 = iota
	lexString
	lexEscape
	lexHex      // a \u escape; hexLeft digits to go
	lexUTF8     // a multi-byte UTF-8 sequence; utfLeft bytes to go
	lexMinus    // after '-'
	lexZero     // after a leading 0
	lexInt      // in integer digits
	lexDot      // after '.'
	lexFrac     // in fraction digits
	lexExp      // after 'e'
	lexExpSign  // after the exponent's sign
	lexExpDigit // in exponent digits
	lexLiteral  // in true, false or null
)

// Where emitted bytes go.
const (
	sinkOut  uint8 = iota // to out
	sinkHold              // to the held entry
	sinkSkip              // nowhere: a replaced value
)

// maxDepth bounds the nesting of a text, as encoding/json's does, so that
// a text of brackets cannot make the filter hold a frame per byte.
const maxDepth = 10000

// maxCapture bounds a captured member name or jsonrpc value: longer ones
// cannot read as any name the filter looks for (even fully escaped).
const maxCapture = 128

// listFilter reads one JSON text (an application/json body, or the data of
// one event) as it arrives, checks that it is a JSON-RPC message or batch,
// and appends to out the same text without white space outside strings,
// with the listing entries the token may not use left out and cacheScope
// values answered "private". It holds one listing entry at a time and
// nothing else. It is not safe for concurrent use.
type listFilter struct {
	rules    *RuleSet
	allowed  func(scopes []string) bool
	filtered [len(listings)]bool // the listings this route's rules filter
	private  bool                // cacheScope values become "private"
	limit    int                 // the largest entry it holds
	ctx      context.Context     // waits for the budget end with it
	grant    entryGrant

	out []byte // what may be sent, for the caller to take

	stack   []frame
	started bool // the text's value has begun
	done    bool // and ended
	sink    uint8
	held    []byte // the entry being held
	keyAt   [2]int // the entry key's string value in held, or -1
	capture []byte // a member name or jsonrpc value being read
	long    bool   // capture outgrew maxCapture

	lex       uint8
	isKey     bool // the string is a member name
	scalar    role // the role of the scalar being read
	hexLeft   int
	utfLeft   int
	utfLo     byte // the range of the next UTF-8 continuation byte
	utfHi     byte
	literal   string
	literalAt int
}

// newListFilter returns a filter for the rules, the token's allowed
// predicate and the largest entry it may hold.
func newListFilter(ctx context.Context, rs *RuleSet, allowed func([]string) bool, limit int) *listFilter {
	f := new(listFilter)
	f.init(ctx, rs, allowed, limit)
	return f
}

// init prepares f, new or recycled, for an answer.
func (f *listFilter) init(ctx context.Context, rs *RuleSet, allowed func([]string) bool, limit int) {
	f.rules, f.allowed, f.limit, f.ctx, f.private = rs, allowed, limit, ctx, false
	for i, l := range listings {
		f.filtered[i] = rs.Has(l.kind)
		f.private = f.private || f.filtered[i]
	}
	f.out = f.out[:0]
	f.reset()
}

// reset prepares the filter for the next text; out is kept.
func (f *listFilter) reset() {
	f.stack, f.started, f.done, f.sink, f.lex = f.stack[:0], false, false, sinkOut, lexNone
	f.dropHeld()
}

// dropHeld forgets the held entry and gives back its budget.
func (f *listFilter) dropHeld() {
	f.grant.release()
	if cap(f.held) > freeEntryBytes {
		f.held = nil
	}
	f.held, f.keyAt = f.held[:0], [2]int{-1, -1}
}

// complete reports whether a whole JSON-RPC text was read.
func (f *listFilter) complete() bool {
	return f.done
}

// end is called when the text is over: it is an error unless the text was
// empty (white space only) or complete.
func (f *listFilter) end() error {
	if f.started && !f.done {
		return unreadable("JSON text cut short")
	}
	return nil
}

// emit sends c where the current value's bytes go.
func (f *listFilter) emit(c byte) error {
	if f.sink == sinkOut {
		f.out = append(f.out, c)
		return nil
	}
	return f.emitBytes([]byte{c})
}

// emitBytes sends p where the current value's bytes go.
func (f *listFilter) emitBytes(p []byte) error {
	switch f.sink {
	case sinkOut:
		f.out = append(f.out, p...)
	case sinkHold:
		need := len(f.held) + len(p)
		if need > f.limit {
			return unreadable(fmt.Sprintf("listing entry over %d bytes", f.limit))
		}
		if err := f.grant.grow(f.ctx, need, f.limit); err != nil {
			return err
		}
		f.held = append(f.held, p...)
	}
	return nil
}

// write reads the next bytes of the text.
func (f *listFilter) write(p []byte) error {
	for i := 0; i < len(p); {
		if f.lex == lexString {
			// A run of plain string bytes goes on at once.
			j := i
			for j < len(p) && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\' {
				j++
			}
			if j > i {
				if err := f.stringBytes(p[i:j]); err != nil {
					return err
				}
				i = j
				continue
			}
		}
		n, err := f.step(p[i])
		if err != nil {
			return err
		}
		i += n
	}
	return nil
}

// stringBytes takes bytes of a string that need no checking.
func (f *listFilter) stringBytes(p []byte) error {
	if f.isKey || f.scalar == roleJSONRPC {
		f.keep(p)
	}
	return f.emitBytes(p)
}

// keep adds p to the capture, up to maxCapture.
func (f *listFilter) keep(p []byte) {
	if len(f.capture)+len(p) > maxCapture {
		f.long = true
		return
	}
	f.capture = append(f.capture, p...)
}

// step reads one byte and returns how many it consumed: 0 when the byte
// ended a number and is to be read again.
func (f *listFilter) step(c byte) (int, error) {
	if f.lex != lexNone {
		return f.scalarByte(c)
	}
	if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
		return 1, nil
	}
	if f.done {
		return 0, unreadable("data after the JSON text")
	}
	if len(f.stack) == 0 {
		if f.started {
			return 0, unreadable("data after the JSON text")
		}
		f.started = true
		return 1, f.startValue(c, roleTop, 0)
	}
	fr := &f.stack[len(f.stack)-1]
	switch fr.state {
	case wantKeyOrEnd, wantKey:
		if c == '}' && fr.state == wantKeyOrEnd {
			return 1, f.closeContainer(c)
		}
		if c != '"' {
			return 0, unreadable("not JSON")
		}
		f.lex, f.isKey, f.scalar = lexString, true, roleOther
		f.capture, f.long = append(f.capture[:0], c), false
		return 1, f.emit(c)
	case wantColon:
		if c != ':' {
			return 0, unreadable("not JSON")
		}
		fr.state = wantValue
		return 1, f.emit(c)
	case wantValue, wantValueOrEnd:
		if c == ']' && fr.state == wantValueOrEnd {
			return 1, f.closeContainer(c)
		}
		if fr.object {
			next, li := fr.next, fr.nextLi
			return 1, f.startValue(c, next, li)
		}
		return 1, f.startValue(c, f.elementRole(fr), fr.li)
	case wantCommaOrEnd:
		switch {
		case c == ',':
			if fr.object {
				fr.state = wantKey
			} else {
				fr.state = wantValue
			}
			if fr.role == roleListing {
				return 1, nil // written before the next entry kept
			}
			return 1, f.emit(c)
		case c == '}' && fr.object, c == ']' && !fr.object:
			return 1, f.closeContainer(c)
		}
	}
	return 0, unreadable("not JSON")
}

// elementRole is the role of the next element of the array fr.
func (f *listFilter) elementRole(fr *frame) role {
	switch fr.role {
	case roleBatch:
		return roleMessage
	case roleListing:
		return roleEntry
	}
	return roleOther
}

// startValue begins a value of role r (li: its listing) at byte c.
func (f *listFilter) startValue(c byte, r role, li int8) error {
	switch r {
	case roleTop:
		switch c {
		case '{':
			r = roleMessage
		case '[':
			r = roleBatch
		default:
			return unreadable("not a JSON-RPC message")
		}
	case roleMessage:
		if c != '{' {
			return unreadable("not a JSON-RPC message")
		}
	case roleJSONRPC:
		if c != '"' {
			return unreadable("jsonrpc is not \"2.0\"")
		}
		f.capture, f.long = append(f.capture[:0], c), false
	case roleResult:
		if c != '{' {
			r = roleOther
		}
	case roleListing:
		if c != '[' {
			return unreadable("a listing that is not an array")
		}
	case roleEntry:
		if c != '{' {
			return unreadable("a listing entry that is not an object")
		}
		f.sink = sinkHold
	case roleKey:
		if c == '"' {
			f.keyAt[0] = len(f.held)
		}
	case roleCacheScope:
		f.out = append(f.out, `"private"`...)
		f.sink = sinkSkip
	}
	if parent := f.top(); parent != nil {
		parent.state = wantCommaOrEnd
		if parent.role == roleBatch {
			parent.count++
		}
	}
	switch c {
	case '{', '[':
		if len(f.stack) == maxDepth {
			return unreadable("nested too deep")
		}
		fr := frame{role: r, object: c == '{', li: li, state: wantValueOrEnd}
		if fr.object {
			fr.state = wantKeyOrEnd
		}
		f.stack = append(f.stack, fr)
		return f.emit(c)
	case '"':
		f.lex, f.isKey, f.scalar = lexString, false, r
	case '-':
		f.lex, f.scalar = lexMinus, r
	case '0':
		f.lex, f.scalar = lexZero, r
	case 't', 'f', 'n':
		f.lex, f.scalar, f.literalAt = lexLiteral, r, 1
		switch c {
		case 't':
			f.literal = "true"
		case 'f':
			f.literal = "false"
		default:
			f.literal = "null"
		}
	default:
		if c < '1' || c > '9' {
			return unreadable("not JSON")
		}
		f.lex, f.scalar = lexInt, r
	}
	return f.emit(c)
}

// top returns the innermost open container, or nil.
func (f *listFilter) top() *frame {
	if len(f.stack) == 0 {
		return nil
	}
	return &f.stack[len(f.stack)-1]
}

// closeContainer ends the innermost container at its closing byte c.
func (f *listFilter) closeContainer(c byte) error {
	fr := f.stack[len(f.stack)-1]
	switch {
	case fr.role == roleMessage && !fr.ok:
		return unreadable("a message without jsonrpc \"2.0\"")
	case fr.role == roleBatch && fr.count == 0:
		return unreadable("an empty batch")
	}
	if err := f.emit(c); err != nil {
		return err
	}
	f.stack = f.stack[:len(f.stack)-1]
	if fr.role == roleEntry {
		f.decideEntry(fr)
	}
	return f.endValue(fr.role)
}

// decideEntry writes the held entry when the token may use it.
func (f *listFilter) decideEntry(fr frame) {
	f.sink = sinkOut
	target := ""
	if f.keyAt[0] >= 0 && f.keyAt[1] > f.keyAt[0] {
		target, _ = stringValue(f.held[f.keyAt[0]:f.keyAt[1]])
	}
	l := listings[fr.li]
	if f.allowed(f.rules.ScopesFor(l.call, target)) {
		listing := f.top()
		if listing.count > 0 {
			f.out = append(f.out, ',')
		}
		listing.count++
		f.out = append(f.out, f.held...)
	}
	f.dropHeld()
}

// endValue finishes a value of role r whose last byte was read.
func (f *listFilter) endValue(r role) error {
	switch r {
	case roleJSONRPC:
		if f.long || string(f.capture) != `"2.0"` {
			if v, ok := stringValue(f.capture); f.long || !ok || v != "2.0" {
				return unreadable("jsonrpc is not \"2.0\"")
			}
		}
		f.top().ok = true
	case roleKey:
		if f.keyAt[0] >= 0 {
			f.keyAt[1] = len(f.held)
		}
	case roleCacheScope:
		f.sink = sinkOut
	}
	if len(f.stack) == 0 {
		f.done = true
	}
	return nil
}

// memberRole sets what the value of the member just named is to fr.
func (f *listFilter) memberRole(fr *frame) error {
	fr.next, fr.nextLi = roleOther, 0
	if f.long {
		return nil
	}
	name := f.capture
	switch fr.role {
	case roleMessage:
		switch {
		case nameIs(name, "jsonrpc"):
			fr.next = roleJSONRPC
		case nameIs(name, "result"):
			fr.next = roleResult
		}
	case roleResult:
		fr.next, fr.nextLi = f.resultMemberRole(name)
	case roleEntry:
		if nameIs(name, listings[fr.li].key) {
			if fr.ok {
				return unreadable("a listing entry that names itself twice")
			}
			fr.ok, fr.next = true, roleKey
		}
	}
	return nil
}

// resultMemberRole is the role of the value of a result's member whose
// quoted name is name: a listing the rules filter (and which), the
// cacheScope when listings are filtered, or nothing to the filter.
func (f *listFilter) resultMemberRole(name []byte) (role, int8) {
	r, li := roleOther, int8(0)
	for i, l := range listings {
		if f.filtered[i] && nameIs(name, l.member) {
			r, li = roleListing, int8(i)
		}
	}
	if f.private && nameIs(name, "cachescope") {
		r = roleCacheScope
	}
	return r, li
}

// scalarByte reads byte c of a string, number or literal.
func (f *listFilter) scalarByte(c byte) (int, error) {
	switch f.lex {
	case lexString:
		switch {
		case c == '"':
			f.lex = lexNone
			if f.isKey || f.scalar == roleJSONRPC {
				f.keep([]byte{c})
			}
			if err := f.emit(c); err != nil {
				return 0, err
			}
			if f.isKey {
				fr := f.top()
				fr.state = wantColon
				return 1, f.memberRole(fr)
			}
			return 1, f.endValue(f.scalar)
		case c == '\\':
			f.lex = lexEscape
		case c < 0x20:
			return 0, unreadable("not JSON")
		case c >= 0x80:
			if err := f.utf8Lead(c); err != nil {
				return 0, err
			}
		}
	case lexEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			f.lex = lexString
		case 'u':
			f.lex, f.hexLeft = lexHex, 4
		default:
			return 0, unreadable("not JSON")
		}
	case lexHex:
		if !isHex(c) {
			return 0, unreadable("not JSON")
		}
		if f.hexLeft--; f.hexLeft == 0 {
			f.lex = lexString
		}
	case lexUTF8:
		if c < f.utfLo || c > f.utfHi {
			return 0, unreadable("not UTF-8")
		}
		f.utfLo, f.utfHi = 0x80, 0xBF
		if f.utfLeft--; f.utfLeft == 0 {
			f.lex = lexString
		}
	case lexLiteral:
		if c != f.literal[f.literalAt] {
			return 0, unreadable("not JSON")
		}
		if f.literalAt++; f.literalAt == len(f.literal) {
			f.lex = lexNone
			if err := f.emit(c); err != nil {
				return 0, err
			}
			return 1, f.endValue(f.scalar)
		}
	default:
		return f.numberByte(c)
	}
	if f.isKey || f.scalar == roleJSONRPC {
		f.keep([]byte{c})
	}
	return 1, f.emit(c)
}

// numberByte reads byte c of a number; a byte that cannot continue it ends
// the number and is read again.
func (f *listFilter) numberByte(c byte) (int, error) {
	digit := '0' <= c && c <= '9'
	next := lexNone
	switch f.lex {
	case lexMinus:
		switch {
		case c == '0':
			next = lexZero
		case digit:
			next = lexInt
		default:
			return 0, unreadable("not JSON")
		}
	case lexZero, lexInt:
		switch {
		case digit && f.lex == lexInt:
			next = lexInt
		case c == '.':
			next = lexDot
		case c == 'e' || c == 'E':
			next = lexExp
		}
	case lexDot, lexFrac:
		switch {
		case digit:
			next = lexFrac
		case f.lex == lexDot:
			return 0, unreadable("not JSON")
		case c == 'e' || c == 'E':
			next = lexExp
		}
	case lexExp:
		switch {
		case c == '+' || c == '-':
			next = lexExpSign
		case digit:
			next = lexExpDigit
		default:
			return 0, unreadable("not JSON")
		}
	case lexExpSign, lexExpDigit:
		switch {
		case digit:
			next = lexExpDigit
		case f.lex == lexExpSign:
			return 0, unreadable("not JSON")
		}
	}
	if next == lexNone { // the number ended before c
		f.lex = lexNone
		return 0, f.endValue(f.scalar)
	}
	f.lex = next
	return 1, f.emit(c)
}

// utf8Lead starts a multi-byte UTF-8 sequence at lead byte c.
func (f *listFilter) utf8Lead(c byte) error {
	f.utfLo, f.utfHi = 0x80, 0xBF
	switch {
	case c >= 0xC2 && c <= 0xDF:
		f.utfLeft = 1
	case c == 0xE0:
		f.utfLeft, f.utfLo = 2, 0xA0
	case c == 0xED:
		f.utfLeft, f.utfHi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		f.utfLeft = 2
	case c == 0xF0:
		f.utfLeft, f.utfLo = 3, 0x90
	case c == 0xF4:
		f.utfLeft, f.utfHi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		f.utfLeft = 3
	default:
		return unreadable("not UTF-8")
	}
	f.lex = lexUTF8
	return nil
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

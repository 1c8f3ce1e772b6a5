package mcpauthz

import (
	"encoding/json"
	"unicode/utf8"
)

// listing describes the listing method of one kind of rule.
type listing struct {
	method string // the list call
	member string // the member of result that holds the entries
	key    string // the member of an entry that the kind's rules match
	call   string // the method that uses an entry, whose scopes decide
}

// listings is indexed by Kind (Tool, Prompt, Resource). An entry of
// resources/list is kept when the token may read it (resources/read).
var listings = [targetKinds]listing{
	Tool:     {method: "tools/list", member: "tools", key: "name", call: "tools/call"},
	Prompt:   {method: "prompts/list", member: "prompts", key: "name", call: "prompts/get"},
	Resource: {method: "resources/list", member: "resources", key: "uri", call: "resources/read"},
}

// internalError returns the JSON-RPC internal error for the raw JSON id.
func internalError(id []byte) []byte {
	out := make([]byte, 0, 80+len(id))
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	return append(out, `,"error":{"code":-32603,"message":"Internal error"}}`...)
}

// pendingID is a request id of a message set that holds a list call of a
// kind with rules.
type pendingID struct {
	raw       []byte // as the client spelled it first
	kinds     uint8  // bit 1<<Kind for each listing asked for under this id
	remaining int    // requests with this id whose responses have not been seen
	closed    bool   // answered with an internal error; later responses are dropped
}

// ListFilter removes from the responses to the list calls of one request
// the entries whose rule the token fails. It keeps state across the
// responses of that request (one application/json body or the events of
// one stream) and is not safe for concurrent use.
type ListFilter struct {
	rules   *RuleSet
	allowed func(scopes []string) bool
	ids     map[string]*pendingID
	order   []*pendingID // in request order
	open    int          // ids with remaining responses that are not closed
	closed  int          // ids answered with an internal error
}

// NewListFilter returns the filter for the responses to msgs, the
// messages of one request, or nil when msgs hold no tools/list,
// prompts/list or resources/list call with an id for a kind that has
// rules: then the handler need not wrap the response. allowed reports
// whether the token grants every scope of a slice (the handler's own check
// of section 9.2); the filter keeps an entry exactly when allowed accepts
// the scopes of using it: the route's scopes, the first method rule that
// matches the call method (tools/call, prompts/get, resources/read) and the
// first rule of the kind that matches the entry's name or uri (matched as
// the empty string when missing or not a string, as on the request side).
func (rs *RuleSet) NewListFilter(msgs []Message, allowed func(scopes []string) bool) *ListFilter {
	if !rs.listsAny(msgs) {
		return nil // the common case, found without allocating
	}
	f := &ListFilter{rules: rs, allowed: allowed}
	counts := make(map[string]int)
	for _, m := range msgs {
		if !m.HasMethod || m.ID == nil {
			continue
		}
		key := idKey(m.ID)
		counts[key]++
		for k, l := range listings {
			if m.Method != l.method || !rs.Has(Kind(k)) {
				continue
			}
			p := f.ids[key]
			if p == nil {
				if f.ids == nil {
					f.ids = make(map[string]*pendingID)
				}
				p = &pendingID{raw: m.ID}
				f.ids[key] = p
				f.order = append(f.order, p)
			}
			p.kinds |= 1 << k
		}
	}
	if len(f.order) == 0 {
		return nil
	}
	for key, p := range f.ids {
		p.remaining = counts[key]
	}
	f.open = len(f.order)
	return f
}

// listsAny reports whether msgs hold a list call with an id for a kind
// that has rules.
func (rs *RuleSet) listsAny(msgs []Message) bool {
	for _, m := range msgs {
		if !m.HasMethod || m.ID == nil {
			continue
		}
		for k, l := range listings {
			if m.Method == l.method && rs.Has(Kind(k)) {
				return true
			}
		}
	}
	return false
}

// Done reports whether every response the filter waits for has been seen
// and none was answered with an internal error: from then on the rest of
// the answer passes unchanged.
func (f *ListFilter) Done() bool {
	return f.open == 0 && f.closed == 0
}

// FilterBody filters an application/json answer: one JSON-RPC message or a
// batch array. It returns body itself when nothing changes, and otherwise
// changes only the listing arrays (or the messages it replaces): every
// other byte stays as it came. A body that cannot be parsed (invalid UTF-8
// or JSON, or a message that repeats its id, result or method member) is
// answered with an internal error for each pending list call (one object,
// or an array when there are several). A response to a pending list call
// whose result or listing has the wrong shape, or whose entry repeats the
// member the rules match, becomes an internal error for its id. Responses
// to calls already answered with an internal error are left out (a batch
// of nothing else becomes []). An empty body is returned unchanged.
func (f *ListFilter) FilterBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	switch out, act := f.rewrite(body); act {
	case actReplace:
		return out
	case actDrop:
		return []byte("[]")
	}
	return body
}

// action is what to do with a message or a unit of messages.
type action uint8

const (
	actKeep    action = iota // pass it unchanged
	actReplace               // send the replacement instead
	actDrop                  // leave it out
)

// rewrite filters one unit: an application/json body or the data of one
// event.
func (f *ListFilter) rewrite(data []byte) ([]byte, action) {
	if !utf8.Valid(data) || !json.Valid(data) {
		return f.failOpen()
	}
	i := skipSpace(data, 0)
	switch data[i] {
	case '{':
		out, act, ok := f.message(data, i, valueEnd(data, i))
		if !ok {
			return f.failOpen()
		}
		if act == actReplace {
			return splice(data, 0, len(data), []edit{{i, valueEnd(data, i), out}}), actReplace
		}
		return nil, act
	case '[':
		return f.batch(data, i)
	}
	return nil, actKeep
}

// batch filters a batch of messages, the array at arr.
func (f *ListFilter) batch(data []byte, arr int) ([]byte, action) {
	var elems [][]byte
	changed, ok := false, true
	eachElement(data, arr, func(start, end int) bool {
		elem, act := data[start:end], actKeep
		if data[start] == '{' {
			var out []byte
			if out, act, ok = f.message(data, start, end); !ok {
				return false
			}
			if act == actReplace {
				elem = out
			}
		}
		if act == actDrop {
			changed = true
		} else {
			changed = changed || act == actReplace
			elems = append(elems, elem)
		}
		return true
	})
	switch {
	case !ok:
		return f.failOpen()
	case !changed:
		return nil, actKeep
	case len(elems) == 0:
		return nil, actDrop
	}
	end := valueEnd(data, arr)
	joined := []byte{'['}
	for n, elem := range elems {
		if n > 0 {
			joined = append(joined, ',')
		}
		joined = append(joined, elem...)
	}
	joined = append(joined, ']')
	return splice(data, 0, len(data), []edit{{arr, end, joined}}), actReplace
}

// failOpen answers every pending list call that has no response yet with
// an internal error and marks it closed. With none left it drops the unit.
func (f *ListFilter) failOpen() ([]byte, action) {
	var errs [][]byte
	for _, p := range f.order {
		if p.closed || p.remaining <= 0 {
			continue
		}
		errs = append(errs, internalError(p.raw))
		p.closed = true
		f.closed++
		f.open--
	}
	switch len(errs) {
	case 0:
		return nil, actDrop
	case 1:
		return errs[0], actReplace
	}
	out := []byte{'['}
	for n, e := range errs {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return append(out, ']'), actReplace
}

// message filters the message whose object spans data[start:end]. ok is
// false when the message repeats a member the filter reads, so that its id
// is in doubt. A message with a result is a response, whatever else it
// holds; one with a method and no result is a request or notification of
// the server and is left alone. A malformed response to a pending list
// call is replaced by an internal error for its id.
func (f *ListFilter) message(data []byte, start, end int) (out []byte, act action, ok bool) {
	id, result, hasMethod, ok := -1, -1, false, true
	eachMember(data, start, func(name []byte, s, _ int) bool {
		switch {
		case nameIs(name, "id"):
			ok = id < 0
			id = s
		case nameIs(name, "result"):
			ok = result < 0
			result = s
		case nameIs(name, "method"):
			ok = !hasMethod
			hasMethod = true
		}
		return ok
	})
	switch {
	case !ok:
		return nil, actKeep, false
	case id < 0 || (hasMethod && result < 0):
		return nil, actKeep, true
	}
	rawID := data[id:valueEnd(data, id)]
	p := f.ids[idKey(rawID)]
	switch {
	case p == nil:
		return nil, actKeep, true
	case p.closed:
		return nil, actDrop, true
	}
	p.remaining--
	if p.remaining == 0 {
		f.open--
	}
	if result < 0 {
		return nil, actKeep, true // an error response
	}
	edits, good := f.result(data, result, p.kinds)
	switch {
	case !good:
		return internalError(rawID), actReplace, true
	case len(edits) == 0:
		return nil, actKeep, true
	}
	return splice(data, start, end, edits), actReplace, true
}

// result filters the listings of the given kinds in the result value at
// res. It returns the edits to make, or good false when the result or a
// listing has the wrong shape.
func (f *ListFilter) result(data []byte, res int, kinds uint8) (edits []edit, good bool) {
	if data[res] != '{' {
		return nil, false
	}
	var found [targetKinds]int
	for k := range found {
		found[k] = -1
	}
	good = true
	eachMember(data, res, func(name []byte, s, _ int) bool {
		for k, l := range listings {
			if kinds&(1<<k) != 0 && nameIs(name, l.member) {
				good = found[k] < 0
				found[k] = s
			}
		}
		return good
	})
	if !good {
		return nil, false
	}
	// Members may come in any order; edits must be in order of position.
	for _, k := range membersInOrder(found) {
		e, changed, ok := f.entries(data, found[k], Kind(k))
		if !ok {
			return nil, false
		}
		if changed {
			edits = append(edits, e)
		}
	}
	return edits, true
}

// membersInOrder returns the kinds whose listing was found, in the order
// of their position in the result.
func membersInOrder(found [targetKinds]int) []int {
	var order []int
	for k, at := range found {
		if at < 0 {
			continue
		}
		n := len(order)
		for n > 0 && found[order[n-1]] > at {
			n--
		}
		order = append(order, 0)
		copy(order[n+1:], order[n:])
		order[n] = k
	}
	return order
}

// entries filters the listing array of kind k at arr. ok is false when it
// is not an array of objects, or an entry repeats its key member.
func (f *ListFilter) entries(data []byte, arr int, k Kind) (e edit, changed, ok bool) {
	if data[arr] != '[' {
		return edit{}, false, false
	}
	l := listings[k]
	var kept [][2]int
	ok = true
	eachElement(data, arr, func(start, end int) bool {
		if data[start] != '{' {
			ok = false
			return false
		}
		target, seen := "", false
		eachMember(data, start, func(name []byte, s, e int) bool {
			if nameIs(name, l.key) {
				if seen {
					ok = false
					return false
				}
				seen = true
				target, _ = stringValue(data[s:e])
			}
			return true
		})
		if !ok {
			return false
		}
		if f.allowed(f.rules.ScopesFor(l.call, target)) {
			kept = append(kept, [2]int{start, end})
		} else {
			changed = true
		}
		return true
	})
	if !ok || !changed {
		return edit{}, false, ok
	}
	end := valueEnd(data, arr)
	out := make([]byte, 0, end-arr)
	out = append(out, '[')
	for n, span := range kept {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, data[span[0]:span[1]]...)
	}
	out = append(out, ']')
	return edit{arr, end, out}, true, true
}

// edit replaces data[start:end] with repl.
type edit struct {
	start, end int
	repl       []byte
}

// splice returns a copy of data[start:end] with edits applied; the edits
// are in order, do not overlap and lie within the range.
func splice(data []byte, start, end int, edits []edit) []byte {
	size := end - start
	for _, e := range edits {
		size += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	last := start
	for _, e := range edits {
		out = append(out, data[last:e.start]...)
		out = append(out, e.repl...)
		last = e.end
	}
	return append(out, data[last:end]...)
}

package mcpauthz

// passesUnchanged reports whether body, the whole of a JSON answer, is
// one the filter would pass byte for byte, so that it need not be read
// byte by byte: strict JSON in UTF-8 (scanStrict) without white space
// outside strings and without a member name given twice, one JSON-RPC
// message (an object) whose jsonrpc is exactly "2.0", and whose result,
// when it is an object, has no member the filter acts on (a listing the
// rules filter, or cacheScope). Any other body takes the filter's way.
func (f *listFilter) passesUnchanged(body []byte) bool {
	if len(body) == 0 || body[0] != '{' {
		return false
	}
	if verdict, repeated := scanStrict(body); verdict != scanValid || repeated || !compact(body) {
		return false
	}
	jsonrpc, clean := false, true
	eachMember(body, 0, func(name []byte, start, end int) bool {
		switch {
		case nameIs(name, "jsonrpc"):
			jsonrpc = string(body[start:end]) == `"2.0"`
			clean = jsonrpc // another spelling is the filter's to judge
		case nameIs(name, "result") && body[start] == '{':
			eachMember(body, start, func(member []byte, _, _ int) bool {
				if r, _ := f.resultMemberRole(member); r != roleOther {
					clean = false
				}
				return clean
			})
		}
		return clean
	})
	return clean && jsonrpc
}

// compact reports whether the JSON text b (checked) has no white space
// outside its strings.
func compact(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i) - 1
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

package mcpauthz

// maxPlainMembers bounds the members of one object that repeatedName
// compares pair by pair; a larger object goes to jsonnames.Repeated, whose
// cost grows linearly.
const maxPlainMembers = 32

// maxPlainDepth bounds the nesting repeatedName descends into, so that its
// stack stays small; deeper values go to jsonnames.Repeated.
const maxPlainDepth = 32

// repeatedName reports whether an object at any depth of the value that
// starts at i in b (checked with json.Valid) gives a member name twice,
// in letter cases that encoding/json reads as one. It decides only when
// every member name is ASCII without escapes, no object has more than
// maxPlainMembers members and no value is nested deeper than
// maxPlainDepth (then ASCII case folding is exactly how
// encoding/json matches names); otherwise decided is false and the caller
// asks jsonnames.Repeated. It allocates nothing.
func repeatedName(b []byte, i, depth int) (repeated, decided bool) {
	if depth > maxPlainDepth {
		return false, false
	}
	switch b[i] {
	case '{':
		var names [maxPlainMembers][]byte
		n := 0
		decided = true
		eachMember(b, i, func(name []byte, start, _ int) bool {
			if n == maxPlainMembers || !plainName(name) {
				decided = false
				return false
			}
			for _, earlier := range names[:n] {
				if asciiEqualFold(earlier, name) {
					repeated = true
					return false
				}
			}
			names[n] = name
			n++
			repeated, decided = repeatedName(b, start, depth+1)
			return decided && !repeated
		})
		return repeated, decided
	case '[':
		decided = true
		eachElement(b, i, func(start, _ int) bool {
			repeated, decided = repeatedName(b, start, depth+1)
			return decided && !repeated
		})
		return repeated, decided
	}
	return false, true
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

// asciiEqualFold reports whether a and b are equal up to ASCII letter case.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

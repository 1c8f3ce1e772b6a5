package jose

// maxFlatMembers bounds the members flatMembers handles; a larger object
// takes the general path.
const maxFlatMembers = 16

// flatMember is one member of a flat JSON object: its name without quotes
// and its value as it is written.
type flatMember struct {
	name, value []byte
}

// flatMembers reads data, which json.Valid accepted, as an object whose
// members are all scalars (strings, numbers, true, false, null) under plain
// ASCII names without escapes, at most maxFlatMembers of them: the common
// form of a DPoP proof's claims, read here in one pass without allocating
// per member. It reports ok false for anything else (nested values,
// escaped or non-ASCII names, more members, not an object), which the
// caller then reads the general way. repeated is set when two names are
// equal in ASCII case folding, as encoding/json would match them.
func flatMembers(data []byte, members *[maxFlatMembers]flatMember) (n int, repeated, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return 0, false, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return 0, false, true
	}
	for i < len(data) {
		if data[i] != '"' || n == maxFlatMembers {
			return 0, false, false
		}
		start := i + 1
		end := start
		for end < len(data) && data[end] != '"' {
			if c := data[end]; c == '\\' || c >= 0x80 {
				return 0, false, false
			}
			end++
		}
		name := data[start:end]
		i = skipSpace(data, end+1)
		i = skipSpace(data, i+1) // past ':'
		valueStart := i
		switch {
		case i >= len(data):
			return 0, false, false
		case data[i] == '{' || data[i] == '[':
			return 0, false, false
		case data[i] == '"':
			i++
			for data[i] != '"' {
				if data[i] == '\\' {
					i++
				}
				i++
			}
			i++
		default:
			for i < len(data) && data[i] != ',' && data[i] != '}' && !isSpace(data[i]) {
				i++
			}
		}
		for _, earlier := range members[:n] {
			if asciiEqualFold(earlier.name, name) {
				repeated = true
			}
		}
		members[n] = flatMember{name: name, value: data[valueStart:i]}
		n++
		i = skipSpace(data, i)
		if i < len(data) && data[i] == '}' {
			return n, repeated, true
		}
		i = skipSpace(data, i+1) // past ','
	}
	return 0, false, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// asciiEqualFold reports whether a and b are equal in ASCII case folding.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
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

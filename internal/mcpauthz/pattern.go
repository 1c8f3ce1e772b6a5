package mcpauthz

import "strings"

// pattern is a compiled rule pattern: literal text in which each '*'
// stands for any run of characters, the empty run included.
type pattern struct {
	text  string
	parts []string // the literal parts around the stars; nil when there is no star
}

// compilePattern compiles p once, at config time.
func compilePattern(p string) pattern {
	if !strings.Contains(p, "*") {
		return pattern{text: p}
	}
	return pattern{text: p, parts: strings.Split(p, "*")}
}

// match reports whether the whole of s matches the pattern. It does not
// allocate: the first and last parts anchor the ends, and each middle part
// is taken at its leftmost place after the previous one, which finds a
// match whenever one exists.
func (p pattern) match(s string) bool {
	if p.parts == nil {
		return s == p.text
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}

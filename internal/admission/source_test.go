package admission

import "testing"

func TestSourceOf(t *testing.T) {
	same := [][2]string{
		{"192.0.2.7", "192.0.2.7:4711"},
		{"192.0.2.7", "::ffff:192.0.2.7"},
		{"2001:db8:1:2::1", "[2001:db8:1:2:ffff::9]:443"},
		{"2001:db8:1:2::1", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"},
		{"not an address", "also not one"},
	}
	for _, pair := range same {
		if SourceOf(pair[0]) != SourceOf(pair[1]) {
			t.Errorf("%s and %s are different sources, want one", pair[0], pair[1])
		}
	}
	different := [][2]string{
		{"192.0.2.7", "192.0.2.8"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"192.0.2.7", "not an address"},
		{"127.0.0.1", "::1"},
	}
	for _, pair := range different {
		if SourceOf(pair[0]) == SourceOf(pair[1]) {
			t.Errorf("%s and %s are one source, want two", pair[0], pair[1])
		}
	}
}

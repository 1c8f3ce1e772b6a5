package mcpauthz

import "testing"

func TestDecodeHeaderValue(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"us-west1", "us-west1", true},
		{"", "", true},
		{"with space\tand tab", "with space\tand tab", true},
		{"=?base64?SGVsbG8sIOS4lueVjA==?=", "Hello, 世界", true},
		{"=?base64?IHBhZGRlZCA=?=", " padded ", true},
		{"=?base64?bGluZTEKbGluZTI=?=", "line1\nline2", true},
		{"=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", "=?base64?literal?=", true},
		{"=?BASE64?SGk=?=", "=?BASE64?SGk=?=", true}, // the markers are lower case only
		{"=?base64?SGk?=", "", false},                // padding is required
		{"=?base64?SGk=", "", false},                 // no end marker
		{"=?base64?S!k=?=", "", false},
		{"caf\xc3\xa9", "", false},
		{"a\x00b", "", false},
		{"a\x7fb", "", false},
	} {
		got, ok := decodeHeaderValue(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIsModernVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"2026-07-28": true, "2026-12-01": true, "2027-01-01": true,
		"2025-11-25": false, "2025-06-18": false, "2026-07-27": false,
		"2026-7-28": false, "2026-07-28x": false, "9999_99_99": false, "": false, "draft": false,
	} {
		if got := isModernVersion(v); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

func TestArgumentRuleConfig(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Kind: Argument, Pattern: "t", Path: "", Value: "x", Scopes: []string{"s"}}, `mcp_argument rule "t": empty argument path`},
		{Rule{Kind: Argument, Pattern: "t", Path: "a..b", Value: "x", Scopes: []string{"s"}}, `mcp_argument rule "t": argument path "a..b" has an empty member`},
		{Rule{Kind: Argument, Pattern: "t", Path: "a", Value: "", Scopes: []string{"s"}}, `mcp_argument rule "t": empty value pattern`},
		{Rule{Kind: Argument, Pattern: "", Path: "a", Value: "x", Scopes: []string{"s"}}, `mcp_argument rule: empty pattern`},
		{Rule{Kind: Argument, Pattern: "t", Path: "a", Value: "x"}, `mcp_argument rule "t": no scope`},
	} {
		_, err := NewRuleSet(nil, []Rule{tc.rule})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %s", tc.rule, err, tc.want)
		}
	}
	rs, err := NewRuleSet(nil, []Rule{{Kind: Argument, Pattern: "t", Path: "a", Value: "x", Scopes: []string{"s"}}})
	if err != nil || !rs.HasRules() || !rs.Has(Argument) || rs.Has(Tool) {
		t.Errorf("an argument rule alone: %v", err)
	}
}

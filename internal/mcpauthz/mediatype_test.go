package mcpauthz

import (
	"mime"
	"strings"
	"testing"
)

// contentTypes are Content-Type fields and whether a route with rules
// accepts them.
var contentTypes = []struct {
	value string
	ok    bool
}{
	{"application/json", true},
	{"Application/JSON", true},
	{"application/json; charset=utf-8", true},
	{"application/json;charset=UTF-8", true},
	{"application/json ;\tcharset=\"utf-8\"", true},
	{"application/json; CHARSET=\"Utf-8\"", true},
	{"application/json; charset=\"utf\\-8\"", true},
	{" application/json\t", true},
	{"\xa0application/json", false},
	{"application/json\xa0", false},
	{"application/json;\xa0charset=utf-8", false},
	{"application/json; charset=utf-8\xa0", false},
	{"application/json; charset=utf-7", false},
	{"application/json; charset=iso-8859-1", false},
	{"application/json; charset=\"utf-8", false},
	{"application/json; charset=\"utf-8\xe9\"", false},
	{"application/json; charset=utf-8; charset=utf-8", false},
	{"application/json; charset=utf-8; boundary=x", false},
	{"application/json; foo=bar", false},
	{"application/json;", false},
	{"application/json; ", false},
	{"application/json; charset=", false},
	{"application/json; charset", false},
	{"application/vnd.api+json", false},
	{"application/json+x", false},
	{"application/jsonx", false},
	{"application/json-patch+json", false},
	{"application / json", false},
	{"application/ json", false},
	{"text/plain", false},
	{"text/json", false},
	{"application/x-www-form-urlencoded", false},
	{"", false},
	{"application/json,text/plain", false},
	{"application/json\v", false},
	{"application/json\r", false},
}

func TestIsJSONContentType(t *testing.T) {
	for _, tc := range contentTypes {
		if got := isJSONContentType([]string{tc.value}); got != tc.ok {
			t.Errorf("%q: accepted %v, want %v", tc.value, got, tc.ok)
		}
	}
	for _, values := range [][]string{nil, {}, {"application/json", "application/json"}, {"application/json", ""}} {
		if isJSONContentType(values) {
			t.Errorf("%q accepted, want exactly one field", values)
		}
	}
}

// TestMimeParserIsNotEnough shows why the module parses Content-Type
// itself: the standard library's parser accepts fields a route with rules
// must refuse (so a backend could read them another way), or reads them
// into the same type and parameters as a field that is fine.
func TestMimeParserIsNotEnough(t *testing.T) {
	lenient := 0
	for _, value := range []string{
		"application/json\xa0",                           // a byte outside the grammar
		"application/json; charset=utf-8; charset=utf-8", // two parameters
		"application/json;",                              // an empty parameter
		"application/json; charset=\"utf-8\xe9\"",        // obs-text in a quoted string
	} {
		media, params, err := mime.ParseMediaType(value)
		if err == nil && (strings.HasPrefix(media, "application/json") || len(params) > 0) {
			lenient++
			t.Logf("mime.ParseMediaType(%q) = %q %v", value, media, params)
		}
		if isJSONContentType([]string{value}) {
			t.Errorf("%q accepted", value)
		}
	}
	if lenient == 0 {
		t.Error("mime.ParseMediaType refuses every case: it could replace the parser")
	}
}

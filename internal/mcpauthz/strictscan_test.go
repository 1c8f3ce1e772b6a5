package mcpauthz

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

func TestScanStrictRepeatedNames(t *testing.T) {
	many := func(n int, last string) string {
		var members []string
		for i := range n {
			members = append(members, fmt.Sprintf(`"m%d":%d`, i, i))
		}
		return "{" + strings.Join(append(members, last), ",") + "}"
	}
	deep := func(depth int, inner string) string {
		return strings.Repeat(`{"a":`, depth) + inner + strings.Repeat("}", depth)
	}
	tests := []struct {
		name              string
		json              string
		repeated, decided bool
	}{
		{"scalar", `1`, false, true},
		{"empty object", `{}`, false, true},
		{"distinct", `{"a":1,"b":{"a":2},"c":[{"a":1,"b":2}]}`, false, true},
		{"twice", `{"a":1,"a":2}`, true, true},
		{"twice in another case", `{"method":"x","Method":"y"}`, true, true},
		{"twice deep in an array", `[{"a":[{"x":1,"X":2}]}]`, true, true},
		{"same name in sibling objects", `[{"a":1},{"a":2}]`, false, true},
		{"non-letters differ", `{"a_":1,"a-":2,"@":3,"` + "`" + `":4}`, false, true},
		{"escaped name", `{"a":1,"\u0061":2}`, false, false},
		{"non-ASCII name", `{"ſub":1}`, false, false},
		{"too many members", many(maxPlainMembers, `"z":0`), false, false},
		{"members at the bound", many(maxPlainMembers-1, `"m0":0`), true, true},
		{"too deep", deep(maxPlainDepth+1, "1"), false, false},
		{"at the depth bound", deep(maxPlainDepth, `{"q":1,"Q":2}`), false, false},
		{"under the depth bound", deep(maxPlainDepth-1, `{"q":1,"Q":2}`), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.json)) {
				t.Fatalf("test JSON %s is not valid", tc.json)
			}
			verdict, repeated := scanStrict([]byte(tc.json))
			decided := verdict == scanValid
			if repeated != tc.repeated || decided != tc.decided || verdict == scanInvalid {
				t.Errorf("verdict %v repeated %v, want decided %v repeated %v", verdict, repeated, tc.decided, tc.repeated)
			}
			if decided {
				rep, err := jsonnames.Repeated([]byte(tc.json))
				if err != nil || (rep != nil) != repeated {
					t.Errorf("jsonnames.Repeated says %v (%v): the fast path disagrees", rep, err)
				}
			}
		})
	}
}

func TestScanStrictDoesNotAllocate(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Bonn","units":"metric","days":[1,{"d":3}]}}}`)
	if n := testing.AllocsPerRun(100, func() { scanStrict(body) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// TestScanStrictValidity holds the one-pass scan to what utf8.Valid and
// json.Valid accept, on the edges of each part of the grammar.
func TestScanStrictValidity(t *testing.T) {
	for _, body := range []string{
		``, ` `, `1`, ` -0 `, `-`, `01`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `-12.50e+03`, `+1`, `0x1`,
		`true`, `tru`, `truex`, `nul`, `null `, `false`, `[]`, `[,]`, `[1,]`, `[1 2]`, `{}`, `{,}`,
		`{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{a:1}`, `{"a":1}}`, `[[]`, `[]]`, `{"a":[}`,
		`""`, `"`, `"\"`, `"\\"`, `"\/"`, `"\x"`, `"\u12"`, `"\u12g4"`, `"\uD800"`, "\"a\x01\"",
		"\"a\t\"", "\"\xff\"", "\"\xc3\xa9\"", "\"\xed\xa0\x80\"", "\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\"",
		"1\xff", "\xef\xbb\xbf1", "\u00a01", "\t\n\r 1 \t\n\r", "\v1", "{\"a\":1}\x00",
		strings.Repeat("[", maxPlainDepth) + strings.Repeat("]", maxPlainDepth),
		strings.Repeat("[", maxPlainDepth) + strings.Repeat("]", maxPlainDepth-1),
	} {
		verdict, _ := scanStrict([]byte(body))
		want := utf8.Valid([]byte(body)) && json.Valid([]byte(body))
		if verdict == scanUnsure || (verdict == scanValid) != want {
			t.Errorf("%q: verdict %v, want valid %v", body, verdict, want)
		}
	}
}

// FuzzScanStrict holds scanStrict to the full checks it stands in for:
// utf8.Valid with json.Valid, and jsonnames.Repeated.
func FuzzScanStrict(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":[1,2.5e3,"\u00e9"]}}}`,
		`[{"a":1,"A":2},{"b":true,"c":null}]`, `{"a":{"b":{"c":{}}},"a ":-0}`, "\"\xc3\xa9\\n\"", `{"ſ":1,"s":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		verdict, repeated := scanStrict(body)
		if verdict == scanUnsure {
			return
		}
		valid := utf8.Valid(body) && json.Valid(body)
		if (verdict == scanValid) != valid {
			t.Fatalf("%q: verdict %v, the full checks say valid %v", body, verdict, valid)
		}
		if !valid {
			return
		}
		rep, err := jsonnames.Repeated(body)
		if err != nil || (rep != nil) != repeated {
			t.Fatalf("%q: repeated %v, jsonnames.Repeated says %v (%v)", body, repeated, rep, err)
		}
	})
}

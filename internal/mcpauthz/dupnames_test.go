package mcpauthz

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

func TestRepeatedName(t *testing.T) {
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
			repeated, decided := repeatedName([]byte(tc.json), 0, 0)
			if repeated != tc.repeated || decided != tc.decided {
				t.Errorf("repeated %v decided %v, want %v %v", repeated, decided, tc.repeated, tc.decided)
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

func TestRepeatedNameDoesNotAllocate(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Bonn","units":"metric","days":[1,{"d":3}]}}}`)
	if n := testing.AllocsPerRun(100, func() { repeatedName(body, 0, 0) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

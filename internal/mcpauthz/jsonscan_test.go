package mcpauthz

import (
	"strings"
	"testing"
)

func TestEachMemberAndElement(t *testing.T) {
	doc := []byte(` { "a" : [1, {"x":"]}"}, "q\"\\"] , "b":-1.5e3,"c" :{ } , "d":"e","f":true,"g":null}`)
	var got []string
	eachMember(doc, skipSpace(doc, 0), func(name []byte, start, end int) bool {
		got = append(got, string(name)+"="+string(doc[start:end]))
		return true
	})
	want := `"a"=[1, {"x":"]}"}, "q\"\\"]|"b"=-1.5e3|"c"={ }|"d"="e"|"f"=true|"g"=null`
	if strings.Join(got, "|") != want {
		t.Errorf("members: got %s", strings.Join(got, "|"))
	}
	got = got[:0]
	arr := []byte(`[ 1 ,"s", [], {"a":[]},false ]`)
	eachElement(arr, 0, func(start, end int) bool {
		got = append(got, string(arr[start:end]))
		return len(got) < 4
	})
	if strings.Join(got, "|") != `1|"s"|[]|{"a":[]}` {
		t.Errorf("elements: got %s", strings.Join(got, "|"))
	}
	eachElement([]byte(`[]`), 0, func(int, int) bool { t.Error("an element in []"); return true })
	eachMember([]byte(`{}`), 0, func([]byte, int, int) bool { t.Error("a member in {}"); return true })
}

func TestNameIs(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		is        bool
	}{
		{`"id"`, "id", true},
		{`"ID"`, "id", true},
		{`"Id"`, "id", true},
		{`"i\u0064"`, "id", true},
		{`"result\u017f"`, "results", true}, // ſ folds to s
		{`"tool\u017f"`, "tools", true},
		{`"ids"`, "id", false},
		{`"ıd"`, "id", false}, // dotless i does not fold to i
		{`""`, "id", false},
	} {
		if got := nameIs([]byte(tc.raw), tc.want); got != tc.is {
			t.Errorf("%s as %s: got %v", tc.raw, tc.want, got)
		}
	}
}

func TestStringValue(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{`"plain"`, "plain", true},
		{`"a\u0062\n\"c"`, "ab\n\"c", true},
		{`""`, "", true},
		{`5`, "", false},
		{`null`, "", false},
		{`["x"]`, "", false},
	} {
		got, ok := stringValue([]byte(tc.raw))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q, %v", tc.raw, got, ok)
		}
	}
}

func TestStringEnd(t *testing.T) {
	for _, s := range []string{`""`, `"a"`, `"\""`, `"\\"`, `"a\\\"b"`, `"\\\\"`, `"x\\\\\"y\""`, `"\u0022"`} {
		doc := s + `,"next"`
		if end := stringEnd([]byte(doc), 0); end != len(s) {
			t.Errorf("%s: ends at %d, want %d", doc, end, len(s))
		}
	}
	if end := stringEnd([]byte(`"cut \"`), 0); end != len(`"cut \"`) {
		t.Errorf("an unterminated string ends at %d", end)
	}
}

package jose

import (
	"errors"
	"testing"
)

func TestStrictParseObject(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string // member -> compact JSON; nil when refused
		err  error
	}{
		{name: "empty object", in: `{}`, want: map[string]string{}},
		{name: "members keep their compact JSON", in: " {\n \"a\" : [ 1 , 2 ] ,\"b\":{ \"c\" : \"d e\" }, \"n\": 1.50e3 }\t",
			want: map[string]string{"a": `[1,2]`, "b": `{"c":"d e"}`, "n": `1.50e3`}},
		{name: "big numbers keep their digits", in: `{"n":12345678901234567890123}`, want: map[string]string{"n": `12345678901234567890123`}},
		{name: "escaped strings stay escaped", in: `{"s":"a\"b\u00e9"}`, want: map[string]string{"s": `"a\"b\u00e9"`}},
		{name: "same name in sibling objects", in: `{"a":{"id":1},"b":{"id":2},"c":[{"id":1},{"id":2}]}`,
			want: map[string]string{"a": `{"id":1}`, "b": `{"id":2}`, "c": `[{"id":1},{"id":2}]`}},
		{name: "names that only look alike", in: `{"exp":1,"exp ":2,"éxp":3}`, want: map[string]string{"exp": `1`, "exp ": `2`, "éxp": `3`}},

		{name: "array", in: `[]`, err: ErrPayloadNotJSON},
		{name: "string", in: `"{}"`, err: ErrPayloadNotJSON},
		{name: "number", in: `1`, err: ErrPayloadNotJSON},
		{name: "null", in: `null`, err: ErrPayloadNotJSON},
		{name: "true", in: `true`, err: ErrPayloadNotJSON},
		{name: "empty", in: ``, err: ErrPayloadNotJSON},
		{name: "white space", in: "  \n", err: ErrPayloadNotJSON},
		{name: "unterminated", in: `{"a":1`, err: ErrPayloadNotJSON},
		{name: "trailing comma", in: `{"a":1,}`, err: ErrPayloadNotJSON},
		{name: "two objects", in: `{}{}`, err: ErrPayloadNotJSON},
		{name: "trailing garbage", in: `{"a":1} x`, err: ErrPayloadNotJSON},
		{name: "single quotes", in: `{'a':1}`, err: ErrPayloadNotJSON},
		{name: "NaN", in: `{"a":NaN}`, err: ErrPayloadNotJSON},
		{name: "comment", in: `{"a":1 /* c */}`, err: ErrPayloadNotJSON},
		{name: "invalid UTF-8 in a value", in: "{\"a\":\"\xff\"}", err: ErrPayloadNotJSON},
		{name: "invalid UTF-8 in a name", in: "{\"\xc3\x28\":1}", err: ErrPayloadNotJSON},
		{name: "overlong UTF-8", in: "{\"a\":\"\xc0\xaf\"}", err: ErrPayloadNotJSON},
		{name: "UTF-8 BOM", in: "\xef\xbb\xbf{}", err: ErrPayloadNotJSON},

		{name: "duplicate at top level", in: `{"a":1,"a":1}`, err: ErrDuplicateMember},
		{name: "duplicate nested", in: `{"data":{"a":1,"a":2}}`, err: ErrDuplicateMember},
		{name: "duplicate deeper in an array", in: `{"data":{"x":[[{"z":1,"z":2}]]}}`, err: ErrDuplicateMember},
		{name: "duplicate after a nested object", in: `{"a":{"b":1},"c":2,"a":3}`, err: ErrDuplicateMember},
		{name: "case variant", in: `{"EXP":1,"exp":2}`, err: ErrDuplicateMember},
		{name: "mixed case variant", in: `{"Sub":1,"sUB":2}`, err: ErrDuplicateMember},
		{name: "escaped spelling", in: `{"sub":1,"\u0073ub":2}`, err: ErrDuplicateMember},
		{name: "long s", in: `{"sub":1,"ſub":2}`, err: ErrDuplicateMember},
		{name: "Kelvin sign", in: `{"kid":1,"\u212aid":2}`, err: ErrDuplicateMember},
		{name: "empty names", in: `{"":1,"":2}`, err: ErrDuplicateMember},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStrictObject([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v (%v), want %v", err, got, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d members, want %d", len(got), len(tc.want))
			}
			for name, want := range tc.want {
				if string(got[name]) != want {
					t.Errorf("%q = %s, want %s", name, got[name], want)
				}
			}
		})
	}
}

func TestStrictCompactJSON(t *testing.T) {
	if got := string(compactJSON([]byte(" { \"a\" : [ 1 ,\n 2.50 ] } "))); got != `{"a":[1,2.50]}` {
		t.Errorf("got %s", got)
	}
	if got := string(compactJSON([]byte(`{"a":`))); got != `{"a":` {
		t.Errorf("invalid JSON changed: %s", got)
	}
}
